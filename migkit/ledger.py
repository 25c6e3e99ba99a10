"""The local run ledger: what this machine asked the API to create, so nothing is lost or
done twice after a crash, a lost response or a kernel restart.

A small SQLite file records each company created and each import submitted, *before* the
request (``pending``) and after it (the ids and last status). Accounts are told apart by a
fingerprint of the API key (a truncated SHA-256); the key itself is never stored. Inline rows
are stored as sent (customers' emails and names), so the file is readable by its owner only
(0600), and a folder migkit creates for it too (0700).

>>> import tempfile, pathlib
>>> ledger = Ledger(pathlib.Path(tempfile.mkdtemp()) / "ledger.db")
>>> ledger.record_import("acct", "https://x", "c1", "key1", "h", {"rows": []})
>>> ledger.set_run("acct", "https://x", "c1", "key1", "r1", "queued")
>>> [e.run_id for e in ledger.unfinished("acct", "https://x")]
['r1']

A client sees the ledger through :meth:`Ledger.scoped`, bound once to its account and base
URL; with the ledger turned off it gets a :class:`NullLedger`, which records nothing and knows
nothing, so no call site asks whether there is a ledger.

>>> mine = ledger.scoped("acct", "https://x")
>>> [e.run_id for e in mine.unfinished()], NullLedger().unfinished()
(['r1'], [])
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from migkit.ledger_migrations import (
    MIGRATION_SCHEMA,
    AccountMigrationRecords,
    ClientMigrationRecords,
    MigrationRecords,
    NullMigrationRecords,
)
from migkit.ledger_migrations import CompanyEntry as CompanyEntry
from migkit.ledger_migrations import MigrationRunEntry as MigrationRunEntry
from migkit.statuses import TERMINAL

SCHEMA = """
CREATE TABLE IF NOT EXISTS companies (
    account TEXT NOT NULL, base_url TEXT NOT NULL, external_id TEXT NOT NULL,
    company_id TEXT, name TEXT NOT NULL, body_json TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY (account, base_url, external_id));
CREATE TABLE IF NOT EXISTS imports (
    account TEXT NOT NULL, base_url TEXT NOT NULL, company_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, content_hash TEXT NOT NULL, request_json TEXT NOT NULL,
    run_id TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (account, base_url, company_id, idempotency_key));
"""
FINISHED = tuple(sorted(TERMINAL))


def default_path() -> Path:
    """``$MIGKIT_LEDGER``, else ``migkit/ledger.db`` under the user's data directory."""
    if os.environ.get("MIGKIT_LEDGER"):
        return Path(os.environ["MIGKIT_LEDGER"]).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "migkit" / "ledger.db"


def fingerprint(api_key: str) -> str:
    """A short, one-way fingerprint of an API key (never the key itself)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ImportEntry:
    """One import this machine submitted."""

    company_id: str
    idempotency_key: str
    content_hash: str
    request: dict[str, Any]
    run_id: str | None
    status: str
    created_at: str


class Ledger(MigrationRecords):
    """The SQLite ledger. Thread-safe; one short transaction per call."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        _private_file(self.path)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA + MIGRATION_SCHEMA)

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def scoped(self, account: str, base_url: str) -> AccountLedger:
        """This ledger as one client sees it: ``account`` (the key's fingerprint) at
        ``base_url``."""
        return AccountLedger(self, account, base_url)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            db = self._connect()
            try:
                with db:
                    return list(db.execute(sql, args).fetchall())
            finally:
                db.close()

    # -- companies ---------------------------------------------------------------------------
    def record_company(self, account: str, base_url: str, external_id: str, name: str) -> None:
        """Note a company creation before sending it."""
        self._run(
            "INSERT OR IGNORE INTO companies VALUES (?, ?, ?, NULL, ?, NULL, ?)",
            (account, base_url, external_id, name, _now()),
        )

    def set_company(
        self, account: str, base_url: str, external_id: str, body: dict[str, Any]
    ) -> None:
        """Record the created company's response body."""
        company_id = str(body["company"]["id"])
        self._run(
            "INSERT INTO companies VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
            " SET company_id = excluded.company_id, body_json = excluded.body_json",
            (
                account,
                base_url,
                external_id,
                company_id,
                str(body["company"].get("name", "")),
                json.dumps(body),
                _now(),
            ),
        )

    def company(self, account: str, base_url: str, external_id: str) -> CompanyEntry | None:
        """The ledger's record for an ``external_id``, if any."""
        rows = self._run(
            "SELECT * FROM companies WHERE account = ? AND base_url = ? AND external_id = ?",
            (account, base_url, external_id),
        )
        if not rows:
            return None
        row = rows[0]
        return CompanyEntry(
            external_id=row["external_id"],
            company_id=row["company_id"],
            name=row["name"],
            body=json.loads(row["body_json"]) if row["body_json"] else None,
        )

    def company_by_id(self, account: str, base_url: str, company_id: str) -> CompanyEntry | None:
        """The ledger's record for a company id, if any."""
        rows = self._run(
            "SELECT external_id FROM companies WHERE account = ? AND base_url = ?"
            " AND company_id = ?",
            (account, base_url, company_id),
        )
        return self.company(account, base_url, rows[0][0]) if rows else None

    # -- imports -----------------------------------------------------------------------------
    def record_import(
        self,
        account: str,
        base_url: str,
        company_id: str,
        key: str,
        content_hash: str,
        request: dict[str, Any],
    ) -> None:
        """Note an import before sending it (kept as is if already there)."""
        now = _now()
        self._run(
            "INSERT OR IGNORE INTO imports VALUES (?, ?, ?, ?, ?, ?, NULL, 'pending', ?, ?)",
            (account, base_url, company_id, key, content_hash, json.dumps(request), now, now),
        )

    def set_run(
        self, account: str, base_url: str, company_id: str, key: str, run_id: str, status: str
    ) -> None:
        """Record the run id and its last known status."""
        self._run(
            "UPDATE imports SET run_id = ?, status = ?, updated_at = ? WHERE account = ?"
            " AND base_url = ? AND company_id = ? AND idempotency_key = ?",
            (run_id, status, _now(), account, base_url, company_id, key),
        )

    def set_status(self, account: str, base_url: str, run_id: str, status: str) -> None:
        """Update the last known status of a run."""
        self._run(
            "UPDATE imports SET status = ?, updated_at = ? WHERE account = ? AND"
            " base_url = ? AND run_id = ?",
            (status, _now(), account, base_url, run_id),
        )

    def import_entry(
        self, account: str, base_url: str, company_id: str, key: str
    ) -> ImportEntry | None:
        """The ledger's record of an import, by company and idempotency key."""
        rows = self._run(
            "SELECT * FROM imports WHERE account = ? AND base_url = ? AND"
            " company_id = ? AND idempotency_key = ?",
            (account, base_url, company_id, key),
        )
        return _entry(rows[0]) if rows else None

    def run_key(self, account: str, base_url: str, run_id: str) -> ImportEntry | None:
        """The ledger's record of an import, by run id."""
        rows = self._run(
            "SELECT * FROM imports WHERE account = ? AND base_url = ? AND run_id = ?",
            (account, base_url, run_id),
        )
        return _entry(rows[0]) if rows else None

    def unfinished(self, account: str, base_url: str) -> list[ImportEntry]:
        """Imports not known to have ended (waiting, or in a status migkit does not know),
        oldest first."""
        rows = self._run(
            "SELECT * FROM imports WHERE account = ? AND base_url = ? AND status NOT IN"
            f" ({', '.join('?' * len(FINISHED))}) ORDER BY created_at",
            (account, base_url, *FINISHED),
        )
        return [_entry(r) for r in rows]


class ClientLedger(ClientMigrationRecords, Protocol):
    """What the resources of one client ask of the ledger (:class:`AccountLedger`, or
    :class:`NullLedger` when it is off): the :class:`Ledger`'s calls without the account and
    base URL, which the scope fixes."""

    @property
    def enabled(self) -> bool: ...

    def record_company(self, external_id: str, name: str) -> None: ...

    def set_company(self, external_id: str, body: dict[str, Any]) -> None: ...

    def company(self, external_id: str) -> CompanyEntry | None: ...

    def company_by_id(self, company_id: str) -> CompanyEntry | None: ...

    def record_import(
        self, company_id: str, key: str, content_hash: str, request: dict[str, Any]
    ) -> None: ...

    def set_run(self, company_id: str, key: str, run_id: str, status: str) -> None: ...

    def set_status(self, run_id: str, status: str) -> None: ...

    def import_entry(self, company_id: str, key: str) -> ImportEntry | None: ...

    def run_key(self, run_id: str) -> ImportEntry | None: ...

    def unfinished(self) -> list[ImportEntry]: ...


class AccountLedger(AccountMigrationRecords):
    """A :class:`Ledger` scoped to one account at one base URL (see :class:`ClientLedger`)."""

    enabled = True

    def __init__(self, ledger: Ledger, account: str, base_url: str) -> None:
        self.ledger: Ledger = ledger
        self._scope = (account, base_url)

    def __repr__(self) -> str:
        return f"AccountLedger({str(self.ledger.path)!r}, base_url={self._scope[1]!r})"

    def record_company(self, external_id: str, name: str) -> None:
        self.ledger.record_company(*self._scope, external_id, name)

    def set_company(self, external_id: str, body: dict[str, Any]) -> None:
        self.ledger.set_company(*self._scope, external_id, body)

    def company(self, external_id: str) -> CompanyEntry | None:
        return self.ledger.company(*self._scope, external_id)

    def company_by_id(self, company_id: str) -> CompanyEntry | None:
        return self.ledger.company_by_id(*self._scope, company_id)

    def record_import(
        self, company_id: str, key: str, content_hash: str, request: dict[str, Any]
    ) -> None:
        self.ledger.record_import(*self._scope, company_id, key, content_hash, request)

    def set_run(self, company_id: str, key: str, run_id: str, status: str) -> None:
        self.ledger.set_run(*self._scope, company_id, key, run_id, status)

    def set_status(self, run_id: str, status: str) -> None:
        self.ledger.set_status(*self._scope, run_id, status)

    def import_entry(self, company_id: str, key: str) -> ImportEntry | None:
        return self.ledger.import_entry(*self._scope, company_id, key)

    def run_key(self, run_id: str) -> ImportEntry | None:
        return self.ledger.run_key(*self._scope, run_id)

    def unfinished(self) -> list[ImportEntry]:
        return self.ledger.unfinished(*self._scope)


class NullLedger(NullMigrationRecords):
    """The ledger turned off (``Client(ledger=None)``): records nothing, knows nothing."""

    enabled = False

    def __repr__(self) -> str:
        return "NullLedger()"

    def record_company(self, external_id: str, name: str) -> None:
        return None

    def set_company(self, external_id: str, body: dict[str, Any]) -> None:
        return None

    def company(self, external_id: str) -> CompanyEntry | None:
        return None

    def company_by_id(self, company_id: str) -> CompanyEntry | None:
        return None

    def record_import(
        self, company_id: str, key: str, content_hash: str, request: dict[str, Any]
    ) -> None:
        return None

    def set_run(self, company_id: str, key: str, run_id: str, status: str) -> None:
        return None

    def set_status(self, run_id: str, status: str) -> None:
        return None

    def import_entry(self, company_id: str, key: str) -> ImportEntry | None:
        return None

    def run_key(self, run_id: str) -> ImportEntry | None:
        return None

    def unfinished(self) -> list[ImportEntry]:
        return []


def _private_file(path: Path) -> None:
    # Folders migkit creates are 0700 and the file 0600 from its first byte (created here,
    # before SQLite opens it; SQLite gives its journal the file's mode). A ledger an older
    # version left readable by others is tightened. The umask cannot loosen either.
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
        _chmod(created, 0o700)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    if os.name != "nt" and path.stat().st_mode & 0o077:
        _chmod(path, 0o600)


def _chmod(path: Path, mode: int) -> None:
    if os.name != "nt":  # Windows keeps access in ACLs; chmod only sets read-only there
        path.chmod(mode)


def _entry(row: sqlite3.Row) -> ImportEntry:
    return ImportEntry(
        company_id=row["company_id"],
        idempotency_key=row["idempotency_key"],
        content_hash=row["content_hash"],
        request=json.loads(row["request_json"]),
        run_id=row["run_id"],
        status=row["status"],
        created_at=row["created_at"],
    )
