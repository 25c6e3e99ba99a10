"""The run ledger's Generation-2 records: migrations this machine created and the runs it
started (see :mod:`migkit.ledger`, which mixes these into its classes).

A run is noted before its ``POST …/runs`` (``pending``, with the thread's last sequence known
then) and after it (its id and status); ``not_started`` marks a start that :func:`recover`
found never reached the server. Credentials are never recorded.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from migkit.statuses import RUN_TERMINAL

MIGRATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS migrations (
    account TEXT NOT NULL, base_url TEXT NOT NULL, external_id TEXT NOT NULL,
    migration_id TEXT, name TEXT NOT NULL, body_json TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY (account, base_url, external_id));
CREATE TABLE IF NOT EXISTS migration_runs (
    account TEXT NOT NULL, base_url TEXT NOT NULL, local_id TEXT NOT NULL,
    migration_id TEXT NOT NULL, kind TEXT NOT NULL, message TEXT, files_hash TEXT,
    after_sequence INTEGER, run_id TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (account, base_url, local_id));
"""
# A Generation-2 run that ended (awaiting_approval included) or was never started.
RUN_FINISHED = tuple(sorted({*RUN_TERMINAL, "not_started"}))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class CompanyEntry:
    """One company this machine created (or tried to)."""

    external_id: str
    company_id: str | None
    name: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class MigrationRunEntry:
    """One Generation-2 run this machine started (or tried to): ``run_id`` is ``None`` while
    the answer to its ``POST …/runs`` is not in. ``after_sequence`` is the thread's last
    sequence known before the request (where to look for the run when its answer is lost).
    Credentials are never here."""

    local_id: str
    migration_id: str
    kind: str
    message: str | None
    files_hash: str | None
    after_sequence: int | None
    run_id: str | None
    status: str
    created_at: str


class MigrationRecords:
    """The :class:`~migkit.ledger.Ledger` calls for Generation 2 (it provides ``_run``)."""

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        raise NotImplementedError

    def record_migration(self, account: str, base_url: str, external_id: str, name: str) -> None:
        """Note a migration creation before sending it."""
        self._run(
            "INSERT OR IGNORE INTO migrations VALUES (?, ?, ?, NULL, ?, NULL, ?)",
            (account, base_url, external_id, name, _now()),
        )

    def set_migration(
        self, account: str, base_url: str, external_id: str, body: dict[str, Any]
    ) -> None:
        """Record the created migration (its inner object)."""
        self._run(
            "INSERT INTO migrations VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
            " SET migration_id = excluded.migration_id, body_json = excluded.body_json",
            (
                account,
                base_url,
                external_id,
                str(body["id"]),
                str(body.get("name", "")),
                json.dumps(body),
                _now(),
            ),
        )

    def migration(self, account: str, base_url: str, key: str) -> CompanyEntry | None:
        """The ledger's record of a migration by ``external_id`` or by id, if any (a
        :class:`CompanyEntry` whose ``company_id`` is the migration id)."""
        rows = self._run(
            "SELECT * FROM migrations WHERE account = ? AND base_url = ? AND"
            " (external_id = ? OR migration_id = ?)",
            (account, base_url, key, key),
        )
        if not rows:
            return None
        row = rows[0]
        return CompanyEntry(
            external_id=row["external_id"],
            company_id=row["migration_id"],
            name=row["name"],
            body=json.loads(row["body_json"]) if row["body_json"] else None,
        )

    def record_migration_run(self, account: str, base_url: str, entry: MigrationRunEntry) -> None:
        """Note a run start before sending it."""
        now = _now()
        self._run(
            "INSERT OR IGNORE INTO migration_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                account,
                base_url,
                entry.local_id,
                entry.migration_id,
                entry.kind,
                entry.message,
                entry.files_hash,
                entry.after_sequence,
                entry.run_id,
                entry.status,
                now,
                now,
            ),
        )

    def set_migration_run(
        self, account: str, base_url: str, local_id: str, run_id: str | None, status: str
    ) -> None:
        """Record the run id (or that there is none: ``not_started``) and its status."""
        self._run(
            "UPDATE migration_runs SET run_id = ?, status = ?, updated_at = ? WHERE account = ?"
            " AND base_url = ? AND local_id = ?",
            (run_id, status, _now(), account, base_url, local_id),
        )

    def set_migration_run_status(
        self, account: str, base_url: str, run_id: str, status: str
    ) -> None:
        """Update the last known status of a Generation-2 run."""
        self._run(
            "UPDATE migration_runs SET status = ?, updated_at = ? WHERE account = ? AND"
            " base_url = ? AND run_id = ?",
            (status, _now(), account, base_url, run_id),
        )

    def migration_runs(
        self, account: str, base_url: str, migration_id: str | None = None
    ) -> list[MigrationRunEntry]:
        """Generation-2 runs started from here, oldest first (of one migration, or all)."""
        sql = "SELECT * FROM migration_runs WHERE account = ? AND base_url = ?"
        args: tuple[Any, ...] = (account, base_url)
        if migration_id is not None:
            sql += " AND migration_id = ?"
            args += (migration_id,)
        return [_run_entry(r) for r in self._run(sql + " ORDER BY created_at, rowid", args)]

    def unfinished_migration_runs(self, account: str, base_url: str) -> list[MigrationRunEntry]:
        """Generation-2 runs not known to have ended, oldest first."""
        rows = self._run(
            "SELECT * FROM migration_runs WHERE account = ? AND base_url = ? AND status NOT IN"
            f" ({', '.join('?' * len(RUN_FINISHED))}) ORDER BY created_at, rowid",
            (account, base_url, *RUN_FINISHED),
        )
        return [_run_entry(r) for r in rows]


class ClientMigrationRecords(Protocol):
    """The Generation-2 part of :class:`~migkit.ledger.ClientLedger`."""

    def record_migration(self, external_id: str, name: str) -> None: ...

    def set_migration(self, external_id: str, body: dict[str, Any]) -> None: ...

    def migration(self, key: str) -> CompanyEntry | None: ...

    def record_migration_run(self, entry: MigrationRunEntry) -> None: ...

    def set_migration_run(self, local_id: str, run_id: str | None, status: str) -> None: ...

    def set_migration_run_status(self, run_id: str, status: str) -> None: ...

    def migration_runs(self, migration_id: str | None = None) -> list[MigrationRunEntry]: ...

    def unfinished_migration_runs(self) -> list[MigrationRunEntry]: ...


class AccountMigrationRecords:
    """The Generation-2 calls of :class:`~migkit.ledger.AccountLedger`."""

    ledger: MigrationRecords  # the Ledger
    _scope: tuple[str, str]

    def record_migration(self, external_id: str, name: str) -> None:
        self.ledger.record_migration(*self._scope, external_id, name)

    def set_migration(self, external_id: str, body: dict[str, Any]) -> None:
        self.ledger.set_migration(*self._scope, external_id, body)

    def migration(self, key: str) -> CompanyEntry | None:
        return self.ledger.migration(*self._scope, key)

    def record_migration_run(self, entry: MigrationRunEntry) -> None:
        self.ledger.record_migration_run(*self._scope, entry)

    def set_migration_run(self, local_id: str, run_id: str | None, status: str) -> None:
        self.ledger.set_migration_run(*self._scope, local_id, run_id, status)

    def set_migration_run_status(self, run_id: str, status: str) -> None:
        self.ledger.set_migration_run_status(*self._scope, run_id, status)

    def migration_runs(self, migration_id: str | None = None) -> list[MigrationRunEntry]:
        return self.ledger.migration_runs(*self._scope, migration_id)

    def unfinished_migration_runs(self) -> list[MigrationRunEntry]:
        return self.ledger.unfinished_migration_runs(*self._scope)


class NullMigrationRecords:
    """The Generation-2 calls of :class:`~migkit.ledger.NullLedger`: nothing recorded."""

    def record_migration(self, external_id: str, name: str) -> None:
        return None

    def set_migration(self, external_id: str, body: dict[str, Any]) -> None:
        return None

    def migration(self, key: str) -> CompanyEntry | None:
        return None

    def record_migration_run(self, entry: MigrationRunEntry) -> None:
        return None

    def set_migration_run(self, local_id: str, run_id: str | None, status: str) -> None:
        return None

    def set_migration_run_status(self, run_id: str, status: str) -> None:
        return None

    def migration_runs(self, migration_id: str | None = None) -> list[MigrationRunEntry]:
        return []

    def unfinished_migration_runs(self) -> list[MigrationRunEntry]:
        return []


def _run_entry(row: sqlite3.Row) -> MigrationRunEntry:
    return MigrationRunEntry(
        local_id=row["local_id"],
        migration_id=row["migration_id"],
        kind=row["kind"],
        message=row["message"],
        files_hash=row["files_hash"],
        after_sequence=row["after_sequence"],
        run_id=row["run_id"],
        status=row["status"],
        created_at=row["created_at"],
    )
