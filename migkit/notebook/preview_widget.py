"""The agent's preview in a notebook: one tab per template, and three actions.

- the counts on top (rows, valid, flagged, invalid cells; a warning when it is a sample);
- one tab per template: its rows as a table, invalid cells highlighted with their errors on
  hover (and, after a *Change*, the cells that changed outlined, the old value on hover);
- **Approve and execute**: imports the previewed rows (an ``execute`` run), once: a second
  click, or :meth:`PreviewWidget.approve` called after a click, returns the same run;
- **Ask**: a question about the preview (a ``clarify`` run, which changes nothing); the
  agent's answer is shown in place;
- **Change**: an instruction (an ``update`` run); the new preview replaces the old one, with
  what changed marked. An instruction the agent cannot read leaves the run ``blocked``: the
  widget says so, and ``migkit.notebook.review(run)`` answers it.

Every button is also a method (:meth:`approve`, :meth:`ask`, :meth:`change`), so a notebook
run top to bottom does what the clicks do. The output carries readable ``text/plain`` and
``text/html`` of the current state; after the execute only that static state is left.

>>> view = migkit.notebook.preview_widget(client, migration)  # doctest: +SKIP
>>> view.change("use Work Email for missing Email")  # doctest: +SKIP
>>> run = view.approve()  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as widgets

from migkit.notebook.html import BAD, GOOD, MUTED, WARN, span
from migkit.notebook.panel import Published
from migkit.notebook.preview_table import (
    preview_counts,
    preview_plain,
    sheet_counts,
    sheet_table,
)
from migkit.preview_changes import Change, preview_changes
from migkit.printable import counted, printable

# Lumino cuts tab titles at a fixed width; the preview's titles carry counts, so show them whole.
TAB_STYLE = (
    "<style>.jupyter-widgets.widget-tab.migkit-preview-tabs > .lm-TabBar .lm-TabBar-tab,"
    ".jupyter-widgets.widget-tab.migkit-preview-tabs > .p-TabBar .p-TabBar-tab"
    "{max-width:none !important;flex:0 0 auto !important}</style>"
)


def progress_text(run: Any) -> str:
    """``update run 3f0c9a2e: running, Changing the recipe``: a run's progress in words."""
    kind = getattr(run, "kind", None) or "agent"
    message = getattr(run, "message", None)
    return f"{kind} run {run.id[:8]}: {run.status}" + (f", {printable(message)}" if message else "")


def _tab_title(sheet: Any, changed: bool) -> str:
    flagged = f" · {sheet.flagged_rows:,} flagged" if sheet.flagged_rows else ""
    mark = " · changed" if changed else ""
    return f"{printable(sheet.name, limit=40)} · {counted(sheet.rows, 'row')}{flagged}{mark}"


class PreviewWidget(Published, widgets.VBox):  # type: ignore[misc]
    """The preview of ``migration`` with *Approve and execute*, *Ask* and *Change*."""

    def __init__(
        self, client: Any, migration: Any, preview: Any = None, *, timeout: float | None = None
    ) -> None:
        self.client = client
        self.migration = migration
        self.timeout = timeout
        self.preview = preview if preview is not None else client.migrations.preview(migration)
        self.changes: dict[str, Change] = {}
        self.executed: Any = None  # the execute run, once approved
        self.blocked: Any = None  # a run that stopped on a question (an unreadable change)
        self.history: list[str] = []  # what was done here, with the time
        self.answer_text = ""  # the agent's latest answer to Ask
        self.said = ""
        self._busy = threading.Lock()
        self.counts = widgets.HTML()
        self.tabs = widgets.Tab()
        self.tabs.add_class("migkit-preview-tabs")  # whole titles: see TAB_STYLE
        self.approve_button = self._button("Approve and execute", "success", "check")
        self.question = widgets.Text(placeholder="Ask the agent about this preview")
        self.ask_button = self._button("Ask", "", "question")
        self.instruction = widgets.Text(placeholder="e.g. use Work Email for missing Email")
        self.change_button = self._button("Change", "warning", "pencil")
        self.answer = widgets.HTML()
        self.message = widgets.HTML()
        self.approve_button.on_click(lambda _: self._click(self.approve))
        self.ask_button.on_click(lambda _: self._click(lambda: self.ask(self.question.value)))
        self.change_button.on_click(
            lambda _: self._click(lambda: self.change(self.instruction.value))
        )
        self.question.layout = widgets.Layout(width="32em")
        self.instruction.layout = widgets.Layout(width="32em")
        super().__init__(
            [
                widgets.HTML(TAB_STYLE),
                self.counts,
                self.tabs,
                widgets.HBox([self.approve_button]),
                widgets.HBox([self.question, self.ask_button]),
                self.answer,
                widgets.HBox([self.instruction, self.change_button]),
                self.message,
            ]
        )
        self._render()

    @staticmethod
    def _button(text: str, style: str, icon: str) -> widgets.Button:
        return widgets.Button(
            description=text, button_style=style, icon=icon, layout=widgets.Layout(width="auto")
        )

    # -- views -------------------------------------------------------------------------------
    def _render(self) -> None:
        preview = self.preview
        self.counts.value = preview_counts(preview)
        sheets = list(preview.sheets.values())
        self.tabs.children = [
            widgets.HTML(
                sheet_counts(s, self.changes.get(s.slug)) + sheet_table(s, self.changes.get(s.slug))
            )
            for s in sheets
        ]
        self.tabs.titles = tuple(_tab_title(s, bool(self.changes.get(s.slug))) for s in sheets)
        self.answer.value = (
            f"<div style='border-left:3px solid var(--jp-brand-color1,#1565c0);padding-left:6px'>"
            f"<b>Agent:</b> {escape(self.answer_text)}</div>"
            if self.answer_text
            else ""
        )
        self.message.value = self._history_html()
        done = self.executed is not None
        for control in (self.approve_button, self.ask_button, self.change_button):
            control.disabled = done or self._busy.locked()
        self.question.disabled = self.instruction.disabled = done

    def _history_html(self) -> str:
        lines = [f"<div style='{MUTED}'>{escape(h)}</div>" for h in self.history]
        if self.said:
            style = BAD if self.said.startswith("Could not") else WARN if self.blocked else GOOD
            lines.append(f"<div>{span(style, escape(self.said))}</div>")
        return "".join(lines)

    def _say(self, text: str) -> None:
        self.said = text
        self._render()
        self.publish()

    def _note(self, text: str) -> None:
        self.history.append(f"{datetime.now():%H:%M:%S} {text}")

    # -- actions -----------------------------------------------------------------------------
    def _click(self, action: Callable[[], Any]) -> None:
        # A click's failure is shown in the widget (a callback's traceback is easy to miss).
        with suppress(Exception):
            action()

    def _act(self, working: str, action: Callable[[], Any]) -> Any:
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("the preview widget is busy with another action; try again")
        try:
            self.said = working
            self._render()
            self.publish()
            return action()
        except Exception as exc:
            self.said = f"Could not {working[0].lower() + working[1:].rstrip('…')}: {exc}"
            raise
        finally:
            self._busy.release()
            self._render()
            self.publish()

    def _wait(self, run: Any) -> Any:
        """Wait for ``run``, its progress shown on this widget (not in another panel)."""
        return self.client.migrations.wait(
            run, timeout=self.timeout, raise_on_failure=False, on_progress=self._progress
        )

    def _progress(self, event: Any) -> None:
        self.said = progress_text(event.run)
        self.message.value = self._history_html()

    def approve(self) -> Any:
        """*Approve and execute*: start the execute run and wait for it; once per preview (a
        second call returns the same run)."""
        if self.executed is not None:
            return self.executed

        def execute() -> Any:
            migrations = self.client.migrations
            run = migrations.execute(self.migration)
            run = self._wait(run)
            self.executed = run
            self.final = True
            self._note(f"Approved and executed: run {run.id[:8]} {run.status}")
            report = getattr(run, "report", None)
            headline = report.headline() if report is not None else ""
            self.said = f"Executed: {run.status}" + (f"; {headline}" if headline else "")
            if run.status == "failed":
                self.said = f"Could not execute: {printable(run.error or 'the run failed')}"
            return run

        return self._act("Executing the approved preview…", execute)

    def ask(self, question: str) -> str:
        """*Ask*: a question about the preview (nothing changes); the answer is shown in
        place and returned."""
        if not question.strip():
            self._say("Could not ask: type a question first.")
            return ""

        def clarify() -> str:
            answer = str(
                self.client.migrations.clarify(self.migration, question, timeout=self.timeout)
            )
            self.answer_text = printable(answer, limit=4000)
            self._note(f"Asked: {printable(question, limit=200)}")
            self.said = ""
            self.question.value = ""
            return answer

        result: str = self._act("Asking the agent…", clarify)
        return result

    def change(self, instruction: str) -> Any:
        """*Change*: an ``update`` run with ``instruction``; the new preview replaces the old,
        with what changed marked. Returns the new preview (the old one when the agent could
        not read the instruction: the run is then :attr:`blocked`)."""
        if not instruction.strip():
            self._say("Could not change: type an instruction first.")
            return self.preview

        def update() -> Any:
            migrations = self.client.migrations
            run = migrations.update(self.migration, instruction)
            run = self._wait(run)
            self._note(
                f"Change: {printable(instruction, limit=200)} (run {run.id[:8]} {run.status})"
            )
            if run.status != "awaiting_approval":
                self.blocked = run if getattr(run, "waiting", False) else None
                asks = "; ".join(
                    printable(q.prompt, limit=300) for q in getattr(run, "questions", ())
                )
                self.said = f"The agent did not change the preview ({run.status})" + (
                    f": {asks} Answer with migkit.notebook.review(run)." if asks else "."
                )
                return self.preview
            new = migrations.preview(self.migration)
            self.changes = preview_changes(self.preview, new)
            self.preview, self.blocked = new, None
            changed = [f"{new.sheets[s].name}: {c.text()}" for s, c in self.changes.items() if c]
            self.said = "New preview; " + ("; ".join(changed) if changed else "nothing changed")
            self.instruction.value = ""
            return new

        return self._act("Changing the recipe…", update)

    # -- static views --------------------------------------------------------------------------
    def plain_text(self) -> str:
        lines = [preview_plain(self.preview, self.changes)]
        if self.answer_text:
            lines.append(f"Agent: {self.answer_text}")
        lines += self.history
        if self.said:
            lines.append(self.said)
        return "\n".join(lines)

    def static_html(self) -> str:
        sheets = "".join(
            f"<div style='margin-top:6px'>{sheet_counts(s, self.changes.get(s.slug))}"
            f"{sheet_table(s, self.changes.get(s.slug))}</div>"
            for s in self.preview.sheets.values()
        )
        return (
            preview_counts(self.preview)
            + sheets
            + str(self.answer.value)
            + f"<div>{self._history_html()}</div>"
        )


def preview_widget(
    client: Any, migration: Any, preview: Any = None, *, timeout: float | None = None
) -> PreviewWidget | None:
    """A :class:`PreviewWidget` for ``migration``; outside Jupyter, prints the preview's
    counts and returns ``None``.

    >>> view = migkit.notebook.preview_widget(client, migration)  # doctest: +SKIP
    """
    from migkit.progress import widgets_available

    if not widgets_available():
        shown = preview if preview is not None else client.migrations.preview(migration)
        print(preview_plain(shown))
        return None
    return PreviewWidget(client, migration, preview, timeout=timeout)
