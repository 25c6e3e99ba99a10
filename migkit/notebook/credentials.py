"""The credentials form of a run blocked on credentials (§4.7), built from
``credential_request.schema``.

It shows why the agent asks (``reason``), the guidance (summary, steps, links: only
``http``/``https`` links become links), and one field per schema entry: a password field for
``secret: true``, a text field otherwise. **Send** posts the values with
``client.migrations.submit_credentials`` and clears every field, whatever the outcome. The
values never appear in the widget's text or HTML, in an error it shows, or in the saved
notebook: the form's state says which fields were sent, never what they held.

>>> form = migkit.notebook.credentials_form(run)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as widgets

from migkit.notebook.html import BAD, GOOD, MUTED, span
from migkit.notebook.panel import Published
from migkit.notebook.preview_widget import progress_text
from migkit.printable import printable


def _safe_link(link: Any) -> str:
    if not isinstance(link, Mapping):
        return ""
    url, label = str(link.get("url", "")), str(link.get("label") or link.get("url") or "")
    if urlsplit(url).scheme not in ("http", "https"):
        return escape(label)  # javascript:, data: and the like are never links
    return (
        f"<a href='{escape(url, quote=True)}' target='_blank' rel='noopener noreferrer'>"
        f"{escape(label)}</a>"
    )


def guidance_html(request: Any) -> str:
    """Why the agent asks, and how to get the credentials (summary, steps, links)."""
    guidance = getattr(request, "guidance", None) or {}
    parts = []
    source = getattr(request, "source_name", None) or getattr(request, "source_key", None)
    if source:
        parts.append(f"<div><b>Credentials for {escape(str(source))}</b></div>")
    if getattr(request, "reason", None):
        parts.append(f"<div>{escape(str(request.reason))}</div>")
    if isinstance(guidance.get("summary"), str):
        parts.append(f"<div style='{MUTED}'>{escape(guidance['summary'])}</div>")
    steps = [s for s in guidance.get("steps") or [] if isinstance(s, str)]
    if steps:
        parts.append("<ol>" + "".join(f"<li>{escape(s)}</li>" for s in steps) + "</ol>")
    links = [_safe_link(link) for link in guidance.get("links") or []]
    if any(links):
        parts.append("<div>" + " &middot; ".join(link for link in links if link) + "</div>")
    return "".join(parts)


def guidance_text(request: Any) -> list[str]:
    """The same as text lines (links as ``label: url``)."""
    guidance = getattr(request, "guidance", None) or {}
    lines = []
    source = getattr(request, "source_name", None) or getattr(request, "source_key", None)
    if source:
        lines.append(f"Credentials for {printable(source, limit=100)}")
    if getattr(request, "reason", None):
        lines.append(printable(request.reason, limit=500))
    if isinstance(guidance.get("summary"), str):
        lines.append(printable(guidance["summary"], limit=500))
    steps = [s for s in guidance.get("steps") or [] if isinstance(s, str)]
    lines += [f"  {n}. {printable(s, limit=300)}" for n, s in enumerate(steps, 1)]
    for link in guidance.get("links") or []:
        if isinstance(link, Mapping):
            label, url = link.get("label", ""), link.get("url", "")
            lines.append(f"  {printable(label, limit=100)}: {printable(url, limit=300)}")
    return lines


class CredentialsForm(Published, widgets.VBox):  # type: ignore[misc]
    """One field per schema entry (password fields for secrets) and **Send**."""

    def __init__(self, run: Any, *, timeout: float | None = None) -> None:
        self.run = run
        self.timeout = timeout
        self.request = run.credential_request
        schema: Mapping[str, Any] = getattr(self.request, "schema", None) or {}
        self.fields: dict[str, widgets.Text | widgets.Password] = {}
        for name, spec in schema.items():
            secret = isinstance(spec, Mapping) and spec.get("secret") is True
            kind = widgets.Password if secret else widgets.Text
            self.fields[str(name)] = kind(
                description=str(name),
                placeholder="secret: hidden, never shown or saved" if secret else "",
                style={"description_width": "initial"},
                layout=widgets.Layout(width="28em"),
            )
        self.said = ""
        self.sent_at: datetime | None = None
        self.send_button = widgets.Button(
            description="Send",
            button_style="primary",
            icon="lock",
            layout=widgets.Layout(width="auto"),
        )
        self.send_button.on_click(lambda _: self._click())
        self.message = widgets.HTML()
        super().__init__(
            [
                widgets.HTML(guidance_html(self.request)),
                *self.fields.values(),
                self.send_button,
                self.message,
            ]
        )

    def fill(self, **values: str) -> CredentialsForm:
        """Type ``values`` into the fields (what a person does in the form)."""
        for name, value in values.items():
            if name not in self.fields:
                known = ", ".join(self.fields) or "none"
                raise KeyError(f"the form has no field {name!r}; its fields: {known}")
            self.fields[name].value = value
        return self

    def _clear(self) -> None:
        for field in self.fields.values():
            field.value = ""

    def _click(self) -> None:
        try:
            self.send()
        except Exception:  # shown in the form already
            return

    def send(self) -> Any:
        """Post the values typed (every field cleared afterwards, whatever happens); then
        wait for the run to go on. Returns the run as it rests."""
        values = {name: str(f.value) for name, f in self.fields.items() if str(f.value)}
        self._clear()  # the secrets leave the widgets (and the browser) at once
        if not values:
            self._say(BAD, "Could not send: fill in the fields first.")
            raise ValueError("no credentials typed; fill in the fields first")
        self.send_button.disabled = True
        try:
            run = self.run.submit_credentials(values)
            self.sent_at = datetime.now()
            self._say(MUTED, f"Sent {', '.join(values)}; the run goes on…")
            self.run = run.wait(
                timeout=self.timeout,
                raise_on_failure=False,
                on_progress=lambda e: self._say(MUTED, progress_text(e.run)),
            )
        except Exception as exc:
            self.send_button.disabled = False
            # A client error never carries the values, and none is kept here.
            self._say(BAD, f"Could not send the credentials: {printable(exc, limit=500)}")
            raise
        finally:
            values.clear()
        self.final = True
        self._say(GOOD, f"Credentials accepted at {self.sent_at:%H:%M:%S}; run {self.run.status}.")
        return self.run

    def _say(self, style: str, text: str) -> None:
        self.said = text
        self.message.value = span(style, escape(text)) if text else ""
        self.publish()

    # -- static views (never a value) --------------------------------------------------------
    def plain_text(self) -> str:
        lines = guidance_text(self.request)
        lines += [f"  [{name}]" for name in self.fields]
        if self.said:
            lines.append(self.said)
        return "\n".join(lines)

    def static_html(self) -> str:
        names = "".join(f"<li><code>{escape(name)}</code></li>" for name in self.fields)
        return (
            guidance_html(self.request)
            + f"<div style='{MUTED}'>Fields:</div><ul>{names}</ul>"
            + f"<div>{self.message.value}</div>"
        )


def credentials_form(run: Any, *, timeout: float | None = None) -> CredentialsForm | None:
    """The credentials form for a run blocked on credentials; outside Jupyter, prints what
    it asks for and returns ``None`` (send them with ``run.submit_credentials({...})``)."""
    from migkit.progress import widgets_available

    if not widgets_available():
        print("\n".join(guidance_text(run.credential_request)))
        return None
    return CredentialsForm(run, timeout=timeout)
