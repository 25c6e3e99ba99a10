"""Routes for a migration's live source connection: ``GET``/``POST``/``DELETE
…/source-connection``. Secrets are checked, hashed with a salt and never returned."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Flask, Response, jsonify, request

from migkit.sandbox import thread
from migkit.sandbox.connector import CONNECTORS, Connector, check_credentials, hashes
from migkit.sandbox.http import created, fail, json_body, state
from migkit.sandbox.migrations import migration_or_404
from migkit.sandbox.store import dumps, new_id, now_iso

DEFAULT_PROFILE = "default"
WORKBOOK = "workbook"  # the GET query value that means "bound to the workbook" (null)


def connection_body(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    """The documented connection shape; never a secret, only ``creds_configured``."""
    connector = CONNECTORS[row["source_key"]]
    stored = json.loads(row["secret_hashes_json"])
    return {
        "id": row["id"],
        "profile_id": row["profile_id"],
        "source_key": row["source_key"],
        "name": connector.name,
        "category": connector.category,
        "config": json.loads(row["config_json"]),
        "selected_streams": json.loads(row["selected_streams_json"] or "null"),
        "stream_state": json.loads(row["stream_state_json"]),
        "creds_configured": all(name in stored for name in connector.schema),
        "bound_source_extractor_id": row["extractor_id"],
        "last_snapshot": json.loads(row["last_snapshot_json"]),
        "last_sync_at": row["last_sync_at"],
    }


def _connector(body: dict[str, Any]) -> Connector:
    key = body.get("source_key")
    if not isinstance(key, str) or not key.strip():
        fail(400, "source_key is required: the connector's key, e.g. sandbox_crm")
    if key not in CONNECTORS:
        fail(400, f"unknown or disabled connector: {key}")
    return CONNECTORS[key]


def _streams(connector: Connector, value: Any) -> list[str] | None:
    if value is None:
        return None
    known = sorted(connector.streams)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        fail(400, f"selected_streams must be null or a non-empty array of: {', '.join(known)}")
    unknown = [v for v in value if v not in connector.streams]
    if unknown:
        fail(400, f"selected_streams: unknown stream {unknown[0]}; {connector.key} has {known}")
    return list(dict.fromkeys(value))


def _profile(body: dict[str, Any]) -> str | None:
    if "profile_id" not in body:
        return DEFAULT_PROFILE
    value = body["profile_id"]
    if value is not None and (not isinstance(value, str) or not value.strip()):
        fail(400, "profile_id must be a non-empty string, or null to bind to the workbook")
    return value


def _object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        fail(400, f"{name} must be an object")
    return value


def _matching(
    db: sqlite3.Connection, migration_id: str, key: str | None, profile: Any
) -> list[Any]:
    sql = "SELECT * FROM source_connections WHERE migration_id = ?"
    args: list[Any] = [migration_id]
    if key is not None:
        sql += " AND source_key = ?"
        args.append(key)
    if profile is not ...:
        sql += " AND profile_id IS ?"
        args.append(profile)
    return list(db.execute(sql + " ORDER BY seq DESC", args).fetchall())


def save_connection(migration_id: str) -> Response:
    migration_or_404(migration_id)
    body = json_body(request.get_data())
    connector = _connector(body)
    profile = _profile(body)
    config, state_ = _object(body, "config"), _object(body, "stream_state")
    streams = _streams(connector, body.get("selected_streams"))
    secrets_given = "credentials" in body and body["credentials"] is not None
    secret_hashes: dict[str, str] = {}
    if secrets_given:
        try:
            secret_hashes = hashes(check_credentials(connector, body["credentials"], "credentials"))
        except ValueError as exc:
            fail(400, str(exc))
    st = state()
    with thread.writing(st.store, st.hub) as db:
        existing = _matching(db, migration_id, connector.key, profile)
        if existing:
            row = dict(existing[0])
            if config is not None:
                row["config_json"] = dumps(config)
            if state_ is not None:
                row["stream_state_json"] = dumps(state_)
            if "selected_streams" in body:
                row["selected_streams_json"] = dumps(streams)
            stored = {**json.loads(row["secret_hashes_json"]), **secret_hashes}
            row["secret_hashes_json"] = dumps(stored)
            db.execute(
                "UPDATE source_connections SET config_json = ?, stream_state_json = ?,"
                " selected_streams_json = ?, secret_hashes_json = ? WHERE id = ?",
                (
                    row["config_json"],
                    row["stream_state_json"],
                    row["selected_streams_json"],
                    row["secret_hashes_json"],
                    row["id"],
                ),
            )
            status, verb = 200, "Updated"
        else:
            row = {
                "id": new_id(),
                "migration_id": migration_id,
                "source_key": connector.key,
                "profile_id": profile,
                "config_json": dumps(config or {}),
                "selected_streams_json": dumps(streams),
                "stream_state_json": dumps(state_ or {}),
                "secret_hashes_json": dumps(secret_hashes),
                "last_snapshot_json": "{}",
                "last_sync_at": None,
                "extractor_id": None,
                "created_at": now_iso(),
                "seq": st.store.next_seq(db, "source_connections"),
            }
            db.execute(
                f"INSERT INTO source_connections ({', '.join(row)}) VALUES"
                f" ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
            status, verb = 201, "Connected"
        thread.append(db, migration_id, "status", {"message": f"{verb} {connector.name}"})
    return created({"source_connection": connection_body(row)}, status)


def _filters() -> tuple[str | None, Any]:
    key = request.args.get("source_key")
    profile: Any = request.args.get("profile_id", ...)
    if profile == WORKBOOK:
        profile = None
    return key, profile


def get_connection(migration_id: str) -> Response:
    migration_or_404(migration_id)
    key, profile = _filters()
    rows = _matching(state().store.db, migration_id, key, profile)
    if not rows:
        fail(404, "This migration has no source connection; POST /source-connection creates one")
    return jsonify({"source_connection": connection_body(rows[0])})


def delete_connection(migration_id: str) -> Response:
    migration_or_404(migration_id)
    key, profile = _filters()
    st = state()
    with thread.writing(st.store, st.hub) as db:
        rows = _matching(db, migration_id, key, profile)
        for row in rows:
            db.execute("DELETE FROM source_connections WHERE id = ?", (row["id"],))
            name = CONNECTORS[row["source_key"]].name
            thread.append(db, migration_id, "status", {"message": f"Disconnected {name}"})
    return Response(status=204)


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    path = f"{prefix}/migrations/<migration_id>/source-connection"
    app.add_url_rule(path, view_func=save_connection, methods=["POST"])
    app.add_url_rule(path, view_func=get_connection, methods=["GET"])
    app.add_url_rule(path, view_func=delete_connection, methods=["DELETE"])
