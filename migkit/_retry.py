"""Retries as data: :class:`RetryPolicy`, and the urllib3 ``Retry`` it drives.

Backoff starts near one second and doubles with jitter up to ``backoff_cap``. A server's
``Retry-After`` (the Vern API documents none, but proxies and other servers send it) says how
long to wait before a retry that would happen anyway, honoured up to ``backoff_cap``: a
``Retry-After: 999999999`` waits the cap, not eleven years. It never makes a request retried
that would not be (urllib3 would otherwise retry a 413 or a POST's 503 that carries one).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from migkit._retry_notices import RetryNotice, announce_retry, no_answer

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry.

    ``attempts`` counts retries after the first for errors (5xx, dropped connections);
    429s draw on their own, larger allowance, ``rate_limited_attempts``, so a burst of them
    does not use up the retries a flaky connection needs. ``backoff_cap`` is the longest
    wait before a retry, a server's ``Retry-After`` included.

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
    """urllib3 ``Retry`` whose first retry already waits (urllib3's waits 0), whose 429s
    count against their own allowance instead of ``total``/``status``, and whose
    ``Retry-After`` only sets the wait, capped at ``backoff_max``."""

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

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # Whether to retry is the policy's (status_forcelist); Retry-After only sets the wait.
        return super().is_retry(method, status_code, has_retry_after=False)

    def get_retry_after(self, response: Any) -> float | None:
        # An unreadable Retry-After ("soon", a garbled date) is ignored, not raised: urllib3
        # would raise InvalidHeader out of the request.
        try:
            return super().get_retry_after(response)
        except (InvalidHeader, ValueError, OverflowError):
            return None

    def sleep(self, response: Any = None) -> None:
        # urllib3's own order (a Retry-After first, capped at backoff_max, else the backoff),
        # with the wait announced to whoever watches this thread's requests (a progress
        # display) before it starts.
        delay = None
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                delay = min(retry_after, self.backoff_max)
        if delay is None:
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
