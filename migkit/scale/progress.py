"""Progress on long engine work: one bar that names the stage (staging, pairing, comparing,
writing) and, on DuckDB, how far the running query is, as DuckDB reports it.

``tqdm.auto``: a terminal bar, or tqdm's widget bar in Jupyter. The bar appears only when a
stage takes more than a second, so small comparisons stay quiet.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from tqdm.auto import tqdm

from migkit.errors import EngineOutOfMemory

POLL_SECONDS = 0.5


class Stages:
    """A context manager: ``start(name, rows)`` opens each stage in turn."""

    def __init__(self, engine: Any, enabled: bool = True) -> None:
        self._engine = engine
        self._enabled = enabled
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stage = ""

    def __enter__(self) -> Stages:
        if self._enabled:
            self._bar = tqdm(
                total=100,
                desc=f"migkit on {self._engine.name}",
                unit="%",
                delay=1.0,
                leave=False,
                bar_format="{desc}: {bar} {n:.0f}% [{elapsed}]",
            )
            connection = getattr(self._engine, "connection", None)
            if connection is not None and hasattr(connection, "query_progress"):
                self._thread = threading.Thread(
                    target=self._poll, args=(connection,), daemon=True, name="migkit-progress"
                )
                self._thread.start()
        return self

    def start(self, stage: str, rows: int | None) -> None:
        """A new stage begins (``rows``: how many rows it reads, when known)."""
        self.stage = stage
        if self._bar is not None:
            what = f" {rows:,} rows" if rows else ""
            self._bar.set_description_str(
                f"migkit on {self._engine.name}: {stage}{what}", refresh=False
            )
            self._bar.update(-self._bar.n)

    def _poll(self, connection: Any) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                done = float(connection.query_progress())
            except Exception:  # the connection is busy or closed: try again later
                continue
            if done >= 0 and self._bar is not None:
                self._bar.update(min(done, 100.0) - self._bar.n)  # shown after its delay

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._bar is not None:
            self._bar.close()
        if exc is not None and type(exc).__name__ == "OutOfMemoryException":
            raise self._out_of_memory(exc) from None

    def _out_of_memory(self, exc: BaseException) -> EngineOutOfMemory:
        # DuckDB's own advice names SQL settings; this names migkit's.
        limit = getattr(self._engine, "memory_limit", None)
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return EngineOutOfMemory(
            f"{self._engine.name} ran out of memory while {self.stage or 'working'}"
            f" (memory_limit={limit!r}): pass migkit.scale.DuckDB(memory_limit='4GB') or"
            " more, or threads=1, and a temp_directory on a disk with room to spill."
            f" DuckDB said: {said}"
        )
