"""``export.csv`` bodies into DataFrames: every cell as text, Arrow-backed, checked for damage.

The server writes RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) with the
template's column names as the header. :func:`read_export_csv` parses it with
``pyarrow.csv`` into pandas ``str`` columns (Arrow-backed) without converting any value, so ids
keep their leading zeros and dates stay as written. An empty cell is null and a quoted empty
cell (``""``) is the empty string, so whatever distinction the server writes survives.

A damaged body is raised as :class:`ExportIncomplete`, never returned as a short frame: a
parse error (a row with the wrong number of fields, invalid UTF-8), a quoted field that never
closes, no header, or a row count that differs from the server's ``X-Total-Records``. (A body
cut off in transit is first caught by HTTP framing: ``client.exports`` raises
:class:`~migkit.errors.TransportError` for it. A last row without a line break is accepted, as
RFC 4180 allows.)

>>> import io
>>> body = b'Email,Notes\\r\\nann@x.io,"two\\nlines, one cell"\\r\\nbob@x.io,\\r\\n'
>>> frame = read_export_csv(io.BytesIO(body), expected_rows=2)
>>> frame["Notes"].tolist()
['two\\nlines, one cell', nan]
"""

from __future__ import annotations

import csv
import io  # noqa: F401  (doctests)
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.columns import as_arrow, pair_copies, row_text
from migkit.errors import MigkitError
from migkit.read import text_csv


class ExportIncomplete(MigkitError):
    """A downloaded export is truncated or malformed; download it again.

    ``rows`` is how many rows were read (when parsing got that far), ``expected`` what the
    server announced in ``X-Total-Records`` (when it did).
    """

    def __init__(self, message: str, *, rows: int | None = None, expected: int | None = None):
        super().__init__(message)
        self.rows = rows
        self.expected = expected


def _quotes_balanced(source: IO[bytes]) -> bool:
    # In RFC 4180 quotes come in pairs (open/close, and "" for a quote inside), so an odd count
    # means a quoted field never closed: the body was cut inside it. pyarrow would accept it.
    start = source.tell()
    count = 0
    while chunk := source.read(4 << 20):
        count += chunk.count(b'"')
    source.seek(start)
    return count % 2 == 0


def _header(source: IO[bytes], delimiter: str = ",") -> list[str]:
    # The header record, parsed with the csv module (a quoted name may hold a comma), then the
    # stream is rewound for pyarrow.
    start = source.tell()
    first = source.readline(1 << 20)
    source.seek(start)
    text = first.decode("utf-8-sig", errors="replace")
    return next(csv.reader([text], delimiter=delimiter), [])


def check_body(source: IO[bytes], name: str = "export.csv", delimiter: str = ",") -> list[str]:
    """The header names of a CSV body (a seekable binary file, rewound after), or
    :class:`ExportIncomplete` when it has no header, repeats a name, or ends inside a quoted
    field."""
    names = _header(source, delimiter)
    if not names or names == [""]:
        raise ExportIncomplete(f"{name} has no header row: the body is empty or cut off")
    if not _quotes_balanced(source):
        raise ExportIncomplete(
            f"{name} ends inside a quoted field: it was cut off; download it again"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ExportIncomplete(f"{name} repeats the column(s) {duplicated} in its header")
    return names


def read_export_csv(
    source: str | Path | IO[bytes],
    *,
    expected_rows: int | None = None,
    name: str = "export.csv",
) -> pd.DataFrame:
    """Parse an ``export.csv`` body (a path or a seekable binary file) into a DataFrame.

    Every column is a pandas ``str`` column (Arrow-backed), in the file's order, which is the
    template's; empty cells are null. ``expected_rows`` (the server's ``X-Total-Records``) is
    checked when given. Raises :class:`ExportIncomplete` naming what is wrong.

    >>> read_export_csv(io.BytesIO(b"Id,Zip\\r\\n007,02134\\r\\n")).iloc[0].tolist()
    ['007', '02134']
    """
    if isinstance(source, str | Path):
        with Path(source).open("rb") as stream:
            return read_export_csv(stream, expected_rows=expected_rows, name=name)
    names = check_body(source, name)
    try:
        frame = text_csv(source, names)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ExportIncomplete(
            f"{name} is malformed or cut off ({exc}); download it again", expected=expected_rows
        ) from None
    if expected_rows is not None and len(frame) != expected_rows:
        raise ExportIncomplete(
            f"{name} holds {len(frame):,} rows but the server announced {expected_rows:,}"
            " (X-Total-Records): the download was cut off; download it again",
            rows=len(frame),
            expected=expected_rows,
        )
    return frame


def subtract_rows(all_rows: pd.DataFrame, valid: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``all_rows`` that ``valid`` leaves out: the flagged rows of a sheet.

    Both are exports of the same sheet (``filter="all"`` and ``filter="valid"``), so ``valid``
    is ``all_rows`` minus some rows, order kept. Rows are matched on their full content; when
    several rows are identical, the first ones count as valid (the server keeps the first of
    repeated values and flags the rest). ``all_rows``' index is kept.

    >>> a = pd.DataFrame({"E": ["a", "b", "a", "c"]}); v = pd.DataFrame({"E": ["a", "c"]})
    >>> subtract_rows(a, v)["E"].tolist()
    ['b', 'a']
    """
    if list(all_rows.columns) != list(valid.columns):
        raise ValueError(
            "the two exports have different columns: "
            f"{list(all_rows.columns)} vs {list(valid.columns)}"
        )

    def rows(frame: pd.DataFrame) -> pa.Array:
        parts = [as_arrow(frame.iloc[:, i]) for i in range(frame.shape[1])]
        return row_text(parts, len(frame))

    kept, _ = pair_copies(rows(all_rows), rows(valid))
    flagged = np.ones(len(all_rows), dtype=bool)
    flagged[kept] = False
    return all_rows[flagged]


def describe(frame: pd.DataFrame, info: Mapping[str, Any]) -> pd.DataFrame:
    """Record where a frame came from in ``frame.attrs["migkit"]`` (company, sheet, filter)."""
    frame.attrs["migkit"] = dict(info)
    return frame
