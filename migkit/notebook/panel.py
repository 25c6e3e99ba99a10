"""Live run panels for Jupyter: one ipywidgets panel per run, updated in place.

A panel shows the run's status badge, the server's progress message, elapsed time, when the
next poll happens and how many requests the wait has spent; when the run ends it shows the
report's headline numbers (or the questions, for a paused run). A fleet (``wait_all``) shows
one compact row per run and a total bar.

Panels are kept per run id for the kernel's life, so a re-executed cell shows the same panel
again instead of a second one; after a kernel restart, ``client.imports.recover()`` and
``wait`` make fresh ones. Widgets are only updated from the thread that waits (the cell's own
thread), never from a background thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from migkit.notebook.html import badge, report_html
from migkit.polling import PollEvent

_PANELS: dict[str, RunPanel] = {}


def _seconds(value: float) -> str:
    value = max(0.0, value)
    if value < 60:
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s"


def _line(event: PollEvent[Any], spent: int) -> str:
    run = event.run
    parts = [
        f"<code>{run.id[:8]}</code>",
        badge(run.status),
        escape(getattr(run, "progress_message", None) or ""),
        f"<span style='color:#666'>{_seconds(event.elapsed)}",
    ]
    if event.next_poll_in is not None:
        parts.append(f"&middot; next poll in {_seconds(event.next_poll_in)}")
    parts.append(f"&middot; {spent} requests</span>")
    return " ".join(p for p in parts if p)


def _ending(run: Any) -> str:
    if getattr(run, "report", None) is not None and hasattr(run.report, "flagged_rows"):
        return str(report_html(run.report))
    if getattr(run, "error", None):
        return f"<div style='color:#c62828'>{escape(run.error)}</div>"
    if getattr(run, "waiting", False):
        count = len(run.needs_attention.questions) if run.needs_attention else 0
        return (
            f"<div style='color:#ef6c00'>Waiting for a decision: {count} question(s). "
            "Answer below, or with <code>run.decide(...)</code>.</div>"
        )
    return ""


class RunPanel:
    """One run's panel (an ``ipywidgets.HTML`` updated in place)."""

    def __init__(self, run_id: str, requests: Callable[[], int]) -> None:
        self.run_id = run_id
        self._requests = requests
        self._start = requests()
        self.widget = widgets.HTML(value=f"<code>{run_id[:8]}</code> {badge('queued')}")
        self.status = "queued"

    def update(self, event: PollEvent[Any]) -> None:
        """Show the latest poll."""
        self.status = event.run.status
        body = _line(event, self._requests() - self._start)
        if event.next_poll_in is None:
            body += _ending(event.run)
        self.widget.value = body

    def show(self) -> None:
        """Display the panel in the current cell's output."""
        display(self.widget)  # type: ignore[no-untyped-call]


def panel_for(run_id: str, requests: Callable[[], int]) -> RunPanel:
    """The run's panel, displayed in this cell: the existing one (a re-executed cell) or new."""
    panel = _PANELS.get(run_id)
    if panel is None:
        panel = _PANELS[run_id] = RunPanel(run_id, requests)
    else:
        panel._requests, panel._start = requests, requests()
    panel.show()
    return panel


class NotebookProgress:
    """A progress hook for one run: its panel, created on the first event."""

    def __init__(self, requests: Callable[[], int]) -> None:
        self._requests = requests
        self.panel: RunPanel | None = None

    def __call__(self, event: PollEvent[Any]) -> None:
        if self.panel is None or self.panel.run_id != event.run.id:
            self.panel = panel_for(event.run.id, self._requests)
        self.panel.update(event)


class FleetProgress:
    """A progress hook for many runs: a total bar and one compact row per run."""

    def __init__(self, total: int, requests: Callable[[], int]) -> None:
        self._requests = requests
        self._start = requests()
        self._rows: dict[str, widgets.HTML] = {}
        self._done: set[str] = set()
        self.bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), description="0 done")
        self.summary = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([self.bar, self.summary])])
        self._started = time.monotonic()
        display(self.box)  # type: ignore[no-untyped-call]

    def __call__(self, event: PollEvent[Any]) -> None:
        run = event.run
        row = self._rows.get(run.id)
        if row is None:
            row = self._rows[run.id] = widgets.HTML()
            self.box.children = (*self.box.children, row)
        spent = self._requests() - self._start
        row.value = _line(event, spent)
        if event.next_poll_in is None:
            self._done.add(run.id)
        self.bar.value = len(self._done)
        self.bar.description = f"{len(self._done)} done"
        elapsed = _seconds(time.monotonic() - self._started)
        self.summary.value = (
            f"<span style='color:#666'>{len(self._done)} of {self.bar.max} runs ended "
            f"&middot; {elapsed} &middot; {spent} requests</span>"
        )
