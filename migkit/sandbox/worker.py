"""Background worker threads that move runs through their states.

Runs are claimed from the database (``queued`` → ``running``) so several workers never take the
same run, and a server restarted on the same file picks up where it stopped.

Whatever a run raises (``MemoryError`` included) fails that run with an ``error`` and the thread
goes on serving. What cannot be caught (the process killed, or aborted by a native library)
leaves the run ``running``: the next start resumes it, at most :data:`MAX_RESUMES` times
(counted in ``runs.resumes``), then fails it instead of dying on it at every start.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from migkit.sandbox import exporter, import_pass
from migkit.sandbox.faults import RUN_FAULT_NAMES
from migkit.sandbox.run_pool import RunPool

log = logging.getLogger("migkit.sandbox")
MAX_RESUMES = 3  # Generation 2's runs share it (agent_worker.MAX_RESTARTS)
NOUNS = {"import": "import", "export": "export"}


def crashed_error(kind: str) -> str:
    """The ``error`` of a run failed because the sandbox died under it every time."""
    noun = NOUNS.get(kind, "run")
    return (
        f"The sandbox crashed while running this {noun}, and again each of the "
        f"{MAX_RESUMES} times it resumed it on restart, so it was failed to keep the sandbox "
        f"serving. A file may be damaged or far larger than it looks (a workbook declaring a "
        f"huge sheet, say): check the files, then start a new {noun}"
    )


def internal_error(kind: str, exc: BaseException) -> str:
    """The ``error`` of a run that raised ``exc``."""
    noun = NOUNS.get(kind, "run")
    if isinstance(exc, MemoryError):
        return (
            f"The sandbox ran out of memory while running this {noun}; "
            "split the data into smaller files and import them one at a time"
        )
    detail = str(exc).replace("\n", " ")[:200]
    return (
        f"The sandbox hit an internal error while running this {noun} "
        f"({type(exc).__name__}{': ' + detail if detail else ''}); start it again, and see the "
        "sandbox's log if it happens again"
    )


class Worker(RunPool):
    """A small pool of threads that process queued import and export runs."""

    def start(self) -> None:
        """Resume runs left ``running`` by a previous process, then start the threads."""
        self.recover()
        self._start_threads()

    def recover(self) -> None:
        """Queue again the runs a previous process left ``running`` (it died under them), or
        fail those already resumed :data:`MAX_RESUMES` times."""
        with self.store.write() as db:
            db.execute("UPDATE runs SET resumes = resumes + 1 WHERE status = 'running'")
            for run_id, kind in db.execute(
                "SELECT id, kind FROM runs WHERE status = 'running' AND resumes > ?",
                (MAX_RESUMES,),
            ).fetchall():
                log.error(
                    "sandbox run %s crashed the sandbox %d times: failed", run_id, MAX_RESUMES + 1
                )
                db.execute(
                    "UPDATE runs SET status = 'failed', progress_message = NULL, error = ?"
                    " WHERE id = ?",
                    (crashed_error(kind), run_id),
                )
            db.execute("UPDATE runs SET status = 'queued' WHERE status = 'running'")

    def _claim(self) -> dict[str, Any] | None:
        with self.store.write() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE status = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            fault = row["fault"]
            if fault is None and row["kind"] == "import":
                fault = next(
                    (name for name, rate in RUN_FAULT_NAMES if self.faults.hit(rate)), "none"
                )
            db.execute(
                "UPDATE runs SET status = 'running', fault = ? WHERE id = ?", (fault, row["id"])
            )
            return {**dict(row), "fault": fault}

    def _handle(self, run: dict[str, Any]) -> None:
        # Nothing a run raises may end the thread: the run fails, the worker keeps serving.
        try:
            self._process(run)
        except import_pass.RunCanceled:
            if self._stop.is_set():  # shutting down: hand the run back for the next start
                self._requeue(run["id"])
        except BaseException as exc:
            log.exception("sandbox run %s crashed", run["id"])
            try:
                self._fail(run["id"], internal_error(run["kind"], exc))
            except BaseException:  # the database too: the next start resumes the run
                log.exception("sandbox run %s could not be marked failed", run["id"])

    def _step(self, run_id: str) -> import_pass.Step:
        def step(message: str) -> None:
            with self.store.write() as db:
                status = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
                if status is None or status[0] != "running":
                    raise import_pass.RunCanceled(run_id)
                db.execute("UPDATE runs SET progress_message = ? WHERE id = ?", (message, run_id))
            if self._stop.wait(self.step_seconds):
                raise import_pass.RunCanceled(run_id)  # shutting down: the run resumes on restart

        return step

    def _process(self, run: dict[str, Any]) -> None:
        step = self._step(run["id"])
        if run["kind"] == "import":
            if import_pass.retry_then(self.store, run["id"], step, run["fault"]):
                import_pass.run_import_pass(self.store, run, step)
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

    def _requeue(self, run_id: str) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE runs SET status = 'queued' WHERE id = ? AND status = 'running'", (run_id,)
            )

    def _fail(self, run_id: str, error: str) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', progress_message = NULL, error = ?"
                " WHERE id = ? AND status = 'running'",
                (error, run_id),
            )
