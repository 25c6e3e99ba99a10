"""Polling: intervals that grow with a run's age, and loops for one run or many.

The docs ask for polls about every 2 s, backing off as the run ages. Here the interval is
``max(2 s, age / 10)`` capped at 30 s, with ±10% jitter: a 10 s run costs about 6 polls
either way, a 10 minute run about 50 instead of 300 at a fixed 2 s.

>>> schedule = PollSchedule(jitter=0)
>>> [schedule.interval(age) for age in (0, 60, 600)]
[2.0, 6.0, 30.0]
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from migkit._retry_notices import retry_listener
from migkit.errors import (
    MigkitWarning,
    RateLimited,
    ServerError,
    TransportError,
    UnexpectedRedirect,
    WaitTimeout,
)
from migkit.printable import printable


class Pollable(Protocol):
    """What a polled thing looks like: an id, a status, whether it is done, whether it waits
    for a person, and whether migkit knows its status at all."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def done(self) -> bool: ...

    @property
    def waiting(self) -> bool: ...

    @property
    def known(self) -> bool: ...


R = TypeVar("R", bound=Pollable)


@dataclass(frozen=True)
class PollSchedule:
    """Poll interval as a function of a run's age (seconds since we started watching it)."""

    first: float = 2.0
    growth: float = 0.1
    cap: float = 30.0
    jitter: float = 0.1

    def interval(self, age: float, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next poll of a run this old."""
        # Proportional to age: a run that has gone on for a while will likely go on a while
        # longer, so waiting a tenth of its age costs little delay and saves most polls.
        base = min(self.cap, max(self.first, age * self.growth))
        if self.jitter:  # runs started together do not stay in step (nor their polls)
            base *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        return base


@dataclass(frozen=True)
class PollEvent(Generic[R]):
    """What a progress hook receives after each poll.

    ``problem`` says why the run's state is not fresh (its poll failed and will be tried
    again); ``error`` is the exception that ends the wait, sent just before it is raised.
    """

    run: R
    polls: int
    elapsed: float
    next_poll_in: float | None  # None once the loop stops for this run
    problem: str | None = None
    error: BaseException | None = None


ProgressHook = Callable[[PollEvent[R]], None]
"""A progress display. Besides being called with each :class:`PollEvent`, it may have:

- ``retrying(notice, run)``: called with a :class:`~migkit._retry_notices.RetryNotice` before each
  retry of a request made for ``run`` (``None`` when not known), as it happens;
- ``pause(seconds, sleep)``: called instead of ``sleep(seconds)`` between polls, so a
  display can tick its clock or answer a Cancel button; it may return early (the next poll
  then comes at once) and must wait with ``sleep``.
"""


def _pause(hook: object, seconds: float, sleep: Callable[[float], None]) -> None:
    pause = getattr(hook, "pause", None)
    if pause is not None:
        pause(seconds, sleep)
    else:
        sleep(seconds)


def _listening(hook: object, run: object) -> Any:
    """A context in which this thread's request retries are told to ``hook.retrying``."""
    retrying = getattr(hook, "retrying", None)
    return retry_listener(None if retrying is None else lambda n: retrying(n, run))


class MissedPolls(Generic[R]):
    """Polls a run, treating a failed poll (5xx, 429 or no answer, after the transport's own
    retries) as "no news" up to ``limit`` times in a row: a flaky poll must not end a wait
    for a run that is fine on the server."""

    def __init__(self, get: Callable[[R], R], limit: int = 5) -> None:
        self._get = get
        self._misses: dict[str, int] = {}
        self.problems: dict[str, str] = {}  # why a run's last poll brought no news
        self.limit = limit

    def __call__(self, run: R) -> R:
        # Only failures that say nothing about the run count as missed: the transport already
        # retried them, and the run goes on on the server whatever its poll met.
        try:
            fresh = self._get(run)
        except UnexpectedRedirect:
            raise  # an answer, and the next poll gets the same one
        except (ServerError, RateLimited, TransportError) as exc:
            misses = self._misses.get(run.id, 0) + 1
            self._misses[run.id] = misses
            if misses > self.limit:
                raise
            self.problems[run.id] = (
                f"poll failed ({type(exc).__name__}); failed polls: {misses} of "
                f"{self.limit} allowed before giving up"
            )
            return run
        self._misses.pop(run.id, None)
        self.problems.pop(run.id, None)
        return fresh

    def following(self, run: R) -> Following[R]:
        """A no-argument fetch for :func:`wait_for` that polls the latest state of ``run``."""
        return Following(self, run)


class Following(Generic[R]):
    """The fetch :meth:`MissedPolls.following` makes: it polls the latest state of one run
    and knows it (``latest``) and why its last poll failed (``problem``)."""

    def __init__(self, polls: MissedPolls[R], run: R) -> None:
        self._polls = polls
        self.latest = run

    def __call__(self) -> R:
        self.latest = self._polls(self.latest)
        return self.latest

    @property
    def problem(self) -> str | None:
        return self._polls.problems.get(self.latest.id)


def settled(run: Pollable, stop_on_attention: bool = True) -> bool:
    """True when polling should stop: terminal, waiting for a person (``needs_attention`` or
    ``blocked``), or in a status migkit does not know (with a :class:`MigkitWarning`: polling
    it could go on forever)."""
    if run.done or (stop_on_attention and run.waiting):
        return True
    if not run.known:
        warnings.warn(
            f"run {printable(run.id, limit=80)} is in status "
            f"{printable(run.status, limit=80)!r}, which this version of migkit does not know; "
            "it stopped waiting and returned the run as it is (see run.raw). Poll it again "
            "with client.imports.get(run), or upgrade migkit.",
            MigkitWarning,
            stacklevel=4,
        )
        return True
    return False


def wait_for(
    fetch: Callable[[], R],
    *,
    schedule: PollSchedule,
    timeout: float | None = None,
    on_progress: ProgressHook[R] | None = None,
    stop_on_attention: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """Poll ``fetch`` until the run settles; raises :class:`WaitTimeout` after ``timeout``.

    ``on_progress`` sees every poll, every retry of a request as it happens, and the error
    that ends the wait (see :data:`ProgressHook`)."""
    start = clock()
    polls = 0
    run: R | None = getattr(fetch, "latest", None)
    while True:
        try:
            with _listening(on_progress, run):
                run = fetch()
        except Exception as exc:
            if on_progress and run is not None:
                on_progress(PollEvent(run, polls, clock() - start, None, error=exc))
            raise
        polls += 1
        elapsed = clock() - start
        problem = getattr(fetch, "problem", None)
        if settled(run, stop_on_attention):
            if on_progress:
                on_progress(PollEvent(run, polls, elapsed, None))
            return run
        delay = schedule.interval(elapsed)
        # Give up now rather than sleep past the timeout for a poll whose answer would come
        # too late to be returned anyway.
        if timeout is not None and elapsed + delay > timeout:
            error = WaitTimeout(run.id, run.status, elapsed)
            if on_progress:
                on_progress(PollEvent(run, polls, elapsed, None, problem, error=error))
            raise error
        if on_progress:
            on_progress(PollEvent(run, polls, elapsed, delay, problem))
        _pause(on_progress, delay, sleep)


def wait_many(
    runs: Sequence[R],
    fetch: Callable[[R], R],
    *,
    schedule: PollSchedule,
    timeout: float | None = None,
    on_progress: ProgressHook[R] | None = None,
    stop_on_attention: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    per_minute: int | None = None,
) -> list[R]:
    """Watch many runs in one loop: always poll the run that is due soonest.

    Each run keeps its own age-based interval, so old runs cost little. With ``per_minute``
    (the request budget of the poll route) polls are paced to fit it: the first polls are
    staggered and no run is polled more often than its fair share of the budget allows, so
    a large fleet spends the budget evenly instead of exhausting it and stalling. Returns the
    runs (settled) in the input order.
    """
    start = clock()
    current = list(runs)
    # One poll per `spacing` seconds is the budget's rate; first polls are staggered by it so
    # a fleet started together does not spend a window's budget in its first second.
    spacing = 60.0 / per_minute if per_minute else 0.0
    due = [start + i * spacing for i in range(len(current))]
    polls = [0] * len(current)
    pending = {i for i, run in enumerate(current) if not settled(run, stop_on_attention)}
    while pending:
        # Earliest due first: one loop, one request at a time, so the fleet never bursts.
        index = min(pending, key=lambda i: due[i])
        wait = due[index] - clock()
        if wait > 0:
            if timeout is not None and due[index] - start > timeout:
                slow = current[index]
                error = WaitTimeout(slow.id, slow.status, clock() - start)
                if on_progress:
                    on_progress(PollEvent(slow, polls[index], clock() - start, None, error=error))
                raise error
            _pause(on_progress, wait, sleep)
        try:
            with _listening(on_progress, current[index]):
                run = fetch(current[index])
        except Exception as exc:
            if on_progress:
                on_progress(
                    PollEvent(current[index], polls[index], clock() - start, None, error=exc)
                )
            raise
        current[index] = run
        polls[index] += 1
        elapsed = clock() - start
        if settled(run, stop_on_attention):
            pending.discard(index)
            next_in = None
        else:
            # A run's fair share: with n runs pending, each may be polled once per n slots;
            # more often and the others would wait on the budget behind it.
            next_in = max(schedule.interval(elapsed), len(pending) * spacing)
            due[index] = clock() + next_in
        if on_progress:
            problems = getattr(fetch, "problems", {})
            on_progress(PollEvent(run, polls[index], elapsed, next_in, problems.get(run.id)))
    return current
