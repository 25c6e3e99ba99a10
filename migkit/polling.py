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
from typing import Generic, Protocol, TypeVar

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
        base = min(self.cap, max(self.first, age * self.growth))
        if self.jitter:
            base *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        return base


@dataclass(frozen=True)
class PollEvent(Generic[R]):
    """What a progress hook receives after each poll."""

    run: R
    polls: int
    elapsed: float
    next_poll_in: float | None  # None once the loop stops for this run


ProgressHook = Callable[[PollEvent[R]], None]


class MissedPolls(Generic[R]):
    """Polls a run, treating a failed poll (5xx, 429 or no answer, after the transport's own
    retries) as "no news" up to ``limit`` times in a row: a flaky poll must not end a wait
    for a run that is fine on the server."""

    def __init__(self, get: Callable[[R], R], limit: int = 5) -> None:
        self._get = get
        self._misses: dict[str, int] = {}
        self.limit = limit

    def __call__(self, run: R) -> R:
        try:
            fresh = self._get(run)
        except UnexpectedRedirect:
            raise  # an answer, and the next poll gets the same one
        except (ServerError, RateLimited, TransportError):
            misses = self._misses.get(run.id, 0) + 1
            self._misses[run.id] = misses
            if misses > self.limit:
                raise
            return run
        self._misses.pop(run.id, None)
        return fresh

    def following(self, run: R) -> Callable[[], R]:
        """A no-argument fetch for :func:`wait_for` that polls the latest state of ``run``."""
        latest = run

        def fetch() -> R:
            nonlocal latest
            latest = self(latest)
            return latest

        return fetch


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
    """Poll ``fetch`` until the run settles; raises :class:`WaitTimeout` after ``timeout``."""
    start = clock()
    polls = 0
    while True:
        run = fetch()
        polls += 1
        elapsed = clock() - start
        if settled(run, stop_on_attention):
            if on_progress:
                on_progress(PollEvent(run, polls, elapsed, None))
            return run
        delay = schedule.interval(elapsed)
        if timeout is not None and elapsed + delay > timeout:
            if on_progress:
                on_progress(PollEvent(run, polls, elapsed, None))
            raise WaitTimeout(run.id, run.status, elapsed)
        if on_progress:
            on_progress(PollEvent(run, polls, elapsed, delay))
        sleep(delay)


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
    spacing = 60.0 / per_minute if per_minute else 0.0
    due = [start + i * spacing for i in range(len(current))]
    polls = [0] * len(current)
    pending = {i for i, run in enumerate(current) if not settled(run, stop_on_attention)}
    while pending:
        index = min(pending, key=lambda i: due[i])
        wait = due[index] - clock()
        if wait > 0:
            if timeout is not None and due[index] - start > timeout:
                slow = current[index]
                raise WaitTimeout(slow.id, slow.status, clock() - start)
            sleep(wait)
        run = fetch(current[index])
        current[index] = run
        polls[index] += 1
        elapsed = clock() - start
        if settled(run, stop_on_attention):
            pending.discard(index)
            next_in = None
        else:
            next_in = max(schedule.interval(elapsed), len(pending) * spacing)
            due[index] = clock() + next_in
        if on_progress:
            on_progress(PollEvent(run, polls[index], elapsed, next_in))
    return current
