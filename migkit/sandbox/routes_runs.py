"""Routes for Generation-2 runs: start, poll, the EXT list, cancel, answers and credentials.

Checks run in the contract's order: 401, 429 (the app's hooks), 404, then 400 (the body and
the run kind's preconditions), then 409 (the state).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, jsonify, request

from migkit.sandbox import rowstore, thread
from migkit.sandbox.agent import WAITING
from migkit.sandbox.connector import CONNECTORS, check_credentials, hashes
from migkit.sandbox.http import created, fail, json_body, state
from migkit.sandbox.migrations import (
    FINISHED_RUN_STATUSES,
    RUN_KINDS,
    migration_or_404,
    poll_url,
    run_body,
    run_or_404,
)
from migkit.sandbox.store import dumps, new_id, now_iso

NEEDS = {
    "generate": "Upload a file or connect a source before generate",
    "update": "No preview yet; run generate first",
    "clarify": "No preview yet; run generate first",
    "execute": "No preview to execute; run generate first",
}


def _wake() -> None:
    agent = state().agent
    if agent is not None:
        agent.notify()


def _has_input(migration_id: str) -> bool:
    row = state().store.one(
        "SELECT 1 FROM migration_files WHERE migration_id = ? AND uploaded_at IS NOT NULL"
        " UNION ALL SELECT 1 FROM source_connections WHERE migration_id = ?",
        migration_id,
        migration_id,
    )
    return row is not None


def create_run(migration_id: str) -> Response:
    migration = migration_or_404(migration_id)
    body = json_body(request.get_data())
    kind = body.get("kind")
    if kind not in RUN_KINDS:
        fail(400, "kind must be one of: " + ", ".join(RUN_KINDS))
    message = body.get("message")
    if kind in ("update", "clarify") and (not isinstance(message, str) or not message.strip()):
        what = "what to change" if kind == "update" else "your question"
        fail(400, f"message is required for {kind}: a non-empty string saying {what}")
    ready = _has_input(migration_id) if kind == "generate" else migration["preview_version"] > 0
    if not ready:
        fail(400, NEEDS[str(kind)])
    st = state()
    run = {"id": new_id(), "kind": kind}
    with thread.writing(st.store, st.hub) as db:
        active = thread.active_run(db, migration_id)
        if active is not None:
            fail(409, "A run is already in progress for this migration", run_id=active["id"])
        current = db.execute(
            "SELECT preview_version, executed_version, executed_run_id FROM migrations"
            " WHERE id = ?",
            (migration_id,),
        ).fetchone()
        if kind == "execute" and current["executed_version"] == current["preview_version"]:
            fail(
                409,
                "This preview was already executed; run update or generate for a new preview "
                "to execute again",
                run_id=current["executed_run_id"],
            )
        request_body = {"kind": kind, "message": message if kind in ("update", "clarify") else None}
        db.execute(
            "INSERT INTO migration_runs (id, migration_id, kind, status, message, request_json,"
            " created_at, seq) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
            (
                run["id"],
                migration_id,
                kind,
                WAITING,
                dumps(request_body),
                now_iso(),
                st.store.next_seq(db, "migration_runs"),
            ),
        )
        if request_body["message"] is not None:
            thread.append(db, migration_id, "message", {"role": "user", "text": message}, run)
        thread.append(db, migration_id, "status", {"message": WAITING}, run)
    _wake()
    return created(
        {"run_id": run["id"], "status": "queued", "poll_url": poll_url(migration_id, run["id"])}
    )


def poll_run(migration_id: str, run_id: str) -> Response:
    migration_or_404(migration_id)
    return jsonify(run_body(run_or_404(migration_id, run_id)))


def list_runs(migration_id: str) -> Response:
    migration_or_404(migration_id)
    wanted = request.args.get("status")
    if wanted not in (None, "active"):
        fail(400, "status must be 'active' (or left out to list every run)")
    sql = "SELECT id, kind, status, created_at FROM migration_runs WHERE migration_id = ?"
    if wanted == "active":
        sql += " AND status IN (?, ?, ?)"
    args = (migration_id, *thread.ACTIVE_RUN_STATUSES) if wanted else (migration_id,)
    rows = state().store.all(sql + " ORDER BY seq DESC", *args)
    runs = [
        {"run_id": r["id"], "kind": r["kind"], "status": r["status"], "created_at": r["created_at"]}
        for r in rows
    ]
    return jsonify({"runs": runs})


def cancel_run(migration_id: str, run_id: str) -> Response:
    migration_or_404(migration_id)
    run = run_or_404(migration_id, run_id)
    body = json_body(request.get_data())
    if body.get("status") != "cancel_requested":
        fail(400, 'To cancel a run, send {"status": "cancel_requested"}')
    st = state()
    with thread.writing(st.store, st.hub) as db:
        status = db.execute("SELECT status FROM migration_runs WHERE id = ?", (run_id,)).fetchone()
        if status[0] in FINISHED_RUN_STATUSES:
            fail(409, "Run already finished")
        db.execute(
            "UPDATE migration_runs SET status = 'canceled', message = NULL, pending_json = '[]'"
            " WHERE id = ?",
            (run_id,),
        )
        rowstore.delete_run_rows(db, run_id)
        thread.append(
            db, migration_id, "status", {"message": "Run canceled", "status": "canceled"}, run
        )
    return jsonify(run_body(run_or_404(migration_id, run_id)))


def _answers(body: dict[str, Any]) -> list[dict[str, str]] | str:
    answers = body.get("answers")
    if isinstance(answers, str):
        if not answers.strip():
            fail(400, "answers must not be empty: send [{id, value}] or a free-form instruction")
        return answers
    if not isinstance(answers, list) or not answers:
        fail(
            400,
            "answers is required: an array of {id, value} (value: an option's label or free "
            "text) or a free-form instruction string",
        )
    seen: set[str] = set()
    for number, answer in enumerate(answers):
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            fail(400, f"answers[{number}] must be an object with a string id")
        if not isinstance(answer.get("value"), str) or not answer["value"].strip():
            fail(400, f"answers[{number}].value must be a non-empty string")
        if answer["id"] in seen:
            fail(400, f"question {answer['id']} is answered twice")
        seen.add(answer["id"])
    return [{"id": a["id"], "value": a["value"]} for a in answers]


def answer_run(migration_id: str, run_id: str) -> Response:
    migration_or_404(migration_id)
    run_or_404(migration_id, run_id)
    answers = _answers(json_body(request.get_data()))
    st = state()
    with thread.writing(st.store, st.hub) as db:
        run = dict(db.execute("SELECT * FROM migration_runs WHERE id = ?", (run_id,)).fetchone())
        if run["status"] == "blocked" and run["credential_json"]:
            fail(409, "This run is waiting for credentials; use /credentials")
        free_while_running = isinstance(answers, str) and run["status"] == "running"
        if run["status"] != "blocked" and not free_while_running:
            fail(409, "Run is not waiting for an answer")
        item: dict[str, Any]
        said: dict[str, Any]
        if isinstance(answers, str):
            item, said = {"type": "text", "text": answers}, {"text": answers}
        else:
            known = json.loads(run["questions_json"])["private"]
            for number, answer in enumerate(answers):
                if answer["id"] not in known:
                    fail(
                        400,
                        f"answers[{number}].id {answer['id']!r} is not a question of this run "
                        f"(questions: {', '.join(known)})",
                    )
            item, said = {"type": "answers", "answers": answers}, {"answers": answers}
        resume = run["status"] == "blocked"
        db.execute(
            "UPDATE migration_runs SET status = 'running', pending_json = ?,"
            " claimed = CASE WHEN ? THEN 0 ELSE claimed END,"
            " message = CASE WHEN ? THEN 'Applying your answer' ELSE message END WHERE id = ?",
            (dumps([*json.loads(run["pending_json"]), item]), resume, resume, run_id),
        )
        thread.append(db, migration_id, "message", {"role": "user", **said}, run)
    _wake()
    return jsonify({"run_id": run_id, "status": "running"})


def submit_credentials(migration_id: str, run_id: str) -> Response:
    migration_or_404(migration_id)
    run_or_404(migration_id, run_id)
    body = json_body(request.get_data())
    credentials = body.get("credentials")
    if not isinstance(credentials, dict) or not credentials:
        fail(400, "credentials is required: a non-empty object of the secret values asked for")
    guard = body.get("connection_id")
    if guard is not None and not isinstance(guard, str):
        fail(400, "connection_id must be a string: the credential_request's connection_id")
    st = state()
    with thread.writing(st.store, st.hub) as db:
        run = dict(db.execute("SELECT * FROM migration_runs WHERE id = ?", (run_id,)).fetchone())
        if run["status"] != "blocked" or not run["credential_json"]:
            fail(409, "This run isn't waiting for credentials")
        asked = json.loads(run["credential_json"])
        if guard is not None and guard != asked["connection_id"]:
            fail(409, "connection_id does not match the connection this run asked credentials for")
        conn = db.execute(
            "SELECT * FROM source_connections WHERE id = ?", (asked["connection_id"],)
        ).fetchone()
        if conn is None:
            fail(
                404,
                "The run's source connection no longer exists; cancel the run and connect again",
            )
        connector = CONNECTORS[conn["source_key"]]
        try:
            values = check_credentials(connector, credentials, "credentials")
        except ValueError as exc:
            fail(400, str(exc))
        stored = {**json.loads(conn["secret_hashes_json"]), **hashes(values)}
        db.execute(
            "UPDATE source_connections SET secret_hashes_json = ? WHERE id = ?",
            (dumps(stored), conn["id"]),
        )
        db.execute(
            "UPDATE migration_runs SET status = 'running', claimed = 0, credential_json = NULL,"
            " message = 'Resuming with your credentials' WHERE id = ?",
            (run_id,),
        )
        text = f"Credentials submitted for {connector.name}"
        thread.append(db, migration_id, "message", {"role": "user", "text": text}, run)
    _wake()
    return jsonify({"run_id": run_id, "status": "running"})


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    base = f"{prefix}/migrations/<migration_id>/runs"
    app.add_url_rule(base, view_func=create_run, methods=["POST"])
    app.add_url_rule(base, view_func=list_runs, methods=["GET"])
    app.add_url_rule(f"{base}/<run_id>", view_func=poll_run, methods=["GET"])
    app.add_url_rule(f"{base}/<run_id>", view_func=cancel_run, methods=["PATCH"])
    app.add_url_rule(f"{base}/<run_id>/messages", view_func=answer_run, methods=["POST"])
    app.add_url_rule(f"{base}/<run_id>/credentials", view_func=submit_credentials, methods=["POST"])
