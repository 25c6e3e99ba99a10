"""Answering a blocked agent run (Generation 2) in the review widget.

The agent's questions render as the Generation-1 review renders its questions (the same
:class:`~migkit.notebook.review.QuestionControl`: the question, its options as radio
buttons, a text box when ``allowCustom``), plus one box for an answer in your own words (the
API's free-form ``answers``). **Submit answers** sends them, records the decision, locks the
form and waits for the run: a run that asks again shows its new questions; one that goes on
to a preview (or ends) says so. A run blocked on *credentials* is not answered here: the
widget points to :func:`migkit.notebook.credentials_form`.

>>> migkit.notebook.review(blocked_run)  # doctest: +SKIP
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as widgets

from migkit.notebook.html import BAD, GOOD, MUTED, WARN, badge, span
from migkit.notebook.panel import Published
from migkit.notebook.preview_widget import progress_text
from migkit.notebook.review import DECISIONS, Decision, QuestionControl
from migkit.printable import printable
from migkit.questions import question_lines


def _fresh(run: Any) -> Any:
    with suppress(Exception):  # not attached, or no answer: the answer meets it and says so
        return run.refresh()
    return run


def _title(run: Any) -> str:
    kind = getattr(run, "kind", None)
    return f"{kind + ' run' if kind else 'run'} {run.id[:8]}"


class AgentReview(Published, widgets.VBox):  # type: ignore[misc]
    """The review widget of a blocked agent run; :meth:`submit` does what the button does."""

    def __init__(self, run: Any, *, timeout: float | None = None) -> None:
        self.run = _fresh(run)
        self.timeout = timeout
        self.decision: Decision | None = None
        self.earlier: list[Decision] = []
        self.said = ""
        self.header = widgets.HTML()
        self.questions: list[QuestionControl] = []
        self.free = widgets.Textarea(
            placeholder="or answer in your own words, e.g. use Work Email for missing Email",
            layout=widgets.Layout(width="40em", height="3em"),
        )
        self.submit_button = widgets.Button(
            description="Submit answers",
            button_style="primary",
            icon="paper-plane",
            layout=widgets.Layout(width="auto"),
        )
        self.submit_button.on_click(lambda _: self._click())
        self.decided = widgets.HTML()
        self.message = widgets.HTML()
        super().__init__()
        self._render()

    # -- views -------------------------------------------------------------------------------
    def _asking(self) -> bool:
        return bool(self.run.waiting and self.run.questions and not self.run.needs_credentials)

    def _render(self) -> None:
        self.header.value = self._header_html()
        if self._asking():
            self.questions = [QuestionControl(q, self._picked) for q in self.run.questions]
            self._lock(False)
            self.children = [
                self.header,
                *self.questions,
                self.free,
                self.submit_button,
                self.decided,
                self.message,
            ]
        else:
            self.final = True
            if self.run.needs_credentials:
                self.said = self.said or (
                    "This run waits for credentials, not answers: fill in "
                    "migkit.notebook.credentials_form(run)."
                )
            elif self.decision is None and not self.said:
                self.said = f"This run is not waiting for an answer: it is {self.run.status}."
            self.message.value = span(MUTED, escape(self.said))
            self.children = [self.header, self.decided, self.message]
        self.publish()

    def _header_html(self) -> str:
        message = f" {escape(self.run.message)}" if getattr(self.run, "message", None) else ""
        return f"<div><b>{escape(_title(self.run))}</b> {badge(self.run.status)}{message}</div>"

    def _picked(self) -> None:
        if self.said.startswith("Choose") and self.decision is None:
            self._say(MUTED, "")

    def _lock(self, locked: bool) -> None:
        for control in self.questions:
            control.lock(locked)
        self.free.disabled = self.submit_button.disabled = locked

    def _say(self, style: str, text: str) -> None:
        self.said = text
        self.message.value = span(style, escape(text)) if text else ""
        self.publish()

    def _show_decision(self) -> None:
        lines = [("Earlier decision", d) for d in self.earlier]
        if self.decision is not None:
            lines.append(("Decision", self.decision))
        self.decided.value = "".join(
            f"<div><b>{label}:</b> {escape(str(d))}</div>" for label, d in lines
        )

    # -- answering ---------------------------------------------------------------------------
    def _click(self) -> None:
        with suppress(Exception):  # shown in the widget
            self.submit()

    def answers(self) -> dict[str, str] | str | None:
        """What the form holds: the free-form text when typed, else ``{question id: value}``
        for the questions answered; ``None`` when nothing was given."""
        free = str(self.free.value).strip()
        if free:
            return free
        given = {c.question.id: c.answer for c in self.questions if c.answer is not None}
        return {k: v for k, v in given.items() if v is not None} or None

    def submit(self, answers: dict[str, str] | str | None = None) -> Any:
        """Send ``answers`` (default: what the form holds) and wait for the run; returns the
        run as it rests (``awaiting_approval``, ``blocked`` again, or ended)."""
        answers = self.answers() if answers is None else answers
        if not answers:
            self._say(BAD, "Choose an option or type an answer for at least one question.")
            return None
        sent = (
            answers
            if isinstance(answers, str)
            else "; ".join(f"{k} = {v}" for k, v in answers.items())
        )
        self._lock(True)
        self.decision = DECISIONS[self.run.id] = Decision("Submit answers", sent, datetime.now())
        self._show_decision()
        self._say(MUTED, "Sending the answers…")
        try:
            run = self.run.answer(answers)
        except Exception as exc:
            DECISIONS.pop(self.run.id, None)
            self.decision = None
            self._show_decision()
            self._lock(False)
            self._say(BAD, f"The answers were not sent: {printable(exc, limit=500)}")
            raise
        self._say(MUTED, "Answers sent; the agent goes on…")
        try:
            self.run = run.wait(
                timeout=self.timeout, raise_on_failure=False, on_progress=self._progress
            )
        except Exception as exc:
            self._say(BAD, f"The answers were sent, but watching the run stopped: {exc}")
            raise
        if self._asking():
            self.earlier.append(self.decision)
            self.decision = None
            self.free.value = ""
            self._show_decision()
            self._render()
            self._say(WARN, "The agent asks again; answer the new questions.")
        else:
            ok = self.run.status in ("awaiting_approval", "completed")
            self.said = f"Run {self.run.status}." + (
                " The preview is ready." if self.run.status == "awaiting_approval" else ""
            )
            self.message.value = span(GOOD if ok else BAD, escape(self.said))
            self._render()
        return self.run

    def _progress(self, event: Any) -> None:
        self.message.value = span(MUTED, escape(progress_text(event.run)))

    # -- static views --------------------------------------------------------------------------
    def plain_text(self) -> str:
        lines = [f"{_title(self.run)}: {self.run.status}"]
        if self._asking() and self.decision is None:
            for q in self.run.questions:
                lines += question_lines(q)
        lines += [f"Earlier decision: {d}" for d in self.earlier]
        if self.decision is not None:
            lines.append(f"Decision: {self.decision}")
        if self.said:
            lines.append(self.said)
        return "\n".join(lines)

    def static_html(self) -> str:
        questions = ""
        if self._asking() and self.decision is None:
            questions = "".join(
                f"<div style='{MUTED}'>{escape(line)}</div>"
                for q in self.run.questions
                for line in question_lines(q)
            )
        return (
            self._header_html()
            + questions
            + str(self.decided.value)
            + f"<div>{self.message.value}</div>"
        )


def agent_review(run: Any, *, timeout: float | None = None) -> AgentReview | None:
    """The review widget of a blocked agent run; outside Jupyter, prints the run (its
    questions and how to answer) and returns ``None``."""
    from migkit.progress import widgets_available

    if not widgets_available():
        print(_fresh(run))
        return None
    return AgentReview(run, timeout=timeout)
