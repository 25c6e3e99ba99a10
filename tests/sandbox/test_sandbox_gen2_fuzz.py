"""Property-based fuzzing of every Generation-2 operation in the sandbox's OpenAPI document.

As for Generation 1 (``test_sandbox_fuzz.py``): whatever is sent, no 5xx (faults are off) and
every error is a JSON ``{"error": "..."}`` body. Each case runs as generated and again with the
ids of a real migration (with a preview), run and upload token. The thread stream never ends on
its own, so its cases read the response head and first bytes, then hang up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

import migkit.sandbox
from migkit.sandbox import Sandbox
from tests.helpers import CONTACTS, csv_bytes
from tests.helpers_gen2 import Gen2
from tests.sandbox.test_sandbox_fuzz import GENERATION_2, OPENAPI, assert_well_formed

KEY = "sk_fuzz_gen2"


@pytest.fixture(scope="module")
def fuzz_sandbox() -> Iterator[Sandbox]:
    with migkit.sandbox.start(
        api_key=KEY, step_seconds=0, rate_limit=1_000_000, heartbeat_seconds=0.2
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def real_ids(fuzz_sandbox: Sandbox) -> dict[str, str]:
    g2 = Gen2(fuzz_sandbox.base_url, KEY)
    rows = [CONTACTS, ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"]]
    migration = g2.migration_with_files([("contacts.csv", csv_bytes(rows))], templates=["contacts"])
    run = g2.run_to_rest(migration, "generate")
    token = g2.signed(migration, [{"name": "later.csv"}])[0]["token"]
    return {"migration_id": migration, "run_id": run["run_id"], "token": token}


schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text("utf-8"))).include(
    path_regex=GENERATION_2
)


def _call_stream(case: Any, base_url: str, headers: dict[str, str]) -> None:
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    with requests.request(**kwargs, stream=True, timeout=30) as response:
        if response.status_code == 200:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert next(response.iter_content(64))  # the retry line comes at once
            return
        assert_well_formed(response)


def _call(case: Any, sb: Sandbox) -> None:
    headers = {"x-api-key": KEY}
    base_url = sb.url if case.operation.path.startswith("/storage") else sb.base_url
    if case.operation.path.endswith("/thread/stream") and case.method == "GET":
        _call_stream(case, base_url, headers)
    else:
        assert_well_formed(case.call(base_url=base_url, headers=headers, timeout=30))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_generation_2_sandbox_fail(
    case: Any, fuzz_sandbox: Sandbox, real_ids: dict[str, str]
) -> None:
    _call(case, fuzz_sandbox)
    if case.path_parameters:
        case.path_parameters = {
            name: real_ids.get(name, value) for name, value in case.path_parameters.items()
        }
        _call(case, fuzz_sandbox)
