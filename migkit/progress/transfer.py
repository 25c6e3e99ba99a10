"""A byte counter for a transfer (an export download): tqdm's, shown after a second.

>>> with byte_progress("export.csv", enabled=False) as advance:
...     advance(1024)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def byte_progress(label: str, *, enabled: bool) -> Iterator[Callable[[int], object]]:
    """A context giving a function to call with each chunk's size; with ``enabled`` a byte
    counter appears after a second (quick transfers stay quiet), and only on a terminal or in
    a notebook (no carriage-return floods in logs)."""
    from tqdm.auto import tqdm

    with tqdm(
        unit="B",
        unit_scale=True,
        desc=label,
        disable=None if enabled else True,  # None: off when stderr is not a terminal
        delay=1.0,
        leave=False,
    ) as bar:
        yield bar.update
