"""The live source connection (``sandbox_crm``) and the credentials flow of Generation 2: the
connection's GET/POST/DELETE, a generate blocked on credentials, every answer to
``/credentials``, and the secret never showing up anywhere: not in a response, the thread, a run
body, a log line, or any file of the sandbox's database (``-wal`` and ``-shm`` included)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CONTACTS, assert_error, csv_bytes
from tests.helpers_gen2 import Gen2, start_gen2

CONNECTION_KEYS = {
    "id",
    "profile_id",
    "source_key",
    "name",
    "category",
    "config",
    "selected_streams",
    "stream_state",
    "creds_configured",
    "bound_source_extractor_id",
    "last_snapshot",
    "last_sync_at",
}


def connect(gen2: Gen2, migration: str, **body: Any) -> Any:
    body.setdefault("source_key", "sandbox_crm")
    return gen2.post(f"/migrations/{migration}/source-connection", json=body)


def blocked_on_credentials(gen2: Gen2, **body: Any) -> tuple[str, dict[str, Any]]:
    migration = gen2.migration()
    assert connect(gen2, migration, **body).status_code == 201
    run = gen2.run_to_rest(migration, "generate")
    assert run["status"] == "blocked", run
    return migration, run


def submit(gen2: Gen2, migration: str, run_id: str, body: Any) -> Any:
    return gen2.post(f"/migrations/{migration}/runs/{run_id}/credentials", json=body)


# -- the connection ---------------------------------------------------------------------------
def test_get_before_any_connection_is_404(gen2: Gen2) -> None:
    response = gen2.get(f"/migrations/{gen2.migration()}/source-connection")
    assert "no source connection" in assert_error(response, 404)


def test_create_is_201_and_never_shows_a_secret(gen2: Gen2) -> None:
    migration = gen2.migration()
    response = connect(
        gen2,
        migration,
        config={"region": "eu"},
        selected_streams=["contacts"],
        credentials={"api_token": "tok-create"},
    )
    assert response.status_code == 201
    body = response.json()["source_connection"]
    assert set(body) == CONNECTION_KEYS
    assert (body["source_key"], body["name"], body["profile_id"]) == (
        "sandbox_crm",
        "Sandbox CRM",
        "default",
    )
    assert (body["config"], body["selected_streams"]) == ({"region": "eu"}, ["contacts"])
    assert body["creds_configured"] is True
    assert "tok-create" not in response.text
    got = gen2.get(f"/migrations/{migration}/source-connection")
    assert got.json() == {"source_connection": body}


def test_posting_the_same_connector_and_profile_again_updates_it_with_200(gen2: Gen2) -> None:
    migration = gen2.migration()
    first = connect(gen2, migration).json()["source_connection"]
    assert first["creds_configured"] is False
    again = connect(gen2, migration, config={"x": 1}, credentials={"api_token": "t"})
    assert again.status_code == 200
    body = again.json()["source_connection"]
    assert (body["id"], body["config"], body["creds_configured"]) == (first["id"], {"x": 1}, True)


def test_another_profile_is_another_connection(gen2: Gen2) -> None:
    migration = gen2.migration()
    default = connect(gen2, migration).json()["source_connection"]
    bound = connect(gen2, migration, profile_id=None)
    assert bound.status_code == 201
    assert bound.json()["source_connection"]["profile_id"] is None
    workbook = gen2.get(
        f"/migrations/{migration}/source-connection", params={"profile_id": "workbook"}
    )
    assert workbook.json()["source_connection"]["id"] == bound.json()["source_connection"]["id"]
    by_profile = gen2.get(
        f"/migrations/{migration}/source-connection", params={"profile_id": "default"}
    )
    assert by_profile.json()["source_connection"]["id"] == default["id"]


def test_delete_is_204_and_the_connection_is_gone(gen2: Gen2) -> None:
    migration = gen2.migration()
    connect(gen2, migration)
    response = gen2.delete(f"/migrations/{migration}/source-connection")
    assert (response.status_code, response.content) == (204, b"")
    assert_error(gen2.get(f"/migrations/{migration}/source-connection"), 404)
    assert gen2.delete(f"/migrations/{migration}/source-connection").status_code == 204


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        pytest.param({"source_key": "salesforce"}, "unknown or disabled connector: salesforce"),
        pytest.param({"source_key": None}, "source_key is required"),
        pytest.param({"selected_streams": ["deals"]}, "unknown stream deals"),
        pytest.param({"selected_streams": []}, "selected_streams"),
        pytest.param({"config": []}, "config must be an object"),
        pytest.param({"profile_id": ""}, "profile_id"),
        pytest.param({"credentials": {}}, "credentials must be a non-empty object"),
        pytest.param({"credentials": {"api_token": ""}}, "credentials.api_token"),
        pytest.param({"credentials": {"password": "p"}}, "unknown field(s) password"),
    ],
)
def test_bad_connection_bodies_are_400(gen2: Gen2, body: dict[str, Any], needle: str) -> None:
    migration = gen2.migration()
    assert needle in assert_error(connect(gen2, migration, **body), 400)


# -- generate blocked on credentials --------------------------------------------------------------
def test_generate_without_stored_credentials_blocks_with_the_request(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2)
    assert set(run) == {
        "run_id",
        "status",
        "created_at",
        "kind",
        "blocked_reason",
        "credential_request",
    }
    assert run["blocked_reason"] == "credentials"
    request = run["credential_request"]
    connection = gen2.get(f"/migrations/{migration}/source-connection").json()
    assert request["connection_id"] == connection["source_connection"]["id"]
    assert (request["source_key"], request["source_name"]) == ("sandbox_crm", "Sandbox CRM")
    assert request["schema"] == {"api_token": {"type": "string", "secret": True}}
    assert set(request["guidance"]) == {"summary", "steps", "links"}


def test_credentials_resume_the_run_which_extracts_the_selected_streams(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2, selected_streams=["accounts"])
    response = submit(gen2, migration, run["run_id"], {"credentials": {"api_token": "t"}})
    assert response.status_code == 200
    assert response.json() == {"run_id": run["run_id"], "status": "running"}
    rest = gen2.wait_run(migration, run["run_id"])
    assert rest["status"] == "blocked"  # the sample accounts hold an ambiguous Tier
    assert [q["question"].split()[1] for q in rest["questions"]] == ["Tier"]
    connection = gen2.get(f"/migrations/{migration}/source-connection").json()
    body = connection["source_connection"]
    assert body["creds_configured"] is True
    assert body["last_snapshot"] == {"streams": {"accounts": 40}}
    assert body["last_sync_at"] is not None
    assert body["bound_source_extractor_id"].startswith("sandbox_crm-extractor-")


def test_stored_credentials_let_generate_extract_at_once(gen2: Gen2) -> None:
    migration = gen2.migration()
    connect(gen2, migration, credentials={"api_token": "t"}, selected_streams=["contacts"])
    run = gen2.run_to_rest(migration, "generate")
    assert run["status"] == "blocked"
    assert "blocked_reason" not in run
    assert [q["question"].split()[1] for q in run["questions"]] == ["Status"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"credentials": {}}, id="empty"),
        pytest.param({"credentials": "tok"}, id="not-an-object"),
        pytest.param({"credentials": {"api_token": "t"}, "connection_id": 5}, id="guard-type"),
    ],
)
def test_malformed_credentials_are_400(gen2: Gen2, body: dict[str, Any]) -> None:
    migration, run = blocked_on_credentials(gen2)
    assert_error(submit(gen2, migration, run["run_id"], body), 400)
    assert gen2.wait_run(migration, run["run_id"])["blocked_reason"] == "credentials"


def test_credentials_the_connector_does_not_take_are_400_without_echoing_them(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2)
    response = submit(gen2, migration, run["run_id"], {"credentials": {"token": "s3cr3t-x"}})
    assert "unknown field(s) token" in assert_error(response, 400)
    assert "s3cr3t-x" not in response.text


def test_a_wrong_connection_id_is_409(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2)
    body = {"credentials": {"api_token": "t"}, "connection_id": str(uuid.uuid4())}
    assert "does not match" in assert_error(submit(gen2, migration, run["run_id"], body), 409)


def test_the_right_connection_id_is_accepted(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2)
    body = {
        "credentials": {"api_token": "t"},
        "connection_id": run["credential_request"]["connection_id"],
    }
    assert submit(gen2, migration, run["run_id"], body).status_code == 200


def test_credentials_for_a_run_not_awaiting_them_are_409(gen2: Gen2) -> None:
    rows = csv_bytes([CONTACTS, ["ann@example.com", "Ann", "", "", "Done", "Acme"]])
    migration = gen2.migration_with_files([("contacts.csv", rows)])
    question_blocked = gen2.run_to_rest(migration, "generate")
    assert question_blocked["status"] == "blocked"
    body = {"credentials": {"api_token": "t"}}
    message = assert_error(submit(gen2, migration, question_blocked["run_id"], body), 409)
    assert message == "This run isn't waiting for credentials"
    gen2.answer_and_wait(
        migration, question_blocked["run_id"], [{"id": "q1", "value": "Keep them flagged"}]
    )
    assert_error(submit(gen2, migration, question_blocked["run_id"], body), 409)


def test_answers_to_a_credential_blocked_run_are_409(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2)
    response = gen2.answer(migration, run["run_id"], "trim Email")
    assert assert_error(response, 409) == "This run is waiting for credentials; use /credentials"


def test_credentials_after_the_connection_was_deleted_are_404(gen2: Gen2) -> None:
    migration, run = blocked_on_credentials(gen2)
    gen2.delete(f"/migrations/{migration}/source-connection")
    response = submit(gen2, migration, run["run_id"], {"credentials": {"api_token": "t"}})
    assert "no longer exists" in assert_error(response, 404)


# -- the secret goes nowhere ---------------------------------------------------------------------
def test_the_secret_is_in_no_response_event_log_or_database_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"tok-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    with start_gen2(tmp_path / "s.db") as sb:
        gen2 = Gen2(sb.base_url, sb.api_key)
        migration, run = blocked_on_credentials(gen2, selected_streams=["accounts"])
        seen = [submit(gen2, migration, run["run_id"], {"credentials": {"api_token": secret}})]
        rest = gen2.wait_run(migration, run["run_id"])
        seen += [
            # rejected requests carrying the secret must not echo or log it either
            submit(gen2, migration, run["run_id"], {"credentials": {"api_token": secret}}),
            submit(gen2, migration, run["run_id"], {"credentials": {"api_token": secret, "x": 1}}),
            connect(gen2, migration, credentials={"api_token": secret}),
            connect(gen2, migration, credentials={"api_token": secret, "other": secret}),
            gen2.get(f"/migrations/{migration}/source-connection"),
            gen2.get(f"/migrations/{migration}/runs"),
            gen2.get(gen2.run_url(migration, run["run_id"])),
            gen2.get(f"/migrations/{migration}/thread", params={"include": "all"}),
        ]
        assert [r.status_code for r in seen] == [200, 409, 409, 200, 400, 200, 200, 200, 200]
        assert rest["status"] == "blocked"
        assert all(secret not in r.text for r in seen)
        assert_no_file_holds(tmp_path, secret, wal=True)
    assert_no_file_holds(tmp_path, secret, wal=False)
    assert secret not in caplog.text


def assert_no_file_holds(folder: Path, secret: str, *, wal: bool) -> None:
    """No file under ``folder`` (the db, its -wal and -shm, stored bytes) holds ``secret``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    if wal:  # while the sandbox runs, the write-ahead log holds the latest pages
        assert any(p.name.endswith("-wal") and p.stat().st_size for p in files), files
    needles = [secret.encode("utf-8"), secret.encode("utf-16-le")]
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
