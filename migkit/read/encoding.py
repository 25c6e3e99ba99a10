"""Which text encoding a customer's file is in, decided from the whole file (streamed in chunks),
and its text as UTF-8.

UTF-8 is tried first over every byte; a file that is not UTF-8 is single-byte (cp1252, else
latin-1) only when it is so throughout: a file holding both UTF-8 letters (``Zoë``) and bytes
that are not UTF-8 (a cp1252 ``Renée``) was pasted together from two exports and is refused
naming its first line that is not UTF-8, rather than read as mojibake.

>>> detect_encoding("Zoë;Renée".encode("cp1252")).name
'cp1252'
>>> try:
...     detect_encoding("Zoë\\n".encode() + "Renée\\n".encode("cp1252"))
... except ReadError as exc:
...     print(str(exc)[:73])
the file mixes text encodings: line 2 is not UTF-8 (byte 0xe9 in 'Renée')
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from migkit.read.limits import ReadError

SNIFF_BYTES = 1 << 16
CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
# UTF-8 sequences a single-byte file would only hold as mojibake: accented Latin letters
# (U+00A0-U+017F) and typographic punctuation (U+2010-U+203F, the euro sign).
_UTF8_TEXT = re.compile(rb"[\xc2-\xc5][\x80-\xbf]|\xe2\x80[\x90-\xbf]|\xe2\x82\xac")


@dataclass(frozen=True)
class Encoding:
    """What :func:`detect_encoding` found."""

    name: str  # a Python codec name
    bom: bool
    utf8: bool  # the bytes are already UTF-8 (with or without BOM)


def detect_encoding(data: bytes, name: str = "the file") -> Encoding:
    """The text encoding of ``data``: a BOM first, then strict UTF-8, UTF-16 without a BOM
    (NUL bytes on every other position), then cp1252, else latin-1. Text that is none of these
    (binary, a multi-byte encoding such as Shift-JIS, or a mix of UTF-8 and single-byte lines)
    raises :class:`ReadError` naming the first byte or line that is not UTF-8.

    >>> detect_encoding("café".encode("cp1252")).name, detect_encoding(b"\\xef\\xbb\\xbfa").bom
    ('cp1252', True)
    """
    return scan_encoding([data], name)


def scan_encoding(chunks: Iterable[bytes], name: str = "the file") -> Encoding:
    """:func:`detect_encoding` over a file read in ``chunks`` (the whole file is checked, in
    constant memory)."""
    stream = iter(chunks)
    first = next(stream, b"")
    while len(first) < SNIFF_BYTES and (more := next(stream, None)) is not None:
        first += more
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16", True, False)
    bom = first.startswith(codecs.BOM_UTF8)
    if not bom and (wide := _utf16_without_bom(first[:SNIFF_BYTES])):
        return Encoding(wide, False, False)
    bad = _first_non_utf8(_chain(first, stream))
    if bad is None:
        return Encoding("utf-8-sig", True, True) if bom else Encoding("utf-8", False, True)
    return _single_byte(first, bad, name)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _utf16_without_bom(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


@dataclass
class _Bad:
    """The first byte that is not UTF-8, its line, and what the rest of the file looks like."""

    offset: int
    byte: int
    line: int
    line_text: bytes
    utf8_line: tuple[int, bytes] | None  # a line that does hold UTF-8 letters
    undefined_in_cp1252: bool


def _first_non_utf8(chunks: Iterator[bytes]) -> _Bad | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, newline = 0, 0, b"\n"
    utf8_line: tuple[int, bytes] | None = None
    for chunk in chunks:
        pending = len(decoder.getstate()[0])  # a character cut by the previous chunk
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            start = max(0, exc.start - pending)
            return _describe(chunk, start, offset, lines, newline, utf8_line, chunks)
        if lines == 0 and b"\n" not in chunk and b"\r" in chunk:
            newline = b"\r"  # a CR-only file
        utf8_line = utf8_line or _utf8_line(chunk, lines, newline)
        lines += chunk.count(newline)
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # cut inside a character at the very end
        return _Bad(offset - 1, 0, lines + 1, b"", utf8_line, False)
    return None


def _where(chunk: bytes, position: int, lines: int, newline: bytes) -> tuple[int, bytes]:
    return lines + chunk.count(newline, 0, position) + 1, _line_at(chunk, position, newline)


def _line_at(chunk: bytes, position: int, newline: bytes) -> bytes:
    start = chunk.rfind(newline, 0, position) + 1
    end = chunk.find(newline, position)
    return chunk[start : end if end >= 0 else len(chunk)][:80]


def _utf8_line(
    chunk: bytes, lines: int, newline: bytes, start: int = 0, end: int | None = None
) -> tuple[int, bytes] | None:
    """The first line of ``chunk[start:end]`` holding UTF-8 letters that decodes as UTF-8 as a
    whole (a cp1252 or Big5 line can hold such bytes by chance; it does not decode)."""
    stop = len(chunk) if end is None else end
    while found := _UTF8_TEXT.search(chunk, start, stop):
        first = chunk.rfind(newline, 0, found.start()) + 1
        last = chunk.find(newline, found.start())
        last = len(chunk) if last < 0 else last
        try:
            chunk[first:last].decode("utf-8")
        except UnicodeDecodeError:
            start = last + 1
            continue
        return _where(chunk, found.start(), lines, newline)
    return None


def _describe(
    chunk: bytes,
    start: int,
    offset: int,
    lines: int,
    newline: bytes,
    utf8_line: tuple[int, bytes] | None,
    rest: Iterator[bytes],
) -> _Bad:
    if lines == 0 and b"\n" not in chunk and b"\r" in chunk:
        newline = b"\r"
    line = lines + chunk.count(newline, 0, start) + 1
    undefined = any(b in chunk for b in CP1252_UNDEFINED)
    line_start = chunk.rfind(newline, 0, start) + 1
    utf8_line = utf8_line or _utf8_line(chunk, lines, newline, 0, line_start)
    utf8_line = utf8_line or _utf8_line(chunk, lines, newline, start + 1)
    seen = lines + chunk.count(newline)
    for more in rest:  # the rest of the file decides cp1252 vs latin-1, and whether it mixes
        undefined = undefined or any(b in more for b in CP1252_UNDEFINED)
        utf8_line = utf8_line or _utf8_line(more, seen, newline)
        seen += more.count(newline)
    text = _line_at(chunk, start, newline)
    return _Bad(offset + start, chunk[start], line, text, utf8_line, undefined)


def _single_byte(first: bytes, bad: _Bad, name: str) -> Encoding:
    codec = "latin-1" if bad.undefined_in_cp1252 else "cp1252"
    sample = first[:SNIFF_BYTES]
    controls = sum(1 for ch in sample.decode(codec) if ord(ch) < 32 and ch not in "\t\r\n")
    high = sum(1 for byte in sample if byte >= 0x80)
    if controls or (sample and high > 0.3 * len(sample)):
        guess = "binary data" if controls else "a multi-byte encoding (e.g. Shift-JIS, Big5)"
        raise ReadError(
            f"{name} is not text migkit can decode: byte 0x{bad.byte:02x} at offset "
            f"{bad.offset} is not UTF-8, and the rest looks like {guess}. Save it as CSV UTF-8, "
            "or pass encoding=... if you know it"
        )
    bom = first.startswith(codecs.BOM_UTF8)
    if bad.utf8_line is not None or bom:
        utf8 = "it starts with a UTF-8 byte-order mark"
        if bad.utf8_line is not None:
            example = bad.utf8_line[1].decode("utf-8", "replace")
            utf8 = f"line {bad.utf8_line[0]} is UTF-8 ({example!r})"
        raise ReadError(
            f"{name} mixes text encodings: line {bad.line} is not UTF-8 (byte "
            f"0x{bad.byte:02x} in {bad.line_text.decode(codec)!r}), while {utf8}: it was "
            f"probably pasted together from files saved differently. Open it, fix line "
            f"{bad.line} (or re-export the rows that came from the other file) and save it as "
            "CSV UTF-8, or pass encoding=... if you know it"
        )
    return Encoding(codec, False, False)


def decode(data: bytes, encoding: Encoding, name: str) -> str:
    """``data`` as text (without its BOM), or :class:`ReadError` saying where it breaks."""
    try:
        return data.decode(encoding.name).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise decode_error(exc, encoding.name, name, len(data)) from None
    except LookupError:
        raise ReadError(f"{name}: {encoding.name!r} is not an encoding Python knows") from None


def decode_error(
    exc: UnicodeDecodeError, codec: str, name: str, size: int, before: int = 0
) -> ReadError:
    """The :class:`ReadError` for bytes that ``codec`` cannot decode (``before``: bytes of the
    file before the piece that failed; ``size``: bytes read so far)."""
    if codec.replace("_", "-").lower().startswith("utf-16") and size % 2:
        return ReadError(
            f"{name} is UTF-16 but has an odd number of bytes ({size:,}): it was cut off in "
            "the middle of a character. Export it again (as CSV UTF-8 if you can)"
        )
    return ReadError(
        f"{name} cannot be decoded as {codec} at offset {before + exc.start} ({exc.reason}); "
        "save it as CSV UTF-8, or pass encoding=... if you know it"
    )
