"""Signed uploads: ``POST /companies/{id}/uploads``, then ``PUT`` the bytes (no API key)."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import pandas as pd

from migkit._http import check_base_url
from migkit.errors import (
    APIError,
    ConfigurationError,
    MigkitWarning,
    ServerError,
    TransportError,
    UnexpectedRedirect,
    UsageError,
)
from migkit.models import Company, Upload
from migkit.preflight import check_or_raise, upload_problems
from migkit.read import ReadError, detect_encoding, read, sniff_delimiter
from migkit.resources._context import Context, company_id

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".json": "application/json",
    ".jsonl": "application/json",
}


def file_bytes(
    source: str | Path | pd.DataFrame | bytes, name: str | None, content_type: str | None
) -> tuple[bytes, str, str]:
    """The bytes, display name and content type of what is being uploaded."""
    if isinstance(source, pd.DataFrame):
        data = source.to_csv(index=False).encode("utf-8")
        return data, name or "data.csv", content_type or "text/csv"
    if isinstance(source, bytes):
        if not name:
            raise UsageError("uploading raw bytes needs name=..., e.g. name='contacts.csv'")
        return source, name, content_type or _type_of(name)
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"no file at {str(path)!r}; pass an existing path, a DataFrame or bytes")
    data, display = path.read_bytes(), name or path.name
    ctype = content_type or _type_of(display)
    if ctype in ("text/csv", "text/tab-separated-values") and content_type is None:
        return acceptable_text(data, display, ctype)
    return data, display, ctype


def acceptable_text(data: bytes, name: str, content_type: str) -> tuple[bytes, str, str]:
    """The original bytes when the server can read them as they are (UTF-8, with or without a
    BOM, and the delimiter the content type implies); otherwise a clean UTF-8 CSV made with
    :func:`migkit.read`, and a :class:`~migkit.errors.MigkitWarning` saying what changed."""
    expected = "\t" if content_type == "text/tab-separated-values" else ","
    try:
        encoding = detect_encoding(data, name)
        text = data.decode(encoding.name)
    except ReadError as exc:
        raise UsageError(str(exc)) from None
    delimiter = sniff_delimiter(text.removeprefix("\ufeff"), expected)
    if encoding.utf8 and delimiter == expected:
        return data, name, content_type
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
    return clean, target, "text/csv"


def _grant(raw: dict[str, object]) -> tuple[str, str]:
    # The signed URL gets the customer's bytes: https (or plain http to loopback, the local
    # sandbox), like the API itself; anything else is a broken or hostile answer.
    url = raw["upload_url"]
    if not isinstance(url, str):
        raise TypeError("upload_url is not a string")
    try:
        check_base_url(url, what="upload_url")
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None
    ref = raw["upload_ref"]
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError("upload_ref is not a string")
    return url, ref


def _type_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise UsageError(
            f"cannot tell the content type of {name!r}; use a .csv, .tsv, .xlsx, "
            ".xls or .json file, or pass content_type=..."
        )
    return CONTENT_TYPES[suffix]


class Uploads:
    """``client.uploads``: put files where an import can read them."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def upload(
        self,
        company: Company | str,
        source: str | Path | pd.DataFrame | bytes,
        *,
        name: str | None = None,
        content_type: str | None = None,
    ) -> Upload:
        """Upload a file (path, DataFrame as CSV, or bytes) through a signed URL.

        Signed URLs are single-use: when a PUT's outcome is unknown, a fresh URL is requested
        and the bytes sent again. The API key is never sent to the upload URL.

        >>> up = client.uploads.upload(acme, "sample_data/contacts.csv")  # doctest: +SKIP
        >>> up.upload_ref  # doctest: +SKIP
        'workbook-files/.../contacts.csv'
        """
        data, display, ctype = file_bytes(source, name, content_type)
        check_or_raise(upload_problems(display, ctype, len(data)))
        cid = company_id(company)
        last: Exception | None = None
        for _ in range(self._ctx.transport.retry.attempts + 1):  # a fresh URL each time
            answer = self._ctx.send(
                "POST",
                f"/companies/{cid}/uploads",
                "POST /companies/{id}/uploads",
                {"name": display, "content_type": ctype, "size": len(data)},
                safe=True,
            )
            upload_url, upload_ref = answer.parse(_grant)
            try:
                self._ctx.transport.put_signed(upload_url, data, ctype)
            except UnexpectedRedirect:
                raise  # the storage answered: it would answer the same to a fresh URL
            except (TransportError, ServerError) as exc:
                last = exc
                continue
            except APIError as exc:
                if exc.status != 403:  # 403: used or expired URL; ask for a new one
                    raise
                last = exc
                continue
            return Upload(
                name=display,
                upload_ref=upload_ref,
                content_type=ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        assert last is not None
        raise last
