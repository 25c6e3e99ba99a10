"""SQLite persistence for the sandbox: accounts, catalog, companies, uploads, runs and rows.

One file (WAL mode) holds everything, so a restart on the same ``--db`` keeps all state.
Each thread gets its own connection; writes go through :meth:`Store.write`, a
``BEGIN IMMEDIATE`` transaction, so check-then-insert sequences are atomic.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id));
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, logo_url TEXT,
    position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    columns_json TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, external_id TEXT,
    source_id TEXT NOT NULL, workbook_id TEXT NOT NULL, magic_token TEXT NOT NULL,
    connections_json TEXT, created_at TEXT NOT NULL, seq INTEGER NOT NULL,
    UNIQUE (account_id, external_id));
CREATE TABLE IF NOT EXISTS sheets (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, template_id TEXT NOT NULL,
    name TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, token TEXT NOT NULL UNIQUE,
    upload_ref TEXT NOT NULL UNIQUE, name TEXT NOT NULL, content_type TEXT NOT NULL,
    size INTEGER NOT NULL, expires_at REAL NOT NULL, stored INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    progress_message TEXT, idempotency_key TEXT, payload_hash TEXT NOT NULL,
    request_json TEXT NOT NULL, report_json TEXT, attention_json TEXT,
    fixes_json TEXT NOT NULL DEFAULT '[]', error TEXT, fault TEXT,
    created_at TEXT NOT NULL, seq INTEGER NOT NULL,
    UNIQUE (company_id, kind, idempotency_key));
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, seq);
CREATE TABLE IF NOT EXISTS rows (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sheet_id TEXT NOT NULL, run_id TEXT NOT NULL,
    data_json TEXT NOT NULL, flagged INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rows_by_sheet ON rows (sheet_id, flagged, id);
CREATE INDEX IF NOT EXISTS rows_by_run ON rows (run_id);
-- Generation 2. A migration owns a workbook like a company does: its sheets are rows of
-- ``sheets`` whose company_id is the migration's id, so sheets, rows and exports are shared.
CREATE TABLE IF NOT EXISTS migrations (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, source TEXT,
    external_id TEXT, workbook_id TEXT NOT NULL, created_at TEXT NOT NULL, seq INTEGER NOT NULL,
    recipe_json TEXT, preview_json TEXT, preview_recipe_json TEXT,
    preview_version INTEGER NOT NULL DEFAULT 0, executed_version INTEGER NOT NULL DEFAULT 0,
    executed_run_id TEXT, UNIQUE (account_id, external_id));
CREATE TABLE IF NOT EXISTS migration_files (
    id TEXT PRIMARY KEY, migration_id TEXT NOT NULL, token TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL, storage_path TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER,
    expires_at REAL NOT NULL, uploaded_at TEXT, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS migration_runs (
    id TEXT PRIMARY KEY, migration_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    message TEXT, request_json TEXT NOT NULL, draft_json TEXT, questions_json TEXT,
    credential_json TEXT, pending_json TEXT NOT NULL DEFAULT '[]', report_json TEXT,
    error TEXT, fault TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    claimed INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS migration_runs_by_status ON migration_runs (status, claimed, seq);
CREATE TABLE IF NOT EXISTS thread_events (
    migration_id TEXT NOT NULL, sequence INTEGER NOT NULL, type TEXT NOT NULL,
    data_json TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (migration_id, sequence));
CREATE TABLE IF NOT EXISTS source_connections (
    id TEXT PRIMARY KEY, migration_id TEXT NOT NULL, source_key TEXT NOT NULL, profile_id TEXT,
    config_json TEXT NOT NULL, selected_streams_json TEXT, stream_state_json TEXT NOT NULL,
    secret_hashes_json TEXT NOT NULL DEFAULT '{}', last_snapshot_json TEXT NOT NULL DEFAULT '{}',
    last_sync_at TEXT, extractor_id TEXT, created_at TEXT NOT NULL, seq INTEGER NOT NULL);
"""

ACTIVE_IMPORT_STATUSES = ("queued", "running", "needs_attention")
TERMINAL_STATUSES = ("completed", "failed", "canceled")


def now_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh UUID4 string."""
    return str(uuid.uuid4())


def is_uuid(value: object) -> bool:
    """True when ``value`` is a string holding a UUID."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Store:
    """The sandbox's database. Thread-safe: one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files_dir = path.with_name(path.name + ".files")
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        with self._write_lock:
            self.db.executescript(SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success."""
        with self._write_lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        """The first row of a query, or ``None``."""
        row: sqlite3.Row | None = self.db.execute(sql, args).fetchone()
        return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        """Every row of a query."""
        return list(self.db.execute(sql, args).fetchall())

    def next_seq(self, db: sqlite3.Connection, table: str) -> int:
        """A monotonically increasing ordinal for ``table`` (inside a write transaction)."""
        row = db.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}").fetchone()
        return int(row[0])

    def upload_path(self, upload_id: str) -> Path:
        """Where an upload's bytes live (the file name is never used as a path)."""
        return self.files_dir / upload_id

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def dumps(value: Any) -> str:
    """Compact JSON for storage."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """A stable hash of a JSON value (sorted keys), for idempotency payload comparison."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
