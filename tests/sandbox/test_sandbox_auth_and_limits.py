"""Authentication (401) and rate limits (429) of the sandbox.

The contract: a missing or unknown key is 401 {"error": "API key missing or invalid"}; one
bucket per (API key, route template); over it 429 {"error": "Too many requests"} with no
Retry-After; checks run auth → rate limit → validation, and bad-key requests are not counted.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

import migkit.sandbox
from migkit.sandbox import Sandbox
from tests.helpers import Api

UNAUTHORIZED = {"error": "API key missing or invalid"}
TOO_MANY = {"error": "Too many requests"}
LIMIT = 5
A_UUID = str(uuid.uuid4())
ENDPOINTS = [
    ("GET", "/sources"),
    ("GET", "/templates"),
    ("POST", "/companies"),
    ("GET", "/companies"),
    ("GET", f"/companies/{A_UUID}"),
    ("POST", f"/companies/{A_UUID}/uploads"),
    ("POST", f"/companies/{A_UUID}/imports"),
    ("GET", f"/companies/{A_UUID}/imports"),
    ("GET", f"/companies/{A_UUID}/imports/{A_UUID}"),
    ("PATCH", f"/companies/{A_UUID}/imports/{A_UUID}"),
    ("POST", f"/companies/{A_UUID}/imports/{A_UUID}/decisions"),
    ("GET", f"/companies/{A_UUID}/export.csv"),
    ("POST", f"/companies/{A_UUID}/exports"),
    ("GET", f"/companies/{A_UUID}/exports/{A_UUID}"),
]


def call(
    base_url: str, method: str, path: str, key: str | None, json: object = None
) -> requests.Response:
    """One request with ``key`` as x-api-key (no header at all when ``key`` is None)."""
    headers = {} if key is None else {"x-api-key": key}
    return requests.request(method, base_url + path, headers=headers, json=json, timeout=30)


def assert_unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert response.json() == UNAUTHORIZED


def exhaust(sb: Sandbox, path: str, key: str) -> None:
    """Use up ``key``'s whole bucket for GET ``path`` (every request must pass)."""
    for _ in range(LIMIT):
        response = call(sb.base_url, "GET", path, key)
        assert response.status_code == 200, response.text


@pytest.fixture
def limited() -> Iterator[Sandbox]:
    """A sandbox of its own with two accounts and a limit of 5 requests per minute."""
    keys = [f"sk_test_{uuid.uuid4().hex}", f"sk_test_{uuid.uuid4().hex}"]
    with migkit.sandbox.start(api_key=keys, rate_limit=LIMIT, step_seconds=0) as sb:
        yield sb


# -- 401 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_request_without_a_key_is_401(sandbox: Sandbox, method: str, path: str) -> None:
    assert_unauthorized(call(sandbox.base_url, method, path, None, json={}))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_request_with_a_wrong_key_is_401(sandbox: Sandbox, method: str, path: str) -> None:
    assert_unauthorized(call(sandbox.base_url, method, path, "sk_test_wrong", json={}))


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("Bearer sk_test_wrong", id="bearer-style"),
    ],
)
def test_request_with_a_malformed_key_is_401(sandbox: Sandbox, key: str) -> None:
    assert_unauthorized(call(sandbox.base_url, "GET", "/sources", key))


def test_key_with_a_different_case_is_401(sandbox: Sandbox) -> None:
    assert_unauthorized(call(sandbox.base_url, "GET", "/sources", sandbox.api_keys[0].upper()))


def test_key_in_a_query_parameter_is_not_accepted(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.base_url + "/sources", params={"x-api-key": sandbox.api_keys[0]}, timeout=30
    )
    assert_unauthorized(response)


def test_key_as_bearer_authorization_is_not_accepted(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.base_url + "/sources",
        headers={"Authorization": f"Bearer {sandbox.api_keys[0]}"},
        timeout=30,
    )
    assert_unauthorized(response)


def test_missing_key_on_an_existing_company_is_401_not_404(sandbox: Sandbox, api: Api) -> None:
    company_id = api.company()["company"]["id"]
    assert_unauthorized(call(sandbox.base_url, "GET", f"/companies/{company_id}", None))


def test_missing_key_on_an_invalid_body_is_401_not_400(sandbox: Sandbox) -> None:
    assert_unauthorized(call(sandbox.base_url, "POST", "/companies", None, json={"name": 1}))


def test_unauthorized_request_creates_nothing(sandbox: Sandbox, api: Api) -> None:
    external_id = f"ext-{uuid.uuid4().hex}"
    body = {"name": "Acme", "source": api.source_id(), "external_id": external_id}
    assert_unauthorized(call(sandbox.base_url, "POST", "/companies", "sk_test_wrong", body))
    found = api.get("/companies", params={"external_id": external_id}).json()
    assert found == {"companies": []}


def test_valid_key_is_accepted(sandbox: Sandbox) -> None:
    assert call(sandbox.base_url, "GET", "/sources", sandbox.api_keys[0]).status_code == 200


# -- 429 -------------------------------------------------------------------------------------


def test_requests_within_the_limit_are_answered(limited: Sandbox) -> None:
    statuses = [
        call(limited.base_url, "GET", "/sources", limited.api_keys[0]).status_code
        for _ in range(LIMIT)
    ]
    assert statuses == [200] * LIMIT


def test_request_over_the_limit_is_429_too_many_requests(limited: Sandbox) -> None:
    exhaust(limited, "/sources", limited.api_keys[0])
    response = call(limited.base_url, "GET", "/sources", limited.api_keys[0])
    assert response.status_code == 429
    assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert response.json() == TOO_MANY


def test_429_has_no_retry_after_header(limited: Sandbox) -> None:
    exhaust(limited, "/sources", limited.api_keys[0])
    response = call(limited.base_url, "GET", "/sources", limited.api_keys[0])
    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_requests_keep_being_429_while_over_the_limit(limited: Sandbox) -> None:
    exhaust(limited, "/sources", limited.api_keys[0])
    statuses = [
        call(limited.base_url, "GET", "/sources", limited.api_keys[0]).status_code for _ in range(3)
    ]
    assert statuses == [429, 429, 429]


def test_another_route_has_its_own_bucket(limited: Sandbox) -> None:
    exhaust(limited, "/sources", limited.api_keys[0])
    assert call(limited.base_url, "GET", "/sources", limited.api_keys[0]).status_code == 429
    assert call(limited.base_url, "GET", "/templates", limited.api_keys[0]).status_code == 200


def test_another_key_has_its_own_bucket(limited: Sandbox) -> None:
    exhaust(limited, "/sources", limited.api_keys[0])
    assert call(limited.base_url, "GET", "/sources", limited.api_keys[0]).status_code == 429
    assert call(limited.base_url, "GET", "/sources", limited.api_keys[1]).status_code == 200


def test_one_bucket_per_route_template_not_per_path(limited: Sandbox) -> None:
    key = limited.api_keys[0]
    source = call(limited.base_url, "GET", "/sources", key).json()["sources"][0]["id"]
    ids = [
        call(limited.base_url, "POST", "/companies", key, {"name": n, "source": source}).json()[
            "company"
        ]["id"]
        for n in ("A", "B")
    ]
    statuses = [
        call(limited.base_url, "GET", f"/companies/{ids[n % 2]}", key).status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses == [200] * LIMIT + [429]


def test_invalid_requests_count_and_the_limit_comes_before_validation(
    limited: Sandbox,
) -> None:
    key = limited.api_keys[0]
    statuses = [
        call(limited.base_url, "POST", "/companies", key, {"name": 1}).status_code
        for _ in range(LIMIT + 1)
    ]
    assert statuses == [400] * LIMIT + [429]


def test_missing_key_is_401_not_429_on_an_exhausted_route(limited: Sandbox) -> None:
    exhaust(limited, "/sources", limited.api_keys[0])
    assert_unauthorized(call(limited.base_url, "GET", "/sources", None))


@pytest.mark.parametrize(
    "bad_key",
    [pytest.param(None, id="missing"), pytest.param("sk_test_wrong", id="wrong")],
)
def test_requests_with_a_bad_key_are_never_rate_limited(
    limited: Sandbox, bad_key: str | None
) -> None:
    statuses = [
        call(limited.base_url, "GET", "/sources", bad_key).status_code for _ in range(LIMIT * 2)
    ]
    assert statuses == [401] * (LIMIT * 2)


def test_requests_with_a_bad_key_do_not_use_a_valid_keys_bucket(limited: Sandbox) -> None:
    for _ in range(LIMIT * 2):
        call(limited.base_url, "GET", "/sources", "sk_test_wrong")
        call(limited.base_url, "GET", "/sources", None)
    exhaust(limited, "/sources", limited.api_keys[0])


def test_openapi_document_is_not_rate_limited(limited: Sandbox) -> None:
    statuses = [
        requests.get(limited.base_url + "/openapi.json", timeout=30).status_code
        for _ in range(LIMIT + 2)
    ]
    assert statuses == [200] * (LIMIT + 2)


def test_default_rate_limit_allows_100_requests_per_minute() -> None:
    with migkit.sandbox.start(step_seconds=0) as sb:
        session = requests.Session()
        session.headers["x-api-key"] = sb.api_key
        statuses = [
            session.get(sb.base_url + "/sources", timeout=30).status_code for _ in range(101)
        ]
    assert statuses == [200] * 100 + [429]


def test_a_silent_connection_is_closed_after_the_socket_timeout() -> None:
    with migkit.sandbox.start(api_key="sk_quiet", step_seconds=0, socket_timeout=0.5) as sb:
        host, port = sb.base_url.split("//")[1].split("/")[0].split(":")
        silent = [socket.create_connection((host, int(port)), timeout=10) for _ in range(20)]
        partial = socket.create_connection((host, int(port)), timeout=10)
        partial.sendall(b"GET /api/v1/sources HTTP/1.1\r\nHost: x\r\n")  # never finished
        started = time.monotonic()
        for conn in [*silent, partial]:
            with conn:
                while conn.recv(1024):  # whatever comes, until the server hangs up
                    pass
        assert time.monotonic() - started < 8  # closed by the timeout, not by the test
        answer = requests.get(
            f"{sb.base_url}/sources", headers={"x-api-key": "sk_quiet"}, timeout=10
        )
        assert answer.status_code == 200  # and the server goes on serving


@pytest.mark.parametrize("option", ["socket_timeout", "heartbeat_seconds"])
def test_timeouts_must_be_positive(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=f"{option} must be a positive number of seconds"):
        migkit.sandbox.start(**{option: 0.0})  # type: ignore[arg-type]
    from migkit.cli import main

    flag = "--" + option.replace("_", "-")
    assert main(["sandbox", "--port", "0", flag, "-1"]) == 2
    assert f"{option} must be a positive number" in capsys.readouterr().err
