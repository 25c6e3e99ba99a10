"""Text from a server (or a file) made safe to show: control characters escaped visibly.

A server's ``error``, ``progress_message`` or question text may hold ANSI escape sequences
(which recolour, move or clear a terminal), newlines (which forge extra lines of output),
bidirectional overrides (which reorder what a reader sees) and other invisible characters.
Every place migkit puts such text into an exception message or prints it goes through
:func:`printable`, which writes each of them the way Python writes it in a string literal
(``\\x1b``, ``\\n``, ``\\u202e``); ordinary text in any script is left alone.

>>> printable("\\x1b[31mred\\x1b[0m, then\\nA FORGED LINE")
'\\\\x1b[31mred\\\\x1b[0m, then\\\\nA FORGED LINE'
>>> printable("Zoë, 株式会社, tab\\there")
'Zoë, 株式会社, tab\\\\there'
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf: bidi overrides, zero-width characters), surrogate (Cs) and the
# line/paragraph separators (Zl, Zp): the categories that change how text is laid out or
# interpreted rather than adding visible characters.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object, *, limit: int | None = None, keep_newlines: bool = False) -> str:
    """``text`` (any object, through ``str``) with every control or layout character escaped.

    ``limit`` cuts the result to about that many characters, ending in ``…`` (a server's
    message of a megabyte makes no exception message better). ``keep_newlines`` leaves
    ``\\n`` and ``\\t`` alone, for multi-line text migkit itself composed.

    >>> printable("a" * 10, limit=4)
    'aaaa…'
    >>> printable("two\\nlines", keep_newlines=True)
    'two\\nlines'
    """
    value = text if isinstance(text, str) else str(text)
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    if value.isprintable():  # the common case: nothing to do
        return value
    kept = ("\n", "\t") if keep_newlines else ()
    return "".join(
        _escaped(c)
        if c not in kept and not c.isprintable() and unicodedata.category(c) in UNSAFE_CATEGORIES
        else c
        for c in value
    )


def json_printable(document: str) -> str:
    """A JSON document with the unsafe characters JSON leaves raw (C1 controls such as the
    one-byte CSI ``\\x9b``, bidi overrides, line separators) written as ``\\uXXXX`` escapes:
    the same JSON value, safe on a terminal.

    >>> json_printable('{"a": "x\\u202ey"}')
    '{"a": "x\\\\u202ey"}'
    """
    if document.isprintable():
        return document
    out: list[str] = []
    for char in document:
        if char not in "\n\t" and unicodedata.category(char) in UNSAFE_CATEGORIES:
            encoded = char.encode("utf-16-be", "surrogatepass")
            out.extend(
                f"\\u{int.from_bytes(encoded[i : i + 2], 'big'):04x}"
                for i in range(0, len(encoded), 2)
            )
        else:
            out.append(char)
    return "".join(out)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular or plural: ``1 row``, ``1,204 rows``.

    >>> counted(1, "row"), counted(1204, "row"), counted(2, "run", "runs")
    ('1 row', '1,204 rows', '2 runs')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
