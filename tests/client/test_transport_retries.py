"""The transport's own retry loop and error mapping, on a stub network and a fake clock.

Every attempt is counted, passes the budget and gets one log line; each answer maps to the
most specific error, carrying its evidence; which requests are retried on what follows the
policy as data (``tests/security/test_client_limits.py`` and the chaos suite check the same
over HTTP).
"""

from __future__ import annotations

import logging

import pytest
import requests

import migkit
from migkit._retry import (
    FATAL,
    LOST,
    UNSENT,
    Outcome,
    RetryPolicy,
    Used,
    decide,
    retry_after_seconds,
    should_retry,
)
from migkit._retry_notices import RetryNotice, retry_listener
from tests.stub_transport import (
    KEY,
    FakeClock,
    StubAdapter,
    answer,
    dropped,
    refused,
    stub_transport,
)

POLICY = RetryPolicy(attempts=3, backoff_start=1.0, backoff_cap=8.0, jitter=0)


def get(stub: StubAdapter, retry: RetryPolicy = POLICY) -> object:
    """``GET /sources`` through a transport on ``stub``; the decoded body."""
    transport = stub_transport(stub, retry=retry)
    return transport.call("GET", "/sources", route="/sources", idempotent=True).body


# -- status -> error, with the evidence ----------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, migkit.BadRequest),
        (401, migkit.AuthenticationError),
        (403, migkit.Forbidden),
        (404, migkit.NotFound),
        (409, migkit.Conflict),
        (413, migkit.BadRequest),
        (422, migkit.APIError),
        (429, migkit.RateLimited),
        (500, migkit.ServerError),
        (501, migkit.ServerError),
        (503, migkit.ServerError),
    ],
)
def test_each_error_status_maps_to_its_class(status: int, kind: type[migkit.APIError]) -> None:
    stub = StubAdapter([answer(status, {"error": "the server's words"})])
    with pytest.raises(kind) as caught:
        get(stub, RetryPolicy(attempts=0, rate_limited_attempts=0))
    assert type(caught.value) is kind
    assert caught.value.status_code == caught.value.status == status
    assert caught.value.server_message == "the server's words"


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("idempotency_key was used with another payload", migkit.IdempotencyConflict),
        ("external_id already used", migkit.ExternalIdConflict),
        ("An import is already in progress", migkit.ImportInProgress),
        ("Run already finished", migkit.Conflict),
    ],
)
def test_a_409_maps_by_its_words(words: str, kind: type[migkit.APIError]) -> None:
    with pytest.raises(kind) as caught:
        get(StubAdapter([answer(409, {"error": words})]))
    assert type(caught.value) is kind


def test_an_api_error_keeps_headers_request_id_and_a_redacted_excerpt() -> None:
    body = {"error": "nope", "echo": KEY}
    stub = StubAdapter([answer(400, body, {"X-Request-Id": "req_7f3a", "Server": "vern"})])
    with pytest.raises(migkit.BadRequest) as caught:
        get(stub)
    exc = caught.value
    assert exc.request_id == "req_7f3a"
    assert "(request id req_7f3a)" in str(exc)
    assert exc.headers["Server"] == "vern"
    assert exc.body == body
    assert '"error": "nope"' in exc.body_excerpt
    assert KEY not in exc.body_excerpt and "<api key>" in exc.body_excerpt
    assert (exc.method, exc.path) == ("GET", "/sources")


def test_without_a_request_id_header_the_error_says_none() -> None:
    with pytest.raises(migkit.NotFound) as caught:
        get(StubAdapter([answer(404)]))
    assert caught.value.request_id is None
    assert "request id" not in str(caught.value)


# -- which answers are retried, for which requests ------------------------------------------------
@pytest.mark.parametrize(
    ("outcome", "idempotent", "retried"),
    [
        (Outcome(status=503), True, True),
        (Outcome(status=503), False, False),  # a POST without a key: the server may have acted
        (Outcome(status=500), True, True),
        (Outcome(status=501), True, False),  # not implemented: never transient
        (Outcome(status=408), False, True),  # the server did not read the request
        (Outcome(status=409), True, False),  # a conflict is an answer
        (Outcome(status=429), False, True),  # nothing was done: always safe
        (Outcome(status=413, retry_after="1"), True, False),  # Retry-After never decides
        (Outcome(status=200), True, False),
        (Outcome(failure=UNSENT, problem="connection refused"), False, True),
        (Outcome(failure=LOST, problem="the connection dropped"), True, True),
        (Outcome(failure=LOST, problem="the connection dropped"), False, False),
        (Outcome(failure=FATAL, problem="TLS failed"), True, False),
    ],
)
def test_should_retry_follows_the_policy(outcome: Outcome, idempotent: bool, retried: bool) -> None:
    allowed, why = should_retry(outcome, idempotent=idempotent)
    assert allowed is retried
    assert why  # every decision says why, for the log


def test_429s_draw_on_their_own_allowance() -> None:
    policy = RetryPolicy(attempts=1, rate_limited_attempts=2, jitter=0)
    used = Used(errors=1, rate_limited=1)
    assert decide(policy, Outcome(status=429), idempotent=True, used=used).retry
    assert not decide(policy, Outcome(status=503), idempotent=True, used=used).retry
    used.note(Outcome(status=429))
    assert not decide(policy, Outcome(status=429), idempotent=True, used=used).retry


def test_backoff_doubles_to_the_cap_and_retry_after_is_capped() -> None:
    used = [Used(errors=n) for n in range(3)]
    waits = [decide(POLICY, Outcome(status=503), idempotent=True, used=u).delay for u in used]
    assert waits == [1.0, 2.0, 4.0]
    asked = Outcome(status=429, retry_after="999999999")
    assert decide(POLICY, asked, idempotent=True, used=Used()).delay == 8.0
    dated = Outcome(status=503, retry_after="Thu, 01 Jan 1970 00:00:05 GMT")
    assert decide(POLICY, dated, idempotent=True, used=Used(), now=lambda: 2.0).delay == 3.0


@pytest.mark.parametrize("value", ["soon", "", "1.5", "-3", "²", "Mon, 99 Foo 2024"])
def test_an_unreadable_retry_after_counts_for_nothing(value: str) -> None:
    assert retry_after_seconds(value) is None


# -- the loop: counted, paced, announced, logged ---------------------------------------------------
def test_every_attempt_is_counted_and_the_answer_returned() -> None:
    stub = StubAdapter([answer(503), answer(502), answer(200, {"sources": []})])
    clock = FakeClock()
    transport = stub_transport(stub, retry=POLICY, clock=clock)
    assert transport.call("GET", "/sources", route="/sources", idempotent=True).body == {
        "sources": []
    }
    assert transport.requests_sent == len(stub.sent) == 3
    assert clock.slept == [1.0, 2.0]


def test_a_server_error_after_the_last_retry_is_raised_with_every_attempt_counted() -> None:
    stub = StubAdapter([answer(503)])
    transport = stub_transport(stub, retry=POLICY)
    with pytest.raises(migkit.ServerError):
        transport.call("GET", "/sources", route="/sources", idempotent=True)
    assert transport.requests_sent == len(stub.sent) == 1 + POLICY.attempts


@pytest.mark.parametrize(
    ("failure", "kind"), [(dropped(), migkit.TransportError), (answer(500), migkit.ServerError)]
)
def test_an_unkeyed_post_is_sent_once_when_its_answer_is_lost_or_a_5xx(
    failure: object, kind: type[Exception]
) -> None:
    stub = StubAdapter([failure, answer(201, {"company": {}})])  # type: ignore[list-item]
    transport = stub_transport(stub, retry=POLICY)
    with pytest.raises(kind) as caught:
        transport.call("POST", "/companies", route="/companies", idempotent=False, json={})
    assert len(stub.sent) == 1
    if kind is migkit.TransportError:
        assert "It was not retried, since the server may have acted on it" in str(caught.value)


def test_an_unkeyed_post_is_retried_when_the_connection_was_refused() -> None:
    stub = StubAdapter([refused(), refused(), answer(201, {"ok": True})])
    transport = stub_transport(stub, retry=POLICY)
    answer_ = transport.call("POST", "/companies", route="/companies", idempotent=False, json={})
    assert answer_.body == {"ok": True}
    assert transport.requests_sent == 3


def test_no_answer_after_the_retries_is_a_transport_error_chaining_its_cause() -> None:
    stub = StubAdapter([dropped()])
    transport = stub_transport(stub, retry=POLICY)
    with pytest.raises(migkit.TransportError) as caught:
        transport.call("GET", "/sources", route="/sources", idempotent=True)
    assert "got no answer (the connection dropped). migkit tried it 4 times" in str(caught.value)
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert transport.requests_sent == 4


def test_a_lost_signed_put_is_not_chained_since_its_cause_names_the_token() -> None:
    stub = StubAdapter([dropped()])
    transport = stub_transport(stub, retry=POLICY)
    with pytest.raises(migkit.TransportError) as caught:
        transport.put_signed("https://store.example.test/upload/tok-secret", b"x", "text/csv")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "tok-secret" not in str(caught.value)
    assert len(stub.sent) == 1  # a single-use URL is not sent again


def test_every_attempt_passes_the_budget() -> None:
    clock = FakeClock()
    budget = migkit.RequestBudget(limit=2, window=10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    stub = StubAdapter([answer(503), answer(503), answer(200, {})])
    retry = RetryPolicy(attempts=3, backoff_start=0.5, backoff_cap=0.5, jitter=0)
    transport = stub_transport(stub, retry=retry, budget=budget, clock=clock)
    transport.call("GET", "/sources", route="/sources", idempotent=True)
    # two backoffs of 0.5 s, and the third attempt waited for the window: 10 s after the first
    assert clock.slept == [0.5, 0.5, 9.0]
    assert clock.now == 10.0
    assert budget.used("GET /sources") == 2  # the first left the window; the second and third


def test_each_retry_is_announced_with_its_allowance() -> None:
    heard: list[RetryNotice] = []
    stub = StubAdapter([answer(429), refused(), answer(200, {})])
    with retry_listener(heard.append):
        get(stub)
    assert [str(n) for n in heard] == [
        "GET /sources: HTTP 429; retry 1 of 30 in 1.0s",
        "GET /sources: connection refused; retry 1 of 3 in 2.0s",
    ]


def test_one_debug_line_per_decision_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="migkit.transport")
    get(StubAdapter([answer(503), answer(200, {})]))
    lines = [r for r in caplog.records if r.name == "migkit.transport"]
    assert [r.getMessage().split(" (")[0] for r in lines] == [
        "GET /sources attempt 1: HTTP 503 -> retry in 1.00s",
        "GET /sources attempt 2: HTTP 200 -> final",
    ]
    assert [(r.migkit_status, r.migkit_decision) for r in lines] == [  # type: ignore[attr-defined]
        (503, "retry"),
        (200, "final"),
    ]
    assert KEY not in caplog.text
