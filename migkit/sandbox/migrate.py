"""Bring a database an older sandbox wrote up to date, in place, when a sandbox opens it.

- API keys kept in clear (``api_keys.key``) become their HMACs; with ``secure_delete`` on and
  the WAL checkpointed afterwards, no file keeps the clear text.
- Rows kept one JSON array per row (table ``rows``) move into ``row_chunks``, in order.
- ``runs`` gains ``resumes`` (how many times a run was resumed after the sandbox died).

:func:`before_schema` renames what the current schema would clash with; :func:`after_schema`
moves the data across once the current tables exist. A current database is left alone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from migkit.sandbox.store import Store

LEGACY_KEYS = "legacy_api_keys"


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")]


def _has_table(db: sqlite3.Connection, table: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return found.fetchone() is not None


def before_schema(db: sqlite3.Connection) -> None:
    """Set aside an ``api_keys`` table of clear keys (the schema creates the hashed one)."""
    if "key" in _columns(db, "api_keys"):
        db.execute(f"ALTER TABLE api_keys RENAME TO {LEGACY_KEYS}")


def after_schema(store: Store) -> None:
    """Move legacy keys and rows into the current tables; add missing columns."""
    with store.write() as db:
        changed = False
        if "resumes" not in _columns(db, "runs"):
            db.execute("ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0")
        if _has_table(db, LEGACY_KEYS):
            keys = db.execute(f"SELECT key, account_id FROM {LEGACY_KEYS}").fetchall()
            db.executemany(
                "INSERT OR IGNORE INTO api_keys VALUES (?, ?)",
                [(store.key_hash(key), account) for key, account in keys],
            )
            db.execute(f"DROP TABLE {LEGACY_KEYS}")
            changed = True
        if _has_table(db, "rows"):
            _move_rows(db)
            db.execute("DROP TABLE rows")
            changed = True
    if changed:  # the old pages are zeroed (secure_delete); make the main file current too
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _move_rows(db: sqlite3.Connection) -> None:
    from migkit.sandbox import rowstore  # here: the row store imports the store module

    for (sheet_id, run_id), data, flags in _groups(db):
        frame = pd.DataFrame([json.loads(text) for text in data], dtype=object)
        rowstore.insert_rows(db, sheet_id, run_id, frame, flags)


def _groups(
    db: sqlite3.Connection,
) -> Iterator[tuple[tuple[str, str], list[str], list[bool]]]:
    # Consecutive rows of one (sheet, run), in their old order, a chunk's worth at a time.
    from migkit.sandbox.rowstore import CHUNK_ROWS

    key: tuple[str, str] | None = None
    data: list[str] = []
    flags: list[bool] = []
    for sheet_id, run_id, text, flagged in db.execute(
        "SELECT sheet_id, run_id, data_json, flagged FROM rows ORDER BY id"
    ).fetchall():
        if key is not None and ((sheet_id, run_id) != key or len(data) >= CHUNK_ROWS):
            yield key, data, flags
            data, flags = [], []
        key = (sheet_id, run_id)
        data.append(text)
        flags.append(bool(flagged))
    if key is not None:
        yield key, data, flags
