"""Progress in a terminal or a log: live bars on a terminal, plain lines everywhere else.

- :class:`LineProgress` (stderr is a file, a pipe, CI's log, or a terminal without a width):
  one line when a run's status changes, one line per retry of a request, and one summary
  line when the run ends. No carriage returns, so a log reads top to bottom.
- :class:`BarProgress` (stderr is a terminal): a bar per run showing its stage (step n of
  the run's known stages) and an elapsed time that keeps ticking between polls; when the run
  ends the bar is removed and the same summary line is printed, so each run ends with one
  line (unless the caller prints the ending itself, as the CLI does).

Both write to ``sys.stderr`` (what a command prints on stdout, such as ``--json``, stays
clean) and flush stdout first so the two interleave in order when they share a file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TextIO

from tqdm import tqdm

from migkit._retry_notices import RetryNotice
from migkit.polling import PollEvent
from migkit.progress.state import RunState

TICK = 0.5  # seconds between clock updates while waiting for the next poll


def _flush_stdout() -> None:
    with suppress(OSError, ValueError):  # a closed stdout: nothing to keep in order
        sys.stdout.flush()


class _States:
    """The runs a display follows, by id."""

    def __init__(self) -> None:
        self.states: dict[str, RunState] = {}

    def state(self, run: Any) -> RunState:
        found = self.states.get(run.id)
        if found is None:
            found = self.states[run.id] = RunState(run.id, getattr(run, "label", None))
        return found


class LineProgress(_States):
    """A progress hook that prints plain lines: one per status change, one summary per run.

    >>> import io
    >>> from migkit.models import Run
    >>> out = io.StringIO()
    >>> hook = LineProgress(stream=out)
    >>> hook(PollEvent(Run("3f0c9a2e-1", "c", "running"), 1, 0.1, 2.0))
    >>> hook(PollEvent(Run("3f0c9a2e-1", "c", "running"), 2, 2.2, 2.0))
    >>> hook(PollEvent(Run("3f0c9a2e-1", "c", "canceled"), 3, 4.4, None))
    >>> print(out.getvalue(), end="")
    run 3f0c9a2e: running (step 2 of 7) [0.1s]
    run 3f0c9a2e: canceled [4.4s, 3 polls]
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream

    def _print(self, text: str) -> None:
        stream = self._stream or sys.stderr
        if stream is sys.stderr:
            _flush_stdout()
        print(text, file=stream, flush=True)

    def __call__(self, event: PollEvent[Any]) -> None:
        state = self.state(event.run)
        first = state.polls == 0 and not state.history
        changed = state.update(event)
        if state.ended:
            self._print(state.summary())
        elif changed or first:
            self._print(state.line())

    def retrying(self, notice: RetryNotice, run: Any = None) -> None:
        """One line per retry (there are at most the retry policy's few)."""
        title = self.state(run).title + ": " if run is not None else ""
        self._print(f"{title}the server did not answer: {notice}")


class BarProgress(_States):
    """A progress hook for a terminal: a stage bar per run with a ticking clock, and one
    summary line when the run ends."""

    def __init__(
        self, total: int | None = None, stream: TextIO | None = None, end_line: bool = True
    ) -> None:
        super().__init__()
        self._stream = stream
        self._end_line = end_line  # False when the caller prints each run's ending itself
        self._bars: dict[str, Any] = {}
        self._total = (
            tqdm(total=total, desc="runs ended", unit="run", file=self._file(), leave=False)
            if total
            else None
        )

    def _file(self) -> TextIO:
        return self._stream or sys.stderr

    def _bar(self, state: RunState) -> Any:
        bar = self._bars.get(state.run_id)
        if bar is None:
            _flush_stdout()
            bar = self._bars[state.run_id] = tqdm(
                total=state.steps,
                file=self._file(),
                leave=False,
                dynamic_ncols=True,
                bar_format="{desc} {bar:12} [{elapsed}]",
            )
        return bar

    def __call__(self, event: PollEvent[Any]) -> None:
        state = self.state(event.run)
        state.update(event)
        bar = self._bar(state)
        if state.ended:
            bar.close()
            del self._bars[state.run_id]
            if self._end_line:
                _flush_stdout()
                tqdm.write(state.summary(), file=self._file())
            if self._total is not None:
                self._total.update(1)
                if self._total.n >= (self._total.total or 0):
                    self._total.close()
            return
        self._show(state, bar)

    def _show(self, state: RunState, bar: Any) -> None:
        trouble = state.trouble()
        bar.n = state.step
        bar.set_description_str(
            f"{state.title}: {state.activity()}" + (f" - {trouble}" if trouble else ""),
            refresh=True,
        )

    def retrying(self, notice: RetryNotice, run: Any = None) -> None:
        """Show the retry on the run's bar while it waits."""
        if run is None or run.id not in self._bars:
            tqdm.write(f"the server did not answer: {notice}", file=self._file())
            return
        state = self.state(run)
        state.retrying(notice)
        self._show(state, self._bars[run.id])

    def pause(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """Wait ``seconds`` with ``sleep``, refreshing the bars so their clocks keep going."""
        waited = 0.0
        while waited < seconds:
            step = min(TICK, seconds - waited)
            sleep(step)
            waited += step
            for bar in self._bars.values():
                bar.refresh()
