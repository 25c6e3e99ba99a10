"""Delimited text (CSV, TSV, any of ``, ; tab |``) as batches of text columns, the same way for
a file read whole (:func:`migkit.read`) and one streamed (:func:`migkit.validate_file`).

Where the header is: blank lines above it are skipped, and so are banner lines (a title, a
comment, a note) that fill less than half the table's width, as in workbooks. The header and the
body are then parsed by one pyarrow parser, so quoting means the same in both. Rows shorter
than the header (spreadsheet tools drop trailing empty cells) are read with nulls and counted;
rows longer than the header are refused naming their line, unless the extra cells are empty.
Rows whose every cell is empty (not even a quoted ``""``) are dropped and counted.

>>> rows = DelimitedRows.from_bytes(b'Name,Notes\\r\\n"Acme, Inc.",\\r\\nShort\\r\\n', "c.csv")
>>> rows.header, rows.frame().values.tolist(), rows.counts.short
(['Name', 'Notes'], [['Acme, Inc.', nan], ['Short', nan]], 1)
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from migkit.read.limits import DEFAULT_LIMITS, ReadError, ReadLimits

DELIMITERS = (",", ";", "\t", "|")
SNIFF_CHARS = 1 << 16
SAMPLE_RECORDS = 100
BANNER_LOOKAHEAD = 20  # a header is looked for among this many records at the top


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The delimiter of delimited ``text``: the candidate (``, ; tab |``) that splits the first
    lines into the same number of fields, preferring more fields; when banner lines make every
    candidate uneven, the one that splits most lines alike.

    >>> sniff_delimiter("a;b;c\\n1;2,5;3\\n"), sniff_delimiter("a\\tb\\n1\\t2\\n")
    (';', '\\t')
    """
    sample = text[:SNIFF_CHARS]
    lines = [line for line in io.StringIO(sample, newline="") if line.strip()][:50]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line short
    if not lines:
        return default
    best, best_key = default, (0.0, 1)
    for candidate in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=candidate)]
        except csv.Error:
            continue
        fields, seen = Counter(counts).most_common(1)[0]
        share = seen / len(counts)
        key = (1.0 if share == 1 else share, fields)
        if fields > 1 and (share == 1 or share >= 0.5) and key > best_key:
            best, best_key = candidate, key
    return best


@dataclass(frozen=True)
class Layout:
    """Where the table starts in a text file and how it is split."""

    delimiter: str
    offset: int  # UTF-8 bytes above the header (blank and banner lines)
    lines_above: int  # physical lines above the header
    banner: tuple[str, ...]  # the non-blank lines skipped above the header
    width: int  # fields in the header


def _records(sample: str, delimiter: str) -> Iterator[tuple[list[str], int, int, int]]:
    """(fields, first line, lines after it, characters before it) of each record of
    ``sample``; stops at the first record the sample cuts or the csv module refuses."""
    lines = list(io.StringIO(sample, newline=""))
    position = {"line": 0}

    def feed() -> Iterator[str]:
        while position["line"] < len(lines):
            position["line"] += 1
            yield lines[position["line"] - 1]

    reader = csv.reader(feed(), delimiter=delimiter)
    chars = 0
    while True:
        start = position["line"]
        try:
            fields = next(reader)
        except (StopIteration, csv.Error):
            return
        end = position["line"]
        yield fields, start, end, chars
        chars += sum(len(line) for line in lines[start:end])


def locate(sample: str, delimiter: str, name: str, limits: ReadLimits, *, complete: bool) -> Layout:
    """The :class:`Layout` of a file whose text starts with ``sample`` (the whole text when
    ``complete``). Raises :class:`ReadError` for a header over the caps."""
    records = []
    for record in _records(sample, delimiter):
        records.append(record)
        if len(records) >= SAMPLE_RECORDS:
            break
    filled = [r for r in records if any(cell.strip() for cell in r[0])]
    if not filled and (sample.strip(" \t\r\n" + delimiter) or not complete):
        raise ReadError(  # a header the csv module refuses (a field over 128 KiB) or cut
            f"{name}: its header record is longer than {limits.max_header_bytes:,} bytes or "
            "cannot be parsed (it should be one line of column names). Check the file is "
            "delimited text with a header, or pass limits=ReadLimits(max_header_bytes=...)"
        )
    if not filled:
        return Layout(delimiter, len(sample.encode("utf-8")), 0, (), 0)
    counts = Counter(len(r[0]) for r in filled)
    width = max(counts, key=lambda n: (counts[n], n))
    header = next((r for r in filled[:BANNER_LOOKAHEAD] if not _banner(r[0], width)), filled[0])
    fields, first_line, end_line, chars = header
    lines = list(io.StringIO(sample, newline=""))
    cut = end_line >= len(lines) and not complete and not lines[-1].endswith(("\n", "\r"))
    size = sum(len(line.encode("utf-8")) for line in lines[first_line:end_line])
    if cut or size > limits.max_header_bytes:
        raise ReadError(
            f"{name}: its header record is longer than {limits.max_header_bytes:,} bytes (it "
            "should be one line of column names). Check the file is delimited text with a "
            "header, or pass limits=ReadLimits(max_header_bytes=...)"
        )
    limits.check_columns(len(fields), name, "its header")
    skipped = tuple(delimiter.join(r[0])[:80] for r in filled if r[1] < first_line)
    return Layout(delimiter, len(sample[:chars].encode("utf-8")), first_line, skipped, len(fields))


def _banner(fields: list[str], width: int) -> bool:
    # As in workbooks: a line filling less than half the table's width (a title, a comment, a
    # note) is not the header; so is a line without a single delimiter above a wider table.
    filled = sum(1 for cell in fields if cell.strip())
    return (len(fields) == 1 < width) or filled < math.ceil(width / 2)


@dataclass
class Counts:
    """What reading dropped or mended, for ``attrs`` and the warning."""

    short: int = 0  # rows with fewer cells than the header, read with nulls
    trailing_empty: int = 0  # rows with more cells than the header, all the extra ones empty
    empty: int = 0  # rows whose every cell was empty, dropped
    first_short: int | None = None  # data-row position of the first short row


@dataclass
class _Ragged:
    number: int  # the record's number, the header being 1
    fields: int
    text: str


@dataclass
class DelimitedRows:
    """The data rows of a delimited UTF-8 stream that starts at its header, in frames of text
    columns; :attr:`header` is read first, :attr:`counts` is complete after the last frame."""

    source: IO[bytes]
    layout: Layout
    name: str
    limits: ReadLimits = DEFAULT_LIMITS
    block_bytes: int = 16 << 20
    line_of: Callable[[int], int | None] = field(default=lambda _: None, repr=False)
    text_again: Callable[[], Iterator[str]] | None = field(default=None, repr=False)
    counts: Counts = field(default_factory=Counts)
    header: list[str] = field(default_factory=list)

    @classmethod
    def from_bytes(
        cls, data: bytes, name: str, delimiter: str | None = None, **options: object
    ) -> DelimitedRows:
        """Rows of UTF-8 ``data`` (a doctest and test helper; :func:`migkit.read` decodes)."""
        text = data.decode("utf-8").removeprefix("\ufeff")
        layout = locate(
            text, delimiter or sniff_delimiter(text), name, DEFAULT_LIMITS, complete=True
        )
        body = text.encode("utf-8")[layout.offset :]

        def text_again() -> Iterator[str]:
            return iter(io.TextIOWrapper(io.BytesIO(body), "utf-8", newline=""))

        return cls(
            utf8_source(body),
            layout,
            name,
            text_again=text_again,
            **options,  # type: ignore[arg-type]
        )

    def __post_init__(self) -> None:
        self._quotes = _QuoteCounter(self.source)
        self._ragged: list[_Ragged] = []
        self._emitted = 0  # records placed so far, the header included
        self._tables = self._parse()
        self._first = next(self._tables, None)
        if self._first is not None and self._first.num_rows:
            names = self._first.slice(0, 1).to_pylist()[0]
            self.header = [
                names[f"f{i}"] if names[f"f{i}"] else f"Unnamed: {i}"
                for i in range(self.layout.width)
            ]
            self._first = self._first.slice(1)

    def frames(self) -> Iterator[pd.DataFrame]:
        """The data rows, a frame per parsed block (columns named by position, ``str``)."""
        if self._first is None:
            return
        # One block at a time: the parser runs as frames are taken, never ahead of them.
        for table in itertools.chain([self._first], self._tables):
            yield self._drop_empty(table).to_pandas()

    def frame(self) -> pd.DataFrame:
        """Every data row in one frame with the header's names (repeats made distinct)."""
        from migkit.read.table import distinct_names

        parts = list(self.frames())
        width = self.layout.width
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame({f"f{i}": pd.array([], dtype="str") for i in range(width)})
        )
        frame.columns = distinct_names(self.header or [f"Unnamed: {i}" for i in range(width)])
        return frame

    # -- parsing ---------------------------------------------------------------------------
    def _parse(self) -> Iterator[pa.Table]:
        names = [f"f{i}" for i in range(self.layout.width)]
        if not names:
            return
        try:
            reader = pacsv.open_csv(
                self._quotes,
                read_options=pacsv.ReadOptions(
                    column_names=names, block_size=self.block_bytes, use_threads=False
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.layout.delimiter,
                    newlines_in_values=True,
                    invalid_row_handler=self._keep_ragged,
                ),
                convert_options=_text_columns(names),
            )
            for batch in reader:
                yield self._place(pa.Table.from_batches([batch]))
        except pa.ArrowInvalid as exc:
            raise ReadError(
                f"{self.name} is not valid delimited text with delimiter "
                f"{self.layout.delimiter!r}: {str(exc)[:200]}. A record may be longer than "
                f"{self.block_bytes:,} bytes (a quote that never closes?); check its quoting, "
                "or pass delimiter=..."
            ) from None
        if self._ragged:
            yield self._place(None)
        self._check_quotes_closed()

    def _check_quotes_closed(self) -> None:
        # pyarrow takes a quote that never closes as a field running to the end of the file,
        # swallowing every row after it. Quotes come in pairs in a well-formed file, so an odd
        # count is a sign; a literal quote inside an unquoted cell (5" TV) is odd too, so the
        # csv module, strict, then tells the two apart by reading the text once more.
        if self._quotes.quotes % 2 == 0 or self.text_again is None:
            return
        reader = csv.reader(self.text_again(), delimiter=self.layout.delimiter, strict=True)
        start = 0
        try:
            for _ in reader:
                start = reader.line_num
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return  # other strictness complaints are pyarrow's business, not a lost row
            line = self.layout.lines_above + start + 1
            raise ReadError(
                f"{self.name} ends inside a quoted cell that opens on line {line:,}: its "
                "closing quote is missing, so every line after it would be read as part of "
                "that one cell. Add the missing quote (or remove the stray one) and read it "
                "again"
            ) from None

    def _keep_ragged(self, row: pacsv.InvalidRow) -> str:
        self._ragged.append(_Ragged(int(row.number or 0), int(row.actual_columns), row.text))
        return "skip"

    def _place(self, good: pa.Table | None) -> pa.Table:
        """``good`` rows with the ragged rows that belong among them put back in place."""
        count = 0 if good is None else good.num_rows
        start, taken = self._emitted, 0
        if good is None:  # the end: whatever is left follows the last good row
            taken = len(self._ragged)
        while taken < len(self._ragged) and self._ragged[taken].number - 1 < start + count + taken:
            taken += 1  # it falls among these good rows
        ragged, self._ragged = self._ragged[:taken], self._ragged[taken:]
        self._emitted = start + count + taken
        fixed = self._mend(ragged)
        if good is None or not ragged:
            return fixed if good is None else good
        spots = np.zeros(count + taken, dtype=bool)
        spots[[r.number - 1 - start for r in ragged]] = True
        order = np.empty(count + taken, dtype=np.int64)
        order[~spots] = np.arange(count)
        order[spots] = count + np.arange(taken)
        return pa.concat_tables([good, fixed]).take(pa.array(order))

    def _mend(self, ragged: list[_Ragged]) -> pa.Table:
        """Ragged rows parsed with their own field counts, cut or padded to the header."""
        width = self.layout.width
        names = [f"f{i}" for i in range(width)]
        if any(r.number < 2 for r in ragged):
            raise ReadError(f"{self.name}: its header cannot be parsed; check its quoting")
        tables, numbers = [], []
        for fields in sorted({r.fields for r in ragged}):
            group = [r for r in ragged if r.fields == fields]
            own = [f"f{i}" for i in range(fields)]
            text = "\n".join(r.text for r in group).encode("utf-8") + b"\n"
            table = pacsv.read_csv(
                io.BytesIO(text),
                read_options=pacsv.ReadOptions(column_names=own, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.layout.delimiter, newlines_in_values=True
                ),
                convert_options=_text_columns(own),
            )
            if fields > width:
                self._refuse_long(group, table.select(own[width:]))
                self.counts.trailing_empty += len(group)
                table = table.select(names)
            else:
                self.counts.short += len(group)
                for name in names[fields:]:
                    table = table.append_column(name, pa.nulls(table.num_rows, pa.large_string()))
            tables.append(table)
            numbers += [r.number for r in group]
        shorts = [r.number for r in ragged if r.fields < width]
        if self.counts.first_short is None and shorts:
            self.counts.first_short = min(shorts) - 2
        if not tables:
            return pa.table({n: pa.array([], pa.large_string()) for n in names})
        order = np.argsort(np.array(numbers), kind="stable")
        return pa.concat_tables(tables).take(pa.array(order))

    def _refuse_long(self, group: list[_Ragged], extra: pa.Table) -> None:
        filled = np.zeros(extra.num_rows, dtype=bool)
        for column in extra.columns:
            filled |= pc.fill_null(pc.not_equal(column, ""), False).to_numpy(zero_copy_only=False)
        if not filled.any():
            return
        row = group[int(np.argmax(filled))]
        line = self.line_of(row.number)
        where = f"line {line}" if line else f"record {row.number} (the header is record 1)"
        raise ReadError(
            f"{self.name} {where} has {row.fields} fields but the header has "
            f"{self.layout.width}: {row.text[:120]!r}. Quote cells that contain the delimiter "
            f"({self.layout.delimiter!r}), fix the header, or pass delimiter=..."
        )

    def _drop_empty(self, table: pa.Table) -> pa.Table:
        if not table.num_rows:
            return table
        empty = None
        for column in table.columns:
            blank = pc.is_null(column)  # a quoted "" is written content, not emptiness
            empty = blank if empty is None else pc.and_(empty, blank)
        dropped = int(pc.sum(empty).as_py() or 0)
        if not dropped:
            return table
        self.counts.empty += dropped
        return table.filter(pc.invert(empty))


def _text_columns(names: list[str]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types={n: pa.large_string() for n in names},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=False,
    )


class _QuoteCounter(io.RawIOBase):
    """A read-only stream passing ``source`` through while counting its ``"`` bytes."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.quotes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self.quotes += data.count(b'"')
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def utf8_source(body: bytes) -> IO[bytes]:
    """``body`` as a stream pyarrow can parse: it needs a line break after the last record."""
    return io.BytesIO(body if body.endswith((b"\n", b"\r")) or not body else body + b"\n")


def line_finder(
    text: Callable[[], Iterator[str]], delimiter: str, above: int
) -> Callable[[int], int | None]:
    """A function giving the physical line (1-based, in the whole file) where record ``n`` of
    the table ends; ``text`` gives the table's text again from its header, line by line."""

    def line_of(number: int) -> int | None:
        reader = csv.reader(text(), delimiter=delimiter)
        seen = 0
        try:
            for fields in reader:
                seen += bool(fields)
                if seen == number:
                    return above + reader.line_num
        except csv.Error:
            return None
        return None

    return line_of


def text_csv(source: IO[bytes], header: list[str], delimiter: str = ",") -> pd.DataFrame:
    """Parse delimited UTF-8 (RFC 4180: quoted delimiters, quotes and newlines) whose first
    record is ``header`` into pandas ``str`` columns, converting nothing: an empty cell is null,
    a quoted ``""`` the empty string. Repeated header names are kept. Raises
    ``pyarrow.ArrowInvalid`` on malformed text (exports use it: they must be exact).

    >>> text_csv(io.BytesIO(b'Id,Id\\n007,""\\n'), ["Id", "Id"]).iloc[0].tolist()
    ['007', '']
    """
    names = [f"{n}\x00{i}" for i, n in enumerate(header)]  # pyarrow needs distinct names
    table = pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=_text_columns(names),
    )
    frame: pd.DataFrame = table.to_pandas()
    frame.columns = header  # duplicates kept as written
    return frame
