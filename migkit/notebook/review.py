"""Answering a paused run (``needs_attention``) in the notebook.

Each question renders as the docs intend: its prompt as the label, its context as helper
text, the target column with the affected row count and sample values, the options as radio
buttons, and a text box when ``allow_custom`` is true. Below them, the proposed patch's summary
with **Apply suggested fix** and **Keep valid rows only**, and **Submit answers**. A decision
is posted, then the widget keeps watching the re-run in its own panel (and asks again if the
run pauses again).

>>> panel = migkit.notebook.review(run)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import ipywidgets as widgets

from migkit.models import Question, Run
from migkit.notebook.panel import RunPanel
from migkit.polling import PollEvent

KEEP_FLAGGED = "(decide later: keep these rows flagged)"


class QuestionControl(widgets.VBox):  # type: ignore[misc]
    """One question: prompt, context, target, options and (maybe) a free-text box."""

    def __init__(self, question: Question) -> None:
        self.question = question
        target = f"{escape(question.column or '')}: {question.affected_rows:,} rows"
        if question.sample_values:
            target += ", e.g. " + ", ".join(
                f"<code>{escape(v)}</code>" for v in question.sample_values[:5]
            )
        self.options = widgets.RadioButtons(
            options=[o.label for o in question.options] + [KEEP_FLAGGED],
            value=KEEP_FLAGGED,
            layout=widgets.Layout(width="auto"),
        )
        self.custom = widgets.Text(
            placeholder="or type a value",
            description="Custom:",
            layout=widgets.Layout(display="" if question.allow_custom else "none"),
        )
        super().__init__(
            [
                widgets.HTML(
                    f"<b>{escape(question.prompt)}</b><br>"
                    f"<span style='color:#666'>{escape(question.context)}</span><br>{target}"
                ),
                self.options,
                self.custom,
            ],
            layout=widgets.Layout(border="1px solid #ddd", padding="4px", margin="4px 0"),
        )

    @property
    def answer(self) -> str | None:
        """The typed value, else the chosen option's label; ``None`` to leave it for later."""
        typed = self.custom.value.strip() if self.question.allow_custom else ""
        if typed:
            return str(typed)
        return None if self.options.value == KEEP_FLAGGED else str(self.options.value)


class Review(widgets.VBox):  # type: ignore[misc]
    """The review widget for a paused run; also works by calling its methods.

    ``accept()``, ``keep_valid()`` and ``submit()`` do what the buttons do and return the run
    once it ends or pauses again.
    """

    def __init__(self, run: Run, *, timeout: float | None = None) -> None:
        if not run.waiting or run.needs_attention is None:
            raise ValueError(f"run {run.id} is {run.status}, not waiting for a decision")
        self.run = run
        self.timeout = timeout
        self.panel = RunPanel(run.id, self._requests)
        self.message = widgets.HTML()
        self.apply_button = widgets.Button(
            description="Apply suggested fix", button_style="success", icon="check"
        )
        self.keep_button = widgets.Button(description="Keep valid rows only", icon="filter")
        self.submit_button = widgets.Button(
            description="Submit answers", button_style="primary", icon="paper-plane"
        )
        self.apply_button.on_click(lambda _: self.accept())
        self.keep_button.on_click(lambda _: self.keep_valid())
        self.submit_button.on_click(lambda _: self.submit())
        self.questions: list[QuestionControl] = []
        super().__init__()
        self._render()

    def _requests(self) -> int:
        owner = self.run._imports
        transport = getattr(getattr(owner, "_ctx", None), "transport", None)
        return int(getattr(transport, "requests_sent", 0))

    def _render(self) -> None:
        attention = self.run.needs_attention
        self.panel.widget.value = (
            f"<code>{escape(self.run.id[:8])}</code> waiting for a decision"
            + (
                f" &middot; {escape(self.run.progress_message)}"
                if self.run.progress_message
                else ""
            )
        )
        if attention is None:
            self.children = [self.panel.widget, self.message]
            return
        self.questions = [QuestionControl(q) for q in attention.questions]
        patch = attention.proposed_patch
        summary = widgets.HTML(
            f"<b>Suggested fix:</b> {escape(patch.summary)}" if patch else "No suggested fix."
        )
        self.apply_button.disabled = patch is None
        self.children = [
            self.panel.widget,
            *self.questions,
            summary,
            widgets.HBox([self.apply_button, self.keep_button, self.submit_button]),
            self.message,
        ]

    def _buttons(self, enabled: bool) -> None:
        for button in (self.apply_button, self.keep_button, self.submit_button):
            button.disabled = not enabled

    def _decide(self, **decision: Any) -> Run:
        self._buttons(False)
        self.message.value = "<span style='color:#666'>Decision sent; watching the re-run…</span>"
        try:
            run = self.run.decide(**decision)
            self.run = run.wait(on_progress=self._show, timeout=self.timeout)
        except Exception as exc:  # shown in the widget: a callback's traceback is easy to miss
            self.message.value = f"<span style='color:#c62828'>{escape(str(exc))}</span>"
            self._buttons(True)
            raise
        if self.run.waiting:
            self._render()
            self._buttons(True)
            self.message.value = (
                "<span style='color:#ef6c00'>The re-run asks again; answer the new questions."
                "</span>"
            )
        else:
            self.children = [self.panel.widget, self.message]
            self.message.value = (
                f"<span style='color:#2e7d32'>Run {escape(self.run.status)}.</span>"
            )
        return self.run

    def _show(self, event: PollEvent[Run]) -> None:
        self.panel.update(event)

    def accept(self) -> Run:
        """Apply the proposed patch as is."""
        return self._decide(accept=True)

    def keep_valid(self) -> Run:
        """Reject: keep the valid rows and leave the flagged ones flagged."""
        return self._decide(reject=True)

    def submit(self) -> Run | None:
        """Send the answers given; questions left for later keep their rows flagged."""
        answers: Mapping[str, str] = {
            c.question.id: c.answer for c in self.questions if c.answer is not None
        }
        if not answers:
            self.message.value = (
                "<span style='color:#c62828'>Choose an option or type a value for at least one "
                "question, or use one of the other buttons.</span>"
            )
            return None
        return self._decide(answers=dict(answers))


def review(run: Run, *, timeout: float | None = None) -> Review | None:
    """A review widget for a paused run; outside Jupyter, prints the questions readably.

    >>> migkit.notebook.review(run)  # doctest: +SKIP
    """
    from migkit.progress import widgets_available

    if not widgets_available():
        print(run)
        return None
    return Review(run, timeout=timeout)
