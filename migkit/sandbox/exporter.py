"""Exports: streaming ``export.csv`` (one sheet or a ZIP) and the destination writer."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import requests

from migkit.sandbox.sheets import Sheet, company_sheets
from migkit.sandbox.store import Store

CHUNK_ROWS = 5000


def _which(valid_only: bool, flagged_only: bool) -> str:
    # Generation 1 exports valid or all rows; Generation 2 adds flagged rows only (invalid).
    return " AND flagged = 0" if valid_only else " AND flagged = 1" if flagged_only else ""


def count_rows(store: Store, sheet_id: str, valid_only: bool, *, flagged_only: bool = False) -> int:
    """Rows an export of ``sheet_id`` would hold."""
    sql = "SELECT COUNT(*) FROM rows WHERE sheet_id = ?" + _which(valid_only, flagged_only)
    row = store.one(sql, sheet_id)
    return int(row[0]) if row is not None else 0


def iter_rows(
    store: Store, sheet_id: str, valid_only: bool, *, flagged_only: bool = False
) -> Iterator[list[Any]]:
    """The sheet's rows in workbook order, as lists in template column order."""
    sql = (
        "SELECT data_json FROM rows WHERE sheet_id = ?"
        + _which(valid_only, flagged_only)
        + " ORDER BY id"
    )
    cursor = store.db.execute(sql, (sheet_id,))
    while batch := cursor.fetchmany(CHUNK_ROWS):
        for (data,) in batch:
            yield json.loads(data)


def csv_chunks(
    store: Store, sheet: Sheet, valid_only: bool, *, flagged_only: bool = False
) -> Iterator[bytes]:
    """RFC 4180 CSV of a sheet (header row first, CRLF line ends, UTF-8), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(sheet.template.column_names)
    rows = iter_rows(store, sheet.id, valid_only, flagged_only=flagged_only)
    for number, values in enumerate(rows, start=1):
        writer.writerow(["" if v is None else v for v in values])
        if number % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def zip_chunks(store: Store, sheets: list[Sheet], valid_only: bool) -> Iterator[bytes]:
    """A ZIP with one ``<sheet name>.csv`` per sheet, built on disk and streamed."""
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for sheet in sheets:
                with archive.open(f"{sheet.name}.csv", "w", force_zip64=True) as member:
                    for chunk in csv_chunks(store, sheet, valid_only):
                        member.write(chunk)
        spool.seek(0)
        while chunk := spool.read(1 << 20):
            yield chunk


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
            for number, values in enumerate(iter_rows(store, sheet.id, valid_only=True)):
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
