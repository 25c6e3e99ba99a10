"""A rolling-window rate limiter: at most ``limit`` requests per ``window`` seconds per bucket.

>>> rl = RollingWindowLimiter(limit=2, window=60.0)
>>> [rl.allow(("key", "GET /sources")) for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class RollingWindowLimiter:
    """Counts requests per bucket (the sandbox uses (API key, route)) over a rolling window.

    Rejected requests are not counted, so a client that backs off gets back in as soon as the
    oldest accepted request leaves the window.
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1:
            raise ValueError(f"rate limit must be at least 1 request per window, got {limit}")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, bucket: Hashable) -> bool:
        """Record a request in ``bucket`` and say whether it is within the limit."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True
