"""The HTTP layer: one session, the auth header, retries as data, and the request budget.

Retry policy lives here and nowhere else. Two pools share one budget:

- *safe* requests (GETs, POSTs that carry an idempotency key, signed-upload PUTs to a fresh URL)
  are retried on connection errors, dropped responses, 429 and 5xx;
- *unsafe* requests (a POST without a key, e.g. creating a company) are retried only when the
  server cannot have acted: connection refused, and 429.

Backoff starts near one second and doubles with jitter up to a cap; the docs give no
``Retry-After``. A client-side limiter keeps each (key, route) under the documented budget, so
a fleet of migrations in one process does not meet 429 at all.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from migkit import __version__
from migkit._retry_notices import RetryNotice, announce_retry, no_answer
from migkit.errors import APIError, ConfigurationError, TransportError, error_for

DEFAULT_BASE_URL = "https://app.vern.so/api/v1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry.

    ``attempts`` counts retries after the first for errors (5xx, dropped connections);
    429s draw on their own, larger allowance, ``rate_limited_attempts``, so a burst of them
    does not use up the retries a flaky connection needs.

    >>> RetryPolicy().delays()[:3]
    [1.0, 2.0, 4.0]
    """

    attempts: int = 8
    backoff_start: float = 1.0
    backoff_cap: float = 30.0
    jitter: float = 0.5
    rate_limited_attempts: int = 30  # 429s: the server did nothing, so waiting is always safe

    def delays(self) -> list[float]:
        """The backoff before each retry, without jitter."""
        return [min(self.backoff_cap, self.backoff_start * 2**n) for n in range(self.attempts)]

    def urllib3_retry(self, *, safe: bool) -> Retry:
        """The urllib3 ``Retry`` for the safe or the unsafe pool."""
        return _Backoff(
            rate_limited=self.rate_limited_attempts,
            total=self.attempts,
            connect=self.attempts,
            read=self.attempts if safe else 0,
            status=self.attempts,
            other=0,
            allowed_methods=None,  # every method; safety is chosen by the pool
            status_forcelist=RETRY_STATUSES if safe else frozenset({429}),
            backoff_factor=self.backoff_start,
            backoff_max=self.backoff_cap,
            backoff_jitter=self.jitter,
            raise_on_status=False,
            respect_retry_after_header=True,
        )


class _Backoff(Retry):
    """urllib3 ``Retry`` whose first retry already waits (urllib3's waits 0), and whose 429s
    count against their own allowance instead of ``total``/``status``."""

    def __init__(self, *args: Any, rate_limited: int = 30, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate_limited = rate_limited

    def new(self, **kw: Any) -> Self:
        rate_limited = kw.pop("rate_limited", self.rate_limited)
        retry = super().new(**kw)
        retry.rate_limited = rate_limited
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        if response is not None and response.status == 429 and self.rate_limited > 0:
            spare = self.new(
                total=None if self.total is None else int(self.total) + 1,
                status=None if self.status is None else self.status + 1,
            )
            retry = Retry.increment(spare, method, url, response, error, _pool, _stacktrace)
            retry.rate_limited = self.rate_limited - 1
            return retry
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response: Any = None) -> None:
        # urllib3's own order (Retry-After first, else the backoff), with the wait announced
        # to whoever watches this thread's requests (a progress display) before it starts.
        delay = None
        if response is not None and self.respect_retry_after_header:
            delay = self.get_retry_after(response)
        if not delay:
            delay = self.get_backoff_time()
        announce_retry(self._notice(delay))
        if delay > 0:
            time.sleep(delay)

    def _notice(self, delay: float) -> RetryNotice:
        last = self.history[-1] if self.history else None
        if last is not None and last.status is not None:
            reason = f"HTTP {last.status}"
        elif last is not None and last.error is not None:
            reason = no_answer(last.error)
        else:
            reason = "no answer"
        done = len(self.history)
        left = self.total if isinstance(self.total, int) else 0
        return RetryNotice(
            method=(last.method if last else None) or "request",
            path=urlsplit((last.url if last else None) or "").path,
            reason=reason,
            retry=done,
            retries=done + max(left, 0),
            delay=float(delay),
        )

    def get_backoff_time(self) -> float:
        errors = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            errors += 1
        if errors == 0:
            return 0.0
        delay = self.backoff_factor * 2 ** (errors - 1) + random.random() * self.backoff_jitter
        return float(min(self.backoff_max, delay))


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


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; plain ``http://`` only for loopback hosts.

    >>> check_base_url("http://127.0.0.1:8787/api/v1/")
    'http://127.0.0.1:8787/api/v1'
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base_url {base_url!r} is not an http(s) URL; use e.g. {DEFAULT_BASE_URL}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {base_url!r} uses plain http to a non-loopback host, which would send the "
            "API key unencrypted; use https (plain http is allowed for the local sandbox only)"
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
    """A URL safe for messages: no query string (signed URLs carry tokens there)."""
    parts = urlsplit(url)
    path = parts.path
    if "/upload/" in path:  # the sandbox's signed URLs carry the token in the path
        path = path.rsplit("/", 1)[0] + "/<token>"
    return f"{parts.scheme}://{parts.netloc}{path}"


class Transport:
    """Sends API requests: auth header, timeouts, retries, budget and error mapping.

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
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self.retry = retry
        self.budget = budget
        agent = f"migkit/{__version__}"
        self._safe = self._session(retry.urllib3_retry(safe=True), agent, api_key)
        self._unsafe = self._session(retry.urllib3_retry(safe=False), agent, api_key)
        # A signed URL is single-use: a PUT whose answer was lost is not repeated here (the
        # repeat would only meet 403 "already used"); the uploader asks for a fresh URL instead.
        self._signed = self._session(retry.urllib3_retry(safe=False), agent, None)
        self.requests_sent = 0

    @staticmethod
    def _session(retry: Retry, agent: str, api_key: str | None) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = agent
        if api_key is not None:
            session.headers["x-api-key"] = api_key
        return session

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key=<hidden>)"

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
        """Send one API request; returns a 2xx response or raises a :class:`MigkitError`."""
        if self.budget is not None:
            self.budget.acquire(route)
        session = self._safe if safe else self._unsafe
        url = self.url(path)
        try:
            response = session.request(
                method, url, json=json, params=params, timeout=self.timeout, stream=stream
            )
        except requests.RequestException as exc:
            raise TransportError(
                f"{method} {_redact(url)} got no answer ({type(exc).__name__}); "
                + (
                    "migkit retried it. "
                    if safe
                    else "It was not retried, since the server may have acted on it. "
                )
                + "Check the network and that the API (or the sandbox) is running."
            ) from None
        finally:
            self.requests_sent += 1
        if response.status_code >= 400:
            raise self._error(response, method, route)
        return response

    def put_signed(self, upload_url: str, data: bytes, content_type: str) -> None:
        """PUT bytes to a signed upload URL (no API key); raises on any failure."""
        try:
            response = self._signed.put(
                upload_url, data=data, timeout=self.timeout, headers={"Content-Type": content_type}
            )
        except requests.RequestException as exc:
            raise TransportError(
                f"PUT {_redact(upload_url)} got no answer ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            raise self._error(response, "PUT", "signed upload URL")

    @staticmethod
    def _error(response: requests.Response, method: str, route: str) -> APIError:
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:300]} if response.text else None
        response.close()
        path = route.removeprefix(f"{method} ")
        return error_for(response.status_code, body, method=method, path=path)

    def close(self) -> None:
        """Close the connection pools."""
        for session in (self._safe, self._unsafe, self._signed):
            session.close()
