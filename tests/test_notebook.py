"""Notebook display: run panels, the review widget, rich reprs, and the text fallbacks.

Widgets are exercised in-process (ipywidgets fires ``on_click`` handlers from ``.click()``)
against runs on the real sandbox; ``tests/test_browser.py`` checks them in JupyterLab.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

import pytest

import migkit
import migkit.notebook
from migkit import progress
from migkit.notebook.panel import FleetProgress, NotebookProgress, RunPanel
from migkit.notebook.review import KEEP_FLAGGED, Review
from migkit.polling import PollEvent
from migkit.sandbox import Sandbox
from tests.helpers import Api, new_company

PAUSING_ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme", "Status": "open"},
    {"Email": "bob@example.com", "First Name": "Bob", "Account": "Acme", "Status": "Closed"},
    {"Email": "cy@example.com", "First Name": "Cy", "Account": "Acme", "Status": "Pending."},
]


def paused(client: migkit.Client) -> migkit.Run:
    company = new_company(client, "Contacts")
    run = client.imports.create(company, rows=PAUSING_ROWS).wait()
    assert run.waiting, run
    return run


def test_a_run_from_the_client_can_wait_and_decide_by_itself(client: migkit.Client) -> None:
    run = paused(client)
    done = run.decide(accept=True).wait()
    assert done.status == "completed" and done.report is not None
    assert done.report.flagged_rows == 0
    assert done.refresh().status == "completed"


def test_a_run_built_by_hand_says_how_to_decide() -> None:
    run = migkit.Run(id="r1", company_id="c1", status="needs_attention")
    with pytest.raises(migkit.UsageError, match=r"client.imports.decide\(run"):
        run.decide(accept=True)


def test_a_paused_run_prints_its_questions_readably(client: migkit.Client) -> None:
    text = str(paused(client))
    assert "(needs_attention)" in text
    assert "Status:" in text and "- Map each value to the closest allowed value" in text
    assert "(or type your own value)" in text
    assert "Suggested fix:" in text and "run.decide(accept=True)" in text


def test_review_widget_renders_each_question_as_the_docs_intend(client: migkit.Client) -> None:
    run = paused(client)
    widget = Review(run)
    assert run.needs_attention is not None
    questions = run.needs_attention.questions
    assert [c.question.id for c in widget.questions] == [q.id for q in questions]
    control = widget.questions[0]
    header = control.children[0].value
    assert escape(questions[0].prompt) in header and escape(questions[0].context) in header
    assert f"{questions[0].affected_rows:,} rows" in header
    assert list(control.options.options) == [o.label for o in questions[0].options] + [KEEP_FLAGGED]
    assert control.custom.layout.display == ("" if questions[0].allow_custom else "none")
    assert run.needs_attention.proposed_patch is not None
    assert run.needs_attention.proposed_patch.summary in widget.children[-3].value
    assert [b.description for b in widget.children[-2].children] == [
        "Apply suggested fix",
        "Keep valid rows only",
        "Submit answers",
    ]


def test_apply_suggested_fix_posts_the_decision_and_watches_the_rerun(
    client: migkit.Client,
) -> None:
    widget = Review(paused(client))
    widget.apply_button.click()
    assert widget.run.status == "completed"
    assert "completed" in widget.panel.widget.value
    assert "rows inserted" in widget.panel.widget.value
    assert "Run completed" in widget.message.value
    assert widget.apply_button.disabled


def test_keep_valid_rows_only_leaves_the_flagged_rows_flagged(client: migkit.Client) -> None:
    widget = Review(paused(client))
    widget.keep_button.click()
    assert widget.run.status == "completed"
    assert widget.run.report is not None and widget.run.report.flagged_rows == 2


def test_submit_needs_an_answer_then_sends_the_chosen_option(client: migkit.Client) -> None:
    widget = Review(paused(client))
    widget.submit_button.click()
    assert "at least one question" in widget.message.value
    assert widget.run.waiting  # nothing was sent
    status = next(c for c in widget.questions if c.question.column == "Status")
    status.options.value = "Map all to 'Open'"
    widget.submit_button.click()
    assert widget.run.status == "completed"
    assert widget.run.report is not None and widget.run.report.flagged_rows == 0


def test_a_custom_answer_that_is_still_not_allowed_asks_again(client: migkit.Client) -> None:
    widget = Review(paused(client))
    status = next(c for c in widget.questions if c.question.column == "Status")
    status.custom.value = "Maybe"
    widget.submit()
    assert widget.run.waiting
    assert "asks again" in widget.message.value
    assert not widget.apply_button.disabled  # the new questions can be answered
    assert widget.accept().status == "completed"


def test_review_outside_jupyter_prints_the_questions(
    client: migkit.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    assert migkit.notebook.review(paused(client)) is None
    assert "Suggested fix:" in capsys.readouterr().out


def event(run: migkit.Run, next_poll: float | None, elapsed: float = 3.2) -> PollEvent[migkit.Run]:
    return PollEvent(run=run, polls=2, elapsed=elapsed, next_poll_in=next_poll)


def test_run_panel_updates_in_place_and_ends_with_the_headline(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    run = client.imports.create(company, rows=[{"Name": "Acme"}, {"Name": "Globex"}])
    spent = iter(range(100))
    panel = RunPanel(run.id, lambda: next(spent))
    running = migkit.Run(
        id=run.id, company_id=run.company_id, status="running", progress_message="Validating rows"
    )
    panel.update(event(running, 2.0))
    first = panel.widget
    assert "running" in first.value and "Validating rows" in first.value
    assert "next poll in 2.0s" in first.value and "3.2s" in first.value
    done = run.wait()
    panel.update(event(done, None, elapsed=75))
    assert panel.widget is first  # the same widget, updated
    assert "completed" in first.value and "next poll" not in first.value
    assert "<b>2</b> rows inserted" in first.value and "1m15s" in first.value


def test_a_re_executed_cell_shows_the_same_panel(client: migkit.Client) -> None:
    progress_a = NotebookProgress(lambda: 0)
    progress_b = NotebookProgress(lambda: 0)
    run = migkit.Run(id="same-run", company_id="c", status="running")
    progress_a(event(run, 1.0))
    progress_b(event(run, 1.0))
    assert progress_a.panel is progress_b.panel


def test_fleet_progress_shows_a_row_per_run_and_a_total(client: migkit.Client) -> None:
    runs = [migkit.Run(id=f"run-{n}", company_id="c", status="running") for n in range(3)]
    fleet = FleetProgress(3, lambda: 7)
    for run in runs:
        fleet(event(run, 2.0))
    fleet(event(migkit.Run(id="run-1", company_id="c", status="completed"), None))
    assert len(fleet.box.children) == 4  # the total line and three rows
    assert fleet.bar.value == 1 and fleet.bar.max == 3
    assert "1 of 3 runs ended" in fleet.summary.value


def test_default_progress_picks_widgets_only_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress.widgets_available() is False  # pytest is not a Jupyter kernel
    assert isinstance(progress.default_progress(1, lambda: 0), progress.TqdmProgress)
    monkeypatch.setattr(progress, "widgets_available", lambda: True)
    single, fleet = progress.default_progress(1, lambda: 0), progress.default_progress(4, lambda: 0)
    assert isinstance(single.hook, NotebookProgress)  # type: ignore[attr-defined]
    assert isinstance(fleet.hook, FleetProgress)  # type: ignore[attr-defined]


def test_a_widget_that_fails_falls_back_to_text_never_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "widgets_available", lambda: True)
    hook = progress.default_progress(1, lambda: 0)

    def broken(event: PollEvent[migkit.Run]) -> None:
        raise RuntimeError("no widget manager")

    hook.hook = broken  # type: ignore[attr-defined]
    run = migkit.Run(id="abcdef123", company_id="c", status="completed")
    hook(event(run, None))
    hook(event(run, None))
    captured = capsys.readouterr()
    assert "run abcdef12 completed" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_the_terminal_fallback_ends_each_run_with_one_plain_line(
    client: migkit.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    company = new_company(client, "Accounts")
    run = client.imports.create(company, rows=[{"Name": "Acme"}]).wait()
    hook = progress.TqdmProgress()
    hook(event(run, None))
    err = capsys.readouterr()
    assert f"run {run.id[:8]} completed: 1 rows inserted, 0 flagged" in err.out + err.err


def test_rich_displays_lead_with_the_headline_and_never_show_the_key(
    client: migkit.Client, sandbox: Sandbox
) -> None:
    company = new_company(client, "Accounts", "Contacts")
    template = client.templates.get("Contacts")
    run = client.imports.create(company, rows=[{"Name": "Acme"}], sheet="Accounts").wait()
    pausing = paused(client)
    html = {
        "company": company._repr_html_(),
        "template": template._repr_html_(),
        "run": run._repr_html_(),
        "report": run.report._repr_html_() if run.report else "",
        "paused": pausing._repr_html_(),
    }
    assert company.name in html["company"] and "Contacts" in html["company"]
    assert "Email" in html["template"] and "required, unique" in html["template"]
    assert "completed" in html["run"] and "<b>1</b> rows inserted" in html["run"]
    assert "Accounts" in html["report"]
    assert "needs_attention" in html["paused"] and "Options:" in html["paused"]
    for text in html.values():
        assert sandbox.api_key not in text


def test_after_a_kernel_restart_recover_and_wait_show_a_fresh_panel(
    make_client: Callable[..., migkit.Client], slow_api: Api, tmp_path: Path
) -> None:
    ledger = tmp_path / "kernel-ledger.db"
    before = make_client(slow_api.api_key, slow_api.base_url, ledger=ledger)
    company = new_company(before, "Accounts")
    started = before.imports.create(company, rows=[{"Name": "Acme"}])
    after = make_client(slow_api.api_key, slow_api.base_url, ledger=ledger)  # a new kernel
    recovered = after.imports.recover()
    assert [r.id for r in recovered] == [started.id]
    hook = NotebookProgress(lambda: after.requests_sent)
    done = recovered[0].wait(on_progress=hook)
    assert done.status == "completed"
    assert hook.panel is not None and hook.panel.run_id == started.id
    assert "completed" in hook.panel.widget.value and "rows inserted" in hook.panel.widget.value
