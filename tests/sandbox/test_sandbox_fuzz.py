"""Property-based fuzzing of every operation in the sandbox's OpenAPI document (schemathesis).

Whatever it sends, the sandbox must never answer 5xx (faults are off), and every error must be
a JSON ``{"error": "..."}`` body. Each generated case runs twice: as generated (so path ids are
mostly garbage: 404s) and with the path ids of a real company, upload token and run, so the
handlers' validation is reached too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

import migkit.sandbox
from migkit.sandbox import Sandbox

KEY = "sk_fuzz"


@pytest.fixture(scope="module")
def fuzz_sandbox() -> Iterator[Sandbox]:
    with migkit.sandbox.start(api_key=KEY, step_seconds=0, rate_limit=1_000_000) as sb:
        yield sb


@pytest.fixture(scope="module")
def real_ids(fuzz_sandbox: Sandbox) -> dict[str, str]:
    s = requests.Session()
    s.headers["x-api-key"] = KEY
    base = fuzz_sandbox.base_url
    source = s.get(f"{base}/sources").json()["sources"][0]["id"]
    company = s.post(
        f"{base}/companies",
        json={"name": "Fuzz", "source": source, "connections": {"base_url": "http://127.0.0.1:9"}},
    ).json()
    cid = company["company"]["id"]
    sheet = company["sheets"][1]["id"]
    run = s.post(
        f"{base}/companies/{cid}/imports",
        json={
            "rows": [{"Email": "a@b.co", "First Name": "A", "Account": "X", "Status": "open"}],
            "sheet_id": sheet,
        },
    ).json()
    grant = s.post(
        f"{base}/companies/{cid}/uploads",
        json={"name": "f.csv", "content_type": "text/csv", "size": 10},
    ).json()
    return {
        "company_id": cid,
        "run_id": run["run_id"],
        "sheet_id": sheet,
        "token": grant["upload_url"].rsplit("/", 1)[-1],
    }


OPENAPI = Path(migkit.sandbox.__file__).with_name("openapi.json")
GENERATION_2 = "^/(migrations|storage/v1/object)"  # fuzzed in test_sandbox_gen2_fuzz.py
schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text("utf-8"))).exclude(
    path_regex=GENERATION_2
)


def assert_well_formed(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        headers = {k.lower(): v for k, v in response.headers.items()}
        content_type = headers.get("content-type")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert str(content_type).startswith("application/json"), headers
        body = json.loads(response.content)
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body
        assert set(body) <= {"error", "run_id"}, body


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_sandbox_fail(
    case: Any, fuzz_sandbox: Sandbox, real_ids: dict[str, str]
) -> None:
    headers = {"x-api-key": KEY}
    storage = case.operation.path.startswith("/storage")
    base_url = fuzz_sandbox.url if storage else fuzz_sandbox.base_url
    assert_well_formed(case.call(base_url=base_url, headers=headers, timeout=30))
    if case.path_parameters:
        case.path_parameters = {
            name: real_ids.get(name, value) for name, value in case.path_parameters.items()
        }
        assert_well_formed(case.call(base_url=base_url, headers=headers, timeout=30))
