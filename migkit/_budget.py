"""The client-side request budget, and the one counter of requests sent.

The API allows about 100 requests per minute per key and route. :class:`RequestBudget` keeps a
client under that on its own side: every attempt the transport sends (retries included) first
takes a slot for its route, waiting while the route's window is full. A fleet of imports in
one process then spends the budget evenly instead of meeting 429s.

>>> budget = RequestBudget(limit=2, window=60)
>>> budget.acquire("GET /sources"), budget.acquire("GET /sources")
(0.0, 0.0)
>>> budget.used("GET /sources")
2
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RequestBudget:
    """A client-side rolling window per route: at most ``limit`` requests per ``window`` s.

    Shared by every thread of a client (or several clients); :meth:`acquire` waits for a free
    slot. ``margin`` is added to the window: the server counts a request when it arrives, a
    little after the client let it go, so two requests ``window`` seconds apart here may look
    closer there.
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
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _wait_for(self, route: str, now: float) -> float:
        # Under the lock: forget the hits that left the window; take a slot if one is free,
        # else say how long until the oldest hit leaves. Both use the same sum, hit + span:
        # tested as ``now - span`` instead, float rounding could keep a hit that the wait
        # computed as over, and the caller would go without a slot.
        span = self.window + self.margin
        hits = self._hits.setdefault(route, deque())
        while hits and hits[0] + span <= now:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            return 0.0
        return hits[0] + span - now

    def acquire(self, route: str) -> float:
        """Take a slot for ``route``, sleeping while the window is full; returns seconds waited."""
        waited = 0.0
        while True:
            # The sleep happens outside the lock, so other routes (and threads whose slot is
            # free) go on; after it the window is looked at again, as another thread may have
            # taken the slot that came free.
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
            now = self._clock()
            return sum(1 for t in hits if t + self.window + self.margin > now)

    @property
    def per_minute(self) -> int:
        """The budget per route as requests per minute (what poll pacing needs)."""
        return int(self.limit * 60 / self.window)


class SentCounter:
    """Requests sent, counted where each attempt goes out; safe across threads.

    >>> sent = SentCounter(); sent.add(); sent.add(); sent.value
    2
    """

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        """Count one attempt."""
        with self._lock:
            self._value += 1

    @property
    def value(self) -> int:
        """Attempts counted so far."""
        with self._lock:
            return self._value
