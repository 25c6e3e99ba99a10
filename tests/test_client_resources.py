"""``migkit.Client`` resources against the session sandbox over real HTTP: sources, templates,
companies, uploads, imports (create, wait, decide, cancel, active, list, recover) and exports.

Every client here polls on a tiny schedule (the ``make_client`` / ``client`` fixtures)."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import migkit
from migkit.ledger import fingerprint
from migkit.models import NeedsAttention, Option, ProposedPatch, Question
from migkit.resources.catalog import UnknownName
from migkit.resources.companies import derived_external_id
from migkit.resources.exports import ExportStream
from migkit.sandbox import Sandbox
from tests.helpers import ACCOUNTS, CONTACTS, DEALS, Api, new_company, records, unique

MakeClient = Callable[..., migkit.Client]

# Two contacts; Ann's Status "open" is not an allowed value, so the run pauses at
# needs_attention (a Contacts-only company has no Accounts sheet, so Account is not checked).
PAUSING_ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme", "Status": "open"},
    {"Email": "bob@example.com", "First Name": "Bob", "Account": "Acme", "Status": "Closed"},
]
CLEAN_ACCOUNTS = [{"Name": "Acme", "Domain": "acme.com"}, {"Name": "Globex", "Tier": "Gold"}]


def paused(client: migkit.Client) -> migkit.Run:
    """A run in a fresh Contacts company, waiting at needs_attention."""
    company = new_company(client, "Contacts")
    run = client.imports.wait(client.imports.create(company, rows=PAUSING_ROWS))
    assert run.status == "needs_attention", run
    return run


def exported(
    client: migkit.Client, company: migkit.Company, sheet: str, filter: str = "valid"
) -> list[list[str]]:
    """The sheet's export.csv records through the client, header first."""
    with client.exports.csv(company, sheet, filter=filter) as stream:
        return records(b"".join(stream.iter_bytes()))


def ext_companies(api: Api, external_id: str) -> list[dict[str, Any]]:
    """The account's companies with this external_id, through the sandbox's EXT lookup."""
    response = api.get("/companies", params={"external_id": external_id})
    assert response.status_code == 200, response.text
    return list(response.json()["companies"])


# -- sources ---------------------------------------------------------------------------------
def test_sources_list_returns_the_accounts_sources_typed(client: migkit.Client, api: Api) -> None:
    sources = client.sources.list()
    assert all(isinstance(s, migkit.Source) for s in sources)
    served = api.get("/sources").json()["sources"]
    assert [(s.id, s.name, s.logo_url) for s in sources] == [
        (s["id"], s["name"], s["logo_url"]) for s in served
    ]
    assert [s.name for s in sources] == ["Legacy CRM", "Spreadsheet"]


def test_sources_get_finds_a_source_by_name_case_insensitively(client: migkit.Client) -> None:
    by_name = client.sources.get("spreadsheet")
    assert by_name.name == "Spreadsheet"


def test_sources_get_finds_a_source_by_id(client: migkit.Client) -> None:
    wanted = client.sources.list()[0]
    assert client.sources.get(wanted.id) == wanted


def test_sources_get_of_an_unknown_name_lists_the_known_names(client: migkit.Client) -> None:
    with pytest.raises(UnknownName) as caught:
        client.sources.get("Salesforce")
    assert isinstance(caught.value, migkit.MigkitError)
    message = str(caught.value)
    assert "'Salesforce'" in message
    assert "'Legacy CRM'" in message and "'Spreadsheet'" in message


# -- templates -------------------------------------------------------------------------------
def test_templates_list_returns_typed_templates_with_their_columns_in_order(
    client: migkit.Client,
) -> None:
    templates = {t.name: t for t in client.templates.list()}
    assert all(isinstance(t, migkit.Template) for t in templates.values())
    assert templates["Accounts"].column_names == ACCOUNTS
    assert templates["Contacts"].column_names == CONTACTS
    assert templates["Deals"].column_names == DEALS


def test_template_columns_carry_required_unique_and_pattern_rules(
    client: migkit.Client,
) -> None:
    email = client.templates.get("Contacts").column("Email")
    assert (email.required, email.unique, email.rule) == (True, True, "strict")
    assert email.pattern == r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    assert email.allowed is None


def test_template_columns_carry_allowed_values(client: migkit.Client) -> None:
    status = client.templates.get("Contacts").column("Status")
    assert (status.required, status.unique) == (False, False)
    assert status.allowed == ("Open", "Closed", "Pending")
    assert status.pattern is None


def test_template_link_columns_name_the_linked_template_and_column(
    client: migkit.Client,
) -> None:
    account = client.templates.get("Contacts").column("Account")
    assert account.rule == "link"
    assert account.link_template == client.templates.get("Accounts").id
    assert account.link_column == "Name"


def test_templates_get_by_name_and_by_id_give_the_same_template(
    client: migkit.Client, api: Api
) -> None:
    by_name = client.templates.get("deals")
    assert by_name.id == api.templates()["Deals"]["id"]
    assert client.templates.get(str(by_name.id)) == by_name


def test_templates_get_of_an_unknown_name_lists_the_known_names(client: migkit.Client) -> None:
    with pytest.raises(UnknownName, match="'Accounts', 'Contacts', 'Deals'"):
        client.templates.get("Invoices")


# -- companies -------------------------------------------------------------------------------
def test_create_by_source_name_makes_a_company_with_every_template(
    client: migkit.Client, api: Api
) -> None:
    name = unique("Acme")
    company = client.companies.create(name, "Spreadsheet")
    assert isinstance(company, migkit.Company)
    assert company.name == name
    assert [s.name for s in company.sheets] == ["Accounts", "Contacts", "Deals"]
    served = api.get(f"/companies/{company.id}").json()
    assert served["company"]["name"] == name


def test_create_with_template_names_makes_only_those_sheets(client: migkit.Client) -> None:
    company = new_company(client, "Contacts", "deals")
    templates = {t.name: t.id for t in client.templates.list()}
    assert sorted((s.name, s.template_id) for s in company.sheets) == [
        ("Contacts", templates["Contacts"]),
        ("Deals", templates["Deals"]),
    ]


def test_create_with_an_explicit_external_id_uses_it(client: migkit.Client, api: Api) -> None:
    ext = unique("acme")
    company = new_company(client, external_id=ext)
    assert company.external_id == ext
    assert [c["company"]["id"] for c in ext_companies(api, ext)] == [company.id]


def test_create_without_external_id_derives_it_from_name_source_and_templates(
    client: migkit.Client,
) -> None:
    name = unique("Derived")
    company = client.companies.create(name, "Spreadsheet", templates=["Accounts"])
    expected = derived_external_id(
        name,
        client.sources.get("Spreadsheet").id,
        [str(client.templates.get("Accounts").id)],
    )
    assert company.external_id == expected


def test_derived_external_id_is_stable_across_clients(make_client: MakeClient, api: Api) -> None:
    name = unique("Stable")
    first = make_client().companies.create(name, "Spreadsheet", templates=["Accounts"])
    again = make_client(ledger=None).companies.create(name, "Spreadsheet", templates=["Accounts"])
    assert again.external_id == first.external_id
    assert again.id == first.id
    assert first.external_id is not None
    assert len(ext_companies(api, first.external_id)) == 1


def test_create_rerun_with_the_same_args_returns_the_same_company_and_makes_no_second(
    client: migkit.Client, api: Api
) -> None:
    ext = unique("rerun")
    before = len(api.get("/companies").json()["companies"])
    first = client.companies.create("Rerun Co", "Spreadsheet", external_id=ext)
    second = client.companies.create("Rerun Co", "Spreadsheet", external_id=ext)
    assert second.id == first.id
    assert len(ext_companies(api, ext)) == 1
    assert len(api.get("/companies").json()["companies"]) == before + 1


def test_create_of_a_reused_external_id_by_another_client_is_external_id_conflict(
    make_client: MakeClient, api: Api
) -> None:
    ext = unique("taken")
    make_client().companies.create("Owner", "Spreadsheet", external_id=ext)
    stranger = make_client(ledger=None)
    with pytest.raises(migkit.ExternalIdConflict):
        stranger.companies.create("Someone else", "Spreadsheet", external_id=ext)
    assert len(ext_companies(api, ext)) == 1


def test_create_of_a_reused_external_id_with_another_name_is_a_conflict_in_the_same_client(
    client: migkit.Client, api: Api
) -> None:
    # Two customers given the same external_id by mistake must not share one company.
    ext = unique("acme-001")
    first = client.companies.create("Acme", "Spreadsheet", external_id=ext, templates=["Accounts"])
    with pytest.raises(migkit.ExternalIdConflict):
        client.companies.create("Globex", "Spreadsheet", external_id=ext, templates=["Deals"])
    assert [c["company"]["id"] for c in ext_companies(api, ext)] == [first.id]


def test_companies_get_returns_the_company_with_its_sheets(client: migkit.Client) -> None:
    company = new_company(client, "Accounts", "Contacts")
    fetched = client.companies.get(company.id)
    assert fetched == company
    assert fetched.sheet("contacts").id == company.sheet("Contacts").id


def test_companies_find_answers_from_the_ledger_without_a_request(
    client: migkit.Client,
) -> None:
    ext = unique("ledger")
    company = new_company(client, "Accounts", external_id=ext)
    sent = client.requests_sent
    found = client.companies.find(ext)
    assert found is not None and found.id == company.id
    assert client.requests_sent == sent


def test_companies_find_without_a_ledger_uses_the_ext_lookup(make_client: MakeClient) -> None:
    ext = unique("lookup")
    company = new_company(make_client(), "Accounts", external_id=ext)
    fresh = make_client(ledger=None)
    found = fresh.companies.find(ext)
    assert found is not None and found.id == company.id
    assert [s.id for s in found.sheets] == [s.id for s in company.sheets]
    assert fresh.requests_sent == 1


def test_companies_find_of_an_unknown_external_id_is_none(client: migkit.Client) -> None:
    assert client.companies.find(unique("nobody")) is None


# -- uploads ---------------------------------------------------------------------------------
def test_upload_from_a_path_returns_its_ref_size_and_sha256(
    client: migkit.Client, samples: Path
) -> None:
    company = new_company(client, "Contacts")
    path = samples / "contacts_clean.csv"
    data = path.read_bytes()
    upload = client.uploads.upload(company, path)
    assert isinstance(upload, migkit.Upload)
    assert (upload.name, upload.content_type, upload.size) == (
        "contacts_clean.csv",
        "text/csv",
        len(data),
    )
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.upload_ref.startswith(f"workbook-files/{company.workbook_id}/")


def test_upload_from_a_dataframe_sends_it_as_csv(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    frame = pd.DataFrame(CLEAN_ACCOUNTS)
    data = frame.to_csv(index=False).encode("utf-8")
    upload = client.uploads.upload(company, frame, name="accounts.csv")
    assert (upload.name, upload.content_type) == ("accounts.csv", "text/csv")
    assert (upload.size, upload.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_upload_from_bytes_with_a_name(client: migkit.Client) -> None:
    company = new_company(client, "Deals")
    data = b"Title\tAmount\nBig deal\t100\n"
    upload = client.uploads.upload(company, data, name="deals.tsv")
    assert (upload.content_type, upload.size) == ("text/tab-separated-values", len(data))
    assert upload.upload_ref.endswith("/deals.tsv")


def test_upload_of_bytes_without_a_name_is_a_usage_error_before_any_request(
    client: migkit.Client,
) -> None:
    company = new_company(client, "Deals")
    sent = client.requests_sent
    with pytest.raises(migkit.UsageError, match="name="):
        client.uploads.upload(company, b"Title\nx\n")
    assert client.requests_sent == sent


def test_an_upload_can_be_imported_by_its_upload_object(
    client: migkit.Client, samples: Path
) -> None:
    company = new_company(client, "Accounts")
    upload = client.uploads.upload(company, samples / "accounts_clean.csv")
    run = client.imports.wait(client.imports.create(company, files=[upload]))
    assert run.status == "completed"
    assert run.report is not None and run.report.inserted == 5


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


# -- exports: CSV ----------------------------------------------------------------------------
@pytest.fixture
def flagged_accounts(client: migkit.Client) -> migkit.Company:
    """An Accounts + Contacts company with two clean accounts and one flagged one."""
    company = new_company(client, "Accounts", "Contacts")
    rows = [*CLEAN_ACCOUNTS, {"Name": "Broken", "Domain": "not a domain"}]
    run = client.imports.wait(client.imports.create(company, rows=rows, sheet="Accounts"))
    assert run.status == "completed" and run.report is not None and run.report.flagged_rows == 1
    return company


def test_export_csv_of_a_sheet_by_name_streams_its_rows(
    client: migkit.Client, flagged_accounts: migkit.Company
) -> None:
    with client.exports.csv(flagged_accounts, "accounts") as stream:
        assert isinstance(stream, ExportStream)
        assert stream.content_type.startswith("text/csv")
        rows = records(b"".join(stream.iter_bytes()))
    assert rows[0] == ACCOUNTS
    assert stream.total_records == len(rows) - 1 == 2


def test_export_csv_filter_all_includes_flagged_rows_and_valid_leaves_them_out(
    client: migkit.Client, flagged_accounts: migkit.Company
) -> None:
    valid = exported(client, flagged_accounts, "Accounts", "valid")
    everything = exported(client, flagged_accounts, "Accounts", "all")
    assert [r[0] for r in valid[1:]] == ["Acme", "Globex"]
    assert [r[0] for r in everything[1:]] == ["Acme", "Globex", "Broken"]


def test_export_csv_total_records_follows_the_filter(
    client: migkit.Client, flagged_accounts: migkit.Company
) -> None:
    with client.exports.csv(flagged_accounts, "Accounts", filter="all") as stream:
        rows = records(b"".join(stream.iter_bytes()))
    assert stream.total_records == len(rows) - 1 == 3


def test_export_csv_without_a_sheet_is_a_zip_of_every_sheet(
    client: migkit.Client, flagged_accounts: migkit.Company
) -> None:
    with client.exports.csv(flagged_accounts) as stream:
        assert stream.content_type == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(b"".join(stream.iter_bytes())))
    assert sorted(archive.namelist()) == ["Accounts.csv", "Contacts.csv"]
    assert records(archive.read("Accounts.csv"))[0] == ACCOUNTS
    assert records(archive.read("Contacts.csv")) == [CONTACTS]
    assert stream.total_records == 2


def test_export_csv_with_a_bad_filter_is_a_usage_error_before_any_request(
    client: migkit.Client, flagged_accounts: migkit.Company
) -> None:
    sent = client.requests_sent
    with pytest.raises(migkit.UsageError, match="'valid' or 'all'"):
        client.exports.csv(flagged_accounts, "Accounts", filter="invalid")
    assert client.requests_sent == sent


def test_export_csv_save_writes_the_body_to_a_file(
    client: migkit.Client, flagged_accounts: migkit.Company, tmp_path: Path
) -> None:
    with client.exports.csv(flagged_accounts, "Accounts") as stream:
        saved = stream.save(tmp_path / "accounts.csv")
    assert saved == tmp_path / "accounts.csv"
    assert records(saved.read_bytes()) == exported(client, flagged_accounts, "Accounts")
    assert stream.bytes_read == saved.stat().st_size


def test_export_csv_of_a_company_given_by_id_finds_the_sheet_by_name(
    client: migkit.Client, flagged_accounts: migkit.Company
) -> None:
    # The docstring promises "sheet by name or id"; with a company id the name is sent as
    # the sheet_id and the server answers 404.
    with client.exports.csv(flagged_accounts.id, "Accounts") as stream:
        rows = records(b"".join(stream.iter_bytes()))
    assert [r[0] for r in rows[1:]] == ["Acme", "Globex"]


# -- exports: to a destination ---------------------------------------------------------------
class Sink:
    """A loopback destination that records every write and answers 201 echoing ``Name``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        payload = request.get_json(silent=True)
        with self._lock:
            self.received.append((request.path, payload))
        body = {"id": len(self.received), "Name": (payload or {}).get("Name")}
        return Response(json.dumps(body), status=201, mimetype="application/json")(
            environ, start_response
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.stop()


def connected(client: migkit.Client, sink: Sink) -> migkit.Company:
    """An Accounts company connected to ``sink`` holding the two clean accounts."""
    company = new_company(
        client, "Accounts", connections={"base_url": sink.url, "auth": {"bearer": "tok"}}
    )
    assert client.imports.wait(client.imports.create(company, rows=CLEAN_ACCOUNTS)).done
    return company


def test_to_destination_waits_for_a_completed_export_run_with_its_report(
    client: migkit.Client, sink: Sink
) -> None:
    company = connected(client, sink)
    sink.received.clear()
    run = client.exports.to_destination(company)
    assert isinstance(run, migkit.ExportRun)
    assert (run.company_id, run.status) == (company.id, "completed")
    assert isinstance(run.report, migkit.ExportReport)
    assert (run.report.mode, run.report.total, run.report.succeeded, run.report.failed) == (
        "full",
        2,
        2,
        0,
    )
    assert [(r.path, r.status, r.ok) for r in run.report.results] == [("/accounts", 201, True)] * 2
    assert sorted(p["Name"] for _, p in sink.received) == ["Acme", "Globex"]


def test_to_destination_canary_writes_one_row_per_template(
    client: migkit.Client, sink: Sink
) -> None:
    company = connected(client, sink)
    run = client.exports.to_destination(company, mode="canary")
    assert run.report is not None
    assert (run.report.mode, run.report.total) == ("canary", 1)


def test_to_destination_with_the_same_key_returns_the_same_export_run(
    client: migkit.Client, sink: Sink
) -> None:
    company = connected(client, sink)
    key = unique("export")
    first = client.exports.to_destination(company, idempotency_key=key)
    again = client.exports.to_destination(company, idempotency_key=key)
    assert again.id == first.id
    assert again.report == first.report


def test_to_destination_without_wait_returns_the_queued_run(
    client: migkit.Client, sink: Sink
) -> None:
    company = connected(client, sink)
    run = client.exports.to_destination(company, wait=False)
    assert run.status == "queued"
    assert client.exports.wait(run).status == "completed"


def test_to_destination_without_a_connection_is_bad_request(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    with pytest.raises(migkit.BadRequest) as caught:
        client.exports.to_destination(company)
    assert caught.value.server_message == "company has no destination connection"
