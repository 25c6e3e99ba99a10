"""Inputs by reference, staged for an engine with each row's position kept.

A side may be a DataFrame, a path (CSV read as migkit reads it, or Parquet: one file, a
folder of files, or a list), an Arrow table or dataset, or an engine table wrapped in
:class:`Ordered` (an engine table has no order of its own, and migkit never invents one).
Staging gives one engine table of canonical text (:mod:`migkit.reconcile.canonical`) with
``_pos``, the row's position: Parquet's own row order (DuckDB's ``file_row_number``, Spark's
``_metadata.row_index``), a CSV's line order (streamed to Parquet first, in bounded memory),
or the frame's row order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from migkit.column_kernels import as_arrow
from migkit.errors import UsageError
from migkit.export_parquet import csv_to_parquet
from migkit.reconcile.canonical import Kind, canonical
from migkit.scale.engines import POSITION, Engine, union_all

Label = Hashable
PARQUET = (".parquet", ".pq", ".parq")
CSV = {".csv": ",", ".txt": ",", ".tsv": "\t"}
BATCH_ROWS = 1 << 18


@dataclass(frozen=True)
class Ordered:
    """An engine table (an Ibis table, a DuckDB relation, a Spark DataFrame) and the column
    that holds each row's position, which says its order.

    >>> migkit.reconcile(Ordered(spark_df, by="line"), "export.parquet", key="Email",
    ...                  engine=spark)  # doctest: +SKIP
    """

    table: Any
    by: str


@dataclass(frozen=True)
class Staged:
    """One side on an engine: ``table`` has ``_pos`` and one text column per label
    (``names[label]``); ``frame`` is the caller's DataFrame when one was given; ``nbytes``
    the size of its text uncompressed, when known (not for engine tables)."""

    table: Any
    labels: tuple[Label, ...]
    names: dict[Label, str]
    kinds: dict[Label, Kind]
    rows: int
    frame: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    source: str = ""
    by_name: dict[str, Label] = field(default_factory=dict)
    nbytes: int | None = None

    def column(self, label: Label) -> Any:
        """The engine column of ``label``."""
        return self.table[self.names[label]]

    def row_labels(self, positions: np.ndarray) -> np.ndarray:
        """Row labels at ``positions``: the frame's own, or the positions themselves."""
        if self.frame is None:
            return np.asarray(positions, dtype=object)
        return np.asarray(self.frame.index[positions], dtype=object)


def stage(value: Any, engine: Engine, name: str) -> Staged:
    """``value`` (one side, called ``name`` in messages) as a :class:`Staged` table."""
    if isinstance(value, Staged):
        return value
    if isinstance(value, pd.DataFrame):
        return _from_frame(value, engine, name)
    if isinstance(value, str | Path) or _is_path_list(value):
        return _from_paths(value, engine, name)
    if isinstance(value, pa.Table):
        return _from_batches(value.schema, value.to_batches(BATCH_ROWS), engine, name)
    if isinstance(value, Ordered):
        return _from_engine_table(value, engine, name)
    kind = type(value).__module__.split(".")[0]
    if kind == "pyarrow" and hasattr(value, "to_batches") and hasattr(value, "schema"):
        return _from_dataset(value, engine, name)
    if kind in ("ibis", "duckdb", "pyspark"):
        raise UsageError(
            f"{name} is an engine table, which has no row order of its own: pass"
            f" migkit.scale.Ordered(table, by='column holding each row position'), or a"
            " Parquet path"
        )
    raise UsageError(
        f"{name} must be a DataFrame, a CSV or Parquet path, an Arrow table or dataset, or"
        f" migkit.scale.Ordered(engine_table, by=...), not {type(value).__name__}"
    )


def by_reference(value: Any) -> bool:
    """True for what :func:`stage` takes besides a DataFrame: paths, Arrow tables and
    datasets, engine tables."""
    if isinstance(value, str | Path | pa.Table | Ordered | Staged) or _is_path_list(value):
        return True
    kind = type(value).__module__.split(".")[0]
    return kind in ("ibis", "duckdb", "pyspark") or (
        kind == "pyarrow" and hasattr(value, "to_batches") and hasattr(value, "schema")
    )


def _is_path_list(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, str | Path) for v in value)
    )


def _from_frame(frame: pd.DataFrame, engine: Engine, name: str) -> Staged:
    labels = tuple(frame.columns)
    names: dict[Label, str] = {label: f"c{i}" for i, label in enumerate(labels)}
    arrays: dict[str, pa.Array] = {POSITION: pa.array(np.arange(len(frame), dtype=np.int64))}
    kinds: dict[Label, Kind] = {}
    notes = []
    for i, label in enumerate(labels):
        found = canonical(frame.iloc[:, i].reset_index(drop=True))
        arrays[names[label]] = found.text.cast(pa.large_string())
        kinds[label] = found.kind
        if found.note:
            notes.append(f"{name} {label}: {found.note}")
    staged = pa.table(arrays)
    table = engine.from_arrow(staged)
    return Staged(
        table, labels, names, kinds, len(frame), frame, tuple(notes), name, nbytes=staged.nbytes
    )


def _from_paths(value: Any, engine: Engine, name: str) -> Staged:
    paths = [Path(p) for p in (value if isinstance(value, list | tuple) else [value])]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in PARQUET)
        elif not path.exists():
            raise UsageError(f"{name}: no file at {path}")
        else:
            files.append(path)
    if not files:
        raise UsageError(f"{name}: {value} holds no Parquet file")
    staged: list[Path] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix in CSV:
            target = engine.staging_path(path.stem)
            csv_to_parquet(path, target, name=path.name, delimiter=CSV[suffix])
            staged.append(target)
        elif suffix in PARQUET:
            staged.append(path)
        else:
            raise UsageError(
                f"{name}: {path.name} is neither CSV (.csv, .tsv, .txt) nor Parquet (.parquet)"
            )
    return _from_parquet(staged, engine, name)


def _from_parquet(files: Sequence[Path], engine: Engine, name: str) -> Staged:
    schema = pq.read_schema(files[0])
    if not all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in schema.types):
        # Numbers, dates, booleans: canonical text, batch by batch (bounded memory).
        batches = (b for f in files for b in pq.ParquetFile(f).iter_batches(BATCH_ROWS))
        return _from_batches(schema, batches, engine, name)
    labels: tuple[Label, ...] = tuple(schema.names)
    names: dict[Label, str] = {label: f"c{i}" for i, label in enumerate(labels)}
    parts = []
    offset = 0
    for path in files:
        if pq.read_schema(path).names != list(labels):
            raise UsageError(f"{name}: {path.name} has other columns than {files[0].name}")
        table = engine.read_parquet(path)
        table = table.select(
            (table[POSITION] + offset).cast("int64").name(POSITION),
            *[table[label].cast("string").name(names[label]) for label in labels],
        )
        parts.append(table)
        offset += pq.ParquetFile(path).metadata.num_rows
    kinds: dict[Label, Kind] = dict.fromkeys(labels, "text")
    nbytes = _parquet_bytes(files)
    return Staged(union_all(parts), labels, names, kinds, offset, None, (), name, nbytes=nbytes)


def _parquet_bytes(files: Sequence[Path]) -> int:
    # The files' data uncompressed, from their footers.
    total = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return total


def _from_dataset(dataset: Any, engine: Engine, name: str) -> Staged:
    files = getattr(dataset, "files", None)
    fmt = type(getattr(dataset, "format", None)).__name__
    if files and fmt == "ParquetFileFormat":
        return _from_parquet([Path(f) for f in files], engine, name)
    return _from_batches(dataset.schema, dataset.to_batches(batch_size=BATCH_ROWS), engine, name)


def _from_batches(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], engine: Engine, name: str
) -> Staged:
    # Canonical text per batch (every rule of canonical text is value by value), written to
    # one staged Parquet file with positions.
    labels = tuple(schema.names)
    names: dict[Label, str] = {label: f"c{i}" for i, label in enumerate(labels)}
    target = engine.staging_path(name)
    out_schema = pa.schema(
        [(POSITION, pa.int64()), *[(names[label], pa.large_string()) for label in labels]]
    )
    kinds: dict[Label, Kind] = {}
    notes: dict[str, str] = {}
    rows = 0
    with pq.ParquetWriter(target, out_schema, compression="zstd") as writer:
        for batch in _nonempty(batches):
            frame = batch.to_pandas()
            arrays = [pa.array(np.arange(rows, rows + len(frame), dtype=np.int64))]
            for i, label in enumerate(labels):
                found = canonical(frame.iloc[:, i])
                arrays.append(found.text.cast(pa.large_string()))
                kinds.setdefault(label, found.kind)
                if found.note:
                    notes.setdefault(f"{name} {label}", found.note)
            writer.write_batch(pa.record_batch(arrays, schema=out_schema))
            rows += len(frame)
    table = engine.backend.read_parquet(str(target))
    kinds = {label: kinds.get(label, "text") for label in labels}
    lines = tuple(f"{where}: {note}" for where, note in notes.items())
    nbytes = _parquet_bytes([target])
    return Staged(table, labels, names, kinds, rows, None, lines, name, nbytes=nbytes)


def stage_frames(
    names: Sequence[str], frames: Iterable[pd.DataFrame], engine: Engine, name: str
) -> Staged:
    """Rows read here (``migkit.read``'s rules, frame by frame, columns by position) staged
    on ``engine`` in bounded memory, positions in the order they come."""
    schema = pa.schema([(n, pa.large_string()) for n in names])

    def batches() -> Iterator[pa.RecordBatch]:
        for frame in frames:
            arrays = [as_arrow(frame.iloc[:, i]).cast(pa.large_string()) for i in range(len(names))]
            yield pa.record_batch(arrays, schema=schema)

    return _from_batches(schema, batches(), engine, name)


def _nonempty(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if batch.num_rows:
            yield batch


def _from_engine_table(value: Ordered, engine: Engine, name: str) -> Staged:
    table = value.table
    if type(table).__module__.split(".")[0] != "ibis":
        table = engine.backend.table(_register(table, engine))
    if value.by not in table.columns:
        raise UsageError(f"{name}: Ordered(by={value.by!r}) names no column of the table")
    labels = tuple(c for c in table.columns if c != value.by)
    names: dict[Label, str] = {label: f"c{i}" for i, label in enumerate(labels)}
    import ibis

    # The position column may have gaps (line numbers, ids): its rank is the position.
    pos = ibis.row_number().over(order_by=table[value.by])
    staged = table.select(
        pos.cast("int64").name(POSITION),
        *[table[label].cast("string").name(names[label]) for label in labels],
    )
    staged = engine.materialize(staged)
    rows = engine.count(staged)
    return Staged(staged, labels, names, dict.fromkeys(labels, "text"), rows, None, (), name)


def _register(table: Any, engine: Engine) -> str:
    from migkit.scale.engines import _names as counter

    name = f"migkit_input_{next(counter)}"
    if hasattr(table, "createOrReplaceTempView"):  # a Spark DataFrame
        table.createOrReplaceTempView(name)
    else:  # a DuckDB relation
        engine.backend.con.register(name, table)
    return name
