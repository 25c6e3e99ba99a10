"""Arrow's parse of an uploaded CSV/TSV, taken only where it gives what the csv module would.

The sandbox's reader defines a delimited file by Python's ``csv.reader`` (strict quoting,
short rows padded, blank lines and rows of empty cells skipped). That is exact but builds a
Python object per cell: seconds per million rows. :func:`parse` reads the same file with
``pyarrow.csv`` into Arrow-backed text columns instead, and answers ``None`` whenever the two
could disagree, so the caller falls back to the exact path:

- a row with more or fewer fields than the header (Arrow refuses it; the csv path pads or
  names the line),
- quoting that strict ``csv`` rejects (checked by a quick ``csv.reader`` pass, only for files
  that contain a quote at all), a header that spans lines or starts with a blank line,
- a field longer than ``csv.field_size_limit()`` (the csv path refuses it).

>>> headers, frame = parse(b"Id,Name\\r\\n007,\\r\\n", "Id,Name\\r\\n007,\\r\\n", ",")
>>> headers, frame[0].tolist(), frame[1].isna().tolist()
(['Id', 'Name'], ['007'], [True])
>>> parse(b"Id,Name\\r\\n1,2,3\\r\\n", "Id,Name\\r\\n1,2,3\\r\\n", ",") is None
True
"""

from __future__ import annotations

import csv
import functools
import io
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BLOCK_SIZE = 4 << 20
UTF8_BOM = b"\xef\xbb\xbf"
LINE_END = re.compile(r"[\r\n]")


def _header(text: str, delimiter: str) -> list[str] | None:
    # The first line only (a header spanning lines fails strict parsing here, and declines).
    end = LINE_END.search(text)
    line = text[: end.start()] if end else text
    try:
        first = next(csv.reader([line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        return None
    if not first or all(v == "" for v in first) or any("\r" in v or "\n" in v for v in first):
        return None  # no header, or one spanning lines: the exact path says what it is
    return first


def _strict_quoting(text: str, delimiter: str) -> bool:
    # Strict csv rejects text after a closing quote and a quote left open; Arrow accepts both.
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def parse(data: bytes, text: str, delimiter: str) -> tuple[list[str], pd.DataFrame] | None:
    """The header and the data rows of a delimited file (``text`` is ``data`` decoded) as
    pandas ``str`` columns named ``0..n-1`` (a blank cell is missing), or ``None`` when only
    the exact ``csv`` path can say what the file holds."""
    header = _header(text, delimiter)
    if header is None or (b'"' in data and not _strict_quoting(text, delimiter)):
        return None
    names = [str(i) for i in range(len(header))]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data.removeprefix(UTF8_BOM)),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
                check_utf8=False,  # the caller decoded it already
            ),
        )
    except pa.ArrowInvalid:
        return None
    # Rows whose cells are all empty are no rows (as the csv path skips them in a file).
    empty = functools.reduce(pc.and_, (pc.is_null(column) for column in table.columns))
    if pc.any(empty).as_py():
        table = table.filter(pc.invert(empty))
    limit = csv.field_size_limit()
    for column in table.columns:
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is not None and longest > limit:
            return None
    frame = table.to_pandas()
    frame.columns = pd.RangeIndex(len(names))
    return header, frame
