"""The sandbox keeps its state in one SQLite file: a sandbox restarted on the same db and key
finds its companies, sheets, runs, rows and uploads again, and finishes runs left in flight."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers import CONTACTS, Api, company_with, csv_bytes, exported, start_sandbox

KEY = "k1"
ROWS = [
    CONTACTS,
    ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"],
    ["bob@example.com", "Bob", "", "", "Closed", "Globex"],
]


def import_contacts(api: Api, rows: list[list[str]]) -> tuple[dict[str, Any], str, str]:
    """Start an import of ``rows`` as contacts.csv into a new Contacts-only company:
    (company, company_id, poll_url)."""
    company = company_with(api, "Contacts")
    cid = company["company"]["id"]
    response = api.import_files(cid, [("contacts.csv", csv_bytes(rows))])
    assert response.status_code == 201, response.text
    return company, cid, response.json()["poll_url"]


def wait_for_progress(api: Api, poll_url: str, message: str, timeout: float = 30.0) -> None:
    """Poll until the run is running with ``message`` as its progress."""
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(poll_url).json()
        if body.get("progress_message") == message:
            return
        if body["status"] not in ("queued", "running") or time.monotonic() > deadline:
            raise AssertionError(f"never saw {message!r}; last {body}")
        time.sleep(0.01)


@dataclass
class FirstLife:
    """What a stopped sandbox left behind: its db and the ids and answers it gave."""

    db: Path
    company: dict[str, Any]
    company_id: str
    sheet_id: str
    upload_ref: str
    poll_url: str
    poll_body: dict[str, Any]
    export: list[list[str]]


@pytest.fixture
def first_life(tmp_path: Path) -> FirstLife:
    db = tmp_path / "s.db"
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        company = company_with(api, "Contacts", external_id="restart-co")
        cid = company["company"]["id"]
        upload_ref = api.upload(cid, csv_bytes(ROWS), "contacts.csv")
        response = api.post(
            f"/companies/{cid}/imports",
            json={"files": [{"name": "contacts.csv", "upload_ref": upload_ref}]},
        )
        assert response.status_code == 201, response.text
        poll_url = response.json()["poll_url"]
        poll_body = api.wait(poll_url)
        assert poll_body["status"] == "completed", poll_body
        sheet_id = api.sheet_id(company, "Contacts")
        export = exported(api, cid, sheet_id, "all")
    return FirstLife(
        db=db,
        company=company,
        company_id=cid,
        sheet_id=sheet_id,
        upload_ref=upload_ref,
        poll_url=poll_url,
        poll_body=poll_body,
        export=export,
    )


def without_link(body: dict[str, Any]) -> dict[str, Any]:
    """A company body without magic_link_url, whose host changes with the port."""
    return {k: v for k, v in body.items() if k != "magic_link_url"}


def test_company_and_its_sheets_survive_a_restart(first_life: FirstLife) -> None:
    with start_sandbox(first_life.db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        response = api.get(f"/companies/{first_life.company_id}")
        assert response.status_code == 200
        assert without_link(response.json()) == without_link(first_life.company)
        found = api.get("/companies", params={"external_id": "restart-co"}).json()["companies"]
        assert [c["company"]["id"] for c in found] == [first_life.company_id]


def test_magic_link_token_survives_a_restart(first_life: FirstLife) -> None:
    with start_sandbox(first_life.db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        link = api.get(f"/companies/{first_life.company_id}").json()["magic_link_url"]
        assert link.rsplit("/", 1)[1] == first_life.company["magic_link_url"].rsplit("/", 1)[1]


def test_a_completed_run_survives_a_restart(first_life: FirstLife) -> None:
    with start_sandbox(first_life.db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        response = api.get(first_life.poll_url)
        assert response.status_code == 200
        assert response.json() == first_life.poll_body


def test_rows_survive_a_restart(first_life: FirstLife) -> None:
    with start_sandbox(first_life.db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        assert exported(api, first_life.company_id, first_life.sheet_id, "all") == first_life.export
        assert first_life.export == ROWS


def test_an_upload_ref_can_be_imported_again_after_a_restart(first_life: FirstLife) -> None:
    with start_sandbox(first_life.db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        files = [{"name": "contacts.csv", "upload_ref": first_life.upload_ref}]
        response = api.post(f"/companies/{first_life.company_id}/imports", json={"files": files})
        assert response.status_code == 201, response.text
        body = api.wait(response.json()["poll_url"])
        assert body["status"] == "completed", body
        assert body["report"]["inserted"] == 2
        assert body["report"]["invalidCellCount"] == 2  # the same emails again: duplicates


def test_another_key_does_not_see_the_restarted_company(first_life: FirstLife) -> None:
    with start_sandbox(first_life.db, [KEY, "k2"]) as sb:
        stranger = Api(sb.base_url, "k2")
        assert stranger.get(f"/companies/{first_life.company_id}").status_code == 404
        assert Api(sb.base_url, KEY).get(f"/companies/{first_life.company_id}").status_code == 200


def test_a_run_in_flight_at_stop_completes_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_sandbox(db, KEY, step_seconds=0.3) as sb:
        api = Api(sb.base_url, sb.api_key)
        company, cid, poll_url = import_contacts(api, ROWS)
        wait_for_progress(api, poll_url, "Inserting rows")
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        body = api.wait(poll_url)
        assert body["status"] == "completed", body
        assert body["report"]["inserted"] == 2
        assert body["report"]["invalidCellCount"] == 0
        assert exported(api, cid, api.sheet_id(company, "Contacts"), "all") == ROWS


def test_a_run_stopped_early_completes_once_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_sandbox(db, KEY, step_seconds=0.3) as sb:
        api = Api(sb.base_url, sb.api_key)
        company, cid, poll_url = import_contacts(api, ROWS)
        api.wait(poll_url, until=("running",))
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        assert api.wait(poll_url)["status"] == "completed"
        assert exported(api, cid, api.sheet_id(company, "Contacts"), "all") == ROWS


def test_a_paused_run_can_be_decided_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    rows = [*ROWS, ["cy@example.com", "Cy", "", "", "open", "Acme"]]
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        company, cid, poll_url = import_contacts(api, rows)
        paused = api.wait(poll_url)
        assert paused["status"] == "needs_attention", paused
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        assert api.get(poll_url).json() == paused
        decision = api.post(poll_url + "/decisions", json={"accept_proposed_patch": True})
        assert decision.status_code == 200, decision.text
        assert api.wait(poll_url)["status"] == "completed"
        exported_rows = exported(api, cid, api.sheet_id(company, "Contacts"), "all")
        assert exported_rows == [*ROWS, ["cy@example.com", "Cy", "", "", "Open", "Acme"]]


@pytest.fixture
def destination() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback destination that accepts every write: (base URL, the JSON bodies received)."""
    received: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        received.append(Request(environ).get_json(silent=True))
        return Response(json.dumps({"id": len(received)}), status=201, mimetype="application/json")(
            environ, start_response
        )

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_an_export_run_in_flight_at_stop_completes_after_restart(
    tmp_path: Path, destination: tuple[str, list[dict[str, Any]]]
) -> None:
    db = tmp_path / "s.db"
    base_url, received = destination
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        company = company_with(api, "Contacts", connections={"base_url": base_url})
        cid = company["company"]["id"]
        response = api.import_files(cid, [("contacts.csv", csv_bytes(ROWS))])
        assert api.wait(response.json()["poll_url"])["status"] == "completed"
    with start_sandbox(db, KEY, step_seconds=0.3) as sb:
        api = Api(sb.base_url, sb.api_key)
        response = api.post(f"/companies/{cid}/exports", json={})
        assert response.status_code == 201, response.text
        poll_url = response.json()["poll_url"]
        api.wait(poll_url, until=("running",))
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, sb.api_key)
        body = api.wait(poll_url)
        assert body["status"] == "completed", body
        assert (body["report"]["total"], body["report"]["succeeded"]) == (2, 2)
    # at-least-once: a write sent before the stop may be sent again after the restart
    assert {r["Email"] for r in received} == {"ann@example.com", "bob@example.com"}
