"""Large report tables kept on the engine: counted, streamed in batches, written to Parquet.

A report with 50M changed cells does not need 50M rows in memory: its ``changed`` is then a
:class:`LazyTable`. ``len()`` counts on the engine, ``.head()`` and ``.batches()`` bring
rows over a batch at a time, ``.to_parquet(path)`` streams to a file, ``.to_pandas()``
materializes when it fits. Each batch looks exactly like the rows of the DataFrame the
in-memory path would have built.

>>> report.changed.to_parquet("changed.parquet")  # doctest: +SKIP
>>> for part in report.changed.batches(100_000):  # doctest: +SKIP
...     review(part)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

Post = Callable[[pa.Table], pd.DataFrame]


class LazyTable:
    """A report table on the engine (``expr``), shaped by ``post`` batch by batch."""

    def __init__(
        self,
        engine: Any,
        expr: Any,
        post: Post,
        rows: int | None = None,
        counted: dict[Any, str] | None = None,
        order: str | None = None,
        unordered: Any = None,
    ) -> None:
        self._engine = engine
        self._expr = expr
        self._post = post
        # Report columns whose counts the engine can make itself: {report column: its column}
        self._counted = counted or {}
        self._order = order  # the column giving the rows' order (ties in counts keep it)
        self._unordered = expr if unordered is None else unordered  # for counts: no sort
        if rows is not None:
            self.__dict__["rows"] = rows

    @cached_property
    def rows(self) -> int:
        """How many rows (counted on the engine once)."""
        return int(self._engine.count(self._unordered))

    def __len__(self) -> int:
        return self.rows

    @property
    def empty(self) -> bool:
        """True when the table has no row."""
        return self.rows == 0

    @property
    def columns(self) -> pd.Index:
        """The columns, as the DataFrame would have them."""
        return self.head(0).columns

    def batches(self, rows: int = 1 << 20) -> Iterator[pd.DataFrame]:
        """The table as DataFrames of about ``rows`` rows each, in order."""
        for batch in self._engine.batches(self._expr, rows):
            yield self._post(pa.Table.from_batches([batch]))

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` rows."""
        return self._post(self._engine.to_pyarrow(self._expr.limit(n)))

    def to_pandas(self) -> pd.DataFrame:
        """The whole table as one DataFrame (only when it fits in memory)."""
        return self._post(self._engine.to_pyarrow(self._expr))

    def to_parquet(self, path: str | Path) -> Path:
        """Stream the table to one Parquet file; returns the path."""
        target = Path(path)
        writer: pq.ParquetWriter | None = None
        try:
            for part in self.batches():
                table = pa.Table.from_pandas(part, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(str(target), table.schema, compression="zstd")
                writer.write_table(table)
            if writer is None:
                empty = pa.Table.from_pandas(self.head(0), preserve_index=False)
                pq.write_table(empty, str(target))
        finally:
            if writer is not None:
                writer.close()
        return target

    def __getitem__(self, column: Any) -> LazyColumn:
        return LazyColumn(self, column)

    def to_excel(self, writer: Any, **kwargs: Any) -> None:
        """Write to an Excel sheet (materializes: Excel holds about a million rows anyway)."""
        self.to_pandas().to_excel(writer, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<LazyTable: {self.rows:,} rows on {self._engine!r};"
            " .head(), .batches(), .to_parquet(path)>"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self.rows:,} rows on {self._engine!r}</p>" + self.head().to_html()


class LazyColumn:
    """One column of a :class:`LazyTable`, for the counts a report makes of it."""

    def __init__(self, table: LazyTable, column: Any) -> None:
        self._table = table
        self._column = column

    def value_counts(self, sort: bool = True) -> pd.Series:
        """How often each value occurs (on the engine, or streamed)."""
        own = self._table._counted.get(self._column)
        if own is not None:
            expr = self._table._unordered
            order = self._table._order or own
            found = self._table._engine.to_pyarrow(
                expr.group_by(own).aggregate(n=expr.count(), first=expr[order].min())
            ).sort_by("first")
            # pandas' order: by count, ties in order of first appearance
            counts = pd.Series(found["n"].to_pylist(), index=found[own].to_pylist(), dtype="int64")
            return counts.sort_values(ascending=False, kind="stable") if sort else counts
        counts = pd.Series(dtype="int64")
        for part in self._table.batches():
            counts = counts.add(part[self._column].value_counts(), fill_value=0)
        counts = counts.astype("int64")
        return counts.sort_values(ascending=False, kind="stable") if sort else counts

    def nunique(self) -> int:
        """How many distinct values (on the engine, or streamed keeping the values seen)."""
        own = self._table._counted.get(self._column)
        if own is not None:
            expr = self._table._unordered
            return int(self._table._engine.backend.execute(expr[own].nunique()))
        seen: set[Any] = set()
        for part in self._table.batches():
            seen.update(part[self._column].dropna().unique().tolist())
        return len(seen)
