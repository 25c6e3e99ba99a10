"""``validate_file`` on an engine: the rules of :mod:`migkit.rules` as one expression.

Every rule means what it means in memory (``docs/validation.md``): ``required`` is blank
after ``str.isspace`` trimming, ``unique`` flags every repeat after the first (trimmed;
blanks never repeat; "first" by the row's position in the file), ``strict`` regexes are
Python ``re`` full matches, allowed values and links are exact. Regexes: on DuckDB, rows of
printable ASCII take RE2's answer (DuckDB's regex engine is RE2, as Arrow's is) and every
other row goes to Python ``re``, exactly as in memory; on Spark, whose regexes are Java's,
every row goes to Python ``re``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from migkit.header_healing import match_headers
from migkit.regex import fullmatch_arrow, python_pattern, re2_pattern
from migkit.rules import VIOLATION_COLUMNS, Template
from migkit.scale import text
from migkit.scale.engines import POSITION, Engine, union_all
from migkit.scale.progress import Stages
from migkit.scale.staging import Staged, stage, stage_frames


def _matcher(pattern: str) -> Any:
    def fullmatch(values: pa.Array) -> pa.Array:
        return pa.array(fullmatch_arrow(values, pattern), pa.bool_())

    return fullmatch


def fullmatch(engine: Engine, x: Any, pattern: str) -> Any:
    """Python ``re`` full match of ``pattern``; False for nulls."""
    import ibis

    python_pattern(pattern)  # a clear ValueError for an invalid pattern, before any work
    slow = engine.udf(_matcher(pattern), "migkit_regex", "boolean", key=pattern)
    anchored = re2_pattern(pattern)
    if engine.name != "duckdb" or anchored is None:
        return slow(x).fill_null(False)
    plain = x.re_search(text.PRINTABLE_ASCII).fill_null(True)
    return ibis.ifelse(plain, x.re_search(anchored), slow(x)).fill_null(False)


def run(
    engine: Engine,
    path: Any,
    spec: Template,
    *,
    links: Mapping[str, Iterable[Any]] | None = None,
    rows: tuple[list[str], Iterator[pd.DataFrame]] | None = None,
    progress: bool = True,
) -> Any:
    """:func:`migkit.validate_file` on ``engine``; the same report. ``rows``: the file's
    column names and its rows in frames, as ``validate_file`` reads a file that is not
    Parquet (staged as they come); a Parquet file is read by the engine."""
    from migkit.validation.files import FileValidationReport

    source = Path(path)
    with Stages(engine, progress) as stages:
        stages.start("staging", None)
        if rows is None:
            names = list(pq.read_schema(source).names)
            staged = stage(source, engine, "file")
        else:
            names = rows[0]
            staged = stage_frames(names, rows[1], engine, "file")
        match = match_headers(names, spec.column_names)
        stages.start("checking", staged.rows)
        parts, labels = _violations(engine, staged, spec, match.mapping, links or {})
        stages.start("writing", None)
        found = union_all(parts).order_by([POSITION, "n"]) if parts else None
        table = engine.to_pyarrow(found) if found is not None else None
    errors = _errors(table, labels)
    return FileValidationReport(
        path=source, template=spec, headers=match, rows=staged.rows, errors=errors
    )


def _violations(
    engine: Engine,
    staged: Staged,
    spec: Template,
    mapping: Mapping[str, str],
    links: Mapping[str, Iterable[Any]],
) -> tuple[list[Any], list[tuple[str, str, str]]]:
    """One table per (column, rule) that can fire: ``_pos``, ``n`` (its report order) and
    the raw ``value`` of each violating row; and each one's (column, rule, message)."""
    import ibis

    by_column = {column: header for header, column in mapping.items()}
    table = staged.table
    parts = []
    labels: list[tuple[str, str, str]] = []
    for column in spec.columns:
        header = by_column.get(column.name)
        x = table[staged.names[header]] if header is not None else ibis.null("string")
        empty = text.blank(x)
        checks: list[tuple[str, Any, str]] = []
        if column.required:
            checks.append(("required", empty, f"{column.name} is required but empty"))
        if column.unique and header is not None:
            trimmed = text.trim(x)
            rank = ibis.row_number().over(group_by=trimmed, order_by=table[POSITION])
            checks.append(("unique", (rank > 0) & ~empty, "Duplicate of an earlier value"))
        if column.pattern is not None and header is not None:
            miss = ~fullmatch(engine, x, column.pattern) & ~empty
            checks.append(("regex", miss, f"Does not match pattern {column.pattern}"))
        if column.allowed is not None and header is not None:
            miss = ~x.isin(list(column.allowed)).fill_null(False) & ~empty
            checks.append(("allowed", miss, column.allowed_message))
        if column.rule == "link" and header is not None and links.get(column.name) is not None:
            targets = _values_table(engine, links[column.name])
            miss = ~x.isin(targets.v).fill_null(False) & ~empty
            checks.append(("link", miss, column.link_message))
        for rule, mask, message in checks:
            number = len(labels)
            labels.append((column.name, rule, message))
            hits = table.mutate(_hit=mask, _value=x.cast("string"))
            hits = hits.filter(hits._hit)
            parts.append(
                hits.select(
                    hits[POSITION],
                    ibis.literal(number).cast("int64").name("n"),
                    hits._value.name("value"),
                )
            )
    return parts, labels


def _values_table(engine: Engine, values: Iterable[Any]) -> Any:
    from migkit.column_kernels import as_arrow

    array = as_arrow(pd.Series(list(values), dtype=object)).cast(pa.large_string())
    return engine.from_arrow(pa.table({"v": array}))


def _errors(table: pa.Table | None, labels: list[tuple[str, str, str]]) -> pd.DataFrame:
    if table is None or not table.num_rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in VIOLATION_COLUMNS})
    names = np.array(labels, dtype=object)
    part = np.asarray(table["n"].to_numpy(), dtype=np.int64)
    return pd.DataFrame(
        {
            "row": pd.Index(np.asarray(table[POSITION].to_numpy(), dtype=np.int64)),
            "column": names[part, 0],
            "rule": names[part, 1],
            "value": np.asarray(table["value"].to_numpy(zero_copy_only=False), dtype=object),
            "message": names[part, 2],
        }
    )
