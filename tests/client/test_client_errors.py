"""Every ``migkit`` error class from a real server answer (or a real missing answer), over HTTP.

Each API error keeps the HTTP status and the server's ``error`` string, and its message quotes
that string and adds what to do. Rate limits and faults get their own small sandboxes."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import migkit
import migkit.sandbox
from migkit.errors import error_for
from migkit.sandbox import Sandbox, SandboxConfig
from tests.helpers import Api, company_with, new_company, unique
from tests.stub_transport import FakeClock

MakeClient = Callable[..., migkit.Client]
TINY_RETRY = migkit.RetryPolicy(attempts=1, backoff_start=0.01, backoff_cap=0.02, jitter=0)
PAUSING_ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme", "Status": "open"},
]


def check_api_error(
    exc: BaseException, kind: type[migkit.APIError], served: requests.Response
) -> None:
    """``exc`` is a ``kind`` carrying exactly what the server said in ``served``, and its
    message quotes that and adds a hint."""
    assert isinstance(exc, kind)
    assert isinstance(exc, migkit.APIError) and isinstance(exc, migkit.MigkitError)
    assert exc.status == served.status_code
    assert exc.server_message == served.json()["error"]
    text = str(exc)
    assert exc.server_message in text
    assert exc.hint and exc.hint in text and exc.hint != exc.server_message


# -- 400, 401, 404 ---------------------------------------------------------------------------
def test_an_export_without_a_destination_is_bad_request(client: migkit.Client, api: Api) -> None:
    company = new_company(client, "Accounts")
    with pytest.raises(migkit.BadRequest) as caught:
        client.exports.to_destination(company, idempotency_key="k-no-destination")
    served = api.post(f"/companies/{company.id}/exports", json={"mode": "full"})
    check_api_error(caught.value, migkit.BadRequest, served)
    assert caught.value.status == 400
    assert caught.value.server_message == "company has no destination connection"


def test_rows_with_a_nested_object_are_refused_before_sending(
    client: migkit.Client, api: Api
) -> None:
    company = new_company(client, "Accounts")
    sent = client.requests_sent
    with pytest.raises(migkit.ValidationFailed) as caught:
        client.imports.create(company, rows=[{"Name": {"first": "Acme"}}, {"Name": float("inf")}])
    assert client.requests_sent == sent
    assert len(caught.value.problems) == 2
    assert "row 0" in caught.value.problems[0] and "'Name'" in caught.value.problems[0]
    assert "infinite" in caught.value.problems[1]
    # the server would have answered 400 to the same body
    served = api.post(f"/companies/{company.id}/imports", json={"rows": [{"Name": {"a": 1}}]})
    assert served.status_code == 400


def test_a_wrong_key_is_authentication_error_saying_where_keys_go(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    stranger = make_client(f"sk_test_{uuid.uuid4().hex}", ledger=None)
    with pytest.raises(migkit.AuthenticationError) as caught:
        stranger.sources.list()
    served = Api(sandbox.base_url, "sk_wrong").get("/sources")
    check_api_error(caught.value, migkit.AuthenticationError, served)
    assert caught.value.server_message == "API key missing or invalid"
    assert "VERN_API_KEY" in str(caught.value)


def test_another_accounts_company_is_not_found(
    client: migkit.Client, api: Api, other_api: Api
) -> None:
    theirs = company_with(other_api, "Accounts")["company"]["id"]
    with pytest.raises(migkit.NotFound) as caught:
        client.companies.get(theirs)
    check_api_error(caught.value, migkit.NotFound, api.get(f"/companies/{theirs}"))
    assert caught.value.status == 404


def test_another_accounts_run_is_not_found(client: migkit.Client, other_api: Api) -> None:
    theirs = company_with(other_api, "Accounts")["company"]["id"]
    started = other_api.post(f"/companies/{theirs}/imports", json={"rows": [{"Name": "A"}]})
    assert started.status_code == 201, started.text
    with pytest.raises(migkit.NotFound):
        client.imports.get(started.json()["run_id"], theirs)


# -- 409 -------------------------------------------------------------------------------------
def test_a_reused_external_id_is_external_id_conflict(make_client: MakeClient, api: Api) -> None:
    ext = unique("taken")
    make_client().companies.create("Owner", "Spreadsheet", external_id=ext)
    with pytest.raises(migkit.ExternalIdConflict) as caught:
        make_client(ledger=None).companies.create("Other", "Spreadsheet", external_id=ext)
    served = api.post(
        "/companies", json={"name": "Other", "source": api.source_id(), "external_id": ext}
    )
    check_api_error(caught.value, migkit.ExternalIdConflict, served)
    assert isinstance(caught.value, migkit.Conflict) and caught.value.status == 409
    assert "companies.find" in str(caught.value)


def test_the_same_key_with_other_rows_is_idempotency_conflict_without_a_ledger(
    make_client: MakeClient, api: Api
) -> None:
    client = make_client(ledger=None)
    company = new_company(client, "Accounts")
    client.imports.wait(
        client.imports.create(company, rows=[{"Name": "Acme"}], idempotency_key="k-1")
    )
    with pytest.raises(migkit.IdempotencyConflict) as caught:
        client.imports.create(company, rows=[{"Name": "Globex"}], idempotency_key="k-1")
    served = api.post(
        f"/companies/{company.id}/imports",
        json={"rows": [{"Name": "Globex"}], "idempotency_key": "k-1"},
    )
    check_api_error(caught.value, migkit.IdempotencyConflict, served)


def test_the_same_key_with_other_rows_is_idempotency_conflict_with_a_ledger(
    client: migkit.Client, api: Api
) -> None:
    company = new_company(client, "Accounts")
    client.imports.wait(
        client.imports.create(company, rows=[{"Name": "Acme"}], idempotency_key="k-1")
    )
    with pytest.raises(migkit.IdempotencyConflict):
        client.imports.create(company, rows=[{"Name": "Globex"}], idempotency_key="k-1")
    assert len(api.get(f"/companies/{company.id}/imports").json()["imports"]) == 1


def test_the_servers_idempotency_409_maps_to_idempotency_conflict(api: Api) -> None:
    company = company_with(api, "Accounts")["company"]["id"]
    first = {"rows": [{"Name": "Acme"}], "idempotency_key": "k-1"}
    assert api.post(f"/companies/{company}/imports", json=first).status_code == 201
    served = api.post(
        f"/companies/{company}/imports",
        json={"rows": [{"Name": "Globex"}], "idempotency_key": "k-1"},
    )
    exc = error_for(served.status_code, served.json())
    check_api_error(exc, migkit.IdempotencyConflict, served)


def test_a_second_import_while_one_waits_is_import_in_progress_naming_the_run(
    client: migkit.Client, api: Api
) -> None:
    company = new_company(client, "Contacts")
    waiting = client.imports.wait(client.imports.create(company, rows=PAUSING_ROWS))
    assert waiting.status == "needs_attention"
    other = [{"Email": "cy@example.com", "First Name": "Cy", "Account": "Acme"}]
    with pytest.raises(migkit.ImportInProgress) as caught:
        client.imports.create(company, rows=other, idempotency_key=unique("other"))
    served = api.post(f"/companies/{company.id}/imports", json={"rows": other})
    check_api_error(caught.value, migkit.ImportInProgress, served)
    assert caught.value.run_id == waiting.id == served.json()["run_id"]
    assert waiting.id in str(caught.value)
    assert isinstance(caught.value, migkit.Conflict)


# -- 429, 5xx, no answer ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    """A sandbox allowing 3 requests per route per minute."""
    with migkit.sandbox.start(rate_limit=3, step_seconds=0.01) as sb:
        yield sb


@pytest.fixture(scope="module")
def broken() -> Iterator[Sandbox]:
    """A sandbox that answers every API request with 500 before doing anything."""
    with migkit.sandbox.start(faults="error_before=1", rate_limit=100_000) as sb:
        yield sb


def test_over_the_servers_rate_limit_is_rate_limited_after_retries(
    make_client: MakeClient, limited: Sandbox
) -> None:
    client = make_client(
        limited.api_key, limited.base_url, ledger=None, rate_limit=None, retry=TINY_RETRY
    )
    for _ in range(3):
        client.sources.list()
    with pytest.raises(migkit.RateLimited) as caught:
        client.sources.list()
    served = Api(limited.base_url, limited.api_key).get("/sources")
    check_api_error(caught.value, migkit.RateLimited, served)
    assert caught.value.server_message == "Too many requests"


def test_a_500_after_retries_is_server_error(make_client: MakeClient, broken: Sandbox) -> None:
    client = make_client(broken.api_key, broken.base_url, ledger=None, retry=TINY_RETRY)
    with pytest.raises(migkit.ServerError) as caught:
        client.templates.list()
    served = Api(broken.base_url, broken.api_key).get("/templates")
    check_api_error(caught.value, migkit.ServerError, served)
    assert caught.value.server_message == "Server error"
    # Every attempt is counted where it is sent (issue 13): the first and its one retry.
    assert client.requests_sent == 1 + TINY_RETRY.attempts


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_server_is_transport_error(make_client: MakeClient) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    client = make_client(base_url=base_url, ledger=None, retry=TINY_RETRY)
    with pytest.raises(migkit.TransportError) as caught:
        client.sources.list()
    assert isinstance(caught.value, migkit.MigkitError)
    assert not isinstance(caught.value, migkit.APIError)
    assert "got no answer" in str(caught.value)
    assert base_url + "/sources" in str(caught.value)


# -- run outcomes ----------------------------------------------------------------------------
def test_a_failed_run_is_run_failed_with_the_servers_error(
    client: migkit.Client, samples: Path, api: Api
) -> None:
    company = new_company(client, "Contacts")
    run = client.imports.create(company, files=[samples / "contacts_no_email.csv"])
    with pytest.raises(migkit.RunFailed) as caught:
        client.imports.wait(run)
    served = api.get(f"/companies/{company.id}/imports/{run.id}").json()
    assert served["status"] == "failed"
    assert isinstance(caught.value, migkit.MigkitError)
    assert (caught.value.run_id, caught.value.error) == (run.id, served["error"])
    assert served["error"] in str(caught.value)
    assert "required column 'Email' not found" in str(caught.value)
    assert "new idempotency key" in str(caught.value)


def test_a_wait_past_its_timeout_is_wait_timeout_saying_the_run_goes_on(
    make_client: MakeClient, slow_api: Api
) -> None:
    client = make_client(slow_api.api_key, slow_api.base_url, ledger=None)
    run = client.imports.create(new_company(client, "Accounts"), rows=[{"Name": "Acme"}])
    with pytest.raises(migkit.WaitTimeout) as caught:
        client.imports.wait(run, timeout=0.1)
    assert isinstance(caught.value, migkit.MigkitError)
    assert caught.value.run_id == run.id
    assert caught.value.status in ("queued", "running")
    assert f"Run {run.id} is still {caught.value.status}" in str(caught.value)
    assert "re-attach" in str(caught.value)


# -- message wording -------------------------------------------------------------------------
def test_an_api_error_message_names_the_method_once(client: migkit.Client) -> None:
    with pytest.raises(migkit.NotFound) as caught:
        client.companies.get(str(uuid.uuid4()))
    assert "GET /companies/{id}" in str(caught.value)
    assert "GET GET" not in str(caught.value)


# -- the client-side request budget ----------------------------------------------------------
def test_budget_makes_calls_past_the_limit_wait_for_the_window() -> None:
    clock = FakeClock()
    budget = migkit.RequestBudget(limit=5, window=1.0, margin=0.0, clock=clock, sleep=clock.sleep)
    waits, sent_at = [], []
    for _ in range(8):
        waits.append(budget.acquire("GET /sources"))
        sent_at.append(clock.now)
        clock.now += 0.01  # each call takes 10 ms
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(0.95)
    assert all(sent_at[n] - sent_at[n - 5] >= 1.0 for n in range(5, 8))


def test_budget_counts_each_route_separately() -> None:
    clock = FakeClock()
    budget = migkit.RequestBudget(limit=2, window=60.0, margin=0.0, clock=clock, sleep=clock.sleep)
    for route in ("GET /sources", "GET /templates", "GET /sources", "GET /templates"):
        assert budget.acquire(route) == 0.0
    assert (budget.used("GET /sources"), budget.used("GET /templates")) == (2, 2)
    assert clock.slept == []


def test_client_rate_limit_builds_a_per_minute_budget(make_client: MakeClient) -> None:
    client = make_client(ledger=None, rate_limit=5)
    budget = client._transport.budget
    assert budget is not None
    assert (budget.limit, budget.window) == (5, 60.0)
    assert make_client(ledger=None, rate_limit=None)._transport.budget is None


class LateFirstArrival:
    """Wraps a sandbox's rate limiter: the first request reaches it ``delay`` seconds late (as
    the first request of a burst does when it opens the connection, a TLS handshake on the
    real service), and every request the limiter refuses (a 429) is counted."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.seen = 0
        self.refused = 0
        self._lock = threading.Lock()

    def allow(self, bucket: Hashable) -> bool:
        with self._lock:
            self.seen += 1
            first = self.seen == 1
        if first:
            time.sleep(self.delay)
        allowed = bool(self.inner.allow(bucket))
        if not allowed:
            with self._lock:
                self.refused += 1
        return allowed


@pytest.fixture
def five_per_second() -> Iterator[tuple[Sandbox, LateFirstArrival]]:
    """A sandbox allowing 5 requests per route per second, with a counting limiter."""
    key = f"sk_test_{uuid.uuid4().hex}"
    config = SandboxConfig(port=0, api_keys=(key,), rate_limit=5, rate_window=1.0)
    sb = Sandbox(config).start()
    limiter = LateFirstArrival(sb._state.limiter, delay=0.05)
    sb._state.limiter = limiter  # type: ignore[assignment]
    try:
        yield sb, limiter
    finally:
        sb.stop()


def test_client_budget_at_the_servers_limit_never_meets_429(
    make_client: MakeClient, five_per_second: tuple[Sandbox, LateFirstArrival]
) -> None:
    sandbox, limiter = five_per_second
    client = make_client(
        sandbox.api_key,
        sandbox.base_url,
        ledger=None,
        retry=TINY_RETRY,
        rate_limit=migkit.RequestBudget(limit=5, window=1.0),
    )
    for _ in range(8):
        client.sources.list()
    assert limiter.seen == 8
    assert limiter.refused == 0
