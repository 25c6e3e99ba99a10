"""Answering a paused run (``needs_attention``) in the notebook.

Each question renders as the docs intend: its prompt as the label, its context as helper
text, the target column with the affected row count and sample values, the options as radio
buttons, and a text box when ``allow_custom`` is true. Below them, the proposed patch's summary
with **Apply suggested fix** and **Keep valid rows only**, and **Submit answers**.

The widget first fetches the run: one that was already decided (in another cell, by the CLI
or by a colleague) says so, and how when it was decided here, instead of offering stale
questions. A decision is recorded (which button, what it sent, when) and kept on the widget;
the options are locked while the re-run is watched in the widget's own panel, which shows
retries as they happen and the error if the server stops answering. If the re-run asks
again, the new questions replace the old ones.

>>> panel = migkit.notebook.review(run)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as widgets

from migkit._retry_notices import retry_listener
from migkit.errors import Conflict
from migkit.models import Question, Run
from migkit.notebook.html import BAD, GOOD, MUTED, WARN, questions_html, span
from migkit.notebook.panel import Published, RunPanel
from migkit.polling import PollEvent
from migkit.printable import counted
from migkit.progress.state import outcome

SKIP = "Skip for now (send no answer)"
BORDER = "1px solid var(--jp-border-color2, #ddd)"


@dataclass(frozen=True)
class Decision:
    """A decision taken in a review widget: the button, what it sent, and when."""

    button: str
    sent: str
    at: datetime

    def __str__(self) -> str:
        return f"{self.button} at {self.at:%H:%M:%S}: {self.sent}"


# Decisions taken in this kernel's review widgets, by run id: the API does not say which
# decision a run got, so a stale widget can only say "how" for decisions taken here.
DECISIONS: dict[str, Decision] = {}


class QuestionControl(widgets.VBox):  # type: ignore[misc]
    """One question: prompt, context, target, options and (maybe) a free-text box."""

    def __init__(self, question: Question, on_change: Callable[[], None] | None = None) -> None:
        self.question = question
        target = f"{escape(question.column or '')}: {counted(question.affected_rows, 'row')}"
        samples = question.samples_text()
        if samples:
            target += f", e.g. {escape(samples)}"
        if question.column is None and not samples:
            target = ""  # an agent's question (Generation 2) names no column or rows
        self.options = widgets.RadioButtons(
            options=[o.label for o in question.options] + [SKIP],
            value=SKIP,
            layout=widgets.Layout(width="auto"),
        )
        self.custom = widgets.Text(
            placeholder="or type a value",
            description="Custom:",
            layout=widgets.Layout(display="" if question.allow_custom else "none"),
        )
        if on_change is not None:
            self.options.observe(lambda _: on_change(), names="value")
            self.custom.observe(lambda _: on_change(), names="value")
        super().__init__(
            [
                widgets.HTML(
                    f"<b>{escape(question.prompt)}</b><br>"
                    f"<span style='{MUTED}'>{escape(question.context)}</span><br>{target}"
                ),
                self.options,
                self.custom,
            ],
            layout=widgets.Layout(border=BORDER, padding="4px", margin="4px 0"),
        )

    @property
    def answer(self) -> str | None:
        """The typed value, else the chosen option's label; ``None`` to leave it for later."""
        typed = self.custom.value.strip() if self.question.allow_custom else ""
        if typed:
            return str(typed)
        return None if self.options.value == SKIP else str(self.options.value)

    def lock(self, locked: bool) -> None:
        """Disable (or enable) the options and the text box."""
        self.options.disabled = locked
        self.custom.disabled = locked


def _fresh(run: Run) -> Run:
    """The run's current state; the given one when it cannot be fetched (not attached to a
    client, or no answer: the decision then meets the same problem and says so)."""
    if run._imports is None:
        return run
    try:
        return run.refresh()
    except Exception:
        return run


class Review(Published, widgets.VBox):  # type: ignore[misc]
    """The review widget for a paused run; also works by calling its methods.

    ``accept()``, ``keep_valid()`` and ``submit()`` do what the buttons do and return the run
    once it ends or pauses again.
    """

    def __init__(self, run: Run, *, timeout: float | None = None) -> None:
        self.run = _fresh(run)
        self.timeout = timeout
        self.decision: Decision | None = None
        self.earlier: list[Decision] = []  # decisions of earlier rounds (the run asked again)
        self.panel = RunPanel(self.run.id, self._requests, self.run.label, questions=False)
        self.panel.update(PollEvent(self.run, 0, 0.0, None))
        self.message = widgets.HTML()
        self.decided = widgets.HTML()
        self.apply_button = self._button("Apply suggested fix", "success", "check")
        self.keep_button = self._button("Keep valid rows only", "", "filter")
        self.submit_button = self._button("Submit answers", "primary", "paper-plane")
        self.apply_button.on_click(lambda _: self._click(self.accept))
        self.keep_button.on_click(lambda _: self._click(self.keep_valid))
        self.submit_button.on_click(lambda _: self._click(self.submit))
        self.questions: list[QuestionControl] = []
        self.said = ""  # the message, as text
        self._error_shown = False
        super().__init__()
        if self.run.waiting:
            self._render()
        else:
            self._not_waiting(given=run)

    @staticmethod
    def _button(text: str, style: str, icon: str) -> widgets.Button:
        # width auto: the whole label shows ("Apply suggested fix", not "Apply suggest…")
        return widgets.Button(
            description=text, button_style=style, icon=icon, layout=widgets.Layout(width="auto")
        )

    def _requests(self) -> int:
        owner = self.run._imports
        transport = getattr(getattr(owner, "_core", None), "transport", None)
        return int(getattr(transport, "requests_sent", 0))

    # -- views -------------------------------------------------------------------------------
    def _render(self) -> None:
        attention = self.run.needs_attention
        self.questions = [
            QuestionControl(q, self._picked) for q in (attention.questions if attention else ())
        ]
        patch = attention.proposed_patch if attention else None
        summary = widgets.HTML(
            f"<b>Suggested fix:</b> {escape(patch.summary)}" if patch else "No suggested fix."
        )
        self._lock(False)
        self.apply_button.disabled = patch is None
        self.children = [
            self.panel,
            *self.questions,
            summary,
            widgets.HBox([self.apply_button, self.keep_button, self.submit_button]),
            self.decided,
            self.message,
        ]
        self.publish()

    def _not_waiting(self, given: Run) -> None:
        """The run no longer waits (or never did): say so, and how it was decided if here."""
        self.final = True
        decision = DECISIONS.get(self.run.id)
        if given.waiting:
            how = (
                f"in this notebook: {decision}"
                if decision
                else "elsewhere (another cell, the command line or a colleague); the API does "
                "not say which decision was taken"
            )
            text = f"This run was already decided {how}. It is now {outcome(self.run)}."
        else:
            text = f"This run is not waiting for a decision: it is {outcome(self.run)}."
        self._say(MUTED, text)
        self.children = [self.panel, self.decided, self.message]
        self.publish()

    def _say(self, style: str, text: str) -> None:
        self.message.value = span(style, escape(text)) if text else ""
        self.said = text
        self._error_shown = style == BAD

    def _picked(self) -> None:
        # An option was picked: the "choose an option" message no longer applies.
        if self._error_shown and self.decision is None:
            self._say(MUTED, "")
            self.publish()

    def _lock(self, locked: bool) -> None:
        for control in self.questions:
            control.lock(locked)
        for button in (self.apply_button, self.keep_button, self.submit_button):
            button.disabled = locked

    def _show_decision(self) -> None:
        lines = [("Earlier decision", d) for d in self.earlier]
        if self.decision is not None:
            lines.append(("Decision", self.decision))
        self.decided.value = "".join(
            f"<div><b>{label}:</b> {escape(str(decision))}</div>" for label, decision in lines
        )

    # -- deciding ----------------------------------------------------------------------------
    def _click(self, action: Callable[[], Any]) -> None:
        # A button's failure is shown in the widget; a callback's traceback is easy to miss.
        with suppress(Exception):
            action()

    def _decide(self, button: str, sent: str, **decision: Any) -> Run:
        self._lock(True)
        self.decision = DECISIONS[self.run.id] = Decision(button, sent, datetime.now())
        self._show_decision()
        self._say(MUTED, "Sending the decision…")
        self.publish()
        try:
            with retry_listener(self.panel.retrying):
                run = self.run.decide(**decision)
        except Conflict:  # decided meanwhile, elsewhere: show what the run is now
            DECISIONS.pop(self.run.id, None)
            self.decision = None
            given, self.run = self.run, _fresh(self.run)
            self._show_decision()
            self._not_waiting(given)
            return self.run
        except Exception as exc:
            DECISIONS.pop(self.run.id, None)
            self.decision = None
            self._show_decision()
            self._lock(False)
            self._say(BAD, f"The decision was not sent: {exc}")
            self.publish()
            raise
        return self._watch(run)

    def _watch(self, run: Run) -> Run:
        self._say(MUTED, "Decision sent; watching the re-run…")
        self.publish()
        try:
            self.run = run.wait(on_progress=self.panel, timeout=self.timeout)
        except Exception as exc:
            self._say(
                BAD,
                f"The decision was sent, but watching the re-run stopped: {exc}. The run "
                "goes on on the server: watch it again with run.wait().",
            )
            self.publish()
            raise
        if self.run.waiting:
            if self.decision is not None:
                self.earlier.append(self.decision)
            self.decision = None
            self._show_decision()
            self._render()
            self._say(WARN, "The re-run asks again; answer the new questions.")
        else:
            self.final = True
            self.children = [self.panel, self.decided, self.message]
            self._say(GOOD if self.run.status == "completed" else BAD, f"Run {self.run.status}.")
        self.publish()
        return self.run

    def accept(self) -> Run:
        """Apply the proposed patch as is."""
        attention = self.run.needs_attention
        patch = attention.proposed_patch if attention else None
        return self._decide(
            "Apply suggested fix", patch.summary if patch else "the proposed patch", accept=True
        )

    def keep_valid(self) -> Run:
        """Reject: keep the valid rows and leave the flagged ones flagged."""
        return self._decide("Keep valid rows only", "the flagged rows stay flagged", reject=True)

    def submit(self) -> Run | None:
        """Send the answers given; questions left for later keep their rows flagged."""
        answers: Mapping[str, str] = {
            c.question.id: c.answer for c in self.questions if c.answer is not None
        }
        if not answers:
            self._say(
                BAD,
                "Choose an option or type a value for at least one question, or use one of "
                "the other buttons.",
            )
            self.publish()
            return None
        sent = "; ".join(f"{qid} = {value}" for qid, value in answers.items())
        return self._decide("Submit answers", sent, answers=dict(answers))

    # -- static views --------------------------------------------------------------------------
    def plain_text(self) -> str:
        lines = [self.panel.plain_text()]
        if self.run.waiting and self.decision is None:
            lines += self.run.questions_text()
        lines += [f"Earlier decision: {d}" for d in self.earlier]
        if self.decision is not None:
            lines.append(f"Decision: {self.decision}")
        if self.said:
            lines.append(self.said)
        return "\n".join(lines)

    def static_html(self) -> str:
        waiting = self.run.waiting and self.decision is None and not self.final
        return (
            self.panel.static_html()
            + (questions_html(self.run) if waiting else "")
            + str(self.decided.value)
            + f"<div>{self.message.value}</div>"
        )


def review(run: Any, *, timeout: float | None = None) -> Any:
    """A review widget for a paused run (a Generation-1 ``needs_attention`` run, or a
    Generation-2 ``blocked`` agent run: :class:`~migkit.notebook.agent_review.AgentReview`);
    outside Jupyter, prints the questions readably.

    >>> migkit.notebook.review(run)  # doctest: +SKIP
    """
    from migkit.progress import widgets_available

    if getattr(run, "migration_id", None) is not None:  # a Generation-2 agent run
        from migkit.notebook.agent_review import agent_review

        return agent_review(run, timeout=timeout)
    if not widgets_available():
        print(_fresh(run))
        return None
    return Review(run, timeout=timeout)
