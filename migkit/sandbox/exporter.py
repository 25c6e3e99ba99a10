"""Exports: streaming ``export.csv`` (one sheet or a ZIP) and the destination writer.

The CSV body (see :mod:`migkit.sandbox.csv_render` for its exact form: the header record, then
every non-null cell quoted, a blank cell as an empty unquoted field, CRLF, UTF-8 without BOM)
streams one stored chunk at a time, with no per-row Python. A client that reads an unquoted
empty field as null and ``""`` as the empty string gets back exactly what is stored.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

import requests

from migkit.sandbox import rowstore
from migkit.sandbox.csv_render import header_line, kept_lines, rows_csv
from migkit.sandbox.pipeline import ordered
from migkit.sandbox.rowstore import RowFilter
from migkit.sandbox.sheets import Sheet, company_sheets
from migkit.sandbox.store import Store

GZIP_LEVEL = 1
ZIP_LEVEL = 1  # deflate's fastest: CSV still shrinks severalfold, several times faster


def csv_chunks(store: Store, sheet: Sheet, row_filter: RowFilter = "valid") -> Iterator[bytes]:
    """The sheet's ``export.csv`` body (rows passing ``row_filter``), one stored chunk of rows
    at a time; the header record leads the first chunk.

    Each chunk's lines were written by Arrow's CSV writer when its rows were stored: a chunk
    is decompressed, and cut down to the rows the filter keeps, by a small thread pool a few
    chunks ahead of the one being sent (Arrow releases the GIL); they come out in order, and
    memory stays a few chunks whatever the sheet's size.
    """
    pending = header_line(sheet.template.column_names)
    for lines in ordered(
        partial(_lines, row_filter=row_filter), rowstore.chunks(store, sheet.id, row_filter)
    ):
        yield pending + lines
        pending = b""
    if pending:
        yield pending


def _lines(chunk: rowstore.Chunk, row_filter: RowFilter) -> bytes:
    text = chunk.text()
    if text is None or chunk.line_ends is None:  # not rendered at insert: render it now
        assert chunk.batch is not None
        return rows_csv(rowstore.decode(chunk.batch, row_filter))
    if row_filter == "all" or chunk.flagged_count in (0, chunk.row_count):
        return text  # the SQL filter already left out chunks with no row to keep
    keep = ~chunk.flags if row_filter == "valid" else chunk.flags
    return kept_lines(text, chunk.line_ends, keep)


def gzipped(chunks: Iterable[bytes], level: int = GZIP_LEVEL) -> Iterator[bytes]:
    """``chunks`` as one gzip stream (a body sent with ``Content-Encoding: gzip``), compressed
    as they come.

    >>> import gzip
    >>> gzip.decompress(b"".join(gzipped([b"Email\\r\\n", b'"ann@x.io"\\r\\n'])))
    b'Email\\r\\n"ann@x.io"\\r\\n'
    """
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


def export_count(store: Store, sheets: list[Sheet], row_filter: RowFilter = "valid") -> int:
    """Rows an export of ``sheets`` holds (``X-Total-Records``)."""
    return sum(rowstore.count_rows(store, sheet.id, row_filter) for sheet in sheets)


class _Pipe(io.RawIOBase):
    """A write-only, unseekable sink whose bytes are taken as they arrive (ZIP streaming)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def zip_chunks(
    store: Store, sheets: list[Sheet], row_filter: RowFilter = "valid"
) -> Iterator[bytes]:
    """A ZIP with one ``<sheet name>.csv`` per sheet, streamed as it is built (ZIP64 entries
    with data descriptors, so nothing waits for the whole archive)."""
    pipe = _Pipe()
    with zipfile.ZipFile(
        pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
    ) as archive:
        for sheet in sheets:
            with archive.open(f"{sheet.name}.csv", "w", force_zip64=True) as member:
                for chunk in csv_chunks(store, sheet, row_filter):
                    member.write(chunk)
                    if out := pipe.take():
                        yield out
    if out := pipe.take():
        yield out


def slug(name: str) -> str:
    """A template's slug: lower case, spaces to dashes."""
    return name.strip().lower().replace(" ", "-")


def _auth(auth: dict[str, Any] | None) -> tuple[dict[str, str], tuple[str, str] | None]:
    if not auth:
        return {}, None
    if "bearer" in auth:
        return {"Authorization": f"Bearer {auth['bearer']}"}, None
    if "basic" in auth:
        basic = auth["basic"]
        return {}, (str(basic.get("username", "")), str(basic.get("password", "")))
    return {str(k): str(v) for k, v in (auth.get("headers") or {}).items()}, None


def write_to_destination(
    store: Store,
    company_id: str,
    connections: dict[str, Any],
    request: dict[str, Any],
    step: Callable[[str], None],
) -> dict[str, Any]:
    """Send the company's valid rows to the destination; the report accounts for each write."""
    mode = request.get("mode", "full")
    wanted = (request.get("selection") or {}).get("template_ids")
    sheets = [
        s for s in company_sheets(store, company_id) if wanted is None or s.template.id in wanted
    ]
    base = str(connections["base_url"]).rstrip("/")
    headers, basic = _auth(connections.get("auth"))
    results = []
    step("Preparing rows")
    with requests.Session() as session:
        for sheet in sheets:
            step(f"Writing {sheet.name}")
            for number, values in enumerate(rowstore.iter_rows(store, sheet.id, "valid")):
                if mode == "canary" and number > 0:
                    break
                record = dict(zip(sheet.template.column_names, values, strict=True))
                results.append(
                    _write(
                        session,
                        f"{base}/{slug(sheet.template.name)}",
                        record,
                        headers,
                        basic,
                        sheet,
                    )
                )
    succeeded = sum(1 for r in results if r["ok"])
    return {
        "mode": mode,
        "total": len(results),
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
        "results": results,
    }


def _write(
    session: requests.Session,
    url: str,
    record: dict[str, Any],
    headers: dict[str, str],
    basic: tuple[str, str] | None,
    sheet: Sheet,
) -> dict[str, Any]:
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
    result: dict[str, Any] = {"template_id": sheet.template.id, "path": path}
    try:
        response = session.post(url, json=record, headers=headers, auth=basic, timeout=10)
    except requests.RequestException as exc:
        return {
            **result,
            "status": 0,
            "ok": False,
            "error": f"could not reach destination: {exc}",
            "fields_confirmed": None,
        }
    confirmed = None
    try:
        body = response.json()
        if isinstance(body, dict):
            confirmed = [k for k in record if k in body]
    except ValueError:
        body = None
    error = (
        None
        if response.ok
        else (
            str(body.get("error"))
            if isinstance(body, dict) and "error" in body
            else (response.text[:200] or response.reason)
        )
    )
    return {
        **result,
        "status": response.status_code,
        "ok": response.ok,
        "error": error,
        "fields_confirmed": confirmed,
    }
