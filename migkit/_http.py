"""The HTTP layer: one session, the auth header, the retry loop, the request budget, and the
bounds on every answer.

:class:`Transport` sends one attempt at a time and owns the loop around them. Each attempt
takes a slot of the :class:`~migkit._budget.RequestBudget` for its route, is counted
(``requests_sent``), runs under its own deadline (:mod:`migkit._deadline`), and is followed by
one decision (:func:`migkit._retry.decide`) that is logged at debug level on the
``migkit.transport`` logger: method, route, attempt, status, decision, delay (never the key,
never an id: routes are templates). Which requests are retried when:

- *idempotent* requests (GETs, POSTs that carry an idempotency key, a cancel) on a dropped or
  missing answer, 408, 429 and 5xx;
- the others (a POST without a key, e.g. creating a company; a signed upload, whose URL is
  single-use) only when the server cannot have acted: the connection was refused, 408, 429.

What a server sends back is bounded (:class:`~migkit._answers.ResponseLimits`): each attempt has
a deadline from request to last byte, an answer's size is capped while it is read, and a
redirect is never followed: it would take the API key (or a signed upload's bytes) wherever
``Location`` points, so it is an :class:`~migkit.errors.UnexpectedRedirect`.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import urllib3.exceptions

from migkit._answers import ERROR_BODY_BYTES, Answer, ResponseLimits, decode_json, excerpt
from migkit._body import READ_ERRORS, Body, read_capped
from migkit._budget import RequestBudget, SentCounter
from migkit._deadline import Plan, TimedAdapter, planned
from migkit._retry import FATAL, LOST, RETRY_STATUSES, UNSENT, Outcome, RetryPolicy, Used, decide
from migkit._retry_notices import RetryNotice, announce_retry, no_answer
from migkit._urls import DEFAULT_BASE_URL, check_base_url, redact
from migkit._version import __version__
from migkit.errors import (
    APIError,
    TransportError,
    UnexpectedRedirect,
    UnexpectedResponse,
    error_for,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "RETRY_STATUSES",
    "RequestBudget",
    "ResponseLimits",
    "RetryPolicy",
    "Transport",
    "check_base_url",
]

log = logging.getLogger("migkit.transport")
SIGNED_ROUTE = "<signed upload>"  # the route of every signed PUT: never its URL (a token)


def _session(agent: str, api_key: str | None, adapter: requests.adapters.BaseAdapter) -> Any:
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = agent
    if api_key is not None:
        session.headers["x-api-key"] = api_key
    return session


def failure_kind(exc: BaseException) -> str:
    """Which kind of no-answer ``exc`` is (see :mod:`migkit._retry`): :data:`UNSENT` when no
    connection was made, :data:`FATAL` when the request cannot be sent as it is (TLS failed,
    an invalid URL or header: no retry would help), else :data:`LOST`."""
    if isinstance(exc, requests.exceptions.SSLError):
        return FATAL
    if isinstance(exc, requests.RequestException) and not isinstance(
        exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError
    ):
        return FATAL
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return UNSENT
    # requests wraps urllib3's MaxRetryError, whose reason is the connection's own error;
    # NewConnectionError (refused, unknown host) is a ConnectTimeoutError too.
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return UNSENT if isinstance(reason, urllib3.exceptions.ConnectTimeoutError) else LOST


class _NoAnswer(Exception):
    """The attempts are over and the last one brought no answer (``cause``)."""

    def __init__(
        self, cause: BaseException, outcome: Outcome, attempts: int, idempotent: bool
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.outcome = outcome
        self.attempts = attempts
        self.idempotent = idempotent

    def error(self, method: str, shown: str) -> TransportError:
        """The :class:`~migkit.errors.TransportError` to raise, for a URL ``shown`` redacted."""
        if self.attempts > 1:
            then = f"migkit tried it {self.attempts} times. "
        elif self.idempotent or self.outcome.failure != LOST:
            then = ""
        else:
            then = "It was not retried, since the server may have acted on it. "
        return TransportError(
            f"{method} {shown} got no answer ({self.outcome}). {then}Check the network "
            "and that the API (or the sandbox) is running."
        )


class Transport:
    """Sends API requests: auth header, timeouts, retries, budget, bounds and error mapping.

    The API key is kept in the session headers only; it never appears in ``repr``, messages,
    logs, or signed-upload requests. ``adapter`` replaces the network (a ``requests`` adapter;
    tests pass an in-memory one); ``sleep`` and ``rng`` drive the waits between retries.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float | tuple[float, float],
        retry: RetryPolicy,
        budget: RequestBudget | None,
        limits: ResponseLimits | None = None,
        adapter: requests.adapters.BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self.retry = retry
        self.budget = budget
        self.limits = limits or ResponseLimits()
        agent = f"migkit/{__version__}"
        # max_retries=0: urllib3 sends each attempt once; the loop below decides about more.
        network = adapter or TimedAdapter(max_retries=0, pool_maxsize=16)
        self._api = _session(agent, api_key, network)
        self._signed = _session(agent, None, network)  # a signed URL is its own authority
        self._sent = SentCounter()
        self._sleep = sleep
        self._rng = rng

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key=<hidden>)"

    @property
    def requests_sent(self) -> int:
        """Attempts sent so far, retries included (each is counted as it goes out)."""
        return self._sent.value

    @property
    def _secret(self) -> str | None:
        key = self._api.headers.get("x-api-key")
        return key if isinstance(key, str) else None

    def url(self, path: str) -> str:
        """An absolute URL for an API path (relative ``poll_url``s included)."""
        if path.startswith(("http://", "https://")):
            return path
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        return self.base_url + path

    # -- the public verbs --------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        route: str,
        idempotent: bool,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        """Send an API request and decode its JSON answer (``{}`` when empty), read up to
        ``ResponseLimits.json_bytes`` within the attempt's deadline. ``route`` is the path's
        template (``/companies/{id}``): the budget's key and the name in messages."""
        response = self.request(
            method, path, route=route, idempotent=idempotent, json=json, params=params
        )
        data = read_capped(response, self.limits.json_bytes, method, route)
        seen = excerpt(data, self._secret)
        body = decode_json(data, method, route, response.status_code, seen)
        return Answer(method, route, response.status_code, body, seen)

    def stream(
        self,
        path: str,
        *,
        route: str,
        params: Mapping[str, Any] | None = None,
        label: str = "the download",
        noun: str = "a download",
        headers: Mapping[str, str] | None = None,
        stall: tuple[float, int] | None = None,
    ) -> Body:
        """GET a download: a :class:`~migkit._body.Body` read as it arrives, capped at
        ``ResponseLimits.download_bytes``; once the headers are in, the attempt lives while
        the body keeps moving (``stall_seconds`` / ``stall_bytes``, or ``stall``: an event
        stream moves a few bytes of heartbeat at a time) instead of by a deadline."""
        response = self.request(
            "GET", path, route=route, idempotent=True, params=params, headers=headers
        )
        deadline = getattr(getattr(response.raw, "connection", None), "deadline", None)
        if deadline is not None:
            seconds, size = stall or (self.limits.stall_seconds, self.limits.stall_bytes)
            deadline.streaming(seconds, size)
        cap = self.limits.download_bytes
        return Body(response, method="GET", path=route, cap=cap, label=label, noun=noun)

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        idempotent: bool,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send an API request; returns a 2xx response whose body is not read yet (read it
        or close it), or raises a :class:`~migkit.errors.MigkitError`."""
        url = self.url(path)
        extra: dict[str, Any] = {"headers": dict(headers)} if headers else {}
        try:
            response = self._exchange(
                self._api, method, url, route, idempotent, json=json, params=params, **extra
            )
        except _NoAnswer as gave_up:
            # Chained: the cause names the host and path, nothing secret (the key is a header).
            raise gave_up.error(method, redact(url)) from gave_up.cause
        self._check_status(response, method, route, url)
        return response

    def put_signed(self, upload_url: str, data: bytes, content_type: str) -> None:
        """PUT bytes to a signed upload URL (no API key); raises on any failure.

        A signed URL is single-use: a PUT whose answer was lost is not sent again to it (it
        would only meet 403 "already used"); the uploader asks for a fresh URL instead.
        """
        check_base_url(upload_url, what="the signed upload URL")
        stall = (self.limits.stall_seconds, self.limits.stall_bytes)
        headers = {"Content-Type": content_type}
        try:
            response = self._exchange(
                self._signed,
                "PUT",
                upload_url,
                SIGNED_ROUTE,
                False,
                stall,
                data=data,
                headers=headers,
            )
        except _NoAnswer as gave_up:
            # Not chained: the cause's message holds the signed URL, token and all.
            raise gave_up.error("PUT", redact(upload_url)) from None
        self._check_status(response, "PUT", redact(upload_url), upload_url)
        response.close()

    # -- the retry loop ----------------------------------------------------------------------
    def _exchange(
        self,
        session: requests.Session,
        method: str,
        url: str,
        route: str,
        idempotent: bool,
        stall: tuple[float, int] | None = None,
        **options: Any,
    ) -> requests.Response:
        """Send attempts until one brings an answer not to retry, and return it; when the
        last attempt brought no answer at all, raise :class:`_NoAnswer`."""
        plan = Plan(self.limits.deadline_for(self.timeout), stall=stall)
        used = Used()
        for attempt in itertools.count(1):
            # Every attempt, retries included, waits for its slot: the budget is a promise
            # about what the server receives, and the server counts retries too.
            if self.budget is not None:
                self.budget.acquire(f"{method} {route}")
            response, failure, outcome = self._attempt(session, method, url, plan, options)
            decision = decide(self.retry, outcome, idempotent=idempotent, used=used, rng=self._rng)
            self._log(method, route, attempt, outcome, decision.retry, decision.delay, decision.why)
            if not decision.retry:
                if failure is not None:
                    raise _NoAnswer(failure, outcome, attempt, idempotent)
                assert response is not None
                return response
            if response is not None:
                response.close()  # its body is not wanted; the connection is not reused
            allowance = (
                self.retry.rate_limited_attempts if outcome.status == 429 else self.retry.attempts
            )
            done = used.rate_limited if outcome.status == 429 else used.errors
            announce_retry(
                RetryNotice(method, route, str(outcome), done + 1, allowance, decision.delay)
            )
            used.note(outcome)
            self._sleep(decision.delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        session: requests.Session,
        method: str,
        url: str,
        plan: Plan,
        options: dict[str, Any],
    ) -> tuple[requests.Response | None, BaseException | None, Outcome]:
        """One attempt: the response (body unread) or the exception, and their outcome."""
        try:
            with planned(plan):  # this attempt's connection gets a fresh deadline
                response = session.request(
                    method, url, stream=True, allow_redirects=False, timeout=self.timeout, **options
                )
        except READ_ERRORS as exc:
            expired = plan.last is not None and plan.last.expired
            problem = plan.last.reason if expired and plan.last else no_answer(exc)
            return None, exc, Outcome(failure=failure_kind(exc), problem=problem)
        finally:
            self._sent.add()  # counted where it is sent, whatever came of it
        return response, None, Outcome(response.status_code, response.headers.get("Retry-After"))

    @staticmethod
    def _log(
        method: str, route: str, attempt: int, outcome: Outcome, retry: bool, delay: float, why: str
    ) -> None:
        decision = f"retry in {delay:.2f}s" if retry else "final"
        log.debug(
            "%s %s attempt %d: %s -> %s (%s)",
            method,
            route,
            attempt,
            outcome,
            decision,
            why,
            extra={
                "migkit_method": method,
                "migkit_route": route,
                "migkit_attempt": attempt,
                "migkit_status": outcome.status,
                "migkit_outcome": str(outcome),
                "migkit_decision": "retry" if retry else "final",
                "migkit_delay": delay,
            },
        )

    # -- answers that are errors -------------------------------------------------------------
    def _check_status(self, response: requests.Response, method: str, path: str, url: str) -> None:
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "")
            response.close()
            raise UnexpectedRedirect(
                method, path, response.status_code, redact(urljoin(url, location))
            )
        if response.status_code >= 400:
            raise self._error(response, method, path)

    def _error(self, response: requests.Response, method: str, path: str) -> APIError:
        try:
            data = read_capped(response, ERROR_BODY_BYTES, method, path, strict=False)
        except (TransportError, UnexpectedResponse):
            data = b""
        seen = excerpt(data, self._secret)
        try:
            body: Any = json.loads(data) if data.strip() else None
        except (ValueError, RecursionError):
            body = {"error": seen} if seen else None
        return error_for(
            response.status_code,
            body,
            method=method,
            path=path,
            headers=response.headers,
            body_excerpt=seen,
        )

    def close(self) -> None:
        """Close the connection pools."""
        for session in (self._api, self._signed):
            session.close()
