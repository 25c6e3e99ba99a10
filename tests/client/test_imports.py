"""``client.imports`` (migkit/resources/imports.py): create, wait, decide, cancel, active, list,
recover.

Against the session sandbox over real HTTP; every client here polls on a tiny schedule
(the ``make_client`` / ``client`` fixtures)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import migkit
from migkit.ledger import fingerprint
from migkit.models import NeedsAttention, Option, ProposedPatch, Question
from migkit.sandbox import Sandbox
from tests.client.resource_cases import CLEAN_ACCOUNTS, PAUSING_ROWS, MakeClient, exported, paused
from tests.helpers import DEALS, Api, new_company, unique


# -- imports: create -------------------------------------------------------------------------
def test_import_of_a_file_path_completes_with_a_typed_report(
    client: migkit.Client, samples: Path
) -> None:
    company = new_company(client, "Contacts")
    run = client.imports.create(company, files=[samples / "contacts_clean.csv"])
    assert isinstance(run, migkit.Run) and run.company_id == company.id
    done = client.imports.wait(run)
    assert done.id == run.id and done.status == "completed"
    assert isinstance(done.report, migkit.Report)
    assert done.report.inserted == 50
    assert [(s.template_name, s.sheet_id, s.row_count) for s in done.report.per_sheet] == [
        ("Contacts", company.sheet("Contacts").id, 50)
    ]
    assert done.report.flagged_rows == 0


def test_report_flagged_rows_is_the_servers_invalid_cell_count(
    client: migkit.Client, api: Api
) -> None:
    company = new_company(client, "Accounts")
    rows = [*CLEAN_ACCOUNTS, {"Name": "Broken", "Domain": "not a domain"}]  # regex miss: flagged
    run = client.imports.wait(client.imports.create(company, rows=rows))
    assert run.status == "completed" and run.report is not None
    served = api.get(f"/companies/{company.id}/imports/{run.id}").json()["report"]
    assert run.report.flagged_rows == served["invalidCellCount"] == 1
    assert run.report.inserted == served["inserted"] == 3
    assert run.report.raw == served


def test_import_rows_with_sheet_go_to_the_named_sheet(client: migkit.Client) -> None:
    company = new_company(client, "Accounts", "Contacts")
    run = client.imports.wait(client.imports.create(company, rows=CLEAN_ACCOUNTS, sheet="Accounts"))
    assert run.status == "completed" and run.report is not None
    assert [(s.template_name, s.row_count) for s in run.report.per_sheet] == [("Accounts", 2)]
    assert [r[0] for r in exported(client, company, "Accounts")[1:]] == ["Acme", "Globex"]


def test_import_of_a_frame_sends_ints_as_numbers_and_nan_as_empty(client: migkit.Client) -> None:
    company = new_company(client, "Deals")
    frame = pd.DataFrame(
        {"Title": ["Big", "Small"], "Amount": [100, 250], "Stage": ["Won", float("nan")]}
    )
    run = client.imports.wait(client.imports.create(company, frame=frame))
    assert run.status == "completed" and run.report is not None
    assert run.report.flagged_rows == 0
    assert exported(client, company, "Deals", "all") == [
        DEALS,
        ["Big", "100", "Won", ""],
        ["Small", "250", "", ""],
    ]


def test_import_rerun_with_the_same_rows_returns_the_same_run(
    client: migkit.Client, api: Api
) -> None:
    company = new_company(client, "Accounts")
    first = client.imports.create(company, rows=CLEAN_ACCOUNTS)
    client.imports.wait(first)
    again = client.imports.create(company, rows=CLEAN_ACCOUNTS)
    assert again.id == first.id
    assert len(api.get(f"/companies/{company.id}/imports").json()["imports"]) == 1


def test_import_rerun_without_a_ledger_returns_the_same_run(
    make_client: MakeClient, api: Api
) -> None:
    company = new_company(make_client(), "Accounts")
    first = make_client(ledger=None).imports.create(company, rows=CLEAN_ACCOUNTS)
    again = make_client(ledger=None).imports.create(company, rows=CLEAN_ACCOUNTS)
    assert again.id == first.id
    assert len(api.get(f"/companies/{company.id}/imports").json()["imports"]) == 1


def test_import_rerun_of_the_same_file_returns_the_same_run(
    client: migkit.Client, samples: Path, api: Api
) -> None:
    company = new_company(client, "Accounts")
    first = client.imports.create(company, files=[samples / "accounts_clean.csv"])
    again = client.imports.create(company, files=[samples / "accounts_clean.csv"])
    assert again.id == first.id
    assert len(api.get(f"/companies/{company.id}/imports").json()["imports"]) == 1


def test_import_with_a_callers_key_uses_it_as_is(client: migkit.Client, api: Api) -> None:
    company = new_company(client, "Accounts")
    key = unique("my-key")
    run = client.imports.create(company, rows=CLEAN_ACCOUNTS, idempotency_key=key)
    assert run.idempotency_key == key
    assert [(r.id, r.idempotency_key) for r in client.imports.list(company)] == [(run.id, key)]
    served = api.get(f"/companies/{company.id}/imports").json()["imports"]
    assert [r["idempotency_key"] for r in served] == [key]


def test_import_without_data_is_a_usage_error(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    with pytest.raises(migkit.UsageError, match="exactly one of"):
        client.imports.create(company)


# -- imports: read and wait ------------------------------------------------------------------
def test_imports_get_reads_the_runs_current_state(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    run = client.imports.create(company, rows=CLEAN_ACCOUNTS)
    client.imports.wait(run)
    state = client.imports.get(run.id, company)
    assert (state.id, state.company_id, state.status) == (run.id, company.id, "completed")
    assert state.report is not None and state.report.inserted == 2


def test_wait_returns_at_needs_attention_with_typed_questions_and_patch(
    client: migkit.Client,
) -> None:
    run = paused(client)
    assert run.waiting and not run.done
    assert isinstance(run.needs_attention, NeedsAttention)
    (question,) = run.needs_attention.questions
    assert isinstance(question, Question)
    assert (question.id, question.column, question.affected_rows) == ("fq0", "Status", 1)
    assert question.sample_values == ("open",)
    assert question.allow_custom is True
    assert Option(id="b", label="Map all to 'Open'") in question.options
    patch = run.needs_attention.proposed_patch
    assert isinstance(patch, ProposedPatch) and patch.summary
    assert patch.actions[0]["action"] == "set_value" and patch.actions[0]["value"] == "Open"
    assert run.report is not None and run.report.flagged_rows == 1


def test_wait_with_an_attention_handler_that_decides_ends_completed(
    client: migkit.Client,
) -> None:
    company = new_company(client, "Contacts")
    asked: list[migkit.Run] = []

    def accept(run: migkit.Run) -> None:
        asked.append(run)
        client.imports.decide(run, accept=True)

    run = client.imports.create(company, rows=PAUSING_ROWS)
    done = client.imports.wait(run, on_attention=accept)
    assert [r.status for r in asked] == ["needs_attention"]
    assert done.status == "completed"
    assert done.report is not None and done.report.flagged_rows == 0


def test_wait_with_an_attention_handler_that_does_not_decide_hands_the_run_back(
    client: migkit.Client,
) -> None:
    company = new_company(client, "Contacts")
    asked: list[str] = []
    run = client.imports.create(company, rows=PAUSING_ROWS)
    back = client.imports.wait(run, on_attention=lambda r: asked.append(r.id))
    assert asked == [run.id]
    assert back.status == "needs_attention"


def test_decide_accept_applies_the_proposed_patch(client: migkit.Client) -> None:
    run = paused(client)
    answer = client.imports.decide(run, accept=True)
    assert answer.id == run.id and answer.status in ("queued", "running")
    done = client.imports.wait(answer)
    assert done.status == "completed"
    company = client.companies.get(run.company_id)
    assert [r[4] for r in exported(client, company, "Contacts")[1:]] == ["Open", "Closed"]


def test_decide_answers_with_an_option_label(client: migkit.Client) -> None:
    run = paused(client)
    client.imports.decide(run, answers={"fq0": "Map all to 'Pending'"})
    assert client.imports.wait(run).status == "completed"
    company = client.companies.get(run.company_id)
    assert [r[4] for r in exported(client, company, "Contacts")[1:]] == ["Pending", "Closed"]


def test_decide_answers_with_an_option_object(client: migkit.Client) -> None:
    run = paused(client)
    assert run.needs_attention is not None
    question = run.needs_attention.questions[0]
    closed = next(o for o in question.options if o.label == "Map all to 'Closed'")
    client.imports.decide(run, answers={question.id: closed})
    assert client.imports.wait(run).status == "completed"
    company = client.companies.get(run.company_id)
    assert [r[4] for r in exported(client, company, "Contacts")[1:]] == ["Closed", "Closed"]


def test_decide_reject_completes_with_the_flagged_rows_kept_flagged(
    client: migkit.Client,
) -> None:
    run = paused(client)
    client.imports.decide(run, reject=True)
    done = client.imports.wait(run)
    assert done.status == "completed"
    assert done.report is not None and done.report.flagged_rows == 1
    company = client.companies.get(run.company_id)
    assert len(exported(client, company, "Contacts", "valid")) == 2  # header + Bob
    assert len(exported(client, company, "Contacts", "all")) == 3


def test_decide_with_two_kinds_of_decision_is_a_usage_error_before_any_request(
    client: migkit.Client,
) -> None:
    run = paused(client)
    sent = client.requests_sent
    with pytest.raises(migkit.UsageError, match="exactly one of"):
        client.imports.decide(run, accept=True, reject=True)
    assert client.requests_sent == sent
    assert client.imports.get(run).status == "needs_attention"


def test_cancel_ends_a_waiting_run_canceled(client: migkit.Client) -> None:
    run = paused(client)
    canceled = client.imports.cancel(run)
    assert canceled.status == "canceled"
    assert client.imports.get(run).status == "canceled"
    assert client.imports.active(run.company_id) is None


def test_active_is_none_for_an_idle_company(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    assert client.imports.active(company) is None
    client.imports.wait(client.imports.create(company, rows=CLEAN_ACCOUNTS))
    assert client.imports.active(company) is None


def test_active_is_the_run_waiting_for_a_decision(client: migkit.Client) -> None:
    run = paused(client)
    active = client.imports.active(run.company_id)
    assert active is not None
    assert (active.id, active.status) == (run.id, "needs_attention")
    assert active.needs_attention is not None


def test_imports_list_gives_the_companys_runs_newest_first(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    first = client.imports.wait(client.imports.create(company, rows=CLEAN_ACCOUNTS[:1]))
    second = client.imports.wait(client.imports.create(company, rows=CLEAN_ACCOUNTS[1:]))
    listed = client.imports.list(company)
    assert [(r.id, r.status) for r in listed] == [
        (second.id, "completed"),
        (first.id, "completed"),
    ]


def test_recover_in_a_new_client_on_the_same_ledger_returns_the_unfinished_run(
    make_client: MakeClient, tmp_path: Path
) -> None:
    run = paused(make_client(ledger=tmp_path / "shared.db"))
    restarted = make_client(ledger=tmp_path / "shared.db")
    recovered = restarted.imports.recover()
    assert [(r.id, r.status) for r in recovered] == [(run.id, "needs_attention")]


def test_recover_returns_nothing_once_the_run_has_completed(
    make_client: MakeClient, tmp_path: Path
) -> None:
    run = paused(make_client(ledger=tmp_path / "shared.db"))
    restarted = make_client(ledger=tmp_path / "shared.db")
    (recovered,) = restarted.imports.recover()
    restarted.imports.decide(recovered, accept=True)
    assert restarted.imports.wait(recovered).status == "completed"
    assert restarted.imports.recover() == []
    assert run.id == recovered.id


def test_recover_finds_a_run_whose_id_was_lost_by_reposting_with_its_key(
    client: migkit.Client, sandbox: Sandbox, api: Api
) -> None:
    company = new_company(client, "Contacts")
    assert client.ledger is not None
    # The ledger noted the import, then the process died before the response arrived.
    client.ledger.record_import(
        fingerprint(sandbox.api_key),
        client.base_url,
        company.id,
        "lost-key",
        "content-hash",
        {"rows": PAUSING_ROWS},
    )
    (recovered,) = client.imports.recover()
    assert recovered.idempotency_key == "lost-key"
    served = api.get(f"/companies/{company.id}/imports").json()["imports"]
    assert [(r["run_id"], r["idempotency_key"]) for r in served] == [(recovered.id, "lost-key")]


def test_recover_without_a_ledger_is_a_usage_error(make_client: MakeClient) -> None:
    with pytest.raises(migkit.UsageError, match="ledger"):
        make_client(ledger=None).imports.recover()


def test_wait_without_raise_on_failure_returns_the_failed_run(client: migkit.Client) -> None:
    company = new_company(client, "Contacts")
    run = client.imports.create(company, rows=[{"Name": "Ann", "Phone": "555 0100"}])
    done = client.imports.wait(run, raise_on_failure=False)
    assert done.status == "failed" and done.done
    assert done.error is not None and "Unrecoverable column drift" in done.error
    assert done.report is None


def test_wait_with_a_timeout_on_a_slow_run_raises_wait_timeout(
    make_client: MakeClient, slow_api: Api
) -> None:
    slow = make_client(slow_api.api_key, slow_api.base_url, ledger=None)
    company = new_company(slow, "Accounts")
    run = slow.imports.create(company, rows=CLEAN_ACCOUNTS)
    with pytest.raises(migkit.WaitTimeout) as caught:
        slow.imports.wait(run, timeout=0.1)
    assert caught.value.run_id == run.id
    assert run.id in str(caught.value) and "still" in str(caught.value)
    assert slow.imports.get(run).status in ("queued", "running")


def test_wait_all_watches_runs_in_several_companies_to_the_end(client: migkit.Client) -> None:
    companies = [new_company(client, "Accounts") for _ in range(3)]
    runs = [
        client.imports.create(company, rows=[{"Name": f"Org {n}"}] * (n + 1))
        for n, company in enumerate(companies)
    ]
    done = client.imports.wait_all(runs)
    assert [r.id for r in done] == [r.id for r in runs]
    assert [r.company_id for r in done] == [c.id for c in companies]
    assert [r.status for r in done] == ["completed"] * 3
    assert [r.report.inserted for r in done if r.report] == [1, 2, 3]
