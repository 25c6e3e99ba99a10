"""Routes for the catalog, companies and signed uploads."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from html import escape
from typing import Any

from flask import Flask, Response, jsonify, request

from migkit.sandbox.exporter import slug
from migkit.sandbox.http import (
    account_id,
    account_rows,
    company_or_404,
    created,
    fail,
    json_body,
    receive_file,
    size_text,
    state,
    string_field,
)
from migkit.sandbox.reader import CONTENT_TYPES
from migkit.sandbox.store import dumps, is_uuid, new_id, now_iso

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
EXTERNAL_ID_MESSAGE = (
    "external_id must contain only alphanumeric characters, hyphens, and underscores "
    "(max 255 chars)"
)


def company_body(company: dict[str, Any]) -> dict[str, Any]:
    """The documented company shape (the 201 body of ``POST /companies``)."""
    st = state()
    sheets = st.store.all(
        "SELECT id, name, template_id FROM sheets WHERE company_id = ? ORDER BY position",
        company["id"],
    )
    return {
        "company": {
            "id": company["id"],
            "name": company["name"],
            "external_id": company["external_id"],
            "created_at": company["created_at"],
        },
        "workbook_id": company["workbook_id"],
        "sheets": [dict(s) for s in sheets],
        "magic_link_url": f"{st.public_url}/link/{company['magic_token']}",
    }


def list_sources() -> Response:
    rows = state().store.all(
        "SELECT id, name, logo_url FROM sources WHERE account_id = ? ORDER BY position",
        account_id(),
    )
    return jsonify({"sources": [dict(r) for r in rows]})


def list_templates() -> Response:
    rows = state().store.all(
        "SELECT id, name, description, columns_json FROM templates WHERE account_id = ?"
        " ORDER BY position",
        account_id(),
    )
    return jsonify(
        {
            "templates": [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "slug": slug(r["name"]),  # Generation 2 names templates by slug
                    "description": r["description"],
                    "columns": json.loads(r["columns_json"]),
                }
                for r in rows
            ]
        }
    )


def _template_ids(body: dict[str, Any]) -> list[str]:
    templates = state().store.all(
        "SELECT id FROM templates WHERE account_id = ? ORDER BY position", account_id()
    )
    known = [r["id"] for r in templates]
    wanted = body.get("template_ids")
    if wanted is None:
        return known
    if not isinstance(wanted, list) or not wanted or not all(isinstance(t, str) for t in wanted):
        fail(400, "template_ids must be a non-empty array of template ids (GET /templates)")
    unknown = [t for t in wanted if t not in known]
    if unknown:
        fail(
            400,
            f"template_ids {unknown} are not templates of your account; GET /templates lists them",
        )
    return list(dict.fromkeys(wanted))


def _connections(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("connections")
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(400, 'connections must be an object like {"base_url": "https://...", "auth": {}}')
    base_url = value.get("base_url")
    if base_url is not None and (
        not isinstance(base_url, str) or not base_url.startswith(("http://", "https://"))
    ):
        fail(400, "connections.base_url must be an http(s) URL")
    if value.get("auth") is not None and not isinstance(value.get("auth"), dict):
        fail(400, "connections.auth must be an object")
    return value


def create_company() -> Response:
    body = json_body(request.get_data())
    name = string_field(body, "name", required=True)
    source = string_field(body, "source", required=True)
    external_id = body.get("external_id")
    if external_id is not None and (
        not isinstance(external_id, str) or not EXTERNAL_ID.fullmatch(external_id)
    ):
        fail(400, EXTERNAL_ID_MESSAGE)
    st = state()
    if (
        not is_uuid(source)
        or st.store.one(
            "SELECT 1 FROM sources WHERE id = ? AND account_id = ?", source, account_id()
        )
        is None
    ):
        fail(404, f"source {source} isn't a source of your account; GET /sources lists them")
    template_ids = _template_ids(body)
    connections = _connections(body)
    company_id = new_id()
    with st.store.write() as db:
        if (
            external_id is not None
            and db.execute(
                "SELECT 1 FROM companies WHERE account_id = ? AND external_id = ?",
                (account_id(), external_id),
            ).fetchone()
        ):
            fail(409, "external_id already used by another company in your account")
        db.execute(
            "INSERT INTO companies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                company_id,
                account_id(),
                name,
                external_id,
                source,
                new_id(),
                secrets.token_urlsafe(12),
                dumps(connections) if connections else None,
                now_iso(),
                st.store.next_seq(db, "companies"),
            ),
        )
        for position, template_id in enumerate(template_ids):
            template_name = db.execute(
                "SELECT name FROM templates WHERE id = ?", (template_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO sheets VALUES (?, ?, ?, ?, ?)",
                (new_id(), company_id, template_id, template_name, position),
            )
    return created(company_body(company_or_404(company_id)))


def get_company(company_id: str) -> Response:
    return jsonify(company_body(company_or_404(company_id)))


def find_companies() -> Response:
    rows = account_rows("companies", request.args.get("external_id"))
    return jsonify({"companies": [company_body(r) for r in rows]})


def create_upload(company_id: str) -> Response:
    company = company_or_404(company_id)
    body = json_body(request.get_data())
    name = string_field(body, "name", required=True)
    content_type = string_field(body, "content_type", required=True)
    size = body.get("size")
    if content_type not in CONTENT_TYPES:
        fail(
            400,
            f"content_type {content_type!r} is not supported; use one of: "
            + ", ".join(CONTENT_TYPES),
        )
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        fail(400, "size must be the file's length in bytes, a positive integer")
    st = state()
    if size > st.config.max_upload:
        fail(
            413,
            f"size {size} exceeds the {size_text(st.config.max_upload)} upload limit; "
            "split the file",
        )
    upload_id, token = new_id(), secrets.token_urlsafe(24)
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))[:120]
    upload_ref = f"workbook-files/{company['workbook_id']}/{upload_id}/{safe_name}"
    with st.store.write() as db:
        db.execute(
            "INSERT INTO uploads (id, company_id, token, upload_ref, name, content_type, size,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                upload_id,
                company_id,
                token,
                upload_ref,
                name,
                content_type,
                size,
                time.time() + st.config.upload_ttl,
            ),
        )
    return created(
        {"upload_url": f"{st.public_url}/storage/v1/upload/{token}", "upload_ref": upload_ref}
    )


def put_upload(token: str) -> Response:
    st = state()
    upload = st.store.one("SELECT * FROM uploads WHERE token = ?", token)
    if upload is None or upload["expires_at"] < time.time():
        fail(
            403,
            "This upload URL is invalid or expired; request a new one with "
            "POST /companies/{id}/uploads",
        )
    if upload["stored"]:
        fail(
            403,
            "This upload URL was already used (signed URLs are single-use); request a "
            "new one with POST /companies/{id}/uploads",
        )
    sent_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if sent_type != upload["content_type"]:
        fail(
            400,
            f"Content-Type {sent_type or '(none)'} does not match the declared "
            f"{upload['content_type']}; PUT with the declared type",
        )
    if request.content_length != upload["size"]:
        fail(
            400,
            f"Body is {request.content_length or 0} bytes but {upload['size']} were "
            "declared; PUT exactly the declared size",
        )
    path = st.store.upload_path(upload["id"])
    too_big = f"Body is larger than the {upload['size']} bytes declared; PUT exactly that size"
    partial, received = receive_file(path, upload["size"], too_big)
    if received != upload["size"]:
        partial.unlink(missing_ok=True)
        fail(400, f"Received {received} bytes but {upload['size']} were declared")
    with st.store.write() as db:
        claimed = db.execute(
            "UPDATE uploads SET stored = 1 WHERE id = ? AND stored = 0", (upload["id"],)
        ).rowcount
        if claimed:
            os.replace(partial, path)
    if not claimed:
        partial.unlink(missing_ok=True)
        fail(403, "This upload URL was already used (signed URLs are single-use)")
    return jsonify({})


def magic_link(token: str) -> Response:
    row = state().store.one("SELECT name FROM companies WHERE magic_token = ?", token)
    if row is None:
        fail(404, "This magic link is invalid or was refreshed; ask for a new one")
    page = (
        "<!doctype html><title>Upload your files</title>"
        f"<h1>{escape(row['name'])}</h1><p>This is the migkit sandbox's stand-in for Vern's "
        "magic link page, where a customer accepts the terms and uploads files. Use the API's "
        "signed uploads to add files in the sandbox.</p>"
    )
    return Response(page, content_type="text/html; charset=utf-8")


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    app.add_url_rule(f"{prefix}/sources", view_func=list_sources, methods=["GET"])
    app.add_url_rule(f"{prefix}/templates", view_func=list_templates, methods=["GET"])
    app.add_url_rule(f"{prefix}/companies", view_func=create_company, methods=["POST"])
    app.add_url_rule(f"{prefix}/companies", view_func=find_companies, methods=["GET"])
    app.add_url_rule(f"{prefix}/companies/<company_id>", view_func=get_company, methods=["GET"])
    app.add_url_rule(
        f"{prefix}/companies/<company_id>/uploads", view_func=create_upload, methods=["POST"]
    )
    app.add_url_rule("/storage/v1/upload/<token>", view_func=put_upload, methods=["PUT"])
    app.add_url_rule("/link/<token>", view_func=magic_link, methods=["GET"])
