"""Validate a file larger than memory: read by the rules :func:`migkit.read` applies, streamed
in batches, with uniqueness checked across batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from migkit.column_kernels import as_arrow
from migkit.header_healing import HeaderMatch, match_headers
from migkit.read import ReadError, ReadLimits, format_of, read
from migkit.read.limits import DEFAULT_LIMITS
from migkit.read.streamed import open_delimited
from migkit.read.table import distinct_names
from migkit.rules import Template, check
from migkit.validation.report import Prediction
from migkit.validation.seen import SeenValues

PARQUET = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class FileValidationReport(Prediction):
    """What an import of a file is predicted to flag. ``errors`` uses 0-based data-row
    numbers (``row``), as :func:`migkit.validate` does on ``migkit.read(path)``; a delimited
    file is never held in memory whole."""

    path: Path
    template: Template = field(repr=False)
    headers: HeaderMatch
    rows: int
    errors: pd.DataFrame = field(repr=False)


def _batches(
    path: Path,
    *,
    delimiter: str | None,
    encoding: str | None,
    sheet: str | int | None,
    block_bytes: int,
    limits: ReadLimits,
) -> tuple[list[str], Iterator[pd.DataFrame]]:
    """The file's column names (repeats made distinct, as ``read`` names them) and its rows
    in frames; text is streamed, workbooks and JSON are read whole."""
    fmt = format_of(path.name)
    if fmt in ("csv", "tsv"):
        rows, _ = open_delimited(
            lambda: path.open("rb"),
            path.name,
            fmt,
            encoding=encoding,
            delimiter=delimiter,
            limits=limits,
            block_bytes=block_bytes,
        )
        return distinct_names(rows.header), rows.frames()
    frame = read(path, sheet=sheet, limits=limits)
    if isinstance(frame, dict):
        raise ReadError(f"{path.name} has several sheets ({', '.join(frame)}); pass sheet=...")
    return [str(c) for c in frame.columns], iter([frame])


def validate_file(
    path: str | Path,
    template: Template | Mapping[str, Any],
    *,
    links: Mapping[str, Iterable[Any]] | None = None,
    batch_rows: int = 250_000,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    block_bytes: int = 1 << 24,
    limits: ReadLimits = DEFAULT_LIMITS,
    engine: Any = "auto",
) -> FileValidationReport:
    """Validate a file in batches of ``batch_rows`` with bounded memory, reading it exactly as
    :func:`migkit.read` does (encoding, delimiter, header position, short and empty rows), so
    the answer is the one ``migkit.validate(migkit.read(path), template)`` gives.

    CSV/TSV is streamed; workbooks and JSON are read whole (``sheet`` picks a sheet). Unique
    columns are checked across batches: the distinct values seen so far are kept, compactly
    (:class:`~migkit.validation.seen.SeenValues`: each value's UTF-8 plus 16 bytes), the one
    thing that grows; the work per batch does not grow with the batches before it. ``links``
    maps link columns to their allowed values; ``block_bytes`` is how much text the parser
    takes at a time (a record must fit in it).

    ``engine``: ``"auto"`` (the default) streams a CSV here and runs a Parquet file on DuckDB;
    ``"duckdb"``, ``migkit.scale.DuckDB(memory_limit=...)`` or a Spark session run the same
    rules on that engine, with the same report (see ``docs/scale.md``); any other file is
    read here exactly as above and its rows staged on the engine.

    >>> report = migkit.validate_file("big_contacts.csv", contacts_template)  # doctest: +SKIP
    >>> report.predicted_flagged_rows  # doctest: +SKIP
    """
    spec = template if isinstance(template, Template) else Template.from_api(template)
    source = Path(path)
    if not source.is_file():
        raise ReadError(f"no file at {str(source)!r}")
    parquet = source.suffix.lower() in PARQUET
    if engine not in ("pandas", "memory") and (parquet or engine != "auto"):
        from migkit.scale import validate as on_engine
        from migkit.scale.engines import engine_of

        where = engine_of("duckdb" if engine == "auto" else engine)
        rows = None
        if not parquet:
            rows = _batches(
                source,
                delimiter=delimiter,
                encoding=encoding,
                sheet=sheet,
                block_bytes=block_bytes,
                limits=limits,
            )
        return on_engine.run(where, source, spec, links=links, rows=rows)  # type: ignore[no-any-return]
    names, frames = _batches(
        source,
        delimiter=delimiter,
        encoding=encoding,
        sheet=sheet,
        block_bytes=block_bytes,
        limits=limits,
    )
    match = match_headers(names, spec.column_names)
    seen = {c.name: SeenValues() for c in spec.columns if c.unique}
    parts: list[pd.DataFrame] = []
    offset = 0
    pending: list[pd.DataFrame] = []
    waiting = 0  # rows in pending
    for frame in frames:
        pending.append(frame)
        waiting += len(frame)
        if waiting < batch_rows:
            continue
        offset = _check_batch(pending, names, spec, match, links, seen, offset, parts)
        pending, waiting = [], 0
    if pending:
        offset = _check_batch(pending, names, spec, match, links, seen, offset, parts)
    found = [p for p in parts if len(p)] or parts[:1]
    errors = pd.concat(found, ignore_index=True) if found else check(pd.DataFrame(), spec)
    # a batch whose values were all null gave an object column: infer as one check would
    errors = errors.infer_objects() if len(found) > 1 else errors
    return FileValidationReport(
        path=source, template=spec, headers=match, rows=offset, errors=errors
    )


def _check_batch(
    pending: list[pd.DataFrame],
    names: list[str],
    spec: Template,
    match: HeaderMatch,
    links: Mapping[str, Iterable[Any]] | None,
    seen: dict[str, SeenValues],
    offset: int,
    parts: list[pd.DataFrame],
) -> int:
    """Check the rows of ``pending`` (the next batch, numbered from ``offset``) and append
    their violations to ``parts``; a unique value counts as a repeat when ``seen`` holds it
    from an earlier batch, and this batch's values join ``seen``."""
    raw = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
    position = {name: i for i, name in enumerate(names)}
    index = pd.RangeIndex(offset, offset + len(raw))
    frame = pd.DataFrame(
        {column: raw.iloc[:, position[header]].array for header, column in match.mapping.items()},
        index=index,  # the rows count even when no header matched a column
    )
    earlier = {c: seen[c].update(as_arrow(frame[c])) for c in seen if c in frame.columns}
    parts.append(check(frame, spec, links=links, earlier=earlier))
    return offset + len(raw)
