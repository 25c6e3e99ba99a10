"""``migkit.read``: whatever the customer sent, as DataFrames of text cells.

CSV and TSV (any delimiter, UTF-8 with or without BOM, UTF-16, cp1252/latin-1), Excel
workbooks (``.xlsx``/``.xlsm``/``.xls`` through calamine, each sheet measured before it is
built; several sheets give a dict of frames) and JSON (see :mod:`migkit.read.json_rows` for
the shapes read). Every cell is kept as the customer wrote it, as text: no type guessing, so
leading zeros, long ids and dates survive. What was detected and mended (format, encoding, BOM,
delimiter, sheet, header row, lines skipped above it, repeated header names, short and empty
rows) is in ``frame.attrs["migkit"]``. Every cap is a field of :class:`ReadLimits`.

>>> import io
>>> frame = read(io.BytesIO("Id;Name\\r\\n007;Zoë\\r\\n".encode("cp1252")), name="c.csv")
>>> frame.iloc[0].tolist(), frame.attrs["migkit"]["encoding"], frame.attrs["migkit"]["delimiter"]
(['007', 'Zoë'], 'cp1252', ';')
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import IO, Any

import pandas as pd

from migkit.errors import MigkitWarning
from migkit.read.delimited import DelimitedRows, sniff_delimiter, text_csv
from migkit.read.encoding import Encoding, decode, detect_encoding
from migkit.read.json_rows import rows_of
from migkit.read.limits import DEFAULT_LIMITS, ReadError, ReadLimits
from migkit.read.streamed import open_delimited
from migkit.read.table import distinct_names, repeated, text_table
from migkit.read.workbook import workbook_rows

__all__ = [
    "FORMATS",
    "Encoding",
    "ReadError",
    "ReadLimits",
    "detect_encoding",
    "read",
    "sniff_delimiter",
    "text_csv",
]

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def format_of(label: str) -> str:
    """The format :func:`read` uses for a file called ``label``, or :class:`ReadError`."""
    fmt = FORMATS.get(Path(label).suffix.lower())
    if fmt is None:
        raise ReadError(
            f"cannot tell the format of {label!r} from its name; use .csv, .tsv, .xlsx, .xls, "
            ".json or .jsonl, or pass name=..."
        )
    return fmt


def _info(frame: pd.DataFrame, **info: Any) -> pd.DataFrame:
    frame.attrs["migkit"] = {**info, **frame.attrs.get("migkit", {})}
    return frame


def tell_what_was_mended(rows: DelimitedRows, name: str) -> None:
    """Warn about banner lines skipped and short rows read with nulls (stacklevel: the
    caller of :func:`read` or :func:`migkit.validate_file`)."""
    if rows.layout.banner:
        warnings.warn(
            f"{name}: skipped {len(rows.layout.banner)} line(s) above the header "
            f"(first: {rows.layout.banner[0]!r}); the header is line {rows.layout.lines_above + 1}",
            MigkitWarning,
            stacklevel=4,
        )
    if rows.counts.short:
        warnings.warn(
            f"{name}: {rows.counts.short:,} row(s) had fewer cells than the header (the first "
            f"is data row {rows.counts.first_short}); their missing cells are read as empty",
            MigkitWarning,
            stacklevel=4,
        )


def text_info(rows: DelimitedRows, found: Encoding, name: str, fmt: str) -> dict[str, Any]:
    """What ``attrs["migkit"]`` says about a delimited file."""
    return {
        "source": name,
        "format": fmt,
        "encoding": found.name,
        "bom": found.bom,
        "delimiter": rows.layout.delimiter,
        "utf8": found.utf8,
        "header_row": rows.layout.lines_above,
        "skipped_above_header": list(rows.layout.banner),
        "repeated_headers": repeated(rows.header, distinct_names(rows.header)),
        "short_rows": rows.counts.short,
        "empty_rows": rows.counts.empty,
    }


def _read_delimited(
    data: bytes,
    name: str,
    fmt: str,
    encoding: str | None,
    delimiter: str | None,
    limits: ReadLimits,
) -> pd.DataFrame:
    rows, found = open_delimited(
        lambda: io.BytesIO(data), name, fmt, encoding=encoding, delimiter=delimiter, limits=limits
    )
    frame = rows.frame() if rows.layout.width else pd.DataFrame()
    tell_what_was_mended(rows, name)
    return _info(frame, **text_info(rows, found, name, fmt))


def _read_workbook(
    data: bytes, name: str, fmt: str, sheet: str | int | None, limits: ReadLimits
) -> Any:
    sheets = workbook_rows(data, name, sheet, limits)
    frames = {
        title: _info(text_table(rows.rows, rows.first_row), source=name, format=fmt, sheet=title)
        for title, rows in sheets.items()
    }
    if sheet is not None or len(frames) == 1:
        return next(iter(frames.values()))
    return frames


def _read_json(data: bytes, name: str, fmt: str, limits: ReadLimits) -> pd.DataFrame:
    text = decode(data, detect_encoding(data, name), name)
    names, rows, index = rows_of(text, name, lines=fmt == "jsonl", limits=limits)
    frame = text_table([names, *rows], index=index) if names else pd.DataFrame(index=index)
    return _info(frame, source=name, format=fmt, encoding="utf-8")


def read(
    source: str | Path | IO[bytes],
    *,
    name: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Any:
    """Read a customer's file into a DataFrame of text cells (a dict of them for a workbook
    with several sheets, unless ``sheet=`` picks one).

    The format comes from the file name (``name=`` for a file object); for text files the
    encoding and the delimiter are detected unless given. ``frame.attrs["migkit"]`` says what
    was found. Anything migkit cannot read as it is raises :class:`ReadError` saying where and
    what to do; ``limits`` holds the caps (see :class:`ReadLimits`).

    >>> contacts = migkit.read("sample_data/contacts_cp1252.csv")  # doctest: +SKIP
    >>> contacts.attrs["migkit"]["encoding"]  # doctest: +SKIP
    'cp1252'
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ReadError(f"no file at {str(path)!r}")
        data, label = path.read_bytes(), name or path.name
    else:
        data, label = source.read(), name or getattr(source, "name", None) or "data.csv"
    label = str(label)
    fmt = format_of(label)
    if fmt in ("xlsx", "xls"):
        return _read_workbook(data, label, fmt, sheet, limits)
    if fmt in ("json", "jsonl"):
        return _read_json(data, label, fmt, limits)
    return _read_delimited(data, label, fmt, encoding, delimiter, limits)
