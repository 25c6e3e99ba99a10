"""``client.exports`` (migkit/resources/exports.py): CSV streams and exports to a destination.

Against the session sandbox over real HTTP; every client here polls on a tiny schedule
(the ``make_client`` / ``client`` fixtures)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import migkit
from migkit.resources.exports import ExportStream
from tests.client.resource_cases import CLEAN_ACCOUNTS, exported
from tests.helpers import ACCOUNTS, CONTACTS, new_company, records, unique


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
