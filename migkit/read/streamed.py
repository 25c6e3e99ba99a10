"""A delimited file read in bounded memory, the one way both :func:`migkit.read` and
:func:`migkit.validate_file` read text: a first pass decides the encoding from every byte, a
sample of the start locates the header, then the text is streamed to the parser as UTF-8.

>>> import io
>>> data = "Id;Name\\r\\n007;Zoë\\r\\n".encode("cp1252")
>>> rows, found = open_delimited(lambda: io.BytesIO(data), "c.csv", "csv")
>>> found.name, rows.header, [f.values.tolist() for f in rows.frames()]
('cp1252', ['Id', 'Name'], [[['007', 'Zoë']]])
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from typing import IO

from migkit.read.delimited import (
    SNIFF_CHARS,
    DelimitedRows,
    line_finder,
    locate,
    sniff_delimiter,
)
from migkit.read.encoding import Encoding, decode_error, scan_encoding
from migkit.read.limits import DEFAULT_LIMITS, ReadError, ReadLimits

CHUNK = 1 << 20
Opener = Callable[[], IO[bytes]]


def _chunks(opener: Opener) -> Iterator[bytes]:
    with opener() as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def _text(opener: Opener, found: Encoding, name: str) -> Iterator[str]:
    """The file's text in pieces, without its BOM; :class:`ReadError` where it cannot be
    decoded."""
    try:
        decoder = codecs.getincrementaldecoder(found.name)()
    except LookupError:
        raise ReadError(f"{name}: {found.name!r} is not an encoding Python knows") from None
    size, before, first = 0, 0, True
    try:
        for chunk in _chunks(opener):
            before, size = size, size + len(chunk)
            text = decoder.decode(chunk)
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            yield text
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise decode_error(exc, found.name, name, size, before) from None


class Utf8Stream(io.RawIOBase):
    """Text pieces as a binary UTF-8 stream that skips ``offset`` bytes and ends with a line
    break (pyarrow needs one after the last record)."""

    def __init__(self, pieces: Iterator[str], offset: int) -> None:
        self._pieces, self._skip = pieces, offset
        self._buffer, self._last = bytearray(), b"\n"

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target):
            piece = next(self._pieces, None)
            if piece is None:
                if self._last not in (b"\n", b"\r"):
                    self._buffer += b"\n"
                    self._last = b"\n"
                break
            data = piece.encode("utf-8")
            if self._skip:
                data, self._skip = data[self._skip :], max(0, self._skip - len(data))
            if data:
                self._buffer += data
                self._last = data[-1:]
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        del self._buffer[:count]
        return count


def open_delimited(
    opener: Opener,
    name: str,
    fmt: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    block_bytes: int | None = None,
) -> tuple[DelimitedRows, Encoding]:
    """The rows of the delimited file ``opener`` opens (it is opened once per pass), and the
    encoding found (or given)."""
    if encoding is not None:
        utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig")
        found = Encoding(encoding, False, utf8)
    else:
        found = scan_encoding(_chunks(opener), name)
    wanted = limits.max_header_bytes + SNIFF_CHARS
    sample, complete = "", True
    for piece in _text(opener, found, name):
        sample += piece
        if len(sample) > wanted:
            sample, complete = sample[:wanted], False
            break
    sep = delimiter or sniff_delimiter(sample[:SNIFF_CHARS], "\t" if fmt == "tsv" else ",")
    layout = locate(sample, sep, name, limits, complete=complete)

    def table_lines() -> Iterator[str]:
        text = Utf8Stream(_text(opener, found, name), layout.offset)
        return iter(io.TextIOWrapper(io.BufferedReader(text), "utf-8", newline=""))

    rows = DelimitedRows(
        io.BufferedReader(Utf8Stream(_text(opener, found, name), layout.offset), CHUNK),
        layout,
        name,
        limits,
        block_bytes=block_bytes or limits.max_row_bytes,
        line_of=line_finder(table_lines, layout.delimiter, layout.lines_above),
    )
    return rows, found
