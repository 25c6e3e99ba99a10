"""Retries as data: :class:`RetryPolicy`, and the decision the transport asks before each retry.

The transport (:mod:`migkit._http`) sends one attempt at a time and, after each, asks
:func:`decide`: send it again, and after how long? The answer depends on three things only:
what came back (an :class:`Outcome`), whether repeating the request is harmless (the request is
*idempotent*: a GET, a POST carrying an idempotency key, a cancel), and how much of the
policy's allowance the request has used. :func:`should_retry` reads top to bottom.

Backoff starts at ``backoff_start`` and doubles, with jitter, up to ``backoff_cap``. A
server's ``Retry-After`` (the Vern API documents none, but proxies and other servers send it)
says how long to wait before a retry that happens anyway, honoured up to ``backoff_cap``: a
``Retry-After: 999999999`` waits the cap, not eleven years.

>>> policy = RetryPolicy(jitter=0)
>>> decide(policy, Outcome(status=503), idempotent=True, used=Used())
Decision(retry=True, why='503: a server error, and repeating the request is harmless', delay=1.0)
>>> decide(policy, Outcome(status=503), idempotent=False, used=Used()).retry
False
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SERVER_ERRORS = frozenset({500, 502, 503, 504})  # transient; 501 and 505 say "never"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry.

    ``attempts`` counts retries after the first for errors (5xx, 408, dropped connections);
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

    def backoff(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first): doubling, plus up
        to ``jitter`` seconds at random, never more than ``backoff_cap``.

        >>> RetryPolicy(jitter=0).backoff(3)
        4.0
        """
        # The jitter spreads the retries of many clients (or threads) that failed together, so
        # they do not come back together; the exponent is capped to keep the float finite.
        doubling = self.backoff_start * 2 ** min(retry - 1, 64)
        return float(min(self.backoff_cap, doubling + rng() * self.jitter))


UNSENT = "unsent"  # no connection was made (refused, unknown host, none in time)
LOST = "lost"  # sent, but no answer came (dropped, cut off, past the deadline)
FATAL = "fatal"  # cannot be sent as it is (a TLS failure, an invalid URL or header)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came back with: an HTTP ``status`` (and its ``Retry-After``), or no
    answer, with ``failure`` saying which kind (:data:`UNSENT`, :data:`LOST` or
    :data:`FATAL`) and ``problem`` why, for people."""

    status: int | None = None
    retry_after: str | None = None
    failure: str = ""
    problem: str = ""

    def __str__(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else self.problem or "no answer"


@dataclass
class Used:
    """How much of the policy's allowance one request has used: ``errors`` retries (5xx,
    408, no answer) and ``rate_limited`` retries (429)."""

    errors: int = 0
    rate_limited: int = 0

    @property
    def total(self) -> int:
        return self.errors + self.rate_limited

    def note(self, outcome: Outcome) -> None:
        """Count a retry of ``outcome`` against its allowance."""
        if outcome.status == 429:
            self.rate_limited += 1
        else:
            self.errors += 1


@dataclass(frozen=True)
class Decision:
    """Whether to send the request again (after ``delay`` seconds), and why: the reason goes
    to the debug log, and to a progress display's retry notice."""

    retry: bool
    why: str
    delay: float = 0.0


def should_retry(outcome: Outcome, *, idempotent: bool) -> tuple[bool, str]:
    """Whether ``outcome`` may be retried at all, and why; the allowance is :func:`decide`'s.

    >>> should_retry(Outcome(status=409), idempotent=True)
    (False, '409: a conflict is an answer; the same request would meet it again')
    """
    status = outcome.status
    # Retry-After is not asked here: a server's wish only sets the wait of a retry that
    # happens anyway (retry_delay). Otherwise a 413, or an unkeyed POST's 503, carrying one
    # would be sent again.
    if status == 408:
        # The server gave up waiting for the rest of the request, so it did not act on it.
        return True, "408: the server did not receive the whole request"
    if status == 409:
        # An idempotency key reused, an import in progress, an external_id taken: answers.
        return False, "409: a conflict is an answer; the same request would meet it again"
    if status == 429:
        # Refused before any work: waiting and sending again is safe for every request.
        return True, "429: rate limited, nothing was done"
    if status in SERVER_ERRORS:
        if idempotent:
            return True, f"{status}: a server error, and repeating the request is harmless"
        return False, f"{status}: a server error after which the server may have acted"
    if status is not None:
        return False, f"{status}: an answer"
    if outcome.failure == FATAL:
        return False, f"{outcome}: it cannot be sent as it is, so sending it again would not help"
    if outcome.failure == UNSENT:
        # Refused, or no connection in time: the request never left, whatever it was.
        return True, f"{outcome}: the request never reached the server"
    if idempotent:
        return True, f"{outcome}: no answer, and repeating the request is harmless"
    return False, f"{outcome}: no answer, and the server may have acted"


def decide(
    policy: RetryPolicy,
    outcome: Outcome,
    *,
    idempotent: bool,
    used: Used,
    rng: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> Decision:
    """Retry ``outcome`` or not, given the request's kind and the allowance it has ``used``."""
    allowed, why = should_retry(outcome, idempotent=idempotent)
    if not allowed:
        return Decision(False, why)
    if outcome.status == 429 and used.rate_limited >= policy.rate_limited_attempts:
        return Decision(False, f"{why}; all {policy.rate_limited_attempts} retries for 429 used")
    if outcome.status != 429 and used.errors >= policy.attempts:
        return Decision(False, f"{why}; all {policy.attempts} retries used")
    return Decision(True, why, retry_delay(policy, outcome, used.total + 1, rng, now))


def retry_delay(
    policy: RetryPolicy,
    outcome: Outcome,
    retry: int,
    rng: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """The wait before retry number ``retry``: the server's ``Retry-After`` when it sent a
    readable one (up to ``backoff_cap``), else the policy's backoff.

    >>> retry_delay(RetryPolicy(backoff_cap=30), Outcome(429, retry_after="999999999"), 1)
    30.0
    """
    asked = retry_after_seconds(outcome.retry_after, now)
    if asked is not None:
        return float(min(asked, policy.backoff_cap))
    return policy.backoff(retry, rng)


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number, or an HTTP date); ``None`` when it
    is absent or unreadable ("soon", a garbled date), which then counts for nothing.

    >>> retry_after_seconds("20"), retry_after_seconds("soon")
    (20.0, None)
    """
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(text)  # a huge number becomes a huge float (or inf): the cap applies
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())
