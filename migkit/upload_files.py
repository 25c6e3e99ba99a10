"""Files made ready to upload: the bytes, a display name, a content type and a digest.

A path, a DataFrame (sent as CSV) or raw bytes become a :class:`Prepared` upload. A CSV or TSV
file the server could not read as it is (not UTF-8, or another delimiter than its content type
implies) is sent as a clean UTF-8 CSV instead, made with :func:`migkit.read`, with a
:class:`~migkit.errors.MigkitWarning` saying what changed. No HTTP here: ``client.uploads``
sends what this module prepares.

>>> prepared = prepare_upload(b"Email\\na@x.io\\n", name="contacts.csv")
>>> prepared.name, prepared.content_type, len(prepared.data)
('contacts.csv', 'text/csv', 13)
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from migkit.errors import MigkitWarning, ReadError, UsageError
from migkit.read import detect_encoding, read, sniff_delimiter

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".json": "application/json",
    ".jsonl": "application/json",
}


@dataclass(frozen=True)
class Prepared:
    """What an upload sends: ``data`` under ``name`` as ``content_type``."""

    data: bytes
    name: str
    content_type: str

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of ``data`` (what import idempotency keys are derived from)."""
        return hashlib.sha256(self.data).hexdigest()


def prepare_upload(
    source: str | Path | pd.DataFrame | bytes,
    name: str | None = None,
    content_type: str | None = None,
) -> Prepared:
    """The bytes, display name and content type of what is being uploaded."""
    if isinstance(source, pd.DataFrame):
        data = source.to_csv(index=False).encode("utf-8")
        return Prepared(data, name or "data.csv", content_type or "text/csv")
    if isinstance(source, bytes):
        if not name:
            raise UsageError("uploading raw bytes needs name=..., e.g. name='contacts.csv'")
        return Prepared(source, name, content_type or content_type_of(name))
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"no file at {str(path)!r}; pass an existing path, a DataFrame or bytes")
    data, display = path.read_bytes(), name or path.name
    ctype = content_type or content_type_of(display)
    if ctype in ("text/csv", "text/tab-separated-values") and content_type is None:
        return acceptable_text(data, display, ctype)
    return Prepared(data, display, ctype)


def acceptable_text(data: bytes, name: str, content_type: str) -> Prepared:
    """The original bytes when the server can read them as they are (UTF-8, with or without a
    BOM, and the delimiter the content type implies); otherwise a clean UTF-8 CSV made with
    :func:`migkit.read`, and a :class:`~migkit.errors.MigkitWarning` saying what changed."""
    expected = "\t" if content_type == "text/tab-separated-values" else ","
    try:
        encoding = detect_encoding(data, name)
        text = data.decode(encoding.name)
    except ReadError as exc:
        raise UsageError(str(exc)) from exc
    delimiter = sniff_delimiter(text.removeprefix("\ufeff"), expected)
    if encoding.utf8 and delimiter == expected:
        return Prepared(data, name, content_type)
    frame = read(io.BytesIO(data), name=name, delimiter=delimiter)
    # CRLF: pandas quotes a cell holding a bare CR only when CR is part of the line ending
    clean = frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    changes = []
    if not encoding.utf8:
        changes.append(f"re-encoded from {encoding.name} to UTF-8")
    if delimiter != ",":
        changes.append(f"delimiter {delimiter!r} replaced by ','")
    target = str(Path(name).with_suffix(".csv"))
    warnings.warn(
        f"{name}: sent as a clean UTF-8 CSV named {target} ({'; '.join(changes)}); "
        f"{len(frame):,} rows, every cell kept as text",
        MigkitWarning,
        stacklevel=4,
    )
    return Prepared(clean, target, "text/csv")


def content_type_of(name: str) -> str:
    """The content type of a file called ``name``, from its suffix.

    >>> content_type_of("Deals.XLSX")
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
    """
    suffix = Path(name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise UsageError(
            f"cannot tell the content type of {name!r}; use a .csv, .tsv, .xlsx, "
            ".xls or .json file, or pass content_type=..."
        )
    return CONTENT_TYPES[suffix]
