"""The resource base: paths built from templates with quoted ids, the lookups resources share,
"this server lacks the extension", and the ledger scoped to one client (or off)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
from migkit.ledger import AccountLedger, Ledger, NullLedger
from migkit.resources._base import path_template
from migkit.sandbox import Sandbox
from tests.fleet import RequestLog
from tests.helpers import new_company
from tests.hostile import HostileServer, json_answer

MakeClient = Callable[..., migkit.Client]
COMPANY = "0f8fad5b-d9cb-469f-a165-70867728950e"
RUN = {"run_id": "r ..?y#z", "status": "completed"}


# -- paths from templates ------------------------------------------------------------------------
def test_ids_are_quoted_into_one_path_segment(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    # an id with a slash never comes from the server (migkit.fields refuses it), but a caller
    # may pass one: it stays inside its segment, as do "?" and "#"
    hostile.on("GET", "/api/v1/companies/*", json_answer(RUN), times=1)
    client = hostile_client()
    assert client.imports.get("r ..?y#z", company=COMPANY).id == "r ..?y#z"
    with pytest.raises(migkit.NotFound):
        client.imports.get("../x", company="c/1")
    first, second = hostile.requests("GET")
    assert (first.path, first.query) == (f"/api/v1/companies/{COMPANY}/imports/r%20..%3Fy%23z", "")
    assert second.path == "/api/v1/companies/c%2F1/imports/..%2Fx"


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_an_empty_or_dots_only_id_is_refused_before_sending(
    bad: str, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    with pytest.raises(migkit.UsageError, match="run_id"):
        hostile_client().imports.get(bad, company=COMPANY)
    assert hostile.requests() == []


def test_path_template_names_the_route_without_ids() -> None:
    assert path_template("/companies/{id}", id="a b") == "/companies/a%20b"
    with pytest.raises(KeyError):
        path_template("/companies/{id}")


def test_an_error_names_the_route_not_the_id(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    with pytest.raises(migkit.NotFound) as caught:
        hostile_client().imports.get("secret-looking-run", company=COMPANY)
    assert caught.value.path == "/companies/{id}/imports/{run_id}"
    assert "on GET /companies/{id}/imports/{run_id}:" in str(caught.value)


# -- "this server lacks the extension" -------------------------------------------------------------
@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_quiet_list_on_a_server_without_the_extension_is_empty(
    status: int, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/companies/*/imports", json_answer({"error": "no"}, status))
    assert hostile_client().imports.list(COMPANY, quiet=True) == []
    with pytest.raises(migkit.APIError):
        hostile_client().imports.list(COMPANY)


def test_a_server_error_is_not_taken_for_a_missing_extension(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/companies/*/imports", json_answer({"error": "down"}, 500))
    with pytest.raises(migkit.ServerError):
        hostile_client().imports.list(COMPANY, quiet=True)


# -- shared lookups, each one request --------------------------------------------------------------
def test_template_names_cost_one_listing_and_a_sheet_name_one_company_read(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    client = make_client()
    log = RequestLog.attach(sandbox)
    try:
        before = len(log)
        company = client.companies.create(
            "Lookups Co", "Spreadsheet", templates=["Contacts", "accounts", "Deals"]
        )
        made = [route for _, route in log.arrivals[before:]]
        assert made.count("GET /api/v1/templates") == 1
        assert made.count("GET /api/v1/sources") == 1
        before = len(log)
        with client.exports.csv(company.id, "contacts", filter="all") as stream:
            stream.save(Path(client.ledger.path).parent / "out.csv")  # type: ignore[union-attr]
        read = [route for _, route in log.arrivals[before:]]
        assert read == [
            "GET /api/v1/companies/<company_id>",
            "GET /api/v1/companies/<company_id>/export.csv",
        ]
    finally:
        sandbox._server.app = log.app


def test_an_unknown_sheet_or_template_name_lists_what_there_is(make_client: MakeClient) -> None:
    client = make_client()
    company = new_company(client, "Contacts")
    with pytest.raises(migkit.UnknownName, match="sheets: Contacts"):
        client.imports.create(company.id, rows=[{"Email": "a@x.io"}], sheet="Deals")
    with pytest.raises(migkit.UnknownName, match="'Accounts', 'Contacts', 'Deals'"):
        client.companies.create("X", "Spreadsheet", templates=["Contcts"])


# -- the ledger, scoped once ----------------------------------------------------------------------
def test_a_client_without_a_ledger_gets_the_null_ledger(make_client: MakeClient) -> None:
    client = make_client(ledger=None)
    assert isinstance(client._core.ledger, NullLedger)
    assert client.ledger is None
    with pytest.raises(migkit.UsageError, match="needs the run ledger"):
        client.imports.recover()
    company = new_company(client, "Accounts")  # creating and importing need no ledger
    assert client.imports.wait(client.imports.create(company, rows=[{"Name": "A"}])).done


def test_a_scope_sees_only_its_account_and_base_url(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    here, there = ledger.scoped("acct", "https://a"), ledger.scoped("acct", "https://b")
    assert isinstance(here, AccountLedger)
    here.record_import("c1", "k1", "h", {"rows": []})
    here.set_run("c1", "k1", "r1", "running")
    assert [e.run_id for e in here.unfinished()] == ["r1"]
    assert there.unfinished() == [] and there.run_key("r1") is None
    assert ledger.run_key("acct", "https://a", "r1") == here.run_key("r1")  # the same file
    here.set_status("r1", "completed")
    assert here.unfinished() == []
