"""Notebook display: run panels, the review widget, rich reprs, and the text fallbacks.

Widgets are exercised in-process (ipywidgets fires ``on_click`` handlers from ``.click()``)
against runs on the real sandbox; ``tests/browser/test_browser.py`` checks them in JupyterLab, with
and without the widget manager.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
import migkit.notebook
from migkit import progress
from migkit.notebook.panel import WIDGET_VIEW, FleetProgress, NotebookProgress, RunPanel
from migkit.polling import PollEvent
from migkit.sandbox import Sandbox
from tests.helpers import Api, new_company

PAUSING_ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme", "Status": "open"},
    {"Email": "bob@example.com", "First Name": "Bob", "Account": "Acme", "Status": "Closed"},
    {"Email": "cy@example.com", "First Name": "Cy", "Account": "Acme", "Status": "Pending."},
]
MARKUP = re.compile(
    r"<(span|div|b|code|table|tr|td|br|ul|li)\b|</|HTML\(value=|VBox\(|Review\(|&middot;"
)


def paused(client: migkit.Client) -> migkit.Run:
    company = new_company(client, "Contacts")
    run = client.imports.create(company, rows=PAUSING_ROWS).wait()
    assert run.waiting, run
    return run


def bundle(widget: object) -> dict[str, str]:
    return widget._bundle()  # type: ignore[attr-defined, no-any-return]


def event(run: migkit.Run, next_poll: float | None, elapsed: float = 3.2) -> PollEvent[migkit.Run]:
    return PollEvent(run=run, polls=2, elapsed=elapsed, next_poll_in=next_poll)


# -- runs --------------------------------------------------------------------------------------
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
    assert "1 clean row inserted so far; 2 flagged rows wait for a decision" in text


def test_inserted_says_what_it_counts_paused_and_completed(client: migkit.Client) -> None:
    run = paused(client)
    assert run.report is not None
    assert run.report.headline(waiting=True) == (
        "1 clean row inserted so far; 2 flagged rows wait for a decision"
    )
    done = run.decide(reject=True).wait()
    assert done.report is not None
    assert done.report.headline() == "1 valid + 2 flagged = 3 inserted"
    assert "1 valid + 2 flagged = 3 inserted" in done._repr_html_()
    assert "1 clean row inserted so far" in run._repr_html_()


def test_runs_are_labelled_with_company_and_sheet(client: migkit.Client) -> None:
    company = new_company(client, "Accounts", "Contacts")
    run = client.imports.create(company, rows=[{"Name": "Acme"}], sheet="Accounts")
    assert run.label == f"{company.name} · Accounts"
    assert run.wait().label == run.label  # kept across polls
    single = client.imports.create(new_company(client, "Accounts"), rows=[{"Name": "B"}])
    assert single.label is not None and single.label.endswith(" · Accounts")


def test_a_blank_sample_value_never_reads_nan(client: migkit.Client) -> None:
    company = new_company(client, "Contacts")
    rows = [{**r, "Email": None} if i == 0 else r for i, r in enumerate(PAUSING_ROWS)]
    run = client.imports.create(company, rows=rows).wait()
    assert run.needs_attention is not None
    email = next(q for q in run.needs_attention.questions if q.column == "Email")
    assert "nan" not in email.sample_values and "None" not in email.sample_values
    assert "e.g. nan" not in str(run) and "e.g. nan" not in run._repr_html_()
    question = migkit.Question("q", "", "", "Email", None, 2, ("x", ""), None, (), False)
    assert question.samples_text() == "x, (blank)"


# -- panels --------------------------------------------------------------------------------------
def test_run_panel_updates_in_place_with_stage_and_label(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    run = client.imports.create(company, rows=[{"Name": "Acme"}, {"Name": "Globex"}])
    spent = iter(range(100))
    panel = RunPanel(run.id, lambda: next(spent), run.label)
    running = migkit.Run(
        id=run.id, company_id=run.company_id, status="running", progress_message="Validating rows"
    )
    panel.update(event(running, 2.0))
    assert "running" in panel.header.value and "Validating rows" in panel.header.value
    assert company.name in panel.header.value and "Accounts" in panel.header.value
    assert panel.stages.value == 5 and panel.stages.max == 7
    assert "step 5 of 7" in panel.clock.value and "next poll in 2.0s" in panel.clock.value
    assert WIDGET_VIEW in bundle(panel)  # live while the run goes on
    plain = bundle(panel)["text/plain"]
    assert "running, Validating rows (step 5 of 7)" in plain and not MARKUP.search(plain)
    done = run.wait()
    panel.update(event(done, None, elapsed=75))
    assert "completed" in panel.header.value and "next poll" not in panel.clock.value
    assert "2 valid + 0 flagged = 2 inserted" in panel.body.value and "1m15s" in panel.clock.value
    final = bundle(panel)
    assert WIDGET_VIEW not in final  # static now: renders anywhere, never "model not found"
    assert "2 valid + 0 flagged = 2 inserted" in final["text/plain"]
    assert "2 valid + 0 flagged = 2 inserted" in final["text/html"]


def test_the_clock_ticks_between_polls(client: migkit.Client) -> None:
    panel = RunPanel("tick-run", lambda: 0)
    panel.update(event(migkit.Run(id="tick-run", company_id="c", status="running"), 5.0, 1.0))
    clocks: list[str] = []

    def sleep(seconds: float) -> None:
        panel._at -= seconds  # the time passes for the panel's clock
        clocks.append(panel.clock.value)

    panel.pause(1.5, sleep)
    assert len(clocks) == 3
    assert "next poll in 5.0s" in clocks[0] and "next poll in 4.5s" in clocks[1]
    assert "1.0s" in clocks[0] and "2.0s" in clocks[2]


def test_cancel_stops_the_run_and_the_panel_says_who(
    make_client: Callable[..., migkit.Client], slow_api: Api
) -> None:
    client = make_client(slow_api.api_key, slow_api.base_url)
    run = client.imports.create(new_company(client, "Accounts"), rows=[{"Name": "Acme"}])
    hook = NotebookProgress(lambda: client.requests_sent)

    def cancel_on_first_poll(ev: PollEvent[migkit.Run]) -> None:
        hook(ev)
        if ev.polls == 1 and hook.panel is not None:
            hook.panel.cancel()  # what the Cancel button does

    done = run.wait(on_progress=cancel_on_first_poll)
    assert done.status == "canceled"
    assert hook.panel is not None and "Cancel run clicked" in bundle(hook.panel)["text/plain"]
    assert "canceled" in hook.panel.static_html()


def test_the_same_run_waited_twice_in_a_cell_keeps_one_panel_and_its_pause(
    client: migkit.Client,
) -> None:
    run = paused(client)
    first = NotebookProgress(lambda: 0)
    run = run.wait(on_progress=first)
    second = NotebookProgress(lambda: 0)  # the next wait in the same cell
    run.decide(accept=True).wait(on_progress=second)
    assert first.panel is second.panel and first.panel is not None
    text = bundle(first.panel)["text/plain"]
    assert "needs_attention: 1 clean row inserted so far" in text and "-> completed" in text


def test_fleet_progress_shows_a_line_per_run_and_a_total(client: migkit.Client) -> None:
    runs = [migkit.Run(id=f"run-{n}", company_id="c", status="running") for n in range(3)]
    fleet = FleetProgress(3, lambda: 7)
    for run in runs:
        fleet(event(run, 2.0))
    fleet(event(migkit.Run(id="run-1", company_id="c", status="completed"), None))
    assert len(fleet.children) == 4  # the total line and three rows
    assert fleet.bar.value == 1 and fleet.bar.max == 3
    assert "1 of 3 runs ended" in fleet.summary.value
    plain = bundle(fleet)["text/plain"]
    assert "1 of 3 runs ended" in plain and "run run-1: completed" in plain
    assert not MARKUP.search(plain)


def test_the_fleets_clock_ticks_between_polls() -> None:
    fleet = FleetProgress(2, lambda: 0)
    fleet(event(migkit.Run(id="run-a", company_id="c", status="running"), 5.0))
    summaries: list[str] = []

    def sleep(seconds: float) -> None:
        fleet._started -= seconds  # the time passes for the fleet's clock
        summaries.append(fleet.summary.value)

    fleet._started = time.monotonic() - 30.0  # the fleet has been waiting 30 s
    fleet.pause(2.0, sleep)
    assert len(summaries) == 4  # one update per half second, no poll in between
    assert "30s" in summaries[0] and "32s" in summaries[-1]  # the time moved on without a poll


def test_default_progress_picks_widgets_only_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress.widgets_available() is False  # pytest is not a Jupyter kernel
    assert isinstance(progress.default_progress(1, lambda: 0), progress.LineProgress)
    monkeypatch.setattr(progress, "widgets_available", lambda: True)
    single, fleet = progress.default_progress(1, lambda: 0), progress.default_progress(4, lambda: 0)
    assert isinstance(single.hook, NotebookProgress)  # type: ignore[union-attr]
    assert isinstance(fleet.hook, FleetProgress)  # type: ignore[union-attr]
    monkeypatch.setenv("MIGKIT_PROGRESS", "0")
    assert progress.default_progress(1, lambda: 0) is None


def test_a_widget_that_fails_falls_back_to_text_never_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "widgets_available", lambda: True)
    hook = progress.default_progress(1, lambda: 0)

    def broken(event: PollEvent[migkit.Run]) -> None:
        raise RuntimeError("no widget manager")

    hook.hook = broken  # type: ignore[union-attr]
    assert hook is not None
    run = migkit.Run(id="abcdef123", company_id="c", status="completed")
    hook(event(run, None))
    hook(event(run, None))
    captured = capsys.readouterr()
    assert "run abcdef12: completed" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


# -- rich displays -------------------------------------------------------------------------------
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
    assert "links to Accounts Name" in html["template"]
    assert "completed" in html["run"] and "1 valid + 0 flagged = 1 inserted" in html["run"]
    assert "Accounts" in html["report"]
    assert "needs_attention" in html["paused"] and "Options:" in html["paused"]
    for text in html.values():
        assert sandbox.api_key not in text
        assert "#666" not in text  # theme colours, readable in the dark theme
    assert "(needs_attention)" in repr_text(pausing)


def repr_text(run: migkit.Run) -> str:
    from IPython.lib.pretty import pretty

    return pretty(run)


def test_link_errors_name_the_template_and_column_never_its_id(client: migkit.Client) -> None:
    import pandas as pd

    contacts = client.templates.get("Contacts")
    accounts = client.templates.get("Accounts")
    frame = pd.DataFrame(
        {"Email": ["a@b.co"], "First Name": ["A"], "Account": ["Nobody"], "Status": ["Open"]}
    )
    report = migkit.validate(frame, contacts, links={"Account": ["Acme"]})
    assert report.errors["message"].tolist() == ["Not an Accounts Name"]
    assert str(accounts.id) not in report._repr_html_() + report.errors.to_string()


def test_a_diff_says_removed_and_added_in_neutral_colours() -> None:
    import pandas as pd

    old = pd.DataFrame({"Email": ["a", "b", "c"], "Phone": ["1", "2", "3"]})
    new = pd.DataFrame({"Email": ["a", "c", "d"], "Phone": ["1", "9", "4"]})
    html = migkit.diff_exports(old, new, key="Email")._repr_html_()
    assert "1 removed" in html and "1 added" in html and "changed cells in 1 row " in html
    assert "missing" not in html and "extra" not in html and "by reason" not in html
    assert "error-color" not in html
    source = migkit.reconcile(old, new, key="Email")._repr_html_()
    assert "1 missing" in source and "error-color" in source  # a reconciliation still warns


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
    assert "completed" in hook.panel.header.value and "inserted" in hook.panel.body.value
