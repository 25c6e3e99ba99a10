"""Routes for import runs: create (idempotent), poll, list, decide and cancel."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, jsonify, request

from migkit.sandbox import attention, rowstore
from migkit.sandbox.http import (
    company_or_404,
    created,
    fail,
    idempotency_key,
    json_body,
    run_or_404,
    state,
)
from migkit.sandbox.store import (
    ACTIVE_IMPORT_STATUSES,
    TERMINAL_STATUSES,
    canonical_hash,
    dumps,
    new_id,
    now_iso,
)

SCALARS = (str, int, float, bool, type(None))


def _check_files(company: dict[str, Any], files: Any) -> None:
    if not isinstance(files, list) or not files:
        fail(400, "files must be a non-empty array of {name, upload_ref} objects")
    for number, entry in enumerate(files):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry.get(k) for k in ("name", "upload_ref")
        ):
            fail(400, f"files[{number}] must be an object with string name and upload_ref")
        upload = state().store.one(
            "SELECT stored FROM uploads WHERE company_id = ? AND upload_ref = ?",
            company["id"],
            entry["upload_ref"],
        )
        if upload is None:
            fail(
                400,
                f"files[{number}].upload_ref {entry['upload_ref']!r} is not an upload of "
                "this company; get one from POST /companies/{id}/uploads",
            )
        if not upload["stored"]:
            fail(
                400,
                f"files[{number}].upload_ref {entry['upload_ref']!r} has no bytes yet; "
                "PUT the file to its upload_url first",
            )


def _check_rows(company: dict[str, Any], body: dict[str, Any]) -> None:
    rows = body["rows"]
    if not isinstance(rows, list) or not rows:
        fail(400, "rows must be a non-empty array of objects keyed by column name")
    for number, row in enumerate(rows):
        if not isinstance(row, dict):
            fail(400, f"rows[{number}] must be an object keyed by column name")
        for column, value in row.items():
            if not isinstance(value, SCALARS):
                fail(
                    400,
                    f"rows[{number}][{column!r}] must be a string, number, boolean or "
                    f"null, not a JSON {type(value).__name__}",
                )
    sheets = state().store.all(
        "SELECT id, name FROM sheets WHERE company_id = ? ORDER BY position", company["id"]
    )
    sheet_id = body.get("sheet_id")
    if sheet_id is not None:
        if not isinstance(sheet_id, str):
            fail(400, "sheet_id must be a string: the id of one of the company's sheets")
        if sheet_id not in {s["id"] for s in sheets}:
            fail(404, f"sheet_id {sheet_id!r} isn't a sheet of this company")
    elif len(sheets) != 1:
        names = ", ".join(s["name"] for s in sheets)
        fail(
            400,
            f"This company has {len(sheets)} sheets ({names}); pass sheet_id to say "
            "which one the rows go to",
        )


def run_created(company_id: str, run: dict[str, Any], kind: str, status: int) -> Response:
    """The ``{run_id, status, poll_url}`` answer to a run creation."""
    path = "imports" if kind == "import" else "exports"
    return created(
        {
            "run_id": run["id"],
            "status": run["status"],
            "poll_url": f"/api/v1/companies/{company_id}/{path}/{run['id']}",
        },
        status,
    )


def insert_run(
    company: dict[str, Any], kind: str, body: dict[str, Any], key: str | None
) -> Response:
    """Create a run, or replay the one with the same idempotency key (shared with exports)."""
    st = state()
    payload = {k: v for k, v in body.items() if k != "idempotency_key"}
    digest = canonical_hash(payload)
    with st.store.write() as db:
        if key is not None:
            existing = db.execute(
                "SELECT id, status, payload_hash FROM runs WHERE company_id = ? AND kind = ?"
                " AND idempotency_key = ?",
                (company["id"], kind, key),
            ).fetchone()
            if existing is not None:
                if existing["payload_hash"] != digest:
                    fail(409, "idempotency_key was already used with a different payload")
                return run_created(company["id"], dict(existing), kind, 200)
        if kind == "import":
            active = db.execute(
                "SELECT id FROM runs WHERE company_id = ? AND kind = 'import' AND status IN"
                " (?, ?, ?) ORDER BY seq DESC LIMIT 1",
                (company["id"], *ACTIVE_IMPORT_STATUSES),
            ).fetchone()
            if active is not None:
                fail(409, "An import is already in progress for this company", run_id=active["id"])
        run = {"id": new_id(), "status": "queued"}
        db.execute(
            "INSERT INTO runs (id, company_id, kind, status, progress_message, idempotency_key,"
            " payload_hash, request_json, created_at, seq) VALUES (?, ?, ?, 'queued', ?, ?, ?,"
            " ?, ?, ?)",
            (
                run["id"],
                company["id"],
                kind,
                "Waiting to start",
                key,
                digest,
                dumps(payload),
                now_iso(),
                st.store.next_seq(db, "runs"),
            ),
        )
    st.worker.notify()
    return run_created(company["id"], run, kind, 201)


def create_import(company_id: str) -> Response:
    company = company_or_404(company_id)
    body = json_body(request.get_data())
    key = idempotency_key(body)
    has_files, has_rows = "files" in body, "rows" in body
    if has_files == has_rows:
        fail(400, "Send exactly one of files (uploaded files) or rows (inline row objects)")
    if has_files:
        if "sheet_id" in body:
            fail(400, "sheet_id goes with rows only; files are matched to sheets by name")
        _check_files(company, body["files"])
    else:
        _check_rows(company, body)
    return insert_run(company, "import", body, key)


def run_body(run: dict[str, Any]) -> dict[str, Any]:
    """The documented poll body for a run's status."""
    status = run["status"]
    body: dict[str, Any] = {"status": status}
    if status in ("queued", "running"):
        body["progress_message"] = run["progress_message"] or (
            "Waiting to start" if status == "queued" else "Working"
        )
    elif status == "needs_attention":
        body["report"] = json.loads(run["report_json"])
        body["needs_attention"] = json.loads(run["attention_json"])["public"]
    elif status == "completed":
        body["report"] = json.loads(run["report_json"])
    elif status == "failed":
        body["error"] = run["error"]
    return body


def poll_import(company_id: str, run_id: str) -> Response:
    company_or_404(company_id)
    return jsonify(run_body(run_or_404(company_id, run_id, "import")))


def list_imports(company_id: str) -> Response:
    company_or_404(company_id)
    status = request.args.get("status")
    if status not in (None, "active"):
        fail(400, "status must be 'active' (or left out to list every run)")
    sql = (
        "SELECT id, status, idempotency_key, created_at FROM runs WHERE company_id = ?"
        " AND kind = 'import'"
    )
    if status == "active":
        sql += " AND status IN (?, ?, ?)"
    args = (company_id, *ACTIVE_IMPORT_STATUSES) if status == "active" else (company_id,)
    rows = state().store.all(sql + " ORDER BY seq DESC", *args)
    return jsonify(
        {
            "imports": [
                {
                    "run_id": r["id"],
                    "status": r["status"],
                    "idempotency_key": r["idempotency_key"],
                    "created_at": r["created_at"],
                }
                for r in rows
            ]
        }
    )


def decide(company_id: str, run_id: str) -> Response:
    company_or_404(company_id)
    run = run_or_404(company_id, run_id, "import")
    body = json_body(request.get_data())
    st = state()
    with st.store.write() as db:
        current = db.execute(
            "SELECT status, attention_json, fixes_json FROM runs WHERE id = ?", (run["id"],)
        ).fetchone()
        if current["status"] != "needs_attention":
            fail(409, "Run is not waiting for a decision")
        try:
            fixes = attention.decision_fixes(json.loads(current["attention_json"]), body)
        except attention.DecisionError as exc:
            fail(400, str(exc))
        db.execute(
            "UPDATE runs SET status = 'queued', progress_message = ?, fixes_json = ? WHERE id = ?",
            ("Applying your decision", dumps(json.loads(current["fixes_json"]) + fixes), run["id"]),
        )
    st.worker.notify()
    return jsonify({"run_id": run["id"], "status": "queued"})


def cancel(company_id: str, run_id: str) -> Response:
    company_or_404(company_id)
    run = run_or_404(company_id, run_id, "import")
    body = json_body(request.get_data())
    if body.get("status") != "cancel_requested":
        fail(400, 'To cancel a run, send {"status": "cancel_requested"}')
    with state().store.write() as db:
        status = db.execute("SELECT status FROM runs WHERE id = ?", (run["id"],)).fetchone()[0]
        if status in TERMINAL_STATUSES:
            fail(
                409,
                f"Run already {status}; only queued, running or needs_attention runs "
                "can be canceled",
            )
        db.execute(
            "UPDATE runs SET status = 'canceled', progress_message = NULL WHERE id = ?",
            (run["id"],),
        )
        rowstore.delete_run_rows(db, run["id"])
    return jsonify({"status": "canceled"})


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    base = f"{prefix}/companies/<company_id>/imports"
    app.add_url_rule(base, view_func=create_import, methods=["POST"])
    app.add_url_rule(base, view_func=list_imports, methods=["GET"])
    app.add_url_rule(f"{base}/<run_id>", view_func=poll_import, methods=["GET"])
    app.add_url_rule(f"{base}/<run_id>", view_func=cancel, methods=["PATCH"])
    app.add_url_rule(f"{base}/<run_id>/decisions", view_func=decide, methods=["POST"])
