"""Validate a CSV file larger than memory: streamed in batches, uniqueness across batches."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from migkit.headers import HeaderMatch, match_headers
from migkit.rules import Template, blank_mask, check
from migkit.validation.report import Prediction


@dataclass(frozen=True)
class FileValidationReport(Prediction):
    """What an import of a file is predicted to flag. ``errors`` uses 0-based data-row
    numbers (``row``); the file itself is never held in memory whole."""

    path: Path
    template: Template = field(repr=False)
    headers: HeaderMatch
    rows: int
    errors: pd.DataFrame = field(repr=False)


def validate_file(
    path: str | Path,
    template: Template | Mapping[str, Any],
    *,
    links: Mapping[str, Iterable[Any]] | None = None,
    batch_rows: int = 250_000,
    delimiter: str = ",",
    block_bytes: int = 1 << 24,
    engine: Any = "auto",
) -> FileValidationReport:
    """Validate a UTF-8 CSV/TSV in batches of ``batch_rows`` with bounded memory.

    Every cell is read as text (no type inference). Unique columns are checked across
    batches (the distinct values seen so far are kept, which is the one thing that grows).
    ``links`` maps link columns to their allowed values; ``block_bytes`` is how much text
    the reader parses at a time.

    ``engine``: ``"auto"`` (the default) streams a CSV here and runs a Parquet file on DuckDB;
    ``"duckdb"``, ``migkit.scale.DuckDB(memory_limit=...)`` or a Spark session run the same
    rules on that engine, with the same report (see ``docs/scale.md``).

    >>> report = migkit.validate_file("big_contacts.csv", contacts_template)  # doctest: +SKIP
    >>> report.predicted_flagged_rows  # doctest: +SKIP
    """
    spec = template if isinstance(template, Template) else Template.from_api(template)
    source = Path(path)
    if _on_engine(source, engine):
        from migkit.scale import validate as on_engine
        from migkit.scale.engines import engine_of

        where = engine_of("duckdb" if engine == "auto" else engine)
        return on_engine.run(where, source, spec, links=links, delimiter=delimiter)  # type: ignore[no-any-return]
    with source.open("rb") as handle:
        first = handle.readline().decode("utf-8-sig").rstrip("\r\n")
    names: list[str] = next(iter(csv.reader([first], delimiter=delimiter)), [])
    match = match_headers(names, spec.column_names)
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.large_string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    unique = [c.name for c in spec.columns if c.unique]
    seen: dict[str, set[str]] = {c: set() for c in unique}
    parts: list[pd.DataFrame] = []
    offset = 0
    pending: list[pd.DataFrame] = []
    for batch in reader:
        pending.append(batch.to_pandas(types_mapper=pd.ArrowDtype))
        if sum(len(p) for p in pending) < batch_rows:
            continue
        offset = _check_batch(pd.concat(pending), spec, match, links, seen, offset, parts)
        pending = []
    if pending:
        offset = _check_batch(pd.concat(pending), spec, match, links, seen, offset, parts)
    errors = pd.concat(parts, ignore_index=True) if parts else check(pd.DataFrame(), spec)
    return FileValidationReport(
        path=source, template=spec, headers=match, rows=offset, errors=errors
    )


def _on_engine(source: Path, engine: Any) -> bool:
    """True when the file is validated on an engine rather than streamed here."""
    if engine in ("pandas", "memory"):
        return False
    if engine == "auto":
        return source.suffix.lower() in (".parquet", ".pq", ".parq")
    return True


def _check_batch(
    raw: pd.DataFrame,
    spec: Template,
    match: HeaderMatch,
    links: Mapping[str, Iterable[Any]] | None,
    seen: dict[str, set[str]],
    offset: int,
    parts: list[pd.DataFrame],
) -> int:
    frame = pd.DataFrame(
        {column: raw[header].astype(pd.StringDtype()) for header, column in match.mapping.items()}
    )
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    existing = {c: seen[c] for c in seen}
    errors = check(frame, spec, links=links, existing=existing)
    parts.append(errors)
    for column in seen:
        if column in frame.columns:
            text = frame[column]
            keep = text[~blank_mask(text).to_numpy()].str.strip()
            seen[column].update(keep.dropna().unique().tolist())
    return offset + len(frame)
