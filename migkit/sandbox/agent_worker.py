"""Background threads that run Generation-2 runs through the agent stand-in.

Runs are claimed from the database (``queued``, or ``running`` and unclaimed after an answer
or a restart), so several threads never take the same run and a sandbox restarted on the same
file resumes where it stopped. A run's last transaction both records its outcome and writes its
thread events, and only when the run is still ``running`` at that moment: a cancel wins.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from migkit.sandbox import thread
from migkit.sandbox.faults import FaultInjector
from migkit.sandbox.store import Store
from migkit.sandbox.worker import MAX_RESUMES

log = logging.getLogger("migkit.sandbox")
MAX_RESTARTS = MAX_RESUMES  # one bound for both generations' runs
Events = Sequence[tuple[str, dict[str, Any]]]


class RunStopped(Exception):
    """The run was canceled, or the sandbox is stopping (the run resumes on restart)."""


class Busy(Exception):
    """An answer arrived while the run was finishing: process it before finishing."""


class Context:
    """What the agent stand-in needs while it works on one run."""

    def __init__(
        self, store: Store, hub: thread.Hub, run: dict[str, Any], pause: Callable[[], bool]
    ) -> None:
        self.store = store
        self.hub = hub
        self.run = run
        self._pause = pause

    def emit(self, db: sqlite3.Connection, type_: str, data: dict[str, Any]) -> None:
        """Write a thread event of this run (inside a transaction)."""
        thread.append(db, self.run["migration_id"], type_, data, self.run)

    def step(self, message: str, events: Events = ()) -> None:
        """Write ``events`` (what the previous step found), then show progress (a ``status``
        event and the poll ``message``) and take one step's time. :class:`RunStopped` when
        the run is no longer running."""
        with self.transaction() as db:
            for type_, data in events:
                self.emit(db, type_, data)
            db.execute(
                "UPDATE migration_runs SET message = ? WHERE id = ?", (message, self.run["id"])
            )
            self.emit(db, "status", {"message": message})
        if self._pause():
            raise RunStopped(self.run["id"])

    def events(self, events: Events) -> None:
        """Write thread events while the run is still running."""
        with self.transaction() as db:
            for type_, data in events:
                self.emit(db, type_, data)

    @contextmanager
    def transaction(self, consumed: int | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction that first checks the run is still running (and, with
        ``consumed``, that no answer arrived beyond the ones the agent read)."""
        with thread.writing(self.store, self.hub) as db:
            row = db.execute(
                "SELECT status, pending_json FROM migration_runs WHERE id = ?", (self.run["id"],)
            ).fetchone()
            if row is None or row["status"] != "running":
                raise RunStopped(self.run["id"])
            if consumed is not None and len(json.loads(row["pending_json"])) > consumed:
                raise Busy(self.run["id"])
            yield db

    def pending(self) -> list[dict[str, Any]]:
        """Answers and corrections waiting to be applied, oldest first."""
        row = self.store.one("SELECT pending_json FROM migration_runs WHERE id = ?", self.run["id"])
        return list(json.loads(row["pending_json"])) if row else []


Process = Callable[[Context], None]


class AgentWorker:
    """A small pool of threads that process queued Generation-2 runs with ``process``."""

    def __init__(
        self,
        store: Store,
        hub: thread.Hub,
        process: Process,
        step_seconds: float,
        faults: FaultInjector,
        threads: int = 2,
    ) -> None:
        self.store = store
        self.hub = hub
        self.process = process
        self.step_seconds = step_seconds
        self.faults = faults
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"migkit-sandbox-agent-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        """Release runs claimed by a previous process (counting the restart), then start."""
        with thread.writing(self.store, self.hub) as db:
            db.execute(
                "UPDATE migration_runs SET attempts = attempts + 1 WHERE status = 'running'"
                " AND claimed = 1"
            )
            for run in db.execute(
                "SELECT * FROM migration_runs WHERE status = 'running' AND attempts > ?",
                (MAX_RESTARTS,),
            ).fetchall():
                error = (
                    f"The sandbox stopped {run['attempts']} times while this run was in flight; "
                    "start the run again"
                )
                db.execute(
                    "UPDATE migration_runs SET status = 'failed', message = NULL, error = ?"
                    " WHERE id = ?",
                    (error, run["id"]),
                )
                thread.append(db, run["migration_id"], "error", {"error": error}, run)
            db.execute(
                "UPDATE migration_runs SET claimed = 0 WHERE status IN ('queued', 'running')"
            )
        for worker in self._threads:
            worker.start()

    def stop(self) -> None:
        """Ask the threads to stop and wait for them."""
        self._stop.set()
        self.notify()
        for worker in self._threads:
            worker.join(timeout=10)

    def notify(self) -> None:
        """Wake an idle thread: a run was queued or resumed."""
        with self._wake:
            self._wake.notify_all()

    def _claim(self) -> dict[str, Any] | None:
        with self.store.write() as db:
            row = db.execute(
                "SELECT * FROM migration_runs WHERE status IN ('queued', 'running')"
                " AND claimed = 0 ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            fault = row["fault"]
            if fault is None and row["kind"] == "execute":
                fault = "none"
                if self.faults.hit("run_fail"):
                    fault = "fail"
                elif self.faults.hit("run_retry"):
                    fault = "retry"
            db.execute(
                "UPDATE migration_runs SET status = 'running', claimed = 1, fault = ? WHERE id = ?",
                (fault, row["id"]),
            )
            return {**dict(row), "status": "running", "fault": fault}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run = self._claim()
            except Exception:  # a locked or closed database must not kill the thread
                log.exception("sandbox agent could not claim a run")
                run = None
            if run is None:
                with self._wake:
                    self._wake.wait(timeout=0.5)
                continue
            ctx = Context(self.store, self.hub, run, lambda: self._stop.wait(self.step_seconds))
            try:
                self.process(ctx)
            except RunStopped:
                pass
            except Exception as exc:
                log.exception("sandbox agent run %s crashed", run["id"])
                self._fail(ctx, f"The sandbox hit an internal error: {exc}")
        self.store.close()

    def _fail(self, ctx: Context, error: str) -> None:
        try:
            with ctx.transaction() as db:
                db.execute(
                    "UPDATE migration_runs SET status = 'failed', message = NULL, error = ?"
                    " WHERE id = ?",
                    (error, ctx.run["id"]),
                )
                ctx.emit(db, "error", {"error": error})
        except RunStopped:
            pass
