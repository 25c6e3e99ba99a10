"""Where a sheet's rows live: Arrow record batches in SQLite, written and read in bulk.

Rows are kept per (sheet, run) as LZ4-compressed Arrow IPC blobs of up to :data:`CHUNK_ROWS`
rows in the ``row_chunks`` table: one string column per template column (in template order,
null for a blank cell) plus a boolean ``flagged`` column, with each blob's row and flagged
counts beside it so counts never read a blob. Beside each batch is its rows' ``export.csv``
lines, rendered when stored (:mod:`migkit.sandbox.csv_render`; LZ4), with where each line ends
and the rows' flags, so an export (:func:`chunks`) never decodes a batch. Workbook order is the
chunks' ids, then the rows inside each. Nothing here loops over rows in Python: a million-row
import is one bulk insert.

Both API generations share these functions; a "sheet id" is any string naming one table of rows
(Generation 1 uses the sheet's id).

>>> import pandas as pd, tempfile, pathlib
>>> from migkit.sandbox.store import Store
>>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "s.db")
>>> with store.write() as db:
...     insert_rows(db, "sheet", "run", pd.DataFrame({"A": ["x", None]}), [False, True])
2
>>> count_rows(store, "sheet", "valid"), count_rows(store, "sheet", "invalid")
(1, 1)
>>> [batch.column(0).to_pylist() for batch in batches(store, "sheet", "all")]
[['x', None]]
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit.column_kernels import as_arrow
from migkit.sandbox import csv_render
from migkit.sandbox.pipeline import ordered
from migkit.sandbox.store import Store

RowFilter = Literal["valid", "all", "invalid"]
ROW_FILTERS: tuple[RowFilter, ...] = get_args(RowFilter)
CHUNK_ROWS = 65_536
CHUNK_BYTES = 16 << 20  # fewer rows per chunk when rows are wide: blobs stay small
FLAGGED = "flagged"
# LZ4 shrinks text several times at GB/s: less to write into SQLite, and a smaller file.
IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")
CODEC = pa.Codec("lz4_raw")  # for the rendered CSV: ~1.5 GB/s to decompress

_WHERE = {"valid": " AND flagged_count < row_count", "all": "", "invalid": " AND flagged_count > 0"}


def insert_rows(
    db: sqlite3.Connection,
    sheet_id: str,
    run_id: str,
    frame: pd.DataFrame,
    flagged: Sequence[bool] | np.ndarray | pd.Series,
) -> int:
    """Append ``frame``'s rows (its columns in template order) to the sheet, marked by
    ``flagged`` (one bool per row), as rows of ``run_id``; returns how many were stored.

    Call it inside :meth:`Store.write` so the rows land with whatever else the run records.
    Cells become text; ``None``/``NaN``/``NA`` become null (a blank cell).
    """
    columns = [as_arrow(frame.iloc[:, i]).cast(pa.large_string()) for i in range(frame.shape[1])]
    mask = pa.array(np.asarray(flagged, dtype=bool))
    if len(mask) != len(frame):
        raise ValueError(f"flagged has {len(mask)} values for {len(frame)} rows")
    table = pa.Table.from_arrays(
        [*columns, mask], names=[*(str(i) for i in range(len(columns))), FLAGGED]
    )
    per_chunk = _rows_per_chunk(table)
    db.executemany(
        "INSERT INTO row_chunks (sheet_id, run_id, row_count, flagged_count, flags, csv_size,"
        " line_ends, csv, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (sheet_id, run_id, *record)
            for record in ordered(
                _record,
                (table.slice(start, per_chunk) for start in range(0, len(table), per_chunk)),
            )
        ),
    )
    return len(table)


def _record(rows: pa.Table) -> tuple[Any, ...]:
    # One chunk's columns: counts, flags, its export.csv rendering (LZ4, with line ends) when
    # the rendering checks out, and the Arrow batch itself.
    batch = _narrow(rows.combine_chunks().to_batches()[0])
    flags = np.asarray(batch.column(FLAGGED), dtype=np.uint8)
    text: bytes | None = None
    ends: bytes | None = None
    drawn = csv_render.rendered(batch.drop_columns([FLAGGED]))
    if drawn is not None and len(drawn[0]) < 2**31:  # line ends are 32-bit
        text, ends = CODEC.compress(drawn[0], asbytes=True), drawn[1].astype(np.int32).tobytes()
    size = len(drawn[0]) if text is not None and drawn is not None else None
    return (batch.num_rows, int(flags.sum()), flags.tobytes(), size, ends, text, _serialize(batch))


def delete_run_rows(db: sqlite3.Connection, run_id: str) -> None:
    """Remove every row ``run_id`` stored (inside :meth:`Store.write`)."""
    db.execute("DELETE FROM row_chunks WHERE run_id = ?", (run_id,))


def count_rows(store: Store, sheet_id: str, row_filter: RowFilter = "all") -> int:
    """How many of the sheet's rows pass ``row_filter`` (``valid``, ``all`` or ``invalid``)."""
    counted = {
        "valid": "row_count - flagged_count",
        "all": "row_count",
        "invalid": "flagged_count",
    }[row_filter]
    row = store.one(
        f"SELECT COALESCE(SUM({counted}), 0) FROM row_chunks WHERE sheet_id = ?", sheet_id
    )
    return int(row[0]) if row is not None else 0


@dataclass(frozen=True)
class Chunk:
    """One stored chunk as an export reads it: its rows' ``export.csv`` lines when they were
    rendered at insert (LZ4, with ``line_ends`` offsets), else the encoded Arrow ``batch``."""

    row_count: int
    flagged_count: int
    flags: np.ndarray  # bool per row
    line_ends: np.ndarray | None
    csv: bytes | None
    csv_size: int
    batch: bytes | None

    def text(self) -> bytes | None:
        """The rendered lines, decompressed (``None`` when the chunk has none)."""
        if self.csv is None:
            return None
        return bytes(CODEC.decompress(self.csv, self.csv_size, asbytes=True))


def chunks(store: Store, sheet_id: str, row_filter: RowFilter = "all") -> Iterator[Chunk]:
    """The stored chunks holding rows that pass ``row_filter``, in workbook order (the Arrow
    batch is read only for a chunk without rendered lines)."""
    sql = (
        "SELECT row_count, flagged_count, flags, csv_size, line_ends, csv,"
        " CASE WHEN csv IS NULL THEN batch END FROM row_chunks WHERE sheet_id = ?"
        + _WHERE[row_filter]
        + " ORDER BY id"
    )
    for rows, flagged, flags, size, ends, csv, batch in store.db.execute(sql, (sheet_id,)):
        yield Chunk(
            row_count=rows,
            flagged_count=flagged,
            flags=np.frombuffer(flags, dtype=np.uint8).astype(bool),
            line_ends=None if ends is None else np.frombuffer(ends, dtype=np.int32),
            csv=csv,
            csv_size=size or 0,
            batch=batch,
        )


def blobs(
    store: Store, sheet_id: str, row_filter: RowFilter = "all", *, exclude_run: str | None = None
) -> Iterator[bytes]:
    """The stored chunks holding rows that pass ``row_filter``, in workbook order, still
    encoded (:func:`decode` reads one); rows of ``exclude_run`` are left out."""
    sql = "SELECT batch FROM row_chunks WHERE sheet_id = ?" + _WHERE[row_filter]
    args: tuple[Any, ...] = (sheet_id,)
    if exclude_run is not None:
        sql += " AND run_id != ?"
        args += (exclude_run,)
    # One blob at a time: the cursor holds a single chunk, however big the sheet is.
    for (blob,) in store.db.execute(sql + " ORDER BY id", args):
        yield blob


def decode(blob: bytes, row_filter: RowFilter = "all") -> pa.RecordBatch:
    """One stored chunk's rows that pass ``row_filter``: the template's columns, named
    ``"0"``, ``"1"``, ... (no ``flagged`` column). Safe to call from any thread."""
    batch = pa.ipc.open_stream(pa.py_buffer(blob)).read_next_batch()
    flagged = batch.column(FLAGGED)
    data = batch.drop_columns([FLAGGED])
    if row_filter == "valid":
        return data.filter(pc.invert(flagged))
    if row_filter == "invalid":
        return data.filter(flagged)
    return data


def batches(
    store: Store, sheet_id: str, row_filter: RowFilter = "all", *, exclude_run: str | None = None
) -> Iterator[pa.RecordBatch]:
    """The sheet's rows passing ``row_filter`` in workbook order, as record batches of the
    template's columns (see :func:`decode`); rows of ``exclude_run`` are left out. Empty
    batches are skipped."""
    for blob in blobs(store, sheet_id, row_filter, exclude_run=exclude_run):
        data = decode(blob, row_filter)
        if data.num_rows:
            yield data


def column_values(
    store: Store, sheet_id: str, index: int, *, exclude_run: str | None = None
) -> pa.ChunkedArray:
    """Column ``index`` (template order) of every stored row of the sheet, flagged or not."""
    arrays = [
        b.column(index).cast(pa.large_string())
        for b in batches(store, sheet_id, exclude_run=exclude_run)
    ]
    return pa.chunked_array(arrays, pa.large_string())


def iter_rows(
    store: Store, sheet_id: str, row_filter: RowFilter = "all"
) -> Iterator[list[str | None]]:
    """The sheet's rows as lists of cells in template order (for per-row work such as the
    destination writer, which sends one request per row anyway)."""
    for batch in batches(store, sheet_id, row_filter):
        columns = [column.to_pylist() for column in batch.columns]
        yield from (list(row) for row in zip(*columns, strict=True))


def _narrow(batch: pa.RecordBatch) -> pa.RecordBatch:
    # 32-bit offsets within a chunk (a chunk is a few MB; a single cell is at most an upload):
    # a third smaller than large_string, and LZ4 then decodes several times faster.
    columns = [c.cast(pa.string()) if c.type == pa.large_string() else c for c in batch.columns]
    return pa.record_batch(columns, names=batch.schema.names)


def _rows_per_chunk(table: pa.Table) -> int:
    if not len(table):
        return 1
    per_row = max(1, int(table.nbytes) // len(table))
    return max(1, min(CHUNK_ROWS, CHUNK_BYTES // per_row))


def _serialize(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=IPC_OPTIONS) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())
