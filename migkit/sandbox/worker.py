"""Background worker threads that move runs through their states.

Runs are claimed from the database (``queued`` → ``running``) so several workers never take the
same run, and a server restarted on the same file picks up where it stopped.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from migkit.sandbox import engine, exporter
from migkit.sandbox.faults import FaultInjector
from migkit.sandbox.store import Store

log = logging.getLogger("migkit.sandbox")


class Worker:
    """A small pool of threads that process queued import and export runs."""

    def __init__(
        self, store: Store, step_seconds: float, faults: FaultInjector, threads: int = 2
    ) -> None:
        self.store = store
        self.step_seconds = step_seconds
        self.faults = faults
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"migkit-sandbox-worker-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        """Resume runs left ``running`` by a previous process, then start the threads."""
        with self.store.write() as db:
            db.execute("UPDATE runs SET status = 'queued' WHERE status = 'running'")
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Ask the threads to stop and wait for them."""
        self._stop.set()
        self.notify()
        for thread in self._threads:
            thread.join(timeout=10)

    def notify(self) -> None:
        """Wake an idle worker: a run was queued."""
        with self._wake:
            self._wake.notify_all()

    def _claim(self) -> dict[str, Any] | None:
        with self.store.write() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE status = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            fault = row["fault"]
            if fault is None and row["kind"] == "import":
                fault = (
                    "fail"
                    if self.faults.hit("run_fail")
                    else "retry"
                    if self.faults.hit("run_retry")
                    else "none"
                )
            db.execute(
                "UPDATE runs SET status = 'running', fault = ? WHERE id = ?", (fault, row["id"])
            )
            return {**dict(row), "fault": fault}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run = self._claim()
            except Exception:  # a locked or closed database must not kill the thread
                log.exception("sandbox worker could not claim a run")
                run = None
            if run is None:
                with self._wake:
                    self._wake.wait(timeout=0.5)
                continue
            try:
                self._process(run)
            except engine.RunCanceled:
                pass
            except Exception as exc:
                log.exception("sandbox run %s crashed", run["id"])
                self._fail(run["id"], f"The sandbox hit an internal error: {exc}")
        self.store.close()

    def _step(self, run_id: str) -> engine.Step:
        def step(message: str) -> None:
            with self.store.write() as db:
                status = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
                if status is None or status[0] != "running":
                    raise engine.RunCanceled(run_id)
                db.execute("UPDATE runs SET progress_message = ? WHERE id = ?", (message, run_id))
            if self._stop.wait(self.step_seconds):
                raise engine.RunCanceled(run_id)  # shutting down: the run resumes on restart

        return step

    def _process(self, run: dict[str, Any]) -> None:
        step = self._step(run["id"])
        if run["kind"] == "import":
            if engine.retry_then(self.store, run["id"], step, run["fault"]):
                engine.run_import_pass(self.store, run, step)
            return
        company = self.store.one(
            "SELECT connections_json FROM companies WHERE id = ?", run["company_id"]
        )
        connections = json.loads(company["connections_json"]) if company else {}
        report = exporter.write_to_destination(
            self.store, run["company_id"], connections, json.loads(run["request_json"]), step
        )
        with self.store.write() as db:
            db.execute(
                "UPDATE runs SET status = 'completed', progress_message = NULL,"
                " report_json = ? WHERE id = ? AND status = 'running'",
                (json.dumps(report), run["id"]),
            )

    def _fail(self, run_id: str, error: str) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', progress_message = NULL, error = ?"
                " WHERE id = ? AND status = 'running'",
                (error, run_id),
            )
