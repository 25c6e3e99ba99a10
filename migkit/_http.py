"""The HTTP layer: one session, the auth header, retries as data, the request budget, and
the bounds on every answer.

Retry policy lives in :mod:`migkit._retry` and nowhere else. Two pools share one budget:

- *safe* requests (GETs, POSTs that carry an idempotency key, signed-upload PUTs to a fresh URL)
  are retried on connection errors, dropped responses, 429 and 5xx;
- *unsafe* requests (a POST without a key, e.g. creating a company) are retried only when the
  server cannot have acted: connection refused, and 429.

A client-side limiter keeps each (key, route) under the documented budget, so a fleet of
migrations in one process does not meet 429 at all.

What a server sends back is bounded (:class:`~migkit._answers.ResponseLimits`): each attempt has
a deadline from request to last byte (:mod:`migkit._deadline`), an answer's size is capped while
it is read, and a redirect is never followed: it would take the API key (or a signed upload's
bytes) wherever ``Location`` points, so it is an :class:`~migkit.errors.UnexpectedRedirect`.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from migkit import __version__
from migkit._answers import ERROR_BODY_BYTES, Answer, ResponseLimits, decode_json, excerpt
from migkit._deadline import Plan, TimedAdapter, planned
from migkit._retry import RETRY_STATUSES, RetryPolicy
from migkit.errors import (
    APIError,
    ConfigurationError,
    ResponseTooLarge,
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

DEFAULT_BASE_URL = "https://app.vern.so/api/v1"
READ_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


class RequestBudget:
    """A client-side rolling window per route: at most ``limit`` requests per ``window`` s.

    Shared by every thread of a client; :meth:`acquire` waits for a free slot.

    >>> budget = RequestBudget(limit=2, window=60)
    >>> budget.acquire("GET /sources"), budget.acquire("GET /sources")
    (0.0, 0.0)
    >>> budget.used("GET /sources")
    2
    """

    def __init__(
        self,
        limit: int = 95,
        window: float = 60.0,
        margin: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.window = window
        self.margin = margin  # the server counts a request when it arrives, a bit later
        self._clock = clock
        self._sleep = sleep
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.spent = 0

    def _wait_for(self, route: str, now: float) -> float:
        hits = self._hits.setdefault(route, deque())
        while hits and hits[0] <= now - self.window - self.margin:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self.spent += 1
            return 0.0
        return hits[0] + self.window + self.margin - now

    def acquire(self, route: str) -> float:
        """Take a slot for ``route``, sleeping while the window is full; returns seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                delay = self._wait_for(route, self._clock())
            if delay <= 0:
                return waited
            self._sleep(delay)
            waited += delay

    def used(self, route: str) -> int:
        """Requests counted for ``route`` in the current window."""
        with self._lock:
            hits = self._hits.get(route, deque())
            cutoff = self._clock() - self.window - self.margin
            return sum(1 for t in hits if t > cutoff)


def check_base_url(base_url: str, what: str = "base_url") -> str:
    """The base URL without a trailing slash; plain ``http://`` only for loopback hosts.

    >>> check_base_url("http://127.0.0.1:8787/api/v1/")
    'http://127.0.0.1:8787/api/v1'
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{what} {_redact(base_url)!r} is not an http(s) URL; use e.g. {DEFAULT_BASE_URL}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{what} {_redact(base_url)!r} uses plain http to a non-loopback host, which would "
            "send the API key or the data unencrypted; use https (plain http is allowed for the "
            "local sandbox only)"
        )
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redact(url: str) -> str:
    """A URL safe for messages: no user info or query string (signed URLs carry tokens
    there), and control characters escaped."""
    from migkit.printable import printable

    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return printable(url.split("?", 1)[0], limit=300)
    path = parts.path
    if "/upload/" in path:  # the sandbox's signed URLs carry the token in the path
        path = path.rsplit("/", 1)[0] + "/<token>"
    return printable(f"{parts.scheme}://{netloc}{path}", limit=300)


class Transport:
    """Sends API requests: auth header, timeouts, retries, budget, bounds and error mapping.

    The API key is kept in the session headers only; it never appears in ``repr``, messages,
    or signed-upload requests.
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
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self.retry = retry
        self.budget = budget
        self.limits = limits or ResponseLimits()
        agent = f"migkit/{__version__}"
        self._safe = self._session(retry.urllib3_retry(safe=True), agent, api_key)
        self._unsafe = self._session(retry.urllib3_retry(safe=False), agent, api_key)
        # A signed URL is single-use: a PUT whose answer was lost is not repeated here (the
        # repeat would only meet 403 "already used"); the uploader asks for a fresh URL instead.
        self._signed = self._session(retry.urllib3_retry(safe=False), agent, None)
        self.requests_sent = 0

    @staticmethod
    def _session(retry: Any, agent: str, api_key: str | None) -> requests.Session:
        session = requests.Session()
        adapter = TimedAdapter(max_retries=retry, pool_maxsize=16)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = agent
        if api_key is not None:
            session.headers["x-api-key"] = api_key
        return session

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key=<hidden>)"

    @property
    def _secret(self) -> str | None:
        key = self._safe.headers.get("x-api-key")
        return key if isinstance(key, str) else None

    def url(self, path: str) -> str:
        """An absolute URL for an API path (relative ``poll_url``s included)."""
        if path.startswith(("http://", "https://")):
            return path
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        safe: bool,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one API request; returns a 2xx response whose body is not read yet (read it
        or close it), or raises a :class:`~migkit.errors.MigkitError`.

        Each attempt has its deadline; with ``stream`` the body after the headers follows the
        progress rule of ``ResponseLimits.stall_seconds`` instead.
        """
        if self.budget is not None:
            self.budget.acquire(route)
        session = self._safe if safe else self._unsafe
        url = self.url(path)
        plan = Plan(self.limits.deadline_for(self.timeout))
        with planned(plan):
            response = self._send(
                session, method, url, safe, plan, json=json, params=params, timeout=self.timeout
            )
        shown = route.removeprefix(f"{method} ")
        self._check_status(response, method, shown, url)
        if stream and plan.last is not None:
            plan.last.streaming(self.limits.stall_seconds, self.limits.stall_bytes)
        return response

    def _send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        safe: bool,
        plan: Plan,
        **options: Any,
    ) -> requests.Response:
        try:
            return session.request(method, url, stream=True, allow_redirects=False, **options)
        except READ_ERRORS as exc:
            raise TransportError(
                f"{method} {_redact(url)} got no answer ({self._cause(exc, plan)}); "
                + (
                    "migkit retried it. "
                    if safe
                    else "It was not retried, since the server may have acted on it. "
                )
                + "Check the network and that the API (or the sandbox) is running."
            ) from None
        finally:
            self.requests_sent += 1

    @staticmethod
    def _cause(exc: BaseException, plan: Plan) -> str:
        if plan.last is not None and plan.last.expired:
            return plan.last.reason
        return type(exc).__name__

    def _check_status(self, response: requests.Response, method: str, path: str, url: str) -> None:
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "")
            response.close()
            raise UnexpectedRedirect(
                method, path, response.status_code, _redact(urljoin(url, location))
            )
        if response.status_code >= 400:
            raise self._error(response, method, path)

    def call(
        self,
        method: str,
        path: str,
        *,
        route: str,
        safe: bool,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        """Send one API request and decode its JSON answer (``{}`` when empty), read up to
        ``ResponseLimits.json_bytes`` within the attempt's deadline."""
        response = self.request(method, path, route=route, safe=safe, json=json, params=params)
        shown = route.removeprefix(f"{method} ")
        data = self.read_body(response, self.limits.json_bytes, method, shown)
        seen = excerpt(data, self._secret)
        body = decode_json(data, method, shown, response.status_code, seen)
        return Answer(method, shown, response.status_code, body, seen)

    def read_body(
        self, response: requests.Response, cap: int, method: str, path: str, *, strict: bool = True
    ) -> bytes:
        """The (decoded) body, at most ``cap`` bytes. Past the cap: ``ResponseTooLarge`` when
        ``strict``, else the first ``cap`` bytes. A body cut off, stalled or past the deadline
        raises :class:`~migkit.errors.TransportError`."""
        status = response.status_code
        declared = response.headers.get("Content-Length", "")
        if strict and declared.isdigit() and int(declared) > cap:
            response.close()
            raise ResponseTooLarge(
                method,
                path,
                status,
                f"a body of {int(declared):,} bytes (Content-Length), "
                f"more than the {cap:,} accepted (ResponseLimits.json_bytes)",
            )
        deadline = getattr(getattr(response.raw, "connection", None), "deadline", None)
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 << 10):
                parts.append(chunk)
                size += len(chunk)
                if size > cap:
                    break
        except requests.exceptions.ContentDecodingError:
            raise UnexpectedResponse(
                method, path, status, "a body whose Content-Encoding cannot be decoded"
            ) from None
        except READ_ERRORS:
            late = deadline.reason if deadline is not None and deadline.expired else None
            what = late or "the answer was cut off"
            raise TransportError(
                f"{method} {path}: {what} ({size:,} bytes of the body read); try again, and "
                "check the network or the server if it persists"
            ) from None
        finally:
            response.close()
        if size > cap:
            if strict:
                raise ResponseTooLarge(
                    method,
                    path,
                    status,
                    f"a body of more than {cap:,} bytes (ResponseLimits.json_bytes)",
                )
            return b"".join(parts)[:cap]
        return b"".join(parts)

    def put_signed(self, upload_url: str, data: bytes, content_type: str) -> None:
        """PUT bytes to a signed upload URL (no API key); raises on any failure."""
        check_base_url(upload_url, what="the signed upload URL")
        plan = Plan(
            self.limits.deadline_for(self.timeout),
            stall=(self.limits.stall_seconds, self.limits.stall_bytes),
        )
        with planned(plan):
            response = self._send(
                self._signed,
                "PUT",
                upload_url,
                False,
                plan,
                data=data,
                timeout=self.timeout,
                headers={"Content-Type": content_type},
            )
        self._check_status(response, "PUT", _redact(upload_url), upload_url)
        response.close()

    def _error(self, response: requests.Response, method: str, path: str) -> APIError:
        try:
            data = self.read_body(response, ERROR_BODY_BYTES, method, path, strict=False)
        except (TransportError, UnexpectedResponse):
            data = b""
        try:
            body: Any = json.loads(data) if data.strip() else None
        except (ValueError, RecursionError):
            text = excerpt(data, self._secret)
            body = {"error": text} if text else None
        return error_for(response.status_code, body, method=method, path=path)

    def close(self) -> None:
        """Close the connection pools."""
        for session in (self._safe, self._unsafe, self._signed):
            session.close()
