"""Read uploaded files (CSV, TSV, XLSX/XLS, JSON) into string-only tables for a run.

Every cell is kept as text exactly as written (no type inference); empty cells are ``None``.
Problems raise :class:`FileProblem` with a message that becomes the run's ``error``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from migkit.cells import cell_text
from migkit.read.limits import ReadError
from migkit.read.table import distinct_names
from migkit.read.workbook import workbook_rows
from migkit.sandbox import csv_arrow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
CONTENT_TYPES = ("text/csv", XLSX, XLS, "text/tab-separated-values", "application/json")


class FileProblem(Exception):
    """A file the run cannot read; the message says what to fix."""


@dataclass(frozen=True)
class Part:
    """One table read from an upload: a CSV, or one worksheet of a workbook."""

    name: str
    headers: list[str]
    frame: pd.DataFrame  # columns are positions 0..n-1, cells str or None (or ``str`` dtype)


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise FileProblem(
            f"{name} is not valid UTF-8 (byte 0x{bad} at offset {exc.start}); "
            "save it as CSV UTF-8 and upload it again"
        ) from None
    return text.removeprefix("\ufeff")


def _table(name: str, records: list[list[Any]], *, skip_empty: bool = True) -> Part:
    if not records or all(_cell(v) is None for v in records[0]):
        raise FileProblem(f"{name} is empty: it has no header row")
    headers = distinct_names([(_cell(v) or "").strip() for v in records[0]])
    width = len(headers)
    body = []
    for number, record in enumerate(records[1:], start=2):
        cells = [_cell(v) for v in record]
        if len(cells) > width and any(c is not None for c in cells[width:]):
            raise FileProblem(
                f"{name} line {number} has {len(cells)} fields but the header has {width}; "
                "quote cells that contain the delimiter"
            )
        if not record or (skip_empty and all(c is None for c in cells)):
            continue  # in a file, a blank line or a row of empty cells is not a row
        body.append((cells + [None] * width)[:width])
    frame = pd.DataFrame(body, columns=range(width), dtype=object)
    return Part(name=name, headers=headers, frame=frame)


def _cell(value: Any) -> str | None:
    try:
        return cell_text(value)
    except ValueError as exc:
        raise FileProblem(str(exc)) from None


def read_delimited(data: bytes, name: str, delimiter: str) -> list[Part]:
    """Parse RFC 4180 text (quotes, embedded newlines, CRLF) with ``delimiter``."""
    text = _decode(data, name)
    if not text.strip():
        raise FileProblem(f"{name} is empty: it has no header row")
    fast = csv_arrow.parse(data, text, delimiter)  # Arrow, wherever it agrees with csv below
    if fast is not None:
        headers = distinct_names([h.strip() for h in fast[0]])
        return [Part(name=name, headers=headers, frame=fast[1])]
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise FileProblem(f"{name} is not valid CSV ({exc}); check its quoting") from None
    return [_table(name, records)]


def read_workbook(data: bytes, name: str) -> list[Part]:
    """Every non-empty worksheet of an XLSX/XLS workbook, one part each, through the bounded
    reader :func:`migkit.read` uses: a sheet too big or too empty for its size (a stray cell
    at ``XFD1048576``) fails the run with a clear error instead of exhausting memory."""
    try:
        sheets = workbook_rows(data, name)
    except ReadError as exc:
        raise FileProblem(str(exc)) from None
    parts = []
    for sheet_name, sheet in sheets.items():
        records = [row for row in sheet.rows if any(_cell(v) is not None for v in row)]
        if records:
            parts.append(_table(str(sheet_name), records))
    if not parts:
        raise FileProblem(f"{name} is empty: no worksheet has a header row")
    return parts


def read_json(data: bytes, name: str) -> list[Part]:
    """A JSON array of objects, or JSON lines of objects."""
    text = _decode(data, name)
    try:
        parsed = json.loads(text)
        items = parsed if isinstance(parsed, list) else [parsed]
    except json.JSONDecodeError:
        try:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise FileProblem(f"{name} is not JSON or JSON lines ({exc})") from None
    return [rows_to_part(items, name, skip_empty=True)]


def rows_to_part(items: list[Any], name: str, *, skip_empty: bool = False) -> Part:
    """Row objects (inline ``rows`` or JSON files) as one table; keys in first-seen order.
    Inline rows are each a row, even an empty one; ``skip_empty`` drops them (files)."""
    keys: dict[str, None] = {}
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            raise FileProblem(f"{name} item {number} is not an object of column values")
        keys.update(dict.fromkeys(str(k) for k in item))
    headers = list(keys)
    records: list[list[Any]] = [headers]
    for item in items:
        records.append([item.get(k) for k in headers])
    if not headers:
        raise FileProblem(f"{name} has no columns")
    return _table(name, records, skip_empty=skip_empty)


def read_upload(path: Path, name: str, content_type: str) -> list[Part]:
    """Read one stored upload by its declared content type."""
    data = path.read_bytes()
    if content_type == "text/csv":
        return read_delimited(data, name, ",")
    if content_type == "text/tab-separated-values":
        return read_delimited(data, name, "\t")
    if content_type in (XLSX, XLS):
        return read_workbook(data, name)
    if content_type == "application/json":
        return read_json(data, name)
    raise FileProblem(f"{name} has unsupported content type {content_type}")
