"""Generation-2 runs: start (never twice), poll, cancel, answer, credentials, recover.

Generation 2 has no run-level idempotency key, and only one run may be in flight per
migration. So a start is made safe by looking before sending again: the ledger notes the run
(with the thread's last sequence) before the ``POST …/runs``; when its answer is lost (a 5xx
after the commit, a dropped connection), the thread's events after that sequence (each carries
``run_id`` and ``kind``), then the server's run list where it has one (sandbox EXT), say
whether the run started. The in-flight 409 names the active run: when it is of the same kind
(and, for update/clarify, the same message this client sent), it is the run asked for.
"""

from __future__ import annotations

import builtins
import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from migkit.errors import (
    APIError,
    Conflict,
    ImportInProgress,
    MigkitError,
    UsageError,
)
from migkit.fields import id_field, object_list
from migkit.ledger import MigrationRunEntry
from migkit.migration_models import RUN_KINDS, MigrationRun, MigrationRunActions
from migkit.questions import Option
from migkit.resources._base import ClientCore, Resource, run_id
from migkit.resources._messages import answers_body, landed, reply_once
from migkit.resources.secrets import scrubbed
from migkit.resources.thread import Thread, migration_id

RUNS = "/migrations/{id}/runs"
RUN = "/migrations/{id}/runs/{run_id}"
RUN_ROUTE = f"GET {RUN}"
GONE = ("failed", "canceled", "not_started")  # runs that leave nothing to return again


class MigrationRuns(Resource):
    """The run endpoints of ``client.migrations`` (start, poll, cancel, answer, credentials)."""

    def __init__(self, core: ClientCore, thread: Thread) -> None:
        super().__init__(core)
        self._thread = thread
        self._after: dict[str, int] = {}  # run id -> the thread's last sequence before it
        # The client.migrations runs are handed out by, so run.wait() and the rest work.
        self.owner: MigrationRunActions | None = None

    # -- start -------------------------------------------------------------------------------
    def start(
        self,
        migration: Any,
        kind: str,
        message: str | None = None,
        *,
        files_hash: str | None = None,
    ) -> MigrationRun:
        """Start a run of ``kind`` (``generate``, ``update``, ``clarify``, ``execute``) at most
        once, whatever the network does."""
        if kind not in RUN_KINDS:
            raise UsageError(f"kind must be one of {', '.join(RUN_KINDS)}, not {kind!r}")
        mid = migration_id(migration)
        known = {e.run_id for e in self._ledger.migration_runs(mid) if e.run_id}
        known |= set(self._after)  # runs this client started, ledger or not
        after = self._thread.tail(mid)
        local = uuid.uuid4().hex
        self._ledger.record_migration_run(
            MigrationRunEntry(local, mid, kind, message, files_hash, after, None, "pending", "")
        )
        body: dict[str, Any] = {"kind": kind}
        if message is not None:
            body["message"] = message
        tried: list[int] = []

        def post() -> MigrationRun:
            tried.append(1)
            try:
                answer = self._send("POST", RUNS, body, idempotent=False, id=mid)
            except ImportInProgress as exc:
                same = self._same(mid, exc.run_id, kind, message, retry=len(tried) > 1)
                if same is None:
                    raise
                return same
            return answer.parse(
                lambda raw: MigrationRun.from_api(mid, id_field(raw, "run_id"), raw, kind)
            )

        run = self._act_once(post, lambda: self._started(mid, kind, after, known))
        run = self._bind(dataclasses.replace(run, kind=run.kind or kind))
        self._ledger.set_migration_run(local, run.id, run.status)
        self._after.setdefault(run.id, after)
        return run

    def _same(
        self, mid: str, rid: str | None, kind: str, message: str | None, *, retry: bool
    ) -> MigrationRun | None:
        """The run a 409 names, when it is the run asked for (same kind; for update/clarify
        the same message, or this call's own earlier attempt)."""
        if rid is None:
            return None
        run = self.get(rid, mid)
        entries = [e for e in self._ledger.migration_runs(mid) if e.run_id == rid]
        their_kind = run.kind or (entries[0].kind if entries else None)
        if their_kind is None:
            their_kind = next((e.kind for e in self._thread.events(mid) if e.run_id == rid), None)
        if their_kind != kind:
            return None
        asked_other = not entries or entries[0].message != message
        if kind in ("update", "clarify") and not retry and asked_other:
            return None
        return dataclasses.replace(run, kind=kind)

    def _started(self, mid: str, kind: str, after: int, known: set[str]) -> MigrationRun | None:
        """The run of ``kind`` started since sequence ``after`` that this client did not know
        before, from the thread (documented), else the server's active run (sandbox EXT).
        When neither can be read, ``None``: the start is sent again, and the in-flight 409
        names the run if it is still going."""
        found: builtins.list[str] = []
        try:  # page by page: the run's first event usually comes on the first page
            for page in self._thread.pages(mid, after=after, include="all"):
                found += [
                    e.run_id for e in page if e.run_id and e.kind == kind and e.run_id not in known
                ]
                if found:
                    break
        except MigkitError:
            pass
        if found:
            return dataclasses.replace(self.get(found[-1], mid), kind=kind)
        try:
            active = self.list(mid, active=True, quiet=True)
        except MigkitError:
            active = []
        for run in active:
            if run.id not in known and run.kind in (kind, None):
                return dataclasses.replace(run, kind=kind)
        return None

    # -- read --------------------------------------------------------------------------------
    def get(self, run: MigrationRun | str, migration: Any = None) -> MigrationRun:
        """The run's current state (one poll)."""
        mid = self._migration_of(run, migration)
        rid = run_id(run)
        kind = run.kind if isinstance(run, MigrationRun) else self._kind_known(rid)
        answer = self._get(RUN, id=mid, run_id=rid)
        fresh = answer.parse(lambda raw: MigrationRun.from_api(mid, rid, raw, kind))
        self._ledger.set_migration_run_status(rid, fresh.status)
        label = run.label if isinstance(run, MigrationRun) else None
        return self._bind(dataclasses.replace(fresh, label=label))

    def list(
        self, migration: Any, *, active: bool = False, quiet: bool = False
    ) -> builtins.list[MigrationRun]:
        """The migration's runs, newest first (sandbox EXT ``GET …/runs``). With ``quiet`` a
        server without it gives ``[]``."""
        mid = migration_id(migration)
        params = {"status": "active"} if active else None
        try:
            answer = self._get(RUNS, params=params, id=mid)
        except APIError as exc:
            if quiet and exc.status_code in (404, 405, 501):
                return []
            raise

        def runs(body: dict[str, Any]) -> builtins.list[MigrationRun]:
            return [
                self._bind(MigrationRun.from_api(mid, id_field(r, "run_id"), r))
                for r in object_list(body, "runs")
            ]

        return answer.parse(runs)

    def after_sequence(self, run: MigrationRun | str) -> int | None:
        """The thread's last sequence before this run started, when this client knows it."""
        rid = run_id(run)
        if rid in self._after:
            return self._after[rid]
        for entry in self._ledger.migration_runs():
            if entry.run_id == rid:
                return entry.after_sequence
        return None

    def _kind_known(self, rid: str) -> str | None:
        for entry in self._ledger.migration_runs():
            if entry.run_id == rid:
                return entry.kind
        return None

    def _migration_of(self, run: MigrationRun | str, migration: Any) -> str:
        if migration is not None:
            return migration_id(migration)
        if isinstance(run, MigrationRun):
            return run.migration_id
        for entry in self._ledger.migration_runs():
            if entry.run_id == run:
                return entry.migration_id
        raise UsageError(f"run {run!r} is a bare id; pass migration=... too")

    def _bind(self, run: MigrationRun) -> MigrationRun:
        if self.owner is None or run._owner_ref is self.owner:
            return run
        return dataclasses.replace(run, _owner_ref=self.owner)

    # -- act ---------------------------------------------------------------------------------
    def cancel(self, run: MigrationRun | str, migration: Any = None) -> MigrationRun:
        """Cancel a queued, running or blocked run (``PATCH`` with ``cancel_requested``)."""
        mid = self._migration_of(run, migration)
        rid = run_id(run)
        body = {"status": "cancel_requested"}
        try:
            answer = self._send("PATCH", RUN, body, idempotent=True, id=mid, run_id=rid)
        except Conflict:
            now = self.get(rid, mid)
            if now.status == "canceled":  # an earlier attempt of ours landed
                return now
            raise
        kind = run.kind if isinstance(run, MigrationRun) else None
        fresh = answer.parse(lambda raw: MigrationRun.from_api(mid, rid, raw, kind))
        self._ledger.set_migration_run_status(rid, fresh.status)
        return self._bind(fresh)

    def answer(
        self,
        run: MigrationRun | str,
        answers: Mapping[str, str | Option] | str,
        migration: Any = None,
    ) -> MigrationRun:
        """Answer a blocked run (``POST …/messages``): the same code as Generation 1's
        ``run.answer()`` (:mod:`migkit.resources._messages`)."""
        body = answers_body(answers)
        mid = self._migration_of(run, migration)
        rid = run_id(run)
        kind = run.kind if isinstance(run, MigrationRun) else None

        def send() -> MigrationRun:
            answer = self._send(
                "POST", f"{RUN}/messages", body, idempotent=False, id=mid, run_id=rid
            )
            return self._bind(answer.parse(lambda raw: MigrationRun.from_api(mid, rid, raw, kind)))

        def arrived() -> MigrationRun | None:
            now = self.get(rid, mid)
            return now if landed(body, now.waiting, [q.id for q in now.questions]) else None

        return reply_once(self._act_once, send, arrived)

    def submit_credentials(
        self,
        run: MigrationRun | str,
        values: Mapping[str, str],
        *,
        connection_id: str | None = None,
        migration: Any = None,
    ) -> MigrationRun:
        """Send a credential-blocked run its secrets (``POST …/credentials``). The values are
        in no repr, log, ledger or error: a server error that echoes one is scrubbed."""
        if not isinstance(values, Mapping) or not values:
            raise UsageError("values= is empty; give {field: value} as the request's schema asks")
        mid = self._migration_of(run, migration)
        rid = run_id(run)
        kind = run.kind if isinstance(run, MigrationRun) else None
        body: dict[str, Any] = {"credentials": {str(k): v for k, v in values.items()}}
        if connection_id is not None:
            body["connection_id"] = connection_id

        def send() -> MigrationRun:
            answer = self._send(
                "POST", f"{RUN}/credentials", body, idempotent=False, id=mid, run_id=rid
            )
            return self._bind(answer.parse(lambda raw: MigrationRun.from_api(mid, rid, raw, kind)))

        def landed() -> MigrationRun | None:
            now = self.get(rid, mid)
            return None if now.needs_credentials else now

        try:
            return reply_once(self._act_once, send, landed)
        except MigkitError as exc:
            raise scrubbed(exc, values.values()) from None

    # -- after a crash -----------------------------------------------------------------------
    def recover(self) -> builtins.list[MigrationRun]:
        """Unfinished Generation-2 runs this machine started (after a crash or a kernel
        restart), each in its current state. A start whose answer never came is looked for in
        the thread (and the server's run list); found, it is recorded; not found, it is marked
        ``not_started`` (nothing started, nothing to wait for: start it again if you want it).
        """
        if not self._ledger.enabled:
            raise UsageError(
                "recover() needs the run ledger; create the Client with the default ledger "
                "or ledger=PATH"
            )
        found: builtins.list[MigrationRun] = []
        for entry in self._ledger.unfinished_migration_runs():
            if entry.run_id:
                run = self.get(entry.run_id, entry.migration_id)
            else:
                entries = self._ledger.migration_runs(entry.migration_id)
                known = {e.run_id for e in entries if e.run_id}
                started = self._started(
                    entry.migration_id, entry.kind, entry.after_sequence or 0, known
                )
                self._ledger.set_migration_run(
                    entry.local_id,
                    started.id if started else None,
                    started.status if started else "not_started",
                )
                if started is None:
                    continue
                run = started
            self._after.setdefault(run.id, entry.after_sequence or 0)
            if not run.done:
                found.append(dataclasses.replace(run, kind=run.kind or entry.kind))
        return found
