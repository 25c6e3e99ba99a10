"""An ordered, bounded thread-pool map: the next few items are worked on while the caller
uses the current one (Arrow and zlib release the GIL, so two cores both work).

>>> list(ordered(lambda x: x * x, range(5)))
[0, 1, 4, 9, 16]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")
WORKERS = 2


def ordered(fn: Callable[[In], Out], items: Iterable[In], workers: int = WORKERS) -> Iterator[Out]:
    """``fn`` of each item, in order, at most ``workers`` items ahead of the caller (so memory
    stays a few items however many there are). Stopping early waits for the items in hand."""
    ahead: deque[Future[Out]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="migkit-sandbox-pool") as pool:
        for item in items:
            ahead.append(pool.submit(fn, item))
            if len(ahead) > workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
