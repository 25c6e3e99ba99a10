"""The engines migkit runs its frame operations on: DuckDB in process, Spark for a cluster.

Both are driven through Ibis, so one expression of each algorithm runs on either. An engine
knows how to register migkit's Arrow functions with itself (:meth:`Engine.udf`), read a
Parquet file keeping each row's position, materialize an intermediate result, and run.

>>> engine = DuckDB(memory_limit="1GB")  # doctest: +SKIP
>>> migkit.reconcile("source.parquet", "export.parquet", key="Email",
...                  engine=engine)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from migkit.errors import UsageError

POSITION = "_pos"  # each staged row's position in its input (0-based)
_names = itertools.count()


def _as_array(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_string(values.type):
        values = values.cast(pa.large_string())
    return values


class Engine:
    """What the algorithms need from an engine (see :class:`DuckDB` and :class:`Spark`)."""

    name = "engine"
    backend: Any

    def __init__(self, staging_dir: str | Path | None = None) -> None:
        self._owned: tempfile.TemporaryDirectory[str] | None = None
        if staging_dir is None:
            self._owned = tempfile.TemporaryDirectory(prefix="migkit-scale-")
            staging_dir = self._owned.name
        self.staging_dir = Path(staging_dir)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self._udfs: dict[tuple[Any, str], Any] = {}

    def staging_path(self, stem: str) -> Path:
        """A new file name in the staging folder."""
        return self.staging_dir / f"{stem}-{next(_names)}.parquet"

    def udf(
        self,
        fn: Callable[..., pa.Array],
        name: str,
        returns: str,
        *,
        arity: int = 1,
        key: Any = None,
    ) -> Any:
        """``fn`` (``arity`` Arrow text arrays in, one Arrow array out, value by value) as a
        function of the engine; registered once per ``(key, name)`` (``key``: what ``fn``
        was made from, ``fn`` itself by default)."""
        cache = (fn if key is None else key, name)
        if cache not in self._udfs:
            self._udfs[cache] = self._make_udf(fn, f"{name}_{next(_names)}", returns, arity)
        return self._udfs[cache]

    def _make_udf(self, fn: Callable[..., pa.Array], name: str, returns: str, arity: int) -> Any:
        raise NotImplementedError

    def read_parquet(self, path: Path) -> Any:
        """The Parquet file as a table with its rows' positions in ``_pos``."""
        raise NotImplementedError

    def from_arrow(self, table: pa.Table) -> Any:
        """An Arrow table as an engine table (it carries its own ``_pos``)."""
        path = self.staging_path("frame")
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return self.backend.read_parquet(str(path))

    def materialize(self, expr: Any) -> Any:
        """``expr`` computed once and kept (spilled to disk when large)."""
        return expr.cache()

    def release(self, table: Any) -> None:
        """Forget a table :meth:`materialize` kept (its memory and spill files go)."""

    def join_parts(self, nbytes: int | None) -> int:
        """In how many parts (by a hash of the key) to run a join of inputs of ``nbytes``
        text (None: unknown): 1 unless the engine cannot spill a larger join itself."""
        return 1

    def count(self, expr: Any) -> int:
        """The rows of ``expr``."""
        return int(self.backend.execute(expr.count()))

    def to_pyarrow(self, expr: Any) -> pa.Table:
        """``expr`` as one Arrow table (for small results)."""
        table: pa.Table = self.backend.to_pyarrow(expr)
        return table

    def batches(self, expr: Any, rows: int) -> Any:
        """``expr`` as a stream of Arrow record batches of about ``rows`` rows."""
        return self.backend.to_pyarrow_batches(expr, chunk_size=rows)

    def to_parquet(self, expr: Any, path: str | Path) -> None:
        """Write ``expr`` to one Parquet file, streaming."""
        import pyarrow.parquet as pq

        reader = self.batches(expr, 1 << 20)
        with pq.ParquetWriter(str(path), reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)

    def close(self) -> None:
        """Remove the staged files this engine made."""
        if self._owned is not None:
            with contextlib.suppress(OSError):
                self._owned.cleanup()


class DuckDB(Engine):
    """DuckDB in this process, with a hard memory cap; what does not fit spills to disk.

    ``memory_limit`` caps DuckDB's own memory (``"1GB"``, ``"4GB"``...), ``temp_directory``
    is where it spills (the staging folder by default), ``threads`` how many cores it uses
    (all by default). ``connection`` passes an existing ``duckdb`` connection instead.
    """

    name = "duckdb"

    def __init__(
        self,
        memory_limit: str = "1GB",
        *,
        temp_directory: str | Path | None = None,
        threads: int | None = None,
        connection: Any = None,
        staging_dir: str | Path | None = None,
    ) -> None:
        super().__init__(staging_dir)
        import duckdb
        import ibis

        con = connection if connection is not None else duckdb.connect()
        if connection is None:
            con.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            spill = Path(temp_directory) if temp_directory else self.staging_dir / "spill"
            con.execute(f"SET temp_directory = '{_sql_text(str(spill))}'")
            con.execute("SET preserve_insertion_order = false")
            if threads is not None:
                con.execute(f"SET threads = {int(threads)}")
        con.execute("SET enable_progress_bar = false")
        self.memory_limit = memory_limit
        self.connection = con
        self.backend = ibis.duckdb.from_connection(con)

    def _make_udf(self, fn: Callable[..., pa.Array], name: str, returns: str, arity: int) -> Any:
        import ibis
        import ibis.expr.datatypes as dt

        def one(a: Any) -> Any:
            return fn(_as_array(a))

        def two(a: Any, b: Any) -> Any:
            return fn(_as_array(a), _as_array(b))

        call = one if arity == 1 else two  # Ibis reads the parameters from the signature
        call.__name__ = name
        return ibis.udf.scalar.pyarrow(
            call,
            name=name,
            signature=((dt.string,) * arity, dt.dtype(returns)),
            null_handling="special",  # nulls reach the function; it may return them
        )

    def read_parquet(self, path: Path) -> Any:
        table = self.backend.read_parquet(str(path), file_row_number=True)
        return table.rename({POSITION: "file_row_number"})

    def materialize(self, expr: Any) -> Any:
        # A temporary table: DuckDB keeps it in its buffer pool and spills it past the cap.
        return self.backend.create_table(f"migkit_step_{next(_names)}", expr, temp=True)

    def join_parts(self, nbytes: int | None) -> int:
        # DuckDB (2.0) spills a full outer join to disk, but not without bound: joining two
        # 100M-row exports (6.3 GiB of text) under a 1 GB cap runs out of memory, even as a
        # hand-written query, while 20M rows (1.3 GiB) complete within it. Past 1.5 times
        # the cap the join runs in parts, each a key-hash slice of both sides within it.
        if nbytes is None:
            return 1
        return max(1, -(-nbytes // int(1.5 * _size_bytes(self.memory_limit))))

    def release(self, table: Any) -> None:
        self.connection.execute(f'DROP TABLE IF EXISTS temp.main."{table.get_name()}"')

    def from_arrow(self, table: pa.Table) -> Any:
        name = f"migkit_frame_{next(_names)}"
        self.connection.register(name, table)
        return self.backend.table(name)

    def batches(self, expr: Any, rows: int) -> Any:
        # DuckDB streams the result; at most a batch is in Python at a time.
        self.backend._register_udfs(expr)
        relation = self.connection.sql(str(self.backend.compile(expr)))
        return relation.to_arrow_reader(rows)

    def __repr__(self) -> str:
        return f"DuckDB(memory_limit={self.memory_limit!r})"


class Spark(Engine):
    """A Spark session you pass in (local mode or a cluster).

    Staged files go to ``staging_dir``; on a cluster make it a folder every executor can read
    (a shared file system or object store path), or pass Parquet paths and Spark DataFrames
    (through :func:`migkit.scale.ordered`) that already live there. migkit must be installed
    where the executors run Python: the registered functions are migkit's own code.
    """

    name = "spark"

    def __init__(self, session: Any, *, staging_dir: str | Path | None = None) -> None:
        super().__init__(staging_dir)
        import ibis

        self.session = session
        self.backend = ibis.pyspark.connect(session)
        self._kept: dict[str, Any] = {}

    def _make_udf(self, fn: Callable[..., pa.Array], name: str, returns: str, arity: int) -> Any:
        import ibis
        import ibis.expr.datatypes as dt

        def arrow(values: pd.Series) -> pa.Array:
            return pa.array(values, from_pandas=True, type=pa.large_string())

        def one(a: pd.Series) -> pd.Series:
            return pd.Series(fn(arrow(a)).to_pandas(), index=a.index)

        def two(a: pd.Series, b: pd.Series) -> pd.Series:
            return pd.Series(fn(arrow(a), arrow(b)).to_pandas(), index=a.index)

        call = one if arity == 1 else two  # Ibis reads the parameters from the signature
        call.__name__ = name
        return ibis.udf.scalar.pandas(
            call, name=name, signature=((dt.string,) * arity, dt.dtype(returns))
        )

    def read_parquet(self, path: Path) -> Any:
        frame = (
            self.session.read.parquet(str(path))
            .select("*", "_metadata.row_index")
            .withColumnRenamed("row_index", POSITION)
        )
        name = f"migkit_{next(_names)}"
        frame.createOrReplaceTempView(name)
        return self.backend.table(name)

    def materialize(self, expr: Any) -> Any:
        # Spark's cache (memory, spilling to the executors' disks): the plan below it runs once.
        self.backend._register_udfs(expr)  # Ibis registers them only when it executes
        frame = self.session.sql(str(self.backend.compile(expr))).persist()
        name = f"migkit_step_{next(_names)}"
        frame.createOrReplaceTempView(name)
        self._kept[name] = frame
        return self.backend.table(name)

    def release(self, table: Any) -> None:
        frame = self._kept.pop(table.get_name(), None)
        if frame is not None:
            frame.unpersist()

    def close(self) -> None:
        for frame in self._kept.values():
            with contextlib.suppress(Exception):
                frame.unpersist()
        self._kept.clear()
        super().close()

    def __repr__(self) -> str:
        return f"Spark({self.session!r})"


def _checked_size(text: str) -> str:
    _size_bytes(text)  # refuses what is not a size
    return text.strip()


def _size_bytes(text: str) -> int:
    # DuckDB's reading of a size: KB, MB... are powers of 1000, KiB, MiB... of 1024.
    import re

    found = (
        re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])(i?)B\s*", text)
        if isinstance(text, str)
        else None
    )
    if found is None:
        raise UsageError(f"memory_limit must be a size such as '1GB' or '512MB', not {text!r}")
    number, unit, binary = found.groups()
    return int(float(number) * (1024 if binary else 1000) ** ("KMGT".index(unit) + 1))


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def engine_of(engine: Any, *, memory_limit: str | None = None) -> Engine:
    """The engine ``engine`` names: ``"duckdb"``, ``"spark"`` (the active session), an
    :class:`Engine`, or a ``SparkSession``."""
    if isinstance(engine, Engine):
        return engine
    if engine == "duckdb":
        return DuckDB(memory_limit or os.environ.get("MIGKIT_MEMORY_LIMIT", "1GB"))
    if engine == "spark":
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is None:
            raise UsageError(
                "engine='spark' needs a running Spark session: pass engine=spark_session"
                " (or migkit.scale.Spark(spark_session))"
            )
        return Spark(session)
    if type(engine).__name__ == "SparkSession":
        return Spark(engine)
    raise UsageError(
        f"engine={engine!r} is not an engine; use 'auto', 'pandas', 'duckdb', 'spark', a"
        " SparkSession, or migkit.scale.DuckDB(memory_limit=...)"
    )


def owned(engine: Any) -> bool:
    """True when migkit made the engine from a name (and closes it after)."""
    return not isinstance(engine, Engine)


def union_all(tables: Sequence[Any]) -> Any:
    """The tables one after another."""
    out = tables[0]
    for table in tables[1:]:
        out = out.union(table, distinct=False)
    return out
