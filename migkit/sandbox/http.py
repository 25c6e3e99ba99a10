"""Request helpers for the sandbox's routes: JSON bodies, typed fields, errors, lookups."""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

from flask import Response, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from migkit.sandbox.state import SandboxState, current_state
from migkit.sandbox.store import is_uuid, private_file

IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


class ErrorResponse(Exception):
    """An error answered as ``{"error": message}`` (plus ``extra`` fields) with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> Response:
        """The JSON response for this error."""
        response = jsonify({"error": self.message, **self.extra})
        response.status_code = self.status
        return response


def fail(status: int, message: str, **extra: Any) -> NoReturn:
    """Raise an :class:`ErrorResponse`."""
    raise ErrorResponse(status, message, **extra)


def json_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    if not raw.strip():
        fail(400, "Request body is empty; send a JSON object")
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(400, f"Request body must be a JSON object; it is not valid JSON ({exc})")
    except RecursionError:
        fail(400, "Request body must be a JSON object; it is nested too deeply")
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        fail(400, f"Request body must be a JSON object; a value is out of range ({exc})")
    if not isinstance(value, dict):
        fail(400, f"Request body must be a JSON object, not a JSON {type(value).__name__}")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        fail(
            400,
            "Request body has a lone surrogate escape (e.g. \\ud800) in a string; "
            "send valid Unicode text",
        )
    except (RecursionError, ValueError):
        fail(400, "Request body must be a JSON object; it is nested too deeply")
    return value


def size_text(limit: int) -> str:
    """A byte count for messages: ``32 MiB``, ``512 KiB`` or ``100 bytes``.

    >>> size_text(32 * 1024 * 1024), size_text(1024), size_text(100)
    ('32 MiB', '1 KiB', '100 bytes')
    """
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` value for a download named ``filename`` (RFC 6266).

    Control characters (CR, LF, ...) and path separators become ``_``; the name goes in UTF-8 as
    ``filename*``, and an ASCII-only ``filename`` (accents dropped, other characters left out,
    ``download`` when nothing is left) comes first for clients that do not read ``filename*``.

    >>> print(attachment("€ Tokyo.zip"))
    attachment; filename="Tokyo.zip"; filename*=UTF-8''%E2%82%AC%20Tokyo.zip
    >>> attachment("Contacts.csv")
    'attachment; filename="Contacts.csv"'
    """
    safe = "".join(
        "_" if unicodedata.category(c).startswith("C") or c in "/\\" else c for c in filename
    )
    stem, dot, suffix = safe.rpartition(".")
    if not dot:
        stem, suffix = safe, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = " ".join(ascii_stem.replace('"', "_").split()) or "download"
    fallback = f"{ascii_stem}.{suffix}" if dot else ascii_stem
    value = f'attachment; filename="{fallback}"'
    if fallback != safe:
        value += f"; filename*=UTF-8''{quote(safe, safe='')}"
    return value


def string_field(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    """A non-empty string field (``None`` when optional and absent or null)."""
    value = body.get(name)
    if value is None:
        if required:
            fail(400, f"{name} is required: send a non-empty string")
        return None
    if not isinstance(value, str) or not value.strip():
        fail(400, f"{name} must be a non-empty string")
    return value


def idempotency_key(body: dict[str, Any]) -> str | None:
    """The optional ``idempotency_key`` (1–255 printable ASCII characters)."""
    key = body.get("idempotency_key")
    if key is None:
        return None
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        fail(400, "idempotency_key must be a string of 1 to 255 printable ASCII characters")
    return key


def state() -> SandboxState:
    """The running sandbox's state."""
    return current_state()


def account_id() -> str:
    """The account of the request's API key (set by the auth hook)."""
    return str(g.account_id)


def company_or_404(company_id: str) -> dict[str, Any]:
    """The company row if it is in the caller's account, else 404."""
    row = None
    if is_uuid(company_id):
        row = state().store.one(
            "SELECT * FROM companies WHERE id = ? AND account_id = ?", company_id, account_id()
        )
    if row is None:
        fail(
            404,
            f"Company {company_id} isn't in your account; check the id "
            "(GET /companies?external_id=... finds a company by your own id)",
        )
    return dict(row)


def run_or_404(company_id: str, run_id: str, kind: str) -> dict[str, Any]:
    """The run if it belongs to the company, else 404."""
    row = None
    if is_uuid(run_id):
        row = state().store.one(
            "SELECT * FROM runs WHERE id = ? AND company_id = ? AND kind = ?",
            run_id,
            company_id,
            kind,
        )
    if row is None:
        noun = "Import" if kind == "import" else "Export"
        fail(
            404,
            f"{noun} run {run_id} isn't in this company; check the run_id "
            "(GET /companies/{id}/imports lists the company's runs)",
        )
    return dict(row)


def created(payload: dict[str, Any], status: int = 201) -> Response:
    """A JSON response with ``status``."""
    response = jsonify(payload)
    response.status_code = status
    return response


def receive_file(final: Path, limit: int, too_big: str) -> tuple[Path, int]:
    """Stream the request body (a signed upload's ``PUT``) into a private partial file beside
    ``final``; returns it and its size in bytes. More than ``limit`` bytes: 413 ``too_big``.
    The caller renames the partial file into place once it has claimed the upload; if the
    client goes away (or the body is too big) nothing is kept and the URL stays usable."""
    if request.content_length is not None and request.content_length > limit:
        fail(413, too_big)
    request.max_content_length = limit
    partial = final.with_name(f"{final.name}.{secrets.token_hex(6)}.part")
    received = 0
    try:
        with os.fdopen(private_file(partial), "wb") as out:
            while chunk := request.stream.read(1 << 20):
                received += len(chunk)
                if received > limit:
                    fail(413, too_big)
                out.write(chunk)
    except RequestEntityTooLarge:
        partial.unlink(missing_ok=True)
        fail(413, too_big)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial, received


def account_rows(table: str, external_id: str | None) -> list[dict[str, Any]]:
    """The caller's account's rows of ``table`` (``companies`` or ``migrations``), newest
    first, only those with ``external_id`` when it is given: the EXT find of both
    generations."""
    sql = f"SELECT * FROM {table} WHERE account_id = ?"  # table: one of ours, never the caller's
    args: list[Any] = [account_id()]
    if external_id is not None:
        sql += " AND external_id = ?"
        args.append(external_id)
    return [dict(r) for r in state().store.all(sql + " ORDER BY seq DESC", *args)]
