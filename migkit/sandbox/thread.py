"""A migration's thread: durable, numbered events, read as pages or followed live.

Every event is a row of ``thread_events`` written in the same transaction as the state change
it reports, so the thread never claims something the database does not hold. ``sequence``
counts from 1 per migration with no gaps, also across restarts (it is ``MAX + 1``).

Listeners (the SSE stream) wait on a :class:`Hub`: writers bump its counter after commit and
wake every listener, which then reads the new rows itself. A listener never holds anything a
writer needs, so a slow client cannot hold up a run.

>>> sorted(TYPES_BY_INCLUDE["user"])
['completed', 'error', 'message', 'preview', 'request_input', 'status']
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from migkit.sandbox.store import Store, dumps, now_iso

USER_TYPES = ("message", "status", "preview", "request_input", "completed", "error")
TOOL_TYPES = ("tool_call", "tool_result", "task")
ALL_TYPES = ("thinking", "prepared")
TYPES_BY_INCLUDE: dict[str, frozenset[str]] = {
    "user": frozenset(USER_TYPES),
    "tools": frozenset(USER_TYPES + TOOL_TYPES),
    "all": frozenset(USER_TYPES + TOOL_TYPES + ALL_TYPES),
}
PAGE_SIZE = 200
ACTIVE_RUN_STATUSES = ("queued", "running", "blocked")


class Hub:
    """Wakes thread listeners when events are written; closing it ends every stream.

    >>> hub = Hub()
    >>> seen = hub.version
    >>> hub.notify()
    >>> hub.wait(seen, timeout=0)
    True
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._version = 0
        self.closed = False

    @property
    def version(self) -> int:
        """A counter bumped by every :meth:`notify`; read it before looking for new events."""
        with self._condition:
            return self._version

    def notify(self) -> None:
        """New events were committed."""
        with self._condition:
            self._version += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until something was written after ``seen`` (True) or ``timeout`` passes."""
        with self._condition:
            return self._condition.wait_for(
                lambda: self._version != seen or self.closed, timeout=timeout
            )

    def close(self) -> None:
        """The sandbox is stopping: wake every listener for good."""
        with self._condition:
            self.closed = True
            self._condition.notify_all()


def active_run(db: sqlite3.Connection, migration_id: str) -> sqlite3.Row | None:
    """The migration's unfinished run (queued, running or blocked), if any."""
    row: sqlite3.Row | None = db.execute(
        "SELECT id, kind, status FROM migration_runs WHERE migration_id = ? AND status IN"
        " (?, ?, ?) ORDER BY seq DESC LIMIT 1",
        (migration_id, *ACTIVE_RUN_STATUSES),
    ).fetchone()
    return row


def append(
    db: sqlite3.Connection,
    migration_id: str,
    type_: str,
    data: dict[str, Any],
    run: dict[str, Any] | sqlite3.Row | None = None,
) -> int:
    """Write one event (inside a write transaction); returns its sequence.

    Events written while a run is active carry that run's ``run_id`` and ``kind`` even when
    the caller passes no run (an upload during a generate, for example).
    """
    if type_ not in TYPES_BY_INCLUDE["all"]:
        raise ValueError(f"unknown thread event type {type_!r}")
    if run is None:
        run = active_run(db, migration_id)
    payload = dict(data)
    if run is not None:
        payload = {"run_id": run["id"], "kind": run["kind"], **payload}
    sequence = int(
        db.execute(
            "SELECT COALESCE(MAX(sequence), 0) + 1 FROM thread_events WHERE migration_id = ?",
            (migration_id,),
        ).fetchone()[0]
    )
    db.execute(
        "INSERT INTO thread_events VALUES (?, ?, ?, ?, ?)",
        (migration_id, sequence, type_, dumps(payload), now_iso()),
    )
    return sequence


@contextmanager
def writing(store: Store, hub: Hub) -> Iterator[sqlite3.Connection]:
    """A write transaction whose events wake the listeners once it has committed."""
    with store.write() as db:
        yield db
    hub.notify()


def page(
    store: Store, migration_id: str, after: int, include: str, limit: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """Up to ``limit`` events after ``after`` whose type ``include`` shows, in order."""
    types = sorted(TYPES_BY_INCLUDE[include])
    marks = ", ".join("?" for _ in types)
    rows = store.all(
        "SELECT sequence, type, data_json, created_at FROM thread_events WHERE migration_id = ?"
        f" AND sequence > ? AND type IN ({marks}) ORDER BY sequence LIMIT ?",
        migration_id,
        after,
        *types,
        limit,
    )
    return [
        {
            "sequence": r["sequence"],
            "type": r["type"],
            "data": json.loads(r["data_json"]),
            "created_at": r["created_at"],
        }
        for r in rows
    ]
