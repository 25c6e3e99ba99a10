"""The agent's thread, live in a notebook: one line per event as the stream delivers it.

Status lines are muted, the agent's and your messages stand out, questions are marked, tool
calls and results (and thinking, prepared inputs) are folded under a one-line summary that
opens to the full payload. The panel streams in a background thread, so the notebook stays
usable while a run goes on: other cells run, and the panel keeps moving.

Like every migkit widget, its output also carries ``text/plain`` and ``text/html`` of its
current state; :meth:`ThreadPanel.stop` ends the stream and leaves that static state alone in
the output (readable in GitHub, nbviewer, a reopened notebook).

>>> panel = ThreadPanel()
>>> panel.add({"sequence": 1, "type": "status", "data": {"message": "Reading your files"},
...            "created_at": "2026-06-19T15:32:13Z"})
>>> panel.plain_text().splitlines()[-1]
'15:32:13 -         · Reading your files'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from html import escape
from typing import Any

import ipywidgets as widgets

from migkit.notebook.html import BAD, GOOD, MUTED, WARN, span
from migkit.notebook.panel import Published
from migkit.printable import counted, printable
from migkit.progress.thread import FOLDED, clock, compact, event_line, parts, summary

STYLES = {
    "status": MUTED,
    "task": MUTED,
    "request_input": WARN,
    "completed": GOOD,
    "error": BAD,
    "preview": "",
    "message": "",
}
SHOWN = 400  # events kept on the panel (the thread itself keeps them all)
# The events that change the panel's saved text enough to re-publish it at once.
MILESTONES = frozenset({"request_input", "preview", "completed", "error", "message"})


def event_html(event: Any) -> str:
    """One event as HTML; folded types open to their full payload."""
    _, kind, data, created = parts(event)
    run = data.get("kind")
    when = span(MUTED, escape(clock(created) or ""))
    who = span(MUTED, escape(printable(run, limit=20))) if isinstance(run, str) else ""
    text = escape(summary(event))
    if kind in FOLDED:
        payload = escape(compact({k: v for k, v in data.items() if k not in ("run_id",)}, 4000))
        return (
            f"<details class='migkit-event' data-type='{escape(kind, quote=True)}'>"
            f"<summary>{when} {who} <span style='{MUTED}'>{text}</span></summary>"
            f"<pre style='white-space:pre-wrap;margin:0 0 0 2em'>{payload}</pre></details>"
        )
    style = STYLES.get(kind, "")
    if kind == "message" and data.get("role") != "user":
        text = f"<b>{text}</b>"
    return (
        f"<div class='migkit-event' data-type='{escape(kind, quote=True)}'>{when} {who} "
        f"<span style='{style}'>{text}</span></div>"
    )


class ThreadPanel(Published, widgets.VBox):  # type: ignore[misc]
    """The thread's events, appended as they arrive (from any thread).

    ``follow(events)`` reads an iterator of events (``client.migrations.stream(m)``) in a
    background thread; ``stop()`` ends it. ``add(event)`` appends one event.
    """

    def __init__(self, title: str = "Agent thread", events: Iterable[Any] = ()) -> None:
        self.title = title
        self.events: list[Any] = []
        self.dropped = 0  # events no longer shown (the panel keeps the latest SHOWN)
        self.error = ""
        self._seen: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._source: Any = None
        self.header = widgets.HTML(self._header_html())
        self.feed = widgets.HTML()
        super().__init__([self.header, self.feed])
        for event in events:
            self.add(event, publish=False)

    # -- events ------------------------------------------------------------------------------
    def add(self, event: Any, *, publish: bool = True) -> None:
        """Append ``event`` (once: an event already shown, by sequence, is skipped)."""
        sequence, kind, _, _ = parts(event)
        with self._lock:
            if sequence and sequence in self._seen:
                return
            self._seen.add(sequence)
            self.events.append(event)
            if len(self.events) > SHOWN:
                self.events.pop(0)
                self.dropped += 1
            # A box whose one child is laid out in reverse keeps its scroll at the bottom: the
            # newest events stay in view as they arrive, older ones are a scroll up.
            self.feed.value = (
                "<div style='display:flex;flex-direction:column-reverse;max-height:360px;"
                f"overflow:auto'><div>{self._log_html()}</div></div>"
            )
            self.header.value = self._header_html()
        if publish and kind in MILESTONES:
            self.publish()

    def follow(
        self, events: Iterable[Any], until: Callable[[Any], bool] | None = None
    ) -> threading.Thread:
        """Read ``events`` in a background thread, adding each; stops at :meth:`stop`, when
        the iterator ends, or after an event for which ``until(event)`` is true."""
        self._source = events
        self._stop.clear()

        def read() -> None:
            try:
                for event in events:
                    if self._stop.is_set():
                        break
                    self.add(event)
                    if until is not None and until(event):
                        break
            except Exception as exc:  # shown on the panel: a thread's traceback is lost
                if not self._stop.is_set():
                    self.error = printable(exc, limit=500)
            finally:
                self.header.value = self._header_html()
                self.publish()

        self._thread = threading.Thread(target=read, name="migkit-thread-panel", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def following(self) -> bool:
        """True while the background reader runs and was not told to stop (a reader blocked
        on a quiet stream ends at the next bytes, a heartbeat at the latest, adding nothing)."""
        alive = self._thread is not None and self._thread.is_alive()
        return alive and not self._stop.is_set()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 60.0) -> Any:
        """Block until an event for which ``predicate(event)`` is true has arrived (and
        return it), or ``timeout`` seconds; ``None`` on timeout."""
        waited = 0.0
        while True:
            with self._lock:
                found = next((e for e in self.events if predicate(e)), None)
            if found is not None or waited >= timeout or not self.following:
                return found
            self._stop.wait(0.05)
            waited += 0.05

    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def stop(self, timeout: float = 1.0) -> None:
        """End the stream; the output keeps the panel's final state as text and HTML."""
        self._stop.set()
        close = getattr(self._source, "close", None)
        if callable(close):
            with suppress(Exception):  # a generator running in the reader cannot be closed
                close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.final = True
        self.header.value = self._header_html()
        self.publish()

    # -- views -------------------------------------------------------------------------------
    def _header_html(self) -> str:
        state = "live" if self.following and not self.final else "stopped"
        count = counted(len(self.events) + self.dropped, "event")
        line = f"<b>{escape(self.title)}</b> {span(MUTED, f'{count} &middot; {state}')}"
        if self.error:
            line += f"<div style='{BAD}'>The stream stopped: {escape(self.error)}</div>"
        return f"<div>{line}</div>"

    def _log_html(self) -> str:
        older = (
            f"<div style='{MUTED}'>… {counted(self.dropped, 'earlier event')}</div>"
            if self.dropped
            else ""
        )
        return older + "".join(event_html(e) for e in self.events)

    def plain_text(self) -> str:
        with self._lock:
            events = list(self.events)
        count = counted(len(events) + self.dropped, "event")
        lines = [f"{self.title} ({count})"]
        if self.error:
            lines.append(f"The stream stopped: {self.error}")
        lines += [event_line(e) for e in events]
        return "\n".join(lines)

    def static_html(self) -> str:
        with self._lock:
            return self._header_html() + f"<div>{self._log_html()}</div>"


def thread_panel(
    client: Any, migration: Any, *, include: str = "tools", after: int | None = None
) -> ThreadPanel:
    """A :class:`ThreadPanel` following ``migration``'s thread from ``client`` live.

    >>> panel = migkit.notebook.thread_panel(client, migration)  # doctest: +SKIP
    """
    name = getattr(migration, "name", "") or ""
    panel = ThreadPanel(f"Agent thread · {name}" if name else "Agent thread")
    options: dict[str, Any] = {"include": include}
    if after is not None:
        options["after"] = after
    try:  # a stream that checks a stop flag ends at once on stop(), heartbeats included
        events = client.migrations.stream(migration, stop=panel.stopped, **options)
    except TypeError:
        events = client.migrations.stream(migration, **options)
    panel.follow(events)
    return panel
