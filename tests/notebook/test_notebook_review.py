"""The review widget: answering a paused run in the notebook, against the real sandbox.

Buttons are clicked in-process (ipywidgets fires ``on_click`` handlers from ``.click()``);
``tests/browser/test_browser.py`` clicks them in JupyterLab.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import pytest

import migkit
import migkit.notebook
from migkit._retry_notices import RetryNotice
from migkit.notebook.panel import WIDGET_VIEW, NotebookProgress
from migkit.notebook.review import DECISIONS, SKIP, Review
from migkit.polling import PollEvent
from migkit.sandbox import Sandbox
from tests.helpers import new_company
from tests.notebook.test_notebook import MARKUP, bundle, paused


# -- the review widget -------------------------------------------------------------------------
def test_review_widget_renders_each_question_as_the_docs_intend(client: migkit.Client) -> None:
    run = paused(client)
    widget = Review(run)
    assert run.needs_attention is not None
    questions = run.needs_attention.questions
    assert [c.question.id for c in widget.questions] == [q.id for q in questions]
    control = widget.questions[0]
    header = control.children[0].value
    assert escape(questions[0].prompt) in header and escape(questions[0].context) in header
    assert f"{questions[0].affected_rows} row" in header
    assert list(control.options.options) == [o.label for o in questions[0].options] + [SKIP]
    assert control.custom.layout.display == ("" if questions[0].allow_custom else "none")
    assert run.needs_attention.proposed_patch is not None
    assert run.needs_attention.proposed_patch.summary in widget.children[-4].value
    buttons = widget.children[-3].children
    assert [b.description for b in buttons] == [
        "Apply suggested fix",
        "Keep valid rows only",
        "Submit answers",
    ]
    assert all(b.layout.width == "auto" for b in buttons)  # never "Apply suggest…"


def test_skipping_a_question_reads_unlike_the_servers_keep_flagged_option(
    client: migkit.Client,
) -> None:
    widget = Review(paused(client))
    server = {o.label for c in widget.questions for o in c.question.options}
    assert "Keep these rows flagged" in server
    assert SKIP not in server and "keep" not in SKIP.lower() and "flagged" not in SKIP.lower()


def test_apply_suggested_fix_posts_the_decision_and_keeps_it(client: migkit.Client) -> None:
    run = paused(client)
    widget = Review(run)
    widget.apply_button.click()
    assert widget.run.status == "completed"
    assert "completed" in widget.panel.static_html()
    assert "valid +" in widget.panel.static_html() and "inserted" in widget.panel.static_html()
    assert "Run completed" in widget.message.value
    assert "Decision:</b> Apply suggested fix" in widget.decided.value
    assert "Decision: Apply suggested fix" in bundle(widget)["text/plain"]
    assert DECISIONS[run.id].button == "Apply suggested fix"
    assert widget.apply_button.disabled
    # the final state is static: no live view left to say "model not found"
    assert WIDGET_VIEW not in bundle(widget)
    assert "earlier: needs_attention" in widget.panel.static_html()


def test_options_are_locked_while_the_rerun_is_watched(client: migkit.Client) -> None:
    widget = Review(paused(client))
    seen: list[bool] = []
    update = widget.panel.update

    def watch(ev: PollEvent[migkit.Run]) -> None:
        seen.append(all(c.options.disabled and c.custom.disabled for c in widget.questions))
        seen.append(widget.submit_button.disabled and widget.keep_button.disabled)
        update(ev)

    widget.panel.update = watch  # type: ignore[method-assign]
    widget.keep_valid()
    assert seen and all(seen)


def test_keep_valid_rows_only_leaves_the_flagged_rows_flagged(client: migkit.Client) -> None:
    widget = Review(paused(client))
    widget.keep_button.click()
    assert widget.run.status == "completed"
    assert widget.run.report is not None and widget.run.report.flagged_rows == 2
    assert "Decision:</b> Keep valid rows only" in widget.decided.value


def test_submit_needs_an_answer_and_picking_one_clears_the_message(
    client: migkit.Client,
) -> None:
    widget = Review(paused(client))
    widget.submit_button.click()
    assert "at least one question" in widget.message.value
    assert widget.run.waiting  # nothing was sent
    status = next(c for c in widget.questions if c.question.column == "Status")
    status.options.value = "Map all to 'Open'"
    assert widget.message.value == ""  # the red message went once an option was picked
    widget.submit_button.click()
    assert widget.run.status == "completed"
    assert widget.run.report is not None and widget.run.report.flagged_rows == 0
    assert "Decision:</b> Submit answers" in widget.decided.value
    assert escape("= Map all to 'Open'") in widget.decided.value


def test_a_custom_answer_that_is_still_not_allowed_asks_again(client: migkit.Client) -> None:
    widget = Review(paused(client))
    status = next(c for c in widget.questions if c.question.column == "Status")
    status.custom.value = "Maybe"
    widget.submit()
    assert widget.run.waiting
    assert "asks again" in widget.message.value
    assert "Earlier decision:</b> Submit answers" in widget.decided.value
    assert not widget.apply_button.disabled  # the new questions can be answered
    assert widget.accept().status == "completed"


def test_a_stale_review_says_the_run_was_already_decided_and_how(client: migkit.Client) -> None:
    run = paused(client)
    Review(run).accept()
    stale = Review(run)  # the cell re-run with the old paused object
    assert not stale.questions
    assert "already decided in this notebook: Apply suggested fix" in stale.said
    assert "completed" in stale.said
    assert WIDGET_VIEW not in bundle(stale)


def test_a_run_decided_elsewhere_says_so_instead_of_a_raw_409(client: migkit.Client) -> None:
    run = paused(client)
    widget = Review(run)  # shows the questions
    run.decide(reject=True)  # decided elsewhere meanwhile (another cell, the CLI)
    widget.apply_button.click()
    assert "409" not in widget.said and "not waiting" not in widget.said.lower()
    assert "already decided elsewhere" in widget.said
    assert "the API does not say which decision" in widget.said
    assert run.id not in DECISIONS  # the click did not decide


def test_review_outside_jupyter_prints_the_current_state(
    client: migkit.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    run = paused(client)
    assert migkit.notebook.review(run) is None
    assert "Suggested fix:" in capsys.readouterr().out
    run.decide(accept=True).wait()
    migkit.notebook.review(run)
    assert "(completed)" in capsys.readouterr().out


def _dead_server_client(
    make_client: Callable[..., migkit.Client],
) -> tuple[migkit.Client, migkit.Run, Sandbox]:
    sb = migkit.sandbox.start(step_seconds=0.01)
    fast = migkit.RetryPolicy(attempts=2, backoff_start=0.01, backoff_cap=0.02, jitter=0)
    client = make_client(sb.api_key, sb.base_url, retry=fast)
    return client, paused(client), sb


def test_a_dead_server_shows_retries_as_they_happen_and_a_clear_error(
    make_client: Callable[..., migkit.Client],
) -> None:
    _, run, sb = _dead_server_client(make_client)
    widget = Review(run)
    sb.stop()
    shown: list[str] = []
    retrying = widget.panel.retrying

    def record(notice: RetryNotice, run: object = None) -> None:
        retrying(notice, run)
        shown.append(widget.panel.notice.value)  # what the panel shows at that moment

    widget.panel.retrying = record  # type: ignore[method-assign]
    widget.apply_button.click()
    assert shown and "the server did not answer" in shown[0] and "retry 1 of 2" in shown[0]
    assert "connection refused" in shown[0]
    assert "The decision was not sent" in widget.said and "got no answer" in widget.said
    assert not widget.apply_button.disabled  # nothing was decided: it can be tried again
    assert run.id not in DECISIONS
    assert "The decision was not sent" in bundle(widget)["text/plain"]


def test_a_wait_on_a_dead_server_ends_its_panel_with_the_error(
    make_client: Callable[..., migkit.Client],
) -> None:
    sb = migkit.sandbox.start(step_seconds=0.5)
    fast = migkit.RetryPolicy(attempts=1, backoff_start=0.01, backoff_cap=0.02, jitter=0)
    client = make_client(sb.api_key, sb.base_url, retry=fast)
    run = client.imports.create(new_company(client, "Accounts"), rows=[{"Name": "Acme"}])
    sb.stop()
    hook = NotebookProgress(lambda: client.requests_sent)
    with pytest.raises(migkit.TransportError):
        run.wait(on_progress=hook)
    assert hook.panel is not None
    assert hook.panel.state.error is not None
    static = hook.panel.static_html()
    assert "Stopped watching" in static and "got no answer" in static
    text = bundle(hook.panel)["text/plain"]
    assert "stopped watching" in text and not MARKUP.search(text)
