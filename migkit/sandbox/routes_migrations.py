"""Routes for Generation-2 migrations and their files: create (idempotent on ``external_id``),
the EXT get and find, signed uploads (``POST``/``GET …/files``) and the signed ``PUT``."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from flask import Flask, Response, jsonify, request

from migkit.sandbox import thread
from migkit.sandbox.exporter import slug
from migkit.sandbox.http import (
    account_id,
    account_rows,
    created,
    fail,
    json_body,
    receive_file,
    size_text,
    state,
)
from migkit.sandbox.migrations import migration_body, migration_or_404
from migkit.sandbox.reader import CONTENT_TYPES, XLS, XLSX
from migkit.sandbox.routes_companies import EXTERNAL_ID, EXTERNAL_ID_MESSAGE
from migkit.sandbox.store import new_id, now_iso

MAX_FILES = 20
MAX_NAME = 255
BY_EXTENSION = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "xlsx": XLSX,
    "xls": XLS,
    "json": "application/json",
    "jsonl": "application/json",
}
UPLOAD_PATH = "/storage/v1/object/upload/sign/"


def _source(body: dict[str, Any]) -> str | None:
    source = body.get("source")
    if source is None or source == "":
        return None
    if not isinstance(source, str):
        fail(400, "source must be the name of one of your sources (GET /sources), or null")
    known = state().store.one(
        "SELECT 1 FROM sources WHERE account_id = ? AND name = ?", account_id(), source
    )
    if known is None:
        fail(400, f"unknown source: {source}")
    return source


def _templates(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = state().store.all(
        "SELECT id, name FROM templates WHERE account_id = ? ORDER BY position", account_id()
    )
    by_slug = {slug(r["name"]): dict(r) for r in rows}
    wanted = body.get("templates")
    if wanted is None:
        return list(by_slug.values())
    if not isinstance(wanted, list) or not wanted or not all(isinstance(t, str) for t in wanted):
        fail(400, "templates must be a non-empty array of template slugs (GET /templates)")
    for name in wanted:
        if name not in by_slug:
            fail(400, f"unknown template: {name}; GET /templates lists each template's slug")
    return [by_slug[name] for name in dict.fromkeys(wanted)]


def _name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        fail(400, f"name is required: a non-empty string of at most {MAX_NAME} characters")
    return name


def create_migration() -> Response:
    body = json_body(request.get_data())
    name = _name(body)
    source = _source(body)
    external_id = body.get("external_id")
    if external_id is not None and (
        not isinstance(external_id, str) or not EXTERNAL_ID.fullmatch(external_id)
    ):
        fail(400, EXTERNAL_ID_MESSAGE)
    templates = _templates(body)
    st = state()
    migration_id = new_id()
    with st.store.write() as db:
        if external_id is not None:
            existing = db.execute(
                "SELECT * FROM migrations WHERE account_id = ? AND external_id = ?",
                (account_id(), external_id),
            ).fetchone()
            if existing is not None and existing["source"] != source:
                fail(409, "external_id already used by a migration with another source")
            if existing is not None:
                return created({"migration": migration_body(dict(existing))}, 200)
        db.execute(
            "INSERT INTO migrations (id, account_id, name, source, external_id, workbook_id,"
            " created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                migration_id,
                account_id(),
                name,
                source,
                external_id,
                new_id(),
                now_iso(),
                st.store.next_seq(db, "migrations"),
            ),
        )
        for position, template in enumerate(templates):
            db.execute(
                "INSERT INTO sheets VALUES (?, ?, ?, ?, ?)",
                (new_id(), migration_id, template["id"], template["name"], position),
            )
    return created({"migration": migration_body(migration_or_404(migration_id))})


def get_migration(migration_id: str) -> Response:
    return jsonify({"migration": migration_body(migration_or_404(migration_id))})


def find_migrations() -> Response:
    rows = account_rows("migrations", request.args.get("external_id"))
    return jsonify({"migrations": [migration_body(r) for r in rows]})


def _file_entry(number: int, entry: Any) -> tuple[str, str]:
    where = f"files[{number}]"
    if not isinstance(entry, dict):
        fail(400, f'{where} must be an object like {{"name": "contacts.csv"}}')
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        fail(400, f"{where}.name is required: the file's name, e.g. contacts.csv")
    if len(name) > MAX_NAME or "/" in name or any(ord(c) < 32 for c in name):
        fail(
            400,
            f"{where}.name must be at most {MAX_NAME} characters with no '/' or control characters",
        )
    content_type = entry.get("content_type")
    if content_type is None:
        content_type = BY_EXTENSION.get(name.rsplit(".", 1)[-1].lower() if "." in name else "")
        if content_type is None:
            fail(400, f"{where}.content_type is required: {name}'s extension does not say")
    if content_type not in CONTENT_TYPES:
        fail(
            400,
            f"{where}.content_type {content_type!r} is not supported; use one of: "
            + ", ".join(CONTENT_TYPES),
        )
    return name, str(content_type)


def create_files(migration_id: str) -> Response:
    migration = migration_or_404(migration_id)
    body = json_body(request.get_data())
    files = body.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        fail(400, f'files must be an array of 1 to {MAX_FILES} objects like {{"name": "a.csv"}}')
    entries = [_file_entry(n, e) for n, e in enumerate(files)]
    st = state()
    out = []
    with st.store.write() as db:
        for name, content_type in entries:
            file_id, token = new_id(), secrets.token_urlsafe(24)
            storage_path = f"workbooks/{migration['workbook_id']}/{file_id}-{name}"
            db.execute(
                "INSERT INTO migration_files (id, migration_id, token, name, storage_path,"
                " content_type, expires_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    file_id,
                    migration_id,
                    token,
                    name,
                    storage_path,
                    content_type,
                    time.time() + st.config.upload_ttl,
                    st.store.next_seq(db, "migration_files"),
                ),
            )
            out.append(
                {
                    "name": name,
                    "storage_path": storage_path,
                    "signed_url": f"{st.public_url}{UPLOAD_PATH}{token}",
                    "token": token,
                    "content_type": content_type,
                }
            )
    return created({"files": out})


def list_files(migration_id: str) -> Response:
    migration_or_404(migration_id)
    rows = state().store.all(
        "SELECT name, storage_path, content_type, size, uploaded_at FROM migration_files"
        " WHERE migration_id = ? ORDER BY seq",
        migration_id,
    )
    return jsonify(
        {
            "files": [
                {
                    "name": r["name"],
                    "storage_path": r["storage_path"],
                    "content_type": r["content_type"],
                    "size": r["size"],
                    "status": "uploaded" if r["uploaded_at"] else "pending",
                    "uploaded_at": r["uploaded_at"],
                }
                for r in rows
            ]
        }
    )


def put_file(token: str) -> Response:
    st = state()
    row = st.store.one("SELECT * FROM migration_files WHERE token = ?", token)
    again = "request a new one with POST /migrations/{id}/files"
    if row is None or row["expires_at"] < time.time():
        fail(403, f"This upload URL is invalid or expired; {again}")
    if row["uploaded_at"]:
        fail(403, f"This upload URL was already used (signed URLs are single-use); {again}")
    sent = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if sent != row["content_type"]:
        fail(
            400,
            f"Content-Type {sent or '(none)'} does not match the declared "
            f"{row['content_type']}; PUT with the declared type",
        )
    final = st.store.upload_path(row["id"])
    limit = st.config.max_upload
    too_big = f"The file is larger than the {size_text(limit)} upload limit; split it"
    partial, size = receive_file(final, limit, too_big)
    with thread.writing(st.store, st.hub) as db:
        claimed = db.execute(
            "UPDATE migration_files SET uploaded_at = ?, size = ? WHERE id = ?"
            " AND uploaded_at IS NULL",
            (now_iso(), size, row["id"]),
        ).rowcount
        if claimed:
            os.replace(partial, final)
            thread.append(
                db,
                row["migration_id"],
                "status",
                {"message": f"{row['name']} uploaded ({size} bytes)", "file": row["name"]},
            )
    if not claimed:
        partial.unlink(missing_ok=True)
        fail(403, "This upload URL was already used (signed URLs are single-use)")
    return jsonify({})


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    base = f"{prefix}/migrations"
    app.add_url_rule(base, view_func=create_migration, methods=["POST"])
    app.add_url_rule(base, view_func=find_migrations, methods=["GET"])
    app.add_url_rule(f"{base}/<migration_id>", view_func=get_migration, methods=["GET"])
    app.add_url_rule(f"{base}/<migration_id>/files", view_func=create_files, methods=["POST"])
    app.add_url_rule(f"{base}/<migration_id>/files", view_func=list_files, methods=["GET"])
    app.add_url_rule(UPLOAD_PATH + "<token>", view_func=put_file, methods=["PUT"])
