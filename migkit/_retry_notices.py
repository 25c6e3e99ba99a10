"""Retries as they happen, for whoever watches: a notice before each retry of a request.

The transport (:mod:`migkit._http`) announces each retry with a :class:`RetryNotice` just
before it waits; a progress display that wants to show it listens for the calls it makes, in
its own thread, with :func:`retry_listener` (:func:`migkit.polling.wait_for` does this for its
progress hook).

>>> heard = []
>>> with retry_listener(heard.append):
...     announce_retry(RetryNotice("GET", "/sources", "HTTP 503", 1, 8, 1.0))
>>> [str(n) for n in heard]
['GET /sources: HTTP 503; retry 1 of 8 in 1.0s']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryNotice:
    """A request about to be retried, for progress displays: what failed, which retry comes
    next and how long the wait before it is.

    >>> str(RetryNotice("GET", "/companies/c/imports/r", "connection refused", 2, 8, 2.4))
    'GET /companies/c/imports/r: connection refused; retry 2 of 8 in 2.4s'
    """

    method: str
    path: str
    reason: str
    retry: int
    retries: int
    delay: float

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path}: {self.reason}; retry {self.retry} of {self.retries} "
            f"in {self.delay:.1f}s"
        )


# Who hears about this thread's retries (a progress display, while it waits). A context
# variable keeps it to the thread, and the call, that set it.
_RETRY_LISTENER: ContextVar[Callable[[RetryNotice], None] | None] = ContextVar(
    "migkit_retry_listener", default=None
)


@contextmanager
def retry_listener(listener: Callable[[RetryNotice], None] | None) -> Iterator[None]:
    """Call ``listener`` with a :class:`RetryNotice` before each retry this thread makes
    inside the ``with`` block."""
    token = _RETRY_LISTENER.set(listener)
    try:
        yield
    finally:
        _RETRY_LISTENER.reset(token)


def announce_retry(notice: RetryNotice) -> None:
    """Tell this thread's listener, if any, about a retry; a failing listener is ignored
    (a display must never break a request)."""
    listener = _RETRY_LISTENER.get()
    if listener is not None:
        with suppress(Exception):
            listener(notice)


def no_answer(error: BaseException) -> str:
    """Why ``error`` brought no answer, in a few words for people."""
    text = f"{type(error).__name__}: {error}".lower()
    if "refused" in text or "newconnectionerror" in text:
        return "connection refused"
    if "timeout" in text or "timed out" in text:
        return "no answer in time"
    if any(w in text for w in ("aborted", "reset", "remotedisconnected", "closed connection")):
        return "the connection dropped"
    return f"no answer ({type(error).__name__})"
