"""Live run panels for Jupyter: one ipywidgets panel per run, updated in place.

A panel says which company and sheet the run imports into, its status and the server's
message, a stage bar (step n of the run's known stages), an elapsed time that keeps ticking
between polls, when the next poll happens and how many requests the wait has spent, each
retry of a request as it happens, and a *Cancel* button while the run can be canceled. When
the run ends it shows how (the report's numbers in words, the questions of a paused run, or
the error). A fleet (``wait_all``) shows a total bar and one line per run.

Every panel's output also carries a readable ``text/plain`` and ``text/html`` of its current
state, re-published when its status changes, so a renderer without the widget front end
(VS Code without widgets, GitHub, nbviewer, a notebook reopened elsewhere) shows the state
instead of markup; once the run ends the live view is dropped from the output, leaving the
final state as plain HTML that renders anywhere and never says "model not found".

A run waited on twice in one cell (paused, decided, watched again) keeps one panel, which
keeps how the run paused above how it ended. Widgets are updated from the thread that waits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as widgets
from IPython.display import display, update_display

from migkit._retry_notices import RetryNotice
from migkit.notebook.cells import click_signal, current_cell, mark_shown
from migkit.notebook.html import (
    BAD,
    MUTED,
    WARN,
    badge,
    questions_html,
    questions_lines,
    report_html,
    span,
)
from migkit.polling import PollEvent
from migkit.printable import counted
from migkit.progress.state import RunState, duration

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TICK = 0.5  # seconds between clock updates while the panel waits for the next poll
_PANELS: dict[tuple[str, str], RunPanel] = {}


class Published:
    """Output that carries ``text/plain`` and ``text/html`` of the widget's current state
    besides the live view, re-published on :meth:`publish`; a ``final`` widget publishes
    the static representation alone."""

    final = False
    _display_id = ""

    def plain_text(self) -> str:
        raise NotImplementedError

    def static_html(self) -> str:
        raise NotImplementedError

    def _bundle(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text/plain": self.plain_text(), "text/html": self.static_html()}
        if not self.final:
            model_id = getattr(self, "model_id", None)
            data[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0, "model_id": model_id}
        return data

    def _ipython_display_(self, **kwargs: Any) -> None:
        if not self._display_id:
            self._display_id = uuid.uuid4().hex
        display(self._bundle(), raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]

    def publish(self) -> None:
        """Re-publish every output of this widget with its current state."""
        if self._display_id:
            update_display(self._bundle(), raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]


def _clock(state: RunState, since: float, spent: int) -> str:
    if state.polls == 0 and state.ended:
        return ""  # shown before any wait (a review's paused run): no time to tell
    parts = [state.stage if not state.ended else "", duration(state.elapsed + since)]
    if state.next_poll_in is not None and not state.ended:
        parts.append(f"next poll in {duration(max(0.0, state.next_poll_in - since))}")
    parts.append(counted(spent, "request"))
    return span(MUTED, " &middot; ".join(p for p in parts if p))


def header_html(state: RunState) -> str:
    """The panel's first line: company and sheet, run id, status badge and message."""
    where = f"<b>{escape(state.label)}</b> &middot; " if state.label else ""
    message = f" {escape(state.message)}" if state.message else ""
    run = f"run <code>{escape(state.run_id[:8])}</code>"
    return f"<div>{where}{run} {badge(state.status)}{message}</div>"


def ending_html(state: RunState, questions: bool = True) -> str:
    """How the run ended (or paused), with any earlier phase kept above it."""
    parts = [f"<div style='{MUTED}'>earlier: {escape(h)}</div>" for h in state.history]
    run = state.run
    report = getattr(run, "report", None)
    if report is not None and hasattr(report, "headline"):
        parts.append(report_html(report, waiting=run.waiting))
    if getattr(run, "error", None):
        parts.append(f"<div style='{BAD}'>{escape(run.error)}</div>")
    if questions and getattr(run, "waiting", False):
        parts.append(questions_html(run))
    if state.error:
        parts.append(f"<div style='{BAD}'>Stopped watching: {escape(state.error)}</div>")
    return "".join(parts)


class RunPanel(Published, widgets.VBox):  # type: ignore[misc]
    """One run's panel: label, status, stage bar, ticking clock, retries, Cancel, ending."""

    def __init__(
        self,
        run_id: str,
        requests: Callable[[], int],
        label: str | None = None,
        *,
        questions: bool = True,
        start: int | None = None,
    ) -> None:
        self.state = RunState(run_id, label)
        self._questions = questions  # show a paused run's questions (a review has its own)
        self._requests = requests
        self._start = requests() if start is None else start  # the request count at the start
        self._at = time.monotonic()  # when the latest poll came in
        self._interrupt = False
        self.notes: list[str] = []  # what people did here (Cancel clicked, a decision taken)
        self.header = widgets.HTML(header_html(self.state))
        self.stages = widgets.IntProgress(
            value=1, min=0, max=self.state.steps, layout=widgets.Layout(width="140px")
        )
        self.clock = widgets.HTML()
        self.cancel_button = widgets.Button(
            description="Cancel run",
            icon="stop",
            tooltip="Ask the server to cancel this run",
            layout=widgets.Layout(width="auto", display="none"),
        )
        self.cancel_button.on_click(lambda _: self.cancel())
        # Seen while the cell waits (the handler itself only runs once the cell ends).
        self._cancel_clicked = click_signal(self.cancel_button)
        self.notice = widgets.HTML()
        self.body = widgets.HTML()
        super().__init__(
            [
                self.header,
                widgets.HBox([self.stages, self.clock, self.cancel_button]),
                self.notice,
                self.body,
            ]
        )

    @property
    def run_id(self) -> str:
        return self.state.run_id

    @property
    def status(self) -> str:
        return self.state.status

    def spent(self) -> int:
        """Requests this panel's waits have sent."""
        return self._requests() - self._start

    # -- updates -----------------------------------------------------------------------------
    def update(self, event: PollEvent[Any]) -> None:
        """Show the latest poll; re-publish the static views when the status changed."""
        before = (self.state.step, self.state.message)
        changed = self.state.update(event)
        self._at = time.monotonic()
        self.final = self.state.ended
        self._render()
        if self.final:
            mark_shown(event.run)
        if changed or self.final or before != (self.state.step, self.state.message):
            self.publish()

    def __call__(self, event: PollEvent[Any]) -> None:
        """A panel is also a progress hook for its run."""
        self.update(event)

    def retrying(self, notice: RetryNotice, run: Any = None) -> None:
        """Show a retry as it happens (the request waits ``notice.delay`` before it)."""
        self.state.retrying(notice)
        self._render()
        self.publish()

    def note(self, text: str) -> None:
        """Keep ``text`` (what was done here) on the panel for good."""
        self.notes.append(text)
        self._render()
        self.publish()

    def _cancellable(self) -> bool:
        run = self.state.run
        return (
            not self.state.ended
            and getattr(run, "_imports", None) is not None
            and self._cancel_clicked is not None  # the click can be seen while the cell waits
            and not self._interrupt
        )

    def _render(self) -> None:
        state = self.state
        self.header.value = header_html(state)
        self.stages.value = state.step
        self.stages.bar_style = {"completed": "success", "failed": "danger"}.get(
            state.status, "warning" if state.status == "needs_attention" else "info"
        )
        self.clock.value = _clock(state, 0.0, self.spent())
        trouble = state.trouble()
        self.notice.value = "".join(
            f"<div style='{MUTED}'>{escape(n)}</div>" for n in self.notes
        ) + (
            f"<div style='{BAD if state.error else WARN}'>{escape(trouble)}</div>"
            if trouble
            else ""
        )
        self.body.value = ending_html(state, self._questions) if state.ended else ""
        self.cancel_button.layout.display = "" if self._cancellable() else "none"

    def tick(self) -> None:
        """Move the clock on (between polls)."""
        self.clock.value = _clock(self.state, time.monotonic() - self._at, self.spent())

    def pause(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """Wait for the next poll: the clock ticks and a click on Cancel is acted on at once
        (from this thread, which owns the widgets)."""
        waited = 0.0
        while waited < seconds and not self._interrupt:
            if self._cancel_clicked is not None and self._cancel_clicked.is_set():
                self.cancel()
                break
            self.tick()
            step = min(TICK, seconds - waited)
            sleep(step)
            waited += step
        self._interrupt = False

    def cancel(self) -> None:
        """Ask the server to cancel the run (the *Cancel run* button); the next poll, which
        comes at once, shows it canceled."""
        if self.cancel_button.disabled:  # done already (the click's handler runs late)
            return
        self.cancel_button.disabled = True
        self.cancel_button.description = "Canceling…"
        try:
            self.state.run.cancel()
        except Exception as exc:  # e.g. a server without the cancel endpoint: say so
            self.cancel_button.layout.display = "none"
            self.note(f"Could not cancel: {exc}")
            return
        self._interrupt = True
        self.note(f"Cancel run clicked at {datetime.now():%H:%M:%S}")

    # -- static views --------------------------------------------------------------------------
    def plain_text(self) -> str:
        state = self.state
        lines = [state.summary() if state.ended else state.line()]
        lines += [f"  {n}" for n in self.notes]
        if state.ended and self._questions and getattr(state.run, "waiting", False):
            lines += questions_lines(state.run)
        return "\n".join(lines)

    def static_html(self) -> str:
        state = self.state
        trouble = state.trouble()
        return (
            header_html(state)
            + f"<div>{_clock(state, 0.0, self.spent())}</div>"
            + "".join(f"<div style='{MUTED}'>{escape(n)}</div>" for n in self.notes)
            + (
                f"<div style='{WARN}'>{escape(trouble)}</div>"
                if trouble and not state.error
                else ""
            )
            + (ending_html(state, self._questions) if state.ended else "")
        )


def panel_for(run: Any, requests: Callable[[], int], start: int | None = None) -> RunPanel:
    """The run's panel in this cell: the one already shown here (the same run waited on again
    in this cell) or a new one, displayed. ``start`` is the request count when the wait began."""
    key = (current_cell(), run.id)
    panel = _PANELS.get(key)
    if panel is None:
        if len(_PANELS) > 200:  # panels of cells long done
            _PANELS.clear()
        label = getattr(run, "label", None)
        panel = _PANELS[key] = RunPanel(run.id, requests, label, start=start)
        display(panel)  # type: ignore[no-untyped-call]
    else:
        panel._requests = requests
    return panel


class NotebookProgress:
    """A progress hook for one run: its panel, created on the first event."""

    def __init__(self, requests: Callable[[], int]) -> None:
        self._requests = requests
        self._start = requests()
        self.panel: RunPanel | None = None

    def _panel(self, run: Any) -> RunPanel:
        if self.panel is None or self.panel.run_id != run.id:
            self.panel = panel_for(run, self._requests, self._start)
        return self.panel

    def __call__(self, event: PollEvent[Any]) -> None:
        self._panel(event.run).update(event)

    def retrying(self, notice: RetryNotice, run: Any = None) -> None:
        """Show a retry on the run's panel."""
        if run is not None:
            self._panel(run).retrying(notice)
        elif self.panel is not None:
            self.panel.retrying(notice)

    def pause(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """Wait on the panel (its clock ticks, its Cancel button answers)."""
        if self.panel is None:
            sleep(seconds)
        else:
            self.panel.pause(seconds, sleep)


class FleetProgress(Published, widgets.VBox):  # type: ignore[misc]
    """A progress hook for many runs: a total bar and one line per run."""

    def __init__(self, total: int, requests: Callable[[], int]) -> None:
        self._requests = requests
        self._start = requests()
        self._started = time.monotonic()
        self.states: dict[str, RunState] = {}
        self._rows: dict[str, widgets.HTML] = {}
        self.bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), description="0 done")
        self.summary = widgets.HTML()
        self._top = widgets.HBox([self.bar, self.summary])
        super().__init__([self._top])
        display(self)  # type: ignore[no-untyped-call]

    def _done(self) -> int:
        return sum(s.ended for s in self.states.values())

    def _summary(self) -> str:
        spent = self._requests() - self._start
        elapsed = duration(time.monotonic() - self._started)
        return (
            f"{self._done()} of {counted(self.bar.max, 'run')} ended &middot; {elapsed} "
            f"&middot; {counted(spent, 'request')}"
        )

    def _row(self, state: RunState) -> str:
        text = state.summary() if state.ended else state.line()
        return f"<div>{badge(state.status)} {escape(text)}</div>"

    def __call__(self, event: PollEvent[Any]) -> None:
        run = event.run
        state = self.states.get(run.id)
        if state is None:
            state = self.states[run.id] = RunState(run.id, getattr(run, "label", None))
            self._rows[run.id] = widgets.HTML()
            self.children = (self._top, *self._rows.values())
        changed = state.update(event)
        self._rows[run.id].value = self._row(state)
        self.bar.value = self._done()
        self.bar.description = f"{self._done()} done"
        self.summary.value = span(MUTED, self._summary())
        self.final = self._done() >= self.bar.max
        if changed or self.final:
            self.publish()

    def pause(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """Wait for the next poll while the elapsed time in the summary keeps ticking."""
        waited = 0.0
        while waited < seconds:
            self.summary.value = span(MUTED, self._summary())
            step = min(TICK, seconds - waited)
            sleep(step)
            waited += step

    def retrying(self, notice: RetryNotice, run: Any = None) -> None:
        """Show a retry on the run's line."""
        state = self.states.get(run.id) if run is not None else None
        if state is not None:
            state.retrying(notice)
            self._rows[state.run_id].value = self._row(state)

    def plain_text(self) -> str:
        lines = [self._summary().replace("&middot;", "·")]
        lines += [s.summary() if s.ended else s.line() for s in self.states.values()]
        return "\n".join(lines)

    def static_html(self) -> str:
        rows = "".join(self._row(s) for s in self.states.values())
        return f"<div>{span(MUTED, self._summary())}</div>{rows}"
