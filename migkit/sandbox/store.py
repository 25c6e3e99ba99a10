"""SQLite persistence for the sandbox: accounts, catalog, companies, uploads, runs and rows.

One file (WAL mode) holds everything, so a restart on the same ``--db`` keeps all state.
Each thread gets its own connection; writes go through :meth:`Store.write`, a
``BEGIN IMMEDIATE`` transaction, so check-then-insert sequences are atomic.

The file holds customers' rows: it is created ``0600`` (SQLite gives its ``-wal`` and ``-shm``
the same mode), the upload folder ``0700``, and deleted content is overwritten
(``secure_delete``). API keys are never stored: only an HMAC of each, keyed by a random salt
kept in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
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
    key_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id));
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
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
    created_at TEXT NOT NULL, seq INTEGER NOT NULL, resumes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (company_id, kind, idempotency_key));
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, seq);
CREATE TABLE IF NOT EXISTS row_chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sheet_id TEXT NOT NULL, run_id TEXT NOT NULL,
    row_count INTEGER NOT NULL, flagged_count INTEGER NOT NULL, flags BLOB NOT NULL,
    csv_size INTEGER, line_ends BLOB, csv BLOB, batch BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS row_chunks_by_sheet ON row_chunks (sheet_id, id);
CREATE INDEX IF NOT EXISTS row_chunks_by_run ON row_chunks (run_id);
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


def private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents as ``0700`` folders (existing ones are left as
    they are: they may be the user's)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)  # mkdir's mode passes through the umask


def private_file(path: Path) -> int:
    """Open ``path`` for writing, created (or truncated) ``0600``; returns the descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


class Store:
    """The sandbox's database. Thread-safe: one connection per thread."""

    def __init__(self, path: Path) -> None:
        from migkit.sandbox import migrate  # here: it uses the row store, which imports this

        self.path = path
        private_dir(path.parent)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for own in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if own.exists():
                own.chmod(0o600)  # an older sandbox made them 0644
        self.files_dir = path.with_name(path.name + ".files")
        private_dir(self.files_dir)
        self.files_dir.chmod(0o700)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        with self._write_lock:
            migrate.before_schema(self.db)
            self.db.executescript(SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO settings VALUES ('key_salt', ?)", (secrets.token_hex(32),)
            )
        salt = self.one("SELECT value FROM settings WHERE name = 'key_salt'")
        self._salt = bytes.fromhex(salt[0] if salt is not None else "")
        migrate.after_schema(self)

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
            conn.execute("PRAGMA secure_delete=ON")
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

    def key_hash(self, api_key: str) -> str:
        """The stored form of an API key: HMAC-SHA256 under this database's salt."""
        data = api_key.encode("utf-8", "surrogatepass")
        return hmac.new(self._salt, data, hashlib.sha256).hexdigest()

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
