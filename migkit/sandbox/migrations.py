"""Generation-2 records as the API shows them: migrations, their status, and run poll bodies;
and the lookups that answer 404 for anything outside the caller's account."""

from __future__ import annotations

import json
from typing import Any

from migkit.sandbox.exporter import slug
from migkit.sandbox.http import account_id, fail, state
from migkit.sandbox.sheets import Sheet, company_sheets
from migkit.sandbox.store import Store, is_uuid
from migkit.sandbox.thread import ACTIVE_RUN_STATUSES

RUN_KINDS = ("generate", "update", "clarify", "execute")
FINISHED_RUN_STATUSES = ("awaiting_approval", "completed", "failed", "canceled")


def sheets_of(store: Store, migration_id: str) -> list[Sheet]:
    """The migration's sheets, one per template, in the order the migration named them.

    A migration owns a workbook as a company does; its sheets live in the same table.
    """
    return company_sheets(store, migration_id)


def status(store: Store, migration: dict[str, Any]) -> str:
    """``awaiting_files``, ``ready``, ``in_progress``, ``awaiting_approval`` or ``completed``."""
    mid = migration["id"]
    active = store.one(
        "SELECT 1 FROM migration_runs WHERE migration_id = ? AND status IN (?, ?, ?)",
        mid,
        *ACTIVE_RUN_STATUSES,
    )
    if active is not None:
        return "in_progress"
    if migration["preview_version"]:
        executed = migration["executed_version"] == migration["preview_version"]
        return "completed" if executed else "awaiting_approval"
    has_input = store.one(
        "SELECT 1 FROM migration_files WHERE migration_id = ? AND uploaded_at IS NOT NULL"
        " UNION ALL SELECT 1 FROM source_connections WHERE migration_id = ?",
        mid,
        mid,
    )
    return "ready" if has_input is not None else "awaiting_files"


def migration_body(migration: dict[str, Any]) -> dict[str, Any]:
    """The documented migration shape (with ``external_id`` and ``created_at``)."""
    store = state().store
    return {
        "id": migration["id"],
        "name": migration["name"],
        "source": migration["source"],
        "external_id": migration["external_id"],
        "status": status(store, migration),
        "templates": [
            {"slug": slug(s.template.name), "name": s.template.name}
            for s in sheets_of(store, migration["id"])
        ],
        "created_at": migration["created_at"],
    }


def migration_or_404(migration_id: str) -> dict[str, Any]:
    """The migration if it is in the caller's account, else 404."""
    row = None
    if is_uuid(migration_id):
        row = state().store.one(
            "SELECT * FROM migrations WHERE id = ? AND account_id = ?", migration_id, account_id()
        )
    if row is None:
        fail(
            404,
            f"Migration {migration_id} isn't in your account; check the id "
            "(GET /migrations?external_id=... finds a migration by your own id)",
        )
    return dict(row)


def run_or_404(migration_id: str, run_id: str) -> dict[str, Any]:
    """The run if it belongs to the migration, else 404."""
    row = None
    if is_uuid(run_id):
        row = state().store.one(
            "SELECT * FROM migration_runs WHERE id = ? AND migration_id = ?", run_id, migration_id
        )
    if row is None:
        fail(
            404,
            f"Run {run_id} isn't in this migration; check the run_id "
            "(GET /migrations/{id}/runs lists the migration's runs)",
        )
    return dict(row)


def run_body(run: dict[str, Any]) -> dict[str, Any]:
    """The documented poll body for the run's status (plus the EXT ``kind``)."""
    status_ = run["status"]
    body: dict[str, Any] = {
        "run_id": run["id"],
        "status": status_,
        "created_at": run["created_at"],
        "kind": run["kind"],
    }
    if status_ in ("queued", "running"):
        body["message"] = run["message"]
    elif status_ == "blocked" and run["credential_json"]:
        body["blocked_reason"] = "credentials"
        body["credential_request"] = json.loads(run["credential_json"])
    elif status_ == "blocked":
        body["questions"] = json.loads(run["questions_json"])["public"]
    elif status_ == "completed" and run["report_json"]:
        body["report"] = json.loads(run["report_json"])
    elif status_ == "failed":
        body["error"] = run["error"]
    return body


def poll_url(migration_id: str, run_id: str) -> str:
    """The run's absolute poll URL."""
    return f"{state().public_url}/api/v1/migrations/{migration_id}/runs/{run_id}"
