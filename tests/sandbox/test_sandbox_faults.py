"""Fault injection (off by default): request faults answer 500, 429, slowly or not at all,
before or after the handler commits; run faults make import runs retry or fail. Each test
starts its own sandbox; where a fault hides the outcome, a fault-free sandbox started
afterwards on the same db file shows what was committed."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from migkit.sandbox import FaultConfig, Sandbox
from migkit.sandbox.faults import REQUEST_FAULTS, STREAM_FAULTS
from tests.helpers import Api, company_with, exported, observe, start_sandbox

KEY = "sk_test_faults"
RETRYING = re.compile(r"Retrying \(attempt [2-5] of 5\)")
ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme"},
    {"Email": "bob@example.com", "First Name": "Bob", "Account": "Acme"},
]


def source_id(db: Path) -> str:
    """The account's first source, read through a fault-free sandbox on ``db``."""
    with start_sandbox(db, KEY) as sb:
        return Api(sb.base_url, KEY).source_id()


def companies(db: Path, **params: str) -> list[dict[str, Any]]:
    """The account's companies, read through a fault-free sandbox on ``db``."""
    with start_sandbox(db, KEY) as sb:
        response = Api(sb.base_url, KEY).get("/companies", params=params)
        assert response.status_code == 200, response.text
        return list(response.json()["companies"])


def create_acme(db: Path, faults: str, source: str) -> requests.Response:
    """POST /companies for "Acme" (external_id "acme", from ``source``) to a sandbox on ``db``
    running ``faults``."""
    with start_sandbox(db, KEY, faults) as sb:
        return Api(sb.base_url, KEY).post(
            "/companies", json={"name": "Acme", "source": source, "external_id": "acme"}
        )


# -- request faults --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def error_before(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with start_sandbox(tmp_path_factory.mktemp("faults") / "s.db", KEY, "error_before=1") as sb:
        yield sb


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/sources", None),
        ("GET", "/templates", None),
        ("GET", "/companies", None),
        ("POST", "/companies", {"name": "Acme", "source": str(uuid.uuid4())}),
        ("GET", f"/companies/{uuid.uuid4()}", None),
        ("POST", f"/companies/{uuid.uuid4()}/imports", {"rows": ROWS}),
        ("GET", f"/companies/{uuid.uuid4()}/export.csv", None),
    ],
)
def test_error_before_answers_every_api_call_with_500(
    error_before: Sandbox, method: str, path: str, body: Any
) -> None:
    response = requests.request(
        method, error_before.base_url + path, json=body, headers={"x-api-key": KEY}, timeout=30
    )
    assert response.status_code == 500
    assert response.json() == {"error": "Server error"}


def test_error_before_also_hits_the_signed_upload_put(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, KEY)
        company_id = company_with(api, "Contacts")["company"]["id"]
        grant = api.post(
            f"/companies/{company_id}/uploads",
            json={"name": "contacts.csv", "content_type": "text/csv", "size": 1},
        ).json()
    with start_sandbox(db, KEY, "error_before=1") as sb:
        response = requests.put(
            sb.url + urlsplit(grant["upload_url"]).path,
            data=b"x",
            headers={"Content-Type": "text/csv"},
            timeout=30,
        )
    assert response.status_code == 500
    assert response.json() == {"error": "Server error"}


# -- faults meet authenticated requests only ---------------------------------------------------
UNAUTHENTICATED = [
    pytest.param("GET", "/api/v1/sources", {}, id="no-key"),
    pytest.param("GET", "/api/v1/sources", {"x-api-key": "sk_wrong"}, id="wrong-key"),
    pytest.param("POST", "/api/v1/companies", {}, id="no-key-post"),
    pytest.param("GET", f"/api/v1/companies/{uuid.uuid4()}/export.csv", {}, id="no-key-export"),
]


@pytest.mark.parametrize("fault", [*REQUEST_FAULTS, *STREAM_FAULTS])
def test_a_request_without_a_valid_key_is_401_whatever_the_faults(
    tmp_path: Path, fault: str
) -> None:
    with start_sandbox(tmp_path / "s.db", KEY, f"{fault}=1,slow_seconds=0.2") as sb:
        for param in UNAUTHENTICATED:
            method, path, headers = param.values
            response = requests.request(method, sb.url + path, headers=headers, timeout=30)
            assert response.status_code == 401, (param.id, response.status_code)
            assert response.json() == {"error": "API key missing or invalid"}
        put = requests.put(
            sb.url + "/storage/v1/upload/unknown-token",
            data=b"x",
            headers={"Content-Type": "text/csv"},
            timeout=30,
        )
        assert put.status_code == 403, put.text
        assert set(put.json()) == {"error"}
        assert sb.faults.fired == {}  # none fired, "slow" and "burst_429" included
        # ... while an authenticated request does meet the fault.
        api = Api(sb.base_url, KEY)
        with contextlib.suppress(
            requests.ConnectionError, requests.exceptions.ChunkedEncodingError
        ):
            if fault in STREAM_FAULTS:  # they cut streamed bodies: an export's
                company = company_with(api, "Contacts")
                api.export(company["company"]["id"], company["sheets"][0]["id"]).close()
            else:
                api.get("/sources").close()
        assert sb.faults.fired[fault] >= 1


def test_error_before_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    source = source_id(db)
    response = create_acme(db, "error_before=1", source)
    assert response.status_code == 500
    assert companies(db) == []


def test_error_after_answers_500_but_the_company_exists(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    source = source_id(db)
    response = create_acme(db, "error_after=1", source)
    assert response.status_code == 500
    assert response.json() == {"error": "Server error"}
    found = companies(db, external_id="acme")
    assert [c["company"]["name"] for c in found] == ["Acme"]


def test_error_after_an_import_is_recovered_with_its_idempotency_key(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, KEY)
        company_id = company_with(api, "Contacts")["company"]["id"]
    payload = {"rows": ROWS, "idempotency_key": "import-1"}
    with start_sandbox(db, KEY, "error_after=1") as sb:
        lost = Api(sb.base_url, KEY).post(f"/companies/{company_id}/imports", json=payload)
        assert lost.status_code == 500
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, KEY)
        replay = api.post(f"/companies/{company_id}/imports", json=payload)
        assert replay.status_code == 200, replay.text
        listed = api.get(f"/companies/{company_id}/imports").json()["imports"]
        assert [r["run_id"] for r in listed] == [replay.json()["run_id"]]
        assert api.wait(replay.json()["poll_url"])["status"] == "completed"


def test_drop_before_closes_the_connection_without_a_response(tmp_path: Path) -> None:
    with (
        start_sandbox(tmp_path / "s.db", KEY, "drop_before=1") as sb,
        pytest.raises(requests.ConnectionError),
    ):
        Api(sb.base_url, KEY).get("/sources")


def test_drop_after_closes_the_connection_but_the_company_exists(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    source = source_id(db)
    with pytest.raises(requests.ConnectionError):
        create_acme(db, "drop_after=1", source)
    assert [c["company"]["external_id"] for c in companies(db, external_id="acme")] == ["acme"]


def test_burst_429_answers_too_many_requests(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "s.db", KEY, "burst_429=1") as sb:
        response = Api(sb.base_url, KEY).get("/sources")
        assert response.status_code == 429
        assert response.json() == {"error": "Too many requests"}
        assert "Retry-After" not in response.headers


def test_slow_delays_the_response(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "s.db", KEY, "slow=1,slow_seconds=0.3") as sb:
        api = Api(sb.base_url, KEY)
        began = time.monotonic()
        response = api.get("/sources")
        elapsed = time.monotonic() - began
        assert response.status_code == 200
        assert elapsed >= 0.2


def test_request_faults_spare_the_openapi_document(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "s.db", KEY, "error_before=1") as sb:
        response = requests.get(sb.base_url + "/openapi.json", timeout=30)
        assert response.status_code == 200
        assert "paths" in response.json()


# -- run faults ------------------------------------------------------------------------------
@contextmanager
def faulted_import(
    tmp_path: Path, faults: str
) -> Iterator[tuple[list[dict[str, Any]], Api, dict[str, Any]]]:
    """Import ROWS into a Contacts-only company under ``faults``; yields every poll body seen,
    the api and the company, with the sandbox still running. Each step lasts 0.25 s, so a
    poller on a loaded machine still sees the short-lived "Retrying" messages."""
    with start_sandbox(tmp_path / "s.db", KEY, faults, step_seconds=0.25) as sb:
        api = Api(sb.base_url, KEY)
        company = company_with(api, "Contacts")
        response = api.post(f"/companies/{company['company']['id']}/imports", json={"rows": ROWS})
        assert response.status_code == 201, response.text
        seen = observe(api, response.json()["poll_url"], distinct=False, interval=0.005)
        yield seen, api, company


def progress_messages(seen: list[dict[str, Any]]) -> list[str]:
    return [body["progress_message"] for body in seen if "progress_message" in body]


def exported_emails(api: Api, company: dict[str, Any]) -> list[str]:
    rows = exported(api, company["company"]["id"], api.sheet_id(company, "Contacts"), "all")
    return [row[0] for row in rows][1:]


def test_run_fail_shows_retrying_then_ends_failed_with_an_error(tmp_path: Path) -> None:
    with faulted_import(tmp_path, "run_fail=1") as (seen, _, _):
        assert any(RETRYING.fullmatch(m) for m in progress_messages(seen)), seen
        assert set(seen[-1]) == {"status", "error"}
        assert seen[-1]["status"] == "failed"
        assert isinstance(seen[-1]["error"], str) and seen[-1]["error"]


def test_run_fail_inserts_no_rows(tmp_path: Path) -> None:
    with faulted_import(tmp_path, "run_fail=1") as (seen, api, company):
        assert seen[-1]["status"] == "failed"
        assert exported_emails(api, company) == []


def test_run_retry_shows_retrying_then_completes(tmp_path: Path) -> None:
    with faulted_import(tmp_path, "run_retry=1") as (seen, _, _):
        assert any(RETRYING.fullmatch(m) for m in progress_messages(seen)), seen
        assert seen[-1]["status"] == "completed"
        assert seen[-1]["report"]["inserted"] == 2


def test_run_retry_inserts_the_rows_once(tmp_path: Path) -> None:
    with faulted_import(tmp_path, "run_retry=1") as (seen, api, company):
        assert seen[-1]["status"] == "completed"
        assert exported_emails(api, company) == ["ann@example.com", "bob@example.com"]


# -- parsing fault settings ------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["nope=0.1", "error_before=0.1,explode=1", "typhoon"])
def test_fault_config_rejects_unknown_names(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultConfig.parse(spec)


@pytest.mark.parametrize("spec", ["error_before=1.5", "slow=-0.1", "run_fail=2"])
def test_fault_config_rejects_out_of_range_rates(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultConfig.parse(spec)


def test_fault_config_rejects_a_rate_that_is_not_a_number() -> None:
    with pytest.raises(ValueError):
        FaultConfig.parse("error_before=often")


def test_fault_config_mixes_a_profile_with_overrides() -> None:
    config = FaultConfig.parse("flaky,slow=0.5,seed=7")
    assert (config.error_before, config.slow, config.seed) == (0.05, 0.5, 7)
    assert config.active


def test_fault_config_is_off_by_default() -> None:
    assert not FaultConfig.parse(None).active
    assert not FaultConfig.parse("off").active
