"""``export.csv`` bodies into DataFrames: every cell as text, Arrow-backed, checked for damage.

The server writes RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) with the
template's column names as the header. :func:`read_export_csv` parses it with
``pyarrow.csv`` into pandas ``str`` columns (Arrow-backed) without converting any value, so ids
keep their leading zeros and dates stay as written. An empty cell is null and a quoted empty
cell (``""``) is the empty string, so whatever distinction the server writes survives.

A damaged body is raised as :class:`ExportIncomplete`, never returned as a short frame: a
parse error (a row with the wrong number of fields, invalid UTF-8), a quoted field that never
closes, no header, or a row count that differs from the server's ``X-Total-Records``. A body
is bounded while it streams: :class:`RecordCounter` stops a download as soon as it holds more
rows than announced, and :func:`read_export_zip` checks every ZIP member's declared size and
compression ratio before inflating it (:class:`ExportTooLarge`). (A body
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
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.column_kernels import as_arrow, pair_copies, row_text
from migkit.errors import ExportIncomplete as ExportIncomplete  # defined in migkit.errors
from migkit.errors import ExportTooLarge as ExportTooLarge
from migkit.printable import printable
from migkit.read import text_csv

RATIO_FLOOR = 1 << 20  # ZIP members smaller than this are not held to the ratio cap
MAX_MEMBERS = 10_000  # a workbook export holds one CSV per sheet


class RecordCounter:
    """Counts CSV records (line breaks outside quoted fields) in a body fed in chunks, so a
    download stops as soon as it holds more rows than the server announced.

    ``rows`` is a lower bound of the data rows (the header is the first record; a last row
    without a line break is not counted until the end). Given ``expected`` (the announced
    rows), the counter only counts line breaks, which is fast, while there are too few of them
    to exceed it (a record ends at a line break, so records cannot outnumber them); past that
    it counts records exactly from there on, so ``rows`` stays a lower bound and a body with
    more rows than announced is still caught, at most ``expected`` rows later. Without
    ``expected`` every record is counted.

    >>> counter = RecordCounter()
    >>> counter.feed(b'Email,Notes\\r\\nann@x.io,"two\\nlin')
    >>> counter.feed(b'es"\\r\\nbob@x.io,\\r\\n')
    >>> counter.rows
    2
    """

    def __init__(self, expected: int | None = None) -> None:
        self.records = 0  # counted exactly (all of them, or those since counting began)
        self._quoted = 0  # 1 while inside a quoted field at the end of the last chunk
        self._breaks = 0  # line breaks seen while not counting exactly
        self._room = None if expected is None else expected + 1  # records that cannot exceed

    def feed(self, chunk: bytes) -> None:
        """Count the record ends in the next chunk of the body."""
        if self._room is not None:
            self._breaks += chunk.count(b"\n")
            if self._breaks <= self._room:  # cannot hold more rows than announced yet
                self._quoted = (self._quoted + chunk.count(b'"')) & 1
                return
            self._room = None  # from this chunk on, count exactly
        self._count(chunk)

    def _count(self, chunk: bytes) -> None:
        if b'"' not in chunk and not self._quoted:  # no quoting here: every line break counts
            self.records += chunk.count(b"\n")
            return
        data = np.frombuffer(chunk, dtype=np.uint8)
        quotes = (data == ord('"')).view(np.uint8)
        breaks = np.flatnonzero(data == ord("\n"))
        if len(breaks):
            # Quotes come in pairs in RFC 4180, so a line break is inside a quoted field when
            # an odd number of quotes precede it (this chunk's, plus the state carried from
            # earlier ones). Quotes are summed per line (up to and including its break; uint8
            # sums may wrap, which keeps their parity) and the parities accumulated by xor.
            starts = np.r_[0, breaks[:-1] + 1]
            per_line = np.add.reduceat(quotes[: breaks[-1] + 1], starts, dtype=np.uint8)
            inside = np.bitwise_xor.accumulate(per_line & 1) ^ self._quoted
            self.records += int(np.count_nonzero(inside == 0))
        self._quoted = (int(np.count_nonzero(quotes)) + self._quoted) & 1

    @property
    def rows(self) -> int:
        """Data rows seen so far (at least)."""
        return max(self.records - 1, 0)


def too_many_rows(name: str, rows: int, expected: int) -> ExportIncomplete:
    """The error for a body that already holds more rows than ``X-Total-Records`` said."""
    return ExportIncomplete(
        f"{printable(name, limit=200)} holds more than the {expected:,} rows the server "
        f"announced (X-Total-Records): reading stopped after {rows:,} rows; download it again",
        rows=rows,
        expected=expected,
    )


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
        raise ExportIncomplete(
            f"{name} repeats the column(s) {printable(duplicated, limit=300)} in its header"
        )
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
        ) from exc
    if expected_rows is not None and len(frame) != expected_rows:
        raise ExportIncomplete(
            f"{name} holds {len(frame):,} rows but the server announced {expected_rows:,}"
            " (X-Total-Records): the download was cut off; download it again",
            rows=len(frame),
            expected=expected_rows,
        )
    return frame


def read_export_zip(
    path: str | Path,
    *,
    expected_rows: int | None = None,
    max_bytes: int = 16 << 30,
    max_ratio: float = 200.0,
) -> dict[str, pd.DataFrame]:
    """Every member of a workbook export ZIP as ``{sheet name: DataFrame}``, each read like
    :func:`read_export_csv`.

    Before anything is inflated, the members' declared sizes must add up to at most
    ``max_bytes`` and each member over 1 MiB must declare at most ``max_ratio`` times its
    compressed size (:class:`ExportTooLarge`); while inflating, a member cannot pass its
    declared size (``zipfile`` stops there and the checksum fails), and reading stops as soon
    as the rows exceed ``expected_rows`` (``X-Total-Records``).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportIncomplete(
            "the workbook export is not a readable ZIP: it was cut off; download it again"
        ) from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_declared(members, max_bytes, max_ratio)
        sheets: dict[str, pd.DataFrame] = {}
        rows = 0
        for member in members:
            frame = _read_member(archive, member, expected_rows, rows)
            sheets[member.filename.removesuffix(".csv")] = frame
            rows += len(frame)
    if expected_rows is not None and rows != expected_rows:
        raise ExportIncomplete(
            f"the workbook export holds {rows:,} rows but the server announced "
            f"{expected_rows:,} (X-Total-Records); download it again",
            rows=rows,
            expected=expected_rows,
        )
    return sheets


def _check_declared(members: list[zipfile.ZipInfo], max_bytes: int, max_ratio: float) -> None:
    if len(members) > MAX_MEMBERS:
        raise ExportTooLarge(
            f"the workbook export holds {len(members):,} files; a workbook has one per sheet"
        )
    declared = sum(m.file_size for m in members)
    if declared > max_bytes:
        raise ExportTooLarge(
            f"the workbook export declares {declared:,} bytes uncompressed, more than the "
            f"{max_bytes:,} accepted (ResponseLimits.download_bytes)"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR and ratio > max_ratio:
            raise ExportTooLarge(
                f"{printable(member.filename, limit=200)} in the workbook export would inflate "
                f"{ratio:,.0f} times ({member.compress_size:,} to {member.file_size:,} bytes), "
                f"more than the {max_ratio:g} accepted (ResponseLimits.zip_ratio): it looks like "
                "a ZIP bomb, so it was not inflated"
            )


def _read_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, expected: int | None, before: int
) -> pd.DataFrame:
    name = member.filename
    counter = RecordCounter(None if expected is None else max(expected - before, 0))
    try:
        with archive.open(member) as raw, tempfile.SpooledTemporaryFile(64 << 20) as spool:
            while chunk := raw.read(4 << 20):  # pyarrow wants a seekable file
                if expected is not None:
                    counter.feed(chunk)
                    if before + counter.rows > expected:
                        raise too_many_rows(name, before + counter.rows, expected)
                spool.write(chunk)
            spool.seek(0)
            return read_export_csv(spool, name=printable(name, limit=200))
    except (zipfile.BadZipFile, EOFError, zlib.error, RuntimeError, NotImplementedError) as exc:
        raise ExportIncomplete(
            f"{printable(name, limit=200)} in the workbook export is damaged "
            f"({printable(exc, limit=200)}); download it again"
        ) from exc


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
