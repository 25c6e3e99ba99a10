"""Import runs on the sandbox: creation, routing, header healing, lifecycle, idempotency,
validation counts and the shapes of failed runs. Everything goes over HTTP."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests

from tests.helpers import (
    ACCOUNTS,
    CONTACTS,
    DEALS,
    Api,
    company_with,
    csv_bytes,
    exported,
    observe,
    records,
)


# -- helpers ---------------------------------------------------------------------------------
def xlsx_bytes(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def finished(api: Api, response: requests.Response) -> dict[str, Any]:
    """Wait for the run a 201 import response created; returns its final poll body."""
    assert response.status_code == 201, response.text
    return api.wait(response.json()["poll_url"])


def import_rows(
    api: Api, company_id: str, rows: list[dict[str, Any]], **extra: Any
) -> requests.Response:
    return api.post(f"/companies/{company_id}/imports", json={"rows": rows, **extra})


def contact(email: str, first: str = "Ann", account: str = "Acme", **more: str) -> dict[str, str]:
    return {"Email": email, "First Name": first, "Account": account, **more}


# -- inline rows -----------------------------------------------------------------------------
def test_rows_with_sheet_id_go_to_that_sheet(api: Api) -> None:
    company = company_with(api)
    cid, accounts = company["company"]["id"], api.sheet_id(company, "Accounts")
    body = finished(
        api, import_rows(api, cid, [{"Name": "Acme", "Tier": "Gold"}], sheet_id=accounts)
    )
    assert body["status"] == "completed", body
    assert body["report"]["perSheet"] == [
        {"templateName": "Accounts", "sheetId": accounts, "rowCount": 1}
    ]
    assert exported(api, cid, accounts) == [ACCOUNTS, ["Acme", "", "Gold"]]
    assert exported(api, cid, api.sheet_id(company, "Contacts"), "all") == [CONTACTS]


def test_rows_without_sheet_id_are_400_when_the_company_has_several_sheets(api: Api) -> None:
    company = company_with(api)
    response = import_rows(api, company["company"]["id"], [{"Name": "Acme"}])
    assert response.status_code == 400
    assert "sheet_id" in response.json()["error"]


def test_rows_without_sheet_id_go_to_the_only_sheet(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    body = finished(api, import_rows(api, cid, [contact("ann@example.com")]))
    assert body["status"] == "completed", body
    assert body["report"]["inserted"] == 1
    assert exported(api, cid, api.sheet_id(company, "Contacts")) == [
        CONTACTS,
        ["ann@example.com", "Ann", "", "", "", "Acme"],
    ]


def test_inline_numbers_and_booleans_are_stored_as_their_json_text(api: Api) -> None:
    company = company_with(api, "Deals")
    cid = company["company"]["id"]
    body = finished(
        api,
        import_rows(
            api, cid, [{"Title": True, "Amount": 2.5, "Stage": None}, {"Title": 7, "Amount": 10}]
        ),
    )
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Deals")) == [
        DEALS,
        ["true", "2.5", "", ""],
        ["7", "10", "", ""],
    ]


# -- files, routed by name --------------------------------------------------------------------
def test_csv_file_is_routed_to_the_sheet_named_like_the_file(api: Api) -> None:
    company = company_with(api)
    cid = company["company"]["id"]
    data = csv_bytes([["Name", "Domain"], ["Acme", "acme.com"]])
    body = finished(api, api.import_files(cid, [("Accounts.csv", data)]))
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Accounts")) == [
        ACCOUNTS,
        ["Acme", "acme.com", ""],
    ]
    assert exported(api, cid, api.sheet_id(company, "Deals"), "all") == [DEALS]


def test_tsv_file_is_routed_by_its_singular_name(api: Api) -> None:
    company = company_with(api)
    cid = company["company"]["id"]
    data = csv_bytes([["Title", "Amount", "Stage"], ["Big deal", "1200.50", "Won"]], "\t")
    body = finished(api, api.import_files(cid, [("deal.tsv", data)]))
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Deals")) == [
        DEALS,
        ["Big deal", "1200.50", "Won", ""],
    ]


def test_xlsx_file_is_routed_by_name_and_read_as_text(api: Api) -> None:
    company = company_with(api)
    cid = company["company"]["id"]
    data = xlsx_bytes(
        [
            ["Name", "Domain", "Tier"],
            ["Acme", "acme.com", "Gold"],
            ["Globex", "globex.io", "Silver"],
        ]
    )
    body = finished(api, api.import_files(cid, [("accounts.xlsx", data)]))
    assert body["status"] == "completed", body
    assert body["report"]["perSheet"] == [
        {"templateName": "Accounts", "sheetId": api.sheet_id(company, "Accounts"), "rowCount": 2}
    ]
    assert exported(api, cid, api.sheet_id(company, "Accounts")) == [
        ACCOUNTS,
        ["Acme", "acme.com", "Gold"],
        ["Globex", "globex.io", "Silver"],
    ]


def test_xlsx_worksheets_are_routed_by_their_names(api: Api) -> None:
    company = company_with(api)
    cid = company["company"]["id"]
    workbook = openpyxl.Workbook()
    accounts = workbook.active
    assert accounts is not None
    accounts.title = "Accounts"
    accounts.append(["Name", "Tier"])
    accounts.append(["Acme", "Gold"])
    deals = workbook.create_sheet("Deals")
    deals.append(["Title", "Amount"])
    deals.append(["Renewal", 1200])
    deals.append(["Upsell", 99.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    body = finished(api, api.import_files(cid, [("crm-export.xlsx", buffer.getvalue())]))
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Accounts")) == [ACCOUNTS, ["Acme", "", "Gold"]]
    assert exported(api, cid, api.sheet_id(company, "Deals")) == [
        DEALS,
        ["Renewal", "1200", "", ""],
        ["Upsell", "99.5", "", ""],
    ]


def test_a_file_with_an_unrelated_name_goes_to_the_best_matching_sheet(api: Api) -> None:
    company = company_with(api)
    cid = company["company"]["id"]
    data = csv_bytes([["Deal Name", "Amount", "Stage"], ["Renewal", "10", "Won"]])
    body = finished(api, api.import_files(cid, [("export-2024.csv", data)]))
    assert body["status"] == "completed", body
    assert body["report"]["perSheet"][0]["templateName"] == "Deals"
    assert exported(api, cid, api.sheet_id(company, "Deals")) == [
        DEALS,
        ["Renewal", "10", "Won", ""],
    ]


def test_several_files_in_one_import_go_to_their_sheets_in_link_order(api: Api) -> None:
    company = company_with(api, "Accounts", "Contacts")
    cid = company["company"]["id"]
    contacts = csv_bytes([["Email", "First Name", "Account"], ["ann@example.com", "Ann", "Acme"]])
    accounts = csv_bytes([["Name"], ["Acme"]])
    body = finished(
        api, api.import_files(cid, [("contacts.csv", contacts), ("accounts.csv", accounts)])
    )
    assert body["status"] == "completed", body
    assert body["report"]["inserted"] == 2
    assert body["report"]["invalidCellCount"] == 0  # the link found Acme from the same import
    assert {s["templateName"]: s["rowCount"] for s in body["report"]["perSheet"]} == {
        "Accounts": 1,
        "Contacts": 1,
    }


def test_header_drift_is_healed_and_exported_under_template_headers_in_order(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    data = csv_bytes(
        [
            ["Company", "Surname", "E-mail", "first_name", "Notes"],
            ["Acme", "Lovelace", "ada@example.com", "Ada", "met at a fair"],
        ]
    )
    body = finished(api, api.import_files(cid, [("contacts.csv", data)]))
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Contacts")) == [
        CONTACTS,
        ["ada@example.com", "Ada", "Lovelace", "", "", "Acme"],
    ]


@pytest.mark.parametrize("header", ["EMAIL", "Email Address", " e-mail ", "E_Mail", "mail"])
def test_email_header_variants_are_healed(api: Api, header: str) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    data = csv_bytes([[header, "First Name", "Account"], ["ann@example.com", "Ann", "Acme"]])
    body = finished(api, api.import_files(cid, [("contacts.csv", data)]))
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Contacts"))[1][0] == "ann@example.com"


def test_a_utf8_bom_does_not_break_the_first_header(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    data = b"\xef\xbb\xbf" + csv_bytes(
        [["Email", "First Name", "Account"], ["ann@example.com", "Ann", "Acme"]]
    )
    body = finished(api, api.import_files(cid, [("contacts.csv", data)]))
    assert body["status"] == "completed", body
    assert exported(api, cid, api.sheet_id(company, "Contacts"))[1][0] == "ann@example.com"


def test_lf_line_ends_and_blank_lines_are_read(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    data = b"Email,First Name,Account\nann@example.com,Ann,Acme\n\nbob@example.com,Bob,Acme\n\n"
    body = finished(api, api.import_files(cid, [("contacts.csv", data)]))
    assert body["status"] == "completed", body
    assert [r[0] for r in exported(api, cid, api.sheet_id(company, "Contacts"))[1:]] == [
        "ann@example.com",
        "bob@example.com",
    ]


# -- creation and lifecycle ------------------------------------------------------------------
def test_import_creation_is_201_queued_with_a_relative_poll_url(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    response = import_rows(api, cid, [contact("ann@example.com")])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"run_id", "status", "poll_url"}
    assert uuid.UUID(body["run_id"]).version == 4
    assert body["status"] == "queued"
    assert body["poll_url"] == f"/api/v1/companies/{cid}/imports/{body['run_id']}"
    assert api.wait(body["poll_url"])["status"] == "completed"


def test_status_goes_queued_then_running_with_progress_then_completed(slow_api: Api) -> None:
    busy = company_with(slow_api, "Contacts")["company"]["id"]
    first = import_rows(slow_api, busy, [contact("a@example.com")])  # occupies the one worker
    cid = company_with(slow_api, "Contacts")["company"]["id"]
    response = import_rows(slow_api, cid, [contact("b@example.com")])
    assert response.status_code == 201
    seen = observe(slow_api, response.json()["poll_url"])
    statuses = [body["status"] for body in seen]
    assert statuses[0] == "queued"
    assert "running" in statuses
    assert statuses[-1] == "completed"
    order = {"queued": 0, "running": 1, "completed": 2}
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses)
    for body in seen[:-1]:
        assert set(body) == {"status", "progress_message"}
        assert isinstance(body["progress_message"], str) and body["progress_message"]
    assert set(seen[-1]) == {"status", "report"}
    assert slow_api.wait(first.json()["poll_url"])["status"] == "completed"


# -- idempotency and the one-import-at-a-time rule -------------------------------------------
def test_same_key_and_payload_replays_the_run_with_200(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    payload = {"rows": [contact("ann@example.com")], "idempotency_key": "import-1"}
    first = api.post(f"/companies/{cid}/imports", json=payload)
    again = api.post(f"/companies/{cid}/imports", json=payload)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["run_id"] == first.json()["run_id"]
    assert again.json()["poll_url"] == first.json()["poll_url"]


def test_same_key_and_payload_replays_a_completed_run(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    payload = {"rows": [contact("ann@example.com")], "idempotency_key": "import-1"}
    first = api.post(f"/companies/{cid}/imports", json=payload)
    assert finished(api, first)["status"] == "completed"
    again = api.post(f"/companies/{cid}/imports", json=payload)
    assert again.status_code == 200
    assert again.json() == {
        "run_id": first.json()["run_id"],
        "status": "completed",
        "poll_url": first.json()["poll_url"],
    }


def test_replay_compares_payloads_as_canonical_json(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    first = api.post(
        f"/companies/{cid}/imports",
        json={
            "idempotency_key": "k",
            "rows": [{"Email": "a@example.com", "First Name": "A", "Account": "Acme"}],
        },
    )
    again = api.post(
        f"/companies/{cid}/imports",
        json={
            "rows": [{"Account": "Acme", "First Name": "A", "Email": "a@example.com"}],
            "idempotency_key": "k",
        },
    )
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["run_id"] == first.json()["run_id"]


def test_the_same_key_in_another_company_starts_another_run(api: Api) -> None:
    payload = {"rows": [contact("ann@example.com")], "idempotency_key": "shared"}
    runs = []
    for _ in range(2):
        cid = company_with(api, "Contacts")["company"]["id"]
        response = api.post(f"/companies/{cid}/imports", json=payload)
        assert response.status_code == 201, response.text
        runs.append(response.json()["run_id"])
    assert runs[0] != runs[1]


def test_same_key_with_another_payload_is_409(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    first = api.post(
        f"/companies/{cid}/imports",
        json={"rows": [contact("ann@example.com")], "idempotency_key": "k"},
    )
    assert finished(api, first)["status"] == "completed"
    other = api.post(
        f"/companies/{cid}/imports",
        json={"rows": [contact("bob@example.com")], "idempotency_key": "k"},
    )
    assert other.status_code == 409
    assert other.json() == {"error": "idempotency_key was already used with a different payload"}


def test_second_import_while_one_runs_is_409_naming_the_active_run(slow_api: Api) -> None:
    cid = company_with(slow_api, "Contacts")["company"]["id"]
    first = import_rows(slow_api, cid, [contact("ann@example.com")])
    assert first.status_code == 201
    second = import_rows(slow_api, cid, [contact("bob@example.com")])
    assert second.status_code == 409
    assert second.json() == {
        "error": "An import is already in progress for this company",
        "run_id": first.json()["run_id"],
    }
    assert slow_api.wait(first.json()["poll_url"])["status"] == "completed"


def test_a_run_paused_at_needs_attention_blocks_a_second_import(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    first = import_rows(api, cid, [contact("ann@example.com", Status="Maybe")])
    assert finished(api, first)["status"] == "needs_attention"
    second = import_rows(api, cid, [contact("bob@example.com")])
    assert second.status_code == 409
    assert second.json() == {
        "error": "An import is already in progress for this company",
        "run_id": first.json()["run_id"],
    }


def test_active_imports_list_the_paused_run_with_its_idempotency_key(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    done = import_rows(api, cid, [contact("ann@example.com")], idempotency_key="done")
    assert finished(api, done)["status"] == "completed"
    paused = import_rows(
        api, cid, [contact("bob@example.com", Status="Maybe")], idempotency_key="paused"
    )
    assert finished(api, paused)["status"] == "needs_attention"
    response = api.get(f"/companies/{cid}/imports", params={"status": "active"})
    assert response.status_code == 200
    [active] = response.json()["imports"]
    assert active["run_id"] == paused.json()["run_id"]
    assert active["status"] == "needs_attention"
    assert active["idempotency_key"] == "paused"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", active["created_at"])


def test_imports_list_every_run_newest_first(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    run_ids = []
    for number in range(3):
        response = import_rows(
            api, cid, [contact(f"p{number}@example.com")], idempotency_key=f"key-{number}"
        )
        assert finished(api, response)["status"] == "completed"
        run_ids.append(response.json()["run_id"])
    listed = api.get(f"/companies/{cid}/imports").json()["imports"]
    assert [r["run_id"] for r in listed] == run_ids[::-1]
    assert [r["idempotency_key"] for r in listed] == ["key-2", "key-1", "key-0"]
    assert api.get(f"/companies/{cid}/imports", params={"status": "active"}).json() == {
        "imports": []
    }


# -- validation counts and filters -----------------------------------------------------------
def test_invalid_cell_count_counts_rows_not_cells(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    rows = [
        contact("not-an-email", Phone="call me"),  # two bad cells, one row
        contact("ann@example.com"),
    ]
    body = finished(api, import_rows(api, cid, rows))
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 1
    assert body["report"]["inserted"] == 2


def test_filter_valid_drops_a_row_with_one_bad_cell(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    rows = [contact("ann@example.com"), contact("bob@example.com", Phone="x")]
    assert finished(api, import_rows(api, cid, rows))["status"] == "completed"
    emails = [r[0] for r in exported(api, cid, api.sheet_id(company, "Contacts"), "valid")[1:]]
    assert emails == ["ann@example.com"]


def test_filter_all_keeps_a_row_with_one_bad_cell(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    rows = [contact("ann@example.com"), contact("bob@example.com", Phone="x")]
    assert finished(api, import_rows(api, cid, rows))["status"] == "completed"
    emails = [r[0] for r in exported(api, cid, api.sheet_id(company, "Contacts"), "all")[1:]]
    assert emails == ["ann@example.com", "bob@example.com"]


@pytest.mark.parametrize(("filter", "expected"), [("valid", 2), ("all", 3)])
def test_x_total_records_equals_the_rows_in_the_body(api: Api, filter: str, expected: int) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    rows = [contact("a@example.com"), contact("b@example.com", Phone="x"), contact("c@example.com")]
    assert finished(api, import_rows(api, cid, rows))["status"] == "completed"
    response = api.export(cid, api.sheet_id(company, "Contacts"), filter)
    parsed = records(response.content)
    assert len(parsed) - 1 == expected
    assert response.headers["X-Total-Records"] == str(expected)


# -- failed runs and edge files --------------------------------------------------------------
def test_unrecoverable_drift_fails_the_run_and_inserts_nothing(api: Api) -> None:
    company = company_with(api, "Accounts", "Contacts")
    cid = company["company"]["id"]
    accounts = csv_bytes([["Name"], ["Acme"]])
    contacts = csv_bytes([["Full Name", "First Name", "Account"], ["Ann Lee", "Ann", "Acme"]])
    body = finished(
        api, api.import_files(cid, [("accounts.csv", accounts), ("contacts.csv", contacts)])
    )
    assert body == {
        "status": "failed",
        "error": ("Unrecoverable column drift: required column 'Email' not found in contacts.csv"),
    }
    assert exported(api, cid, api.sheet_id(company, "Accounts"), "all") == [ACCOUNTS]
    assert exported(api, cid, api.sheet_id(company, "Contacts"), "all") == [CONTACTS]


def test_non_utf8_file_fails_asking_for_utf8(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    data = "Email,First Name,Account\r\nzoe@example.com,Zoë,Acme\r\n".encode("cp1252")
    body = finished(api, api.import_files(cid, [("contacts.csv", data)]))
    assert body["status"] == "failed"
    assert "UTF-8" in body["error"]
    assert "offset 44" in body["error"]  # where the cp1252 byte for ë sits
    assert exported(api, cid, api.sheet_id(company, "Contacts"), "all") == [CONTACTS]


def test_a_file_with_only_a_newline_fails_as_empty(api: Api) -> None:
    cid = company_with(api, "Contacts")["company"]["id"]
    body = finished(api, api.import_files(cid, [("contacts.csv", b"\n")]))
    assert body == {"status": "failed", "error": "contacts.csv is empty: it has no header row"}


def test_a_header_only_file_completes_with_nothing_inserted(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    body = finished(api, api.import_files(cid, [("contacts.csv", b"Email,First Name,Account\r\n")]))
    assert body["status"] == "completed", body
    assert body["report"]["inserted"] == 0
    assert body["report"]["invalidCellCount"] == 0
    assert exported(api, cid, api.sheet_id(company, "Contacts"), "all") == [CONTACTS]


def test_quotes_commas_and_newlines_in_cells_survive_a_round_trip(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    row = ["ann@example.com", 'Ann "The Boss"', "Lee, Jr.", "", "", "Acme\nNorth, Inc."]
    data = csv_bytes([CONTACTS, row])
    assert finished(api, api.import_files(cid, [("contacts.csv", data)]))["status"] == "completed"
    assert exported(api, cid, api.sheet_id(company, "Contacts")) == [CONTACTS, row]


def test_unicode_survives_a_round_trip(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    row = ["zoë@example.com", "Zoë", "Ørsted-日本", "", "", "Café 🚀"]
    data = csv_bytes([CONTACTS, row])
    assert finished(api, api.import_files(cid, [("contacts.csv", data)]))["status"] == "completed"
    response = api.export(cid, api.sheet_id(company, "Contacts"))
    assert not response.content.startswith(b"\xef\xbb\xbf")
    assert records(response.content) == [CONTACTS, row]


# -- rules that look beyond one import -------------------------------------------------------
def test_uniqueness_spans_earlier_imports(api: Api) -> None:
    company = company_with(api, "Contacts")
    cid, sheet = company["company"]["id"], api.sheet_id(company, "Contacts")
    assert finished(api, import_rows(api, cid, [contact("ann@example.com")]))["status"] == (
        "completed"
    )
    body = finished(
        api, import_rows(api, cid, [contact("ann@example.com"), contact("bob@example.com")])
    )
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 1
    assert [r[0] for r in exported(api, cid, sheet)[1:]] == ["ann@example.com", "bob@example.com"]
    assert [r[0] for r in exported(api, cid, sheet, "all")[1:]] == [
        "ann@example.com",
        "ann@example.com",
        "bob@example.com",
    ]


def test_a_contact_whose_account_is_not_an_account_name_is_flagged(api: Api) -> None:
    company = company_with(api, "Accounts", "Contacts")
    cid = company["company"]["id"]
    accounts = import_rows(api, cid, [{"Name": "Acme"}], sheet_id=api.sheet_id(company, "Accounts"))
    assert finished(api, accounts)["status"] == "completed"
    contacts = import_rows(
        api,
        cid,
        [contact("ann@example.com", account="Acme"), contact("bob@example.com", account="Globex")],
        sheet_id=api.sheet_id(company, "Contacts"),
    )
    body = finished(api, contacts)
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 1
    valid = exported(api, cid, api.sheet_id(company, "Contacts"))
    assert [r[0] for r in valid[1:]] == ["ann@example.com"]


def test_uniqueness_compares_after_trimming_but_stores_values_as_given(api: Api) -> None:
    company = company_with(api, "Accounts")
    cid = company["company"]["id"]
    body = finished(api, import_rows(api, cid, [{"Name": "Acme"}, {"Name": " Acme "}]))
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 1
    assert exported(api, cid, api.sheet_id(company, "Accounts"), "all") == [
        ACCOUNTS,
        ["Acme", "", ""],
        [" Acme ", "", ""],
    ]


def test_a_blank_required_cell_counts_as_missing(api: Api) -> None:
    company = company_with(api, "Deals")
    cid = company["company"]["id"]
    body = finished(api, import_rows(api, cid, [{"Title": "   "}, {"Title": "Renewal"}]))
    assert body["status"] == "needs_attention", body
    question = body["needs_attention"]["questions"][0]
    assert question["target"]["column"] == "Title"
    assert question["target"]["affected_count"] == 1


def test_a_link_to_a_flagged_row_is_still_a_match(api: Api) -> None:
    company = company_with(api, "Accounts", "Contacts")
    cid = company["company"]["id"]
    accounts = import_rows(
        api,
        cid,
        [{"Name": "Acme", "Domain": "not a domain"}],
        sheet_id=api.sheet_id(company, "Accounts"),
    )
    assert finished(api, accounts)["report"]["invalidCellCount"] == 1
    contacts = import_rows(
        api,
        cid,
        [contact("ann@example.com", account="Acme")],
        sheet_id=api.sheet_id(company, "Contacts"),
    )
    body = finished(api, contacts)
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 0


# -- realistic sample files (sample_data/, see its README) -----------------------------------
def sample(samples: Path, name: str) -> bytes:
    path = samples / name
    if not path.is_file():
        pytest.skip(f"sample_data/{name} is not there yet")
    return path.read_bytes()


def test_clean_sample_files_round_trip_exactly(api: Api, samples: Path) -> None:
    accounts = sample(samples, "accounts_clean.csv")
    contacts = sample(samples, "contacts_clean.csv")
    company = company_with(api, "Accounts", "Contacts")
    cid = company["company"]["id"]
    body = finished(
        api,
        api.import_files(cid, [("accounts_clean.csv", accounts), ("contacts_clean.csv", contacts)]),
    )
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 0
    for name, data in (("Accounts", accounts), ("Contacts", contacts)):
        expected = records(data)
        assert exported(api, cid, api.sheet_id(company, name)) == expected


def test_sample_without_an_email_column_fails_with_unrecoverable_drift(
    api: Api, samples: Path
) -> None:
    data = sample(samples, "contacts_no_email.csv")
    company = company_with(api)
    cid = company["company"]["id"]
    body = finished(api, api.import_files(cid, [("contacts_no_email.csv", data)]))
    assert body == {
        "status": "failed",
        "error": (
            "Unrecoverable column drift: required column 'Email' not found in contacts_no_email.csv"
        ),
    }
    for sheet in company["sheets"]:
        assert exported(api, cid, sheet["id"], "all") == [
            {"Accounts": ACCOUNTS, "Contacts": CONTACTS, "Deals": DEALS}[sheet["name"]]
        ]


def test_cp1252_sample_fails_asking_for_utf8(api: Api, samples: Path) -> None:
    data = sample(samples, "contacts_cp1252.csv")
    cid = company_with(api, "Contacts")["company"]["id"]
    body = finished(api, api.import_files(cid, [("contacts.csv", data)]))
    assert body["status"] == "failed"
    assert "UTF-8" in body["error"]


def test_customer_workbook_pauses_then_completes_with_the_proposed_patch(
    api: Api, samples: Path
) -> None:
    data = sample(samples, "customer_workbook.xlsx")
    company = company_with(api)
    cid = company["company"]["id"]
    response = api.import_files(cid, [("customer_workbook.xlsx", data)])
    paused = finished(api, response)
    assert paused["status"] == "needs_attention", paused
    asked = {
        (q["target"]["column"], q["target"]["error"].startswith("Does not match allowed"))
        for q in paused["needs_attention"]["questions"]
    }
    assert {("Tier", True), ("Status", True), ("Stage", True), ("First Name", False)} <= asked
    decision = api.post(
        response.json()["poll_url"] + "/decisions", json={"accept_proposed_patch": True}
    )
    assert decision.status_code == 200, decision.text
    done = api.wait(response.json()["poll_url"])
    assert done["status"] == "completed", done
    contacts = exported(api, cid, api.sheet_id(company, "Contacts"), "all")
    assert {row[4] for row in contacts[1:]} <= {"Open", "Closed", "Pending", ""}
    assert "00441632960958" in {row[3] for row in contacts[1:]}  # leading zero kept as text
    assert len(contacts) - 1 < 200  # rows missing a required cell were dropped
