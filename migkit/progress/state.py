"""What a progress display knows about one run, as plain data and plain text.

:class:`RunState` is built up from poll events and retry notices; the terminal displays
(:mod:`migkit.progress.terminal`) print its lines and the notebook panels
(:mod:`migkit.notebook.panel`) render it as widgets and HTML, so every front end says the same
thing in the same words.

>>> from migkit.models import Run
>>> from migkit.polling import PollEvent
>>> state = RunState("3f0c9a2e-0000", "Acme Corp · Contacts")
>>> state.update(PollEvent(Run("3f0c9a2e-0000", "c", "running",
...                            progress_message="Cleaning your data"), 2, 3.2, 2.0))
True
>>> state.line()
'Acme Corp · Contacts · run 3f0c9a2e: running, Cleaning your data (step 4 of 7) [3.2s]'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migkit._retry_notices import RetryNotice
from migkit.polling import PollEvent
from migkit.printable import counted, printable

# The stages an import run goes through, as the API's progress messages name them (the docs
# give "Cleaning your data" as an example; the sandbox contract lists them all). A message
# not in the list (e.g. "Retrying (attempt 2 of 5)") keeps the stage the run was at.
IMPORT_STAGES = (
    "Queued",
    "Reading your files",
    "Mapping columns",
    "Cleaning your data",
    "Validating rows",
    "Inserting rows",
    "Ended",
)
# Where a wait ends: Generation 1's ends, and Generation 2's rests (a question, a preview).
ENDED = frozenset(
    {"completed", "failed", "canceled", "needs_attention", "blocked", "awaiting_approval"}
)


def duration(seconds: float) -> str:
    """Seconds for people: ``3.2s``, ``45s``, ``1m15s``, ``2h03m``.

    >>> duration(3.21), duration(45), duration(75), duration(7380)
    ('3.2s', '45s', '1m15s', '2h03m')
    """
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def outcome(run: Any) -> str:
    """How a run ended (or why it paused), in one phrase.

    >>> from migkit.models import Run, Report
    >>> outcome(Run("r", "c", "completed", report=Report(196, (), 12)))
    'completed: 184 valid + 12 flagged = 196 inserted'
    """
    status = str(getattr(run, "status", ""))
    report = getattr(run, "report", None)
    text = status
    if report is not None and hasattr(report, "headline"):
        text += ": " + report.headline(waiting=status == "needs_attention")
    elif report is not None and hasattr(report, "succeeded"):
        text += f": {report.succeeded:,} of {counted(report.total, 'write')} succeeded"
    attention = getattr(run, "needs_attention", None)
    if status == "needs_attention" and attention is not None:
        text += f"; {counted(len(attention.questions), 'question')} to answer"
    if status == "blocked" and getattr(run, "questions", None):
        text += f"; {counted(len(run.questions), 'question')} to answer"
    if getattr(run, "error", None):
        text += f": {printable(run.error, limit=1000)}"
    return printable(text, limit=2000)


@dataclass
class RunState:
    """One run as a display shows it: status, stage, timing, retries and how it ended."""

    run_id: str
    label: str | None = None
    status: str = "queued"
    message: str | None = None
    step: int = 1
    elapsed: float = 0.0
    polls: int = 0
    next_poll_in: float | None = None
    retry: RetryNotice | None = None
    problem: str | None = None
    error: str | None = None
    ended: bool = False
    run: Any = None
    # Earlier phases of the same run shown in the same place (e.g. it paused, was decided and
    # ran again): kept, never overwritten.
    history: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(IMPORT_STAGES)

    @property
    def title(self) -> str:
        """``Acme Corp · Contacts · run 3f0c9a2e`` (the short run id alone when unlabelled)."""
        short = f"run {self.run_id[:8]}"
        return f"{self.label} · {short}" if self.label else short

    @property
    def stage(self) -> str:
        """``step 4 of 7`` for the stage the run is at."""
        return f"step {self.step} of {self.steps}"

    def update(self, event: PollEvent[Any]) -> bool:
        """Take in a poll event; True when what a log would print changed (the status, an
        end, a failed poll), False for a poll that only moved the clock or the stage."""
        run = event.run
        before = (self.status, self.ended, self.problem, self.error)
        if self.ended and getattr(run, "raw", None) != getattr(self.run, "raw", None):
            # The same run watched again in a new state (it paused, a decision was taken and
            # it ran again): keep how it paused.
            self.history.append(outcome(self.run))
            self.ended, self.error = False, None
        # The server's words are shown escaped (a status, message or error may carry ANSI
        # escapes or newlines); ordinary text is unchanged, so stage lookups still match.
        self.run, self.status = run, printable(str(run.status), limit=80)
        kind = getattr(run, "kind", None)  # a Generation-2 run: its kind names it
        label = (
            self.label or getattr(run, "label", None) or (kind if isinstance(kind, str) else None)
        )
        self.label = printable(label, limit=200) if label else None
        message = getattr(run, "progress_message", None)
        self.message = printable(message, limit=500) if message else None
        self.elapsed, self.polls, self.next_poll_in = event.elapsed, event.polls, event.next_poll_in
        self.problem = event.problem
        if event.error is None:
            self.retry = None  # the poll got an answer
        else:
            self.error = printable(str(event.error), limit=1000)
        self.step = self._step()
        # No next poll: the wait ended, unless the run is still active and no error ended it
        # (a Generation-2 wait follows the thread stream, whose events schedule no poll).
        active = self.status in ("queued", "running") and event.error is None
        self.ended = event.next_poll_in is None and not active
        return (self.status, self.ended, self.problem, self.error) != before

    def retrying(self, notice: RetryNotice) -> None:
        """Take in a retry notice: shown until the next poll answers."""
        self.retry = notice

    def _step(self) -> int:
        if self.status == "queued":
            return 1
        if self.status in ENDED:
            return self.steps
        if self.message in IMPORT_STAGES:
            return IMPORT_STAGES.index(self.message) + 1
        return max(self.step, 2)

    def activity(self) -> str:
        """What the run is doing: ``running, Cleaning your data (step 4 of 7)``."""
        text = self.status + (f", {self.message}" if self.message else "")
        return text if self.ended else f"{text} ({self.stage})"

    def trouble(self) -> str | None:
        """A retry or failed poll in progress, or the error that ended the wait."""
        if self.error:
            return f"stopped watching: {self.error}"
        if self.retry is not None:
            return f"the server did not answer: {self.retry}"
        return self.problem

    def line(self) -> str:
        """One plain line for a status change."""
        trouble = self.trouble()
        return f"{self.title}: {self.activity()} [{duration(self.elapsed)}]" + (
            f" - {trouble}" if trouble else ""
        )

    def summary(self) -> str:
        """The one line that ends a run: how it ended, time taken and polls made."""
        text = f"{self.title}: " + " -> ".join([*self.history, outcome(self.run)])
        if self.error:
            text += f"; stopped watching: {self.error}"
        return text + f" [{duration(self.elapsed)}, {counted(self.polls, 'poll')}]"
