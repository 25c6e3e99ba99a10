"""Generation 2 shares Generation 1's authentication and rate limits: every endpoint answers
401 without a valid key, one bucket per (key, route), 429 ``{"error": "Too many requests"}``
over it, and the signed PUT needs no key (its token is the credential)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from migkit.sandbox import Sandbox
from tests.helpers_gen2 import Gen2, start_gen2

A = str(uuid.uuid4())
ENDPOINTS = [
    ("POST", "/migrations"),
    ("GET", "/migrations"),
    ("GET", f"/migrations/{A}"),
    ("POST", f"/migrations/{A}/files"),
    ("GET", f"/migrations/{A}/files"),
    ("POST", f"/migrations/{A}/runs"),
    ("GET", f"/migrations/{A}/runs"),
    ("GET", f"/migrations/{A}/runs/{A}"),
    ("PATCH", f"/migrations/{A}/runs/{A}"),
    ("POST", f"/migrations/{A}/runs/{A}/messages"),
    ("POST", f"/migrations/{A}/runs/{A}/credentials"),
    ("GET", f"/migrations/{A}/source-connection"),
    ("POST", f"/migrations/{A}/source-connection"),
    ("DELETE", f"/migrations/{A}/source-connection"),
    ("GET", f"/migrations/{A}/thread"),
    ("GET", f"/migrations/{A}/thread/stream"),
    ("GET", f"/migrations/{A}/preview"),
    ("GET", f"/migrations/{A}/exports/contacts.csv"),
]
LIMIT = 3


@pytest.mark.parametrize("key", [None, "sk_wrong"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_generation_2_endpoint_needs_a_valid_key(
    sandbox: Sandbox, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = requests.request(method, sandbox.base_url + path, headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.json() == {"error": "API key missing or invalid"}


@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    with start_gen2(rate_limit=LIMIT) as sb:
        yield sb


def test_each_route_has_its_own_bucket_and_429_past_it(limited: Sandbox) -> None:
    gen2 = Gen2(limited.base_url, limited.api_key)
    statuses = [gen2.get(f"/migrations/{uuid.uuid4()}/preview").status_code for _ in range(LIMIT)]
    assert statuses == [404] * LIMIT  # one route, whatever the id
    over = gen2.get(f"/migrations/{uuid.uuid4()}/preview")
    assert (over.status_code, over.json()) == (429, {"error": "Too many requests"})
    assert "Retry-After" not in over.headers
    assert gen2.get(f"/migrations/{uuid.uuid4()}/thread").status_code == 404  # another bucket


def test_the_signed_put_needs_no_api_key(limited: Sandbox) -> None:
    gen2 = Gen2(limited.base_url, limited.api_key)
    migration = gen2.migration()
    entry = gen2.signed(migration, [{"name": "a.csv"}])[0]
    response = requests.put(
        entry["signed_url"], data=b"Name\nAcme\n", headers={"Content-Type": "text/csv"}, timeout=30
    )
    assert response.status_code == 200


def test_request_faults_reach_generation_2_routes() -> None:
    with start_gen2(faults="error_before=1") as sb:
        response = requests.get(
            f"{sb.base_url}/migrations", headers={"x-api-key": sb.api_key}, timeout=30
        )
        assert (response.status_code, response.json()) == (500, {"error": "Server error"})
