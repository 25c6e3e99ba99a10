"""Exports on the sandbox: the streamed export.csv (one sheet or a ZIP) and export runs that
write to a destination, here a tiny HTTP server started by the tests on loopback."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import migkit
from tests.helpers import ACCOUNTS, CONTACTS, DEALS, Api, company_with, csv_bytes, records
from tests.hostile import Exchange, HostileServer, redirect

RESULT_KEYS = {"template_id", "path", "status", "ok", "error", "fields_confirmed"}


def import_and_wait(api: Api, company_id: str, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    response = api.import_files(company_id, files)
    assert response.status_code == 201, response.text
    body = api.wait(response.json()["poll_url"])
    assert body["status"] == "completed", body
    return body


# -- export.csv ------------------------------------------------------------------------------
@pytest.fixture
def contacts(api: Api) -> tuple[str, str]:
    """A Contacts-only company holding two clean rows and one flagged row: (company, sheet)."""
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    data = csv_bytes(
        [
            CONTACTS,
            ["ann@example.com", 'Ann "The Boss"', "Lee, Jr.", "", "Open", "Acme"],
            ["bad-email", "Bob", "", "", "", "Acme"],
            ["cy@example.com", "Cy", "", "", "", "Acme"],
        ]
    )
    import_and_wait(api, cid, [("contacts.csv", data)])
    return cid, api.sheet_id(company, "Contacts")


def test_single_sheet_export_is_a_utf8_csv_attachment_named_after_the_sheet(
    api: Api, contacts: tuple[str, str]
) -> None:
    response = api.export(*contacts)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Contacts.csv"'


def test_export_header_is_the_template_columns_in_order(api: Api) -> None:
    company = company_with(api, "Deals")
    response = api.export(company["company"]["id"], api.sheet_id(company, "Deals"))
    assert response.status_code == 200
    assert records(response.content) == [DEALS]
    assert response.headers["X-Total-Records"] == "0"


def test_export_quotes_cells_per_rfc_4180_with_crlf_line_ends(
    api: Api, contacts: tuple[str, str]
) -> None:
    body = api.export(*contacts).content
    lines = body.split(b"\r\n")
    assert lines[0] == b"Email,First Name,Last Name,Phone,Status,Account"
    assert lines[-1] == b""  # the last record ends with CRLF too
    assert b'"Ann ""The Boss"""' in lines[1]
    assert b'"Lee, Jr."' in lines[1]
    assert not any(b"\n" in line for line in lines)  # no bare LF line ends


def test_export_rows_keep_workbook_order(api: Api, contacts: tuple[str, str]) -> None:
    emails = [r[0] for r in records(api.export(*contacts, filter="all").content)[1:]]
    assert emails == ["ann@example.com", "bad-email", "cy@example.com"]


def test_export_filter_defaults_to_valid(api: Api, contacts: tuple[str, str]) -> None:
    cid, sheet = contacts
    default = api.get(f"/companies/{cid}/export.csv", params={"sheet_id": sheet})
    assert default.status_code == 200
    assert default.content == api.export(cid, sheet, "valid").content
    assert [r[0] for r in records(default.content)[1:]] == ["ann@example.com", "cy@example.com"]


@pytest.mark.parametrize("value", ["invalid", "ALL", "", "valid,all"])
def test_export_with_a_bad_filter_is_400(api: Api, contacts: tuple[str, str], value: str) -> None:
    response = api.export(*contacts, filter=value)
    assert response.status_code == 400
    assert response.json() == {"error": "filter must be one of: valid, all"}


@pytest.mark.parametrize("sheet_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_export_of_an_unknown_sheet_is_404(
    api: Api, contacts: tuple[str, str], sheet_id: str
) -> None:
    response = api.export(contacts[0], sheet_id)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_export_of_a_sheet_of_another_company_is_404(api: Api, contacts: tuple[str, str]) -> None:
    other = company_with(api, "Contacts")
    response = api.export(other["company"]["id"], contacts[1])
    assert response.status_code == 404


@pytest.mark.parametrize("with_sheet", [True, False], ids=["csv", "zip"])
def test_export_of_another_accounts_company_is_404(
    other_api: Api, contacts: tuple[str, str], with_sheet: bool
) -> None:
    cid, sheet = contacts
    params = {"sheet_id": sheet} if with_sheet else {}
    response = other_api.get(f"/companies/{cid}/export.csv", params=params)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_export_without_sheet_id_is_a_zip_with_one_csv_per_sheet(api: Api) -> None:
    company = company_with(api, "Accounts", "Contacts", "Deals", name="Zip Co")
    cid = company["company"]["id"]
    import_and_wait(
        api,
        cid,
        [
            ("accounts.csv", csv_bytes([["Name"], ["Acme"], ["Globex"]])),
            ("contacts.csv", csv_bytes([CONTACTS, ["ann@example.com", "Ann", "", "", "", "Acme"]])),
        ],
    )
    response = api.get(f"/companies/{cid}/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Zip Co.zip"'
    assert response.headers["X-Total-Records"] == "3"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["Accounts.csv", "Contacts.csv", "Deals.csv"]
        assert records(archive.read("Accounts.csv")) == [
            ACCOUNTS,
            ["Acme", "", ""],
            ["Globex", "", ""],
        ]
        assert records(archive.read("Contacts.csv")) == [
            CONTACTS,
            ["ann@example.com", "Ann", "", "", "", "Acme"],
        ]
        assert records(archive.read("Deals.csv")) == [DEALS]


# -- export to a destination -----------------------------------------------------------------
class Destination:
    """A loopback HTTP server that records every write. ``/v3/contacts`` refuses with 422;
    other paths answer 201 echoing an ``id`` and the ``Name`` field when there is one."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        payload = request.get_json(silent=True)
        with self._lock:
            self.received.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "authorization": request.headers.get("Authorization"),
                    "headers": dict(request.headers),
                    "json": payload,
                }
            )
            number = len(self.received)
        if request.path.endswith("/contacts"):
            status, body = 422, {"error": "email: already exists"}
        else:
            status, body = 201, {"id": number}
            if isinstance(payload, dict) and "Name" in payload:
                body["Name"] = payload["Name"]
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        return response(environ, start_response)

    def paths(self) -> list[str]:
        return [r["path"] for r in self.received]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Destination]:
    destination = Destination()
    yield destination
    destination.stop()


@pytest.fixture
def destination(server: Destination) -> Destination:
    server.received.clear()
    return server


ACCOUNT_ROWS = [
    ["Name", "Domain"],
    ["Acme", "acme.com"],
    ["Broken", "not a domain"],
    ["Globex", "globex.io"],
]
CONTACT_ROWS = [
    CONTACTS,
    ["ann@example.com", "Ann", "", "", "", "Acme"],
    ["bob@example.com", "Bob", "", "", "", "Globex"],
]


def connected_company(
    api: Api, base_url: str, auth: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Accounts + Contacts with 2 valid accounts (1 flagged) and 2 valid contacts, connected."""
    auth = {"bearer": "tok"} if auth is None else auth
    company = company_with(
        api, "Accounts", "Contacts", connections={"base_url": base_url, "auth": auth}
    )
    import_and_wait(
        api,
        company["company"]["id"],
        [("accounts.csv", csv_bytes(ACCOUNT_ROWS)), ("contacts.csv", csv_bytes(CONTACT_ROWS))],
    )
    return company


def export_run(api: Api, company_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/companies/{company_id}/exports", json=body)
    assert response.status_code == 201, response.text
    final = api.wait(response.json()["poll_url"])
    assert final["status"] == "completed", final
    return final


def test_export_run_creation_is_201_queued_with_a_relative_poll_url(
    api: Api, destination: Destination
) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    response = api.post(f"/companies/{cid}/exports", json={})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"run_id", "status", "poll_url"}
    assert body["status"] == "queued"
    assert body["poll_url"] == f"/api/v1/companies/{cid}/exports/{body['run_id']}"
    assert api.wait(body["poll_url"])["status"] == "completed"


def test_export_report_counts_every_write(api: Api, destination: Destination) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    report = export_run(api, cid)["report"]
    assert set(report) == {"mode", "total", "succeeded", "failed", "results"}
    assert report["mode"] == "full"
    assert (report["total"], report["succeeded"], report["failed"]) == (4, 2, 2)
    assert len(report["results"]) == 4
    assert sum(r["ok"] for r in report["results"]) == report["succeeded"]
    assert all(set(r) == RESULT_KEYS for r in report["results"])


def template_results(
    api: Api, destination: Destination, template: str
) -> tuple[str, list[dict[str, Any]]]:
    """Export a connected company to ``destination`` under /v3: the id of ``template`` and the
    results of the writes of its rows."""
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    template_id = api.templates()[template]["id"]
    results = export_run(api, cid)["report"]["results"]
    return template_id, [r for r in results if r["template_id"] == template_id]


def test_export_run_completes_and_reports_refused_writes(
    api: Api, destination: Destination
) -> None:
    _, refused = template_results(api, destination, "Contacts")
    assert len(refused) == 2
    for result in refused:
        assert result["path"] == "/v3/contacts"
        assert result["status"] == 422
        assert result["ok"] is False
        assert result["error"] == "email: already exists"


def test_export_run_reports_accepted_writes_with_fields_confirmed(
    api: Api, destination: Destination
) -> None:
    accounts_id, accepted = template_results(api, destination, "Accounts")
    assert (
        accepted
        == [
            {
                "template_id": accounts_id,
                "path": "/v3/accounts",
                "status": 201,
                "ok": True,
                "error": None,
                "fields_confirmed": ["Name"],
            }
        ]
        * 2
    )


def test_destination_receives_each_valid_row_as_json_with_the_bearer_token(
    api: Api, destination: Destination
) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    export_run(api, cid)
    assert {r["method"] for r in destination.received} == {"POST"}
    assert {r["authorization"] for r in destination.received} == {"Bearer tok"}
    assert destination.paths() == ["/v3/accounts"] * 2 + ["/v3/contacts"] * 2
    sent = [r["json"] for r in destination.received]
    assert [list(record) for record in sent] == [ACCOUNTS] * 2 + [CONTACTS] * 2
    assert [{k: v for k, v in record.items() if v} for record in sent] == [
        {"Name": "Acme", "Domain": "acme.com"},
        {"Name": "Globex", "Domain": "globex.io"},
        {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme"},
        {"Email": "bob@example.com", "First Name": "Bob", "Account": "Globex"},
    ]


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        ({"basic": {"username": "u", "password": "p"}}, "Authorization", "Basic dTpw"),
        ({"headers": {"X-Api-Token": "abc"}}, "X-Api-Token", "abc"),
    ],
    ids=["basic", "headers"],
)
def test_destination_auth_kinds_reach_the_destination(
    api: Api, destination: Destination, auth: dict[str, Any], header: str, value: str
) -> None:
    cid = connected_company(api, destination.url + "/v3", auth)["company"]["id"]
    export_run(api, cid, mode="canary")
    assert [r["headers"].get(header) for r in destination.received] == [value, value]


def test_export_run_completes_when_the_destination_is_unreachable(api: Api) -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cid = connected_company(api, f"http://127.0.0.1:{port}")["company"]["id"]
    report = export_run(api, cid)["report"]
    assert (report["total"], report["succeeded"], report["failed"]) == (4, 0, 4)
    assert {(r["status"], r["ok"]) for r in report["results"]} == {(0, False)}
    assert all(r["error"] for r in report["results"])


def test_canary_mode_writes_the_first_row_of_each_template_only(
    api: Api, destination: Destination
) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    report = export_run(api, cid, mode="canary")["report"]
    assert report["mode"] == "canary"
    assert report["total"] == 2
    assert destination.paths() == ["/v3/accounts", "/v3/contacts"]
    assert destination.received[0]["json"]["Name"] == "Acme"
    assert destination.received[1]["json"]["Email"] == "ann@example.com"


def test_selection_template_ids_limits_the_export(api: Api, destination: Destination) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    accounts_id = api.templates()["Accounts"]["id"]
    report = export_run(api, cid, selection={"template_ids": [accounts_id]})["report"]
    assert report["total"] == 2
    assert destination.paths() == ["/v3/accounts"] * 2


def test_several_export_runs_may_run_at_once(api: Api, destination: Destination) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    first = api.post(f"/companies/{cid}/exports", json={"mode": "canary"})
    second = api.post(f"/companies/{cid}/exports", json={"mode": "canary"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["run_id"] != second.json()["run_id"]
    for response in (first, second):
        assert api.wait(response.json()["poll_url"])["status"] == "completed"
    assert sorted(destination.paths()) == ["/v3/accounts"] * 2 + ["/v3/contacts"] * 2


def test_export_with_the_same_key_and_payload_replays_the_run(
    api: Api, destination: Destination
) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    payload = {"mode": "canary", "idempotency_key": "export-1"}
    first = api.post(f"/companies/{cid}/exports", json=payload)
    assert first.status_code == 201
    assert api.wait(first.json()["poll_url"])["status"] == "completed"
    again = api.post(f"/companies/{cid}/exports", json=payload)
    assert again.status_code == 200
    assert again.json()["run_id"] == first.json()["run_id"]
    assert destination.paths() == ["/v3/accounts", "/v3/contacts"]  # written once


def test_export_with_the_same_key_and_another_payload_is_409(
    api: Api, destination: Destination
) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    first = api.post(
        f"/companies/{cid}/exports", json={"mode": "canary", "idempotency_key": "export-1"}
    )
    assert first.status_code == 201
    assert api.wait(first.json()["poll_url"])["status"] == "completed"
    other = api.post(
        f"/companies/{cid}/exports", json={"mode": "full", "idempotency_key": "export-1"}
    )
    assert other.status_code == 409
    assert other.json() == {"error": "idempotency_key was already used with a different payload"}


def test_import_and_export_keys_are_separate_namespaces(api: Api, destination: Destination) -> None:
    cid = connected_company(api, destination.url + "/v3")["company"]["id"]
    imported = api.post(
        f"/companies/{cid}/imports",
        json={
            "rows": [{"Name": "Initech"}],
            "idempotency_key": "shared",
            "sheet_id": api.get(f"/companies/{cid}").json()["sheets"][0]["id"],
        },
    )
    assert imported.status_code == 201, imported.text
    assert api.wait(imported.json()["poll_url"])["status"] == "completed"
    exported_run = api.post(f"/companies/{cid}/exports", json={"idempotency_key": "shared"})
    assert exported_run.status_code == 201, exported_run.text
    assert exported_run.json()["run_id"] != imported.json()["run_id"]
    assert api.wait(exported_run.json()["poll_url"])["status"] == "completed"


def test_export_without_a_destination_connection_is_400(api: Api) -> None:
    company = company_with(api, "Accounts")
    response = api.post(f"/companies/{company['company']['id']}/exports", json={})
    assert response.status_code == 400
    assert response.json() == {"error": "company has no destination connection"}


def test_company_never_returns_its_connections(api: Api, destination: Destination) -> None:
    company = connected_company(api, destination.url + "/v3")
    fetched = api.get(f"/companies/{company['company']['id']}")
    assert fetched.status_code == 200
    assert "tok" not in fetched.text
    assert "connections" not in company and "connections" not in fetched.json()


# -- exports to a hostile destination ------------------------------------------------------------
def _export_to(client: migkit.Client, base_url: str) -> migkit.ExportRun:
    company = client.companies.create(
        f"dest-{uuid.uuid4().hex[:8]}",
        source="Spreadsheet",
        templates=["Accounts"],
        connections={"base_url": base_url, "auth": {"bearer": "destination-secret"}},
    )
    rows = [{"Name": "Acme", "Domain": "acme.com"}]
    assert client.imports.wait(client.imports.create(company, rows=rows)).done
    return client.exports.to_destination(company)


def test_a_destination_redirect_is_not_followed_and_its_credentials_stay_home(
    client: migkit.Client, hostile: HostileServer, elsewhere: HostileServer
) -> None:
    for status in (302, 307):
        hostile.on("POST", "/accounts", redirect(status, f"{elsewhere.base}/steal"), times=1)
        run = _export_to(client, hostile.base)
        assert run.report is not None and run.report.failed == 1
        error = run.report.results[0].error or ""
        assert f"answered {status} redirecting to {elsewhere.base}/steal" in error
        assert "not followed" in error
    assert elsewhere.requests() == []  # neither the record nor the bearer token went there


def test_a_destination_answer_is_read_up_to_a_cap(
    client: migkit.Client, hostile: HostileServer
) -> None:
    def endless(exchange: Exchange) -> None:
        if exchange.head(500):
            exchange.stream(b"x" * 65536)

    hostile.on("POST", "/accounts", endless)
    started = time.monotonic()
    run = _export_to(client, hostile.base)
    assert run.report is not None and run.report.failed == 1
    assert run.report.results[0].status == 500
    assert run.report.results[0].error == "x" * 200  # an excerpt, not gigabytes
    assert time.monotonic() - started < 60  # the endless body did not hold the run
