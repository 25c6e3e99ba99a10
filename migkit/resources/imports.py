"""Imports: create (never twice), poll, wait, decide, cancel, find the active run, recover.

Every import carries an ``idempotency_key``. By default it is derived from the company and the
content (file bytes, or canonical rows: :mod:`migkit.idempotency`), so re-running a notebook
cell returns the run already made instead of importing again. The ledger notes each import
before and after the request.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from migkit._answers import Answer
from migkit.errors import Conflict, IdempotencyConflict, RunFailed, UsageError
from migkit.fields import id_field, object_list
from migkit.idempotency import canonical as canonical  # where the chaos tests look for it
from migkit.idempotency import content_hash, derived_key
from migkit.models import Company, Option, Run, Upload
from migkit.polling import MissedPolls, ProgressHook, wait_for, wait_many
from migkit.preflight import check_or_raise, key_problems, rows_payload
from migkit.progress import default_progress
from migkit.resources._base import ClientCore, Resource, company_id, looks_like_id, run_id
from migkit.resources._messages import answers_body, landed, reply_once
from migkit.resources.uploads import Uploads
from migkit.upload_files import prepare_upload

RUN = "/companies/{id}/imports/{run_id}"
RUN_ROUTE = f"GET {RUN}"  # the budget's key for a poll
FileLike = str | Path | Upload | pd.DataFrame


def run_label(
    company: Company | str, sheet: str | None, files: Sequence[FileLike] | None
) -> str | None:
    """Where a run imports, for people: ``"Acme Corp · Contacts"`` (a company id is left out).

    >>> run_label("acme-001", None, ["contacts.csv"])
    'acme-001 · contacts.csv'
    """
    name = company.name if isinstance(company, Company) else company
    names = [
        f.name if isinstance(f, Upload) else Path(f).name
        for f in files or []
        if not isinstance(f, pd.DataFrame)
    ]
    target = sheet or ", ".join(names)
    if not target and isinstance(company, Company) and len(company.sheets) == 1:
        target = company.sheets[0].name  # inline rows into a company's only sheet
    parts = [p for p in (None if looks_like_id(name) else name, target) if p]
    return " · ".join(parts) or None


def _key(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("idempotency_key")
    return value if isinstance(value, str) else None


class Imports(Resource):
    """``client.imports``: push rows or files into a company and follow the run."""

    def __init__(self, core: ClientCore, uploads: Uploads) -> None:
        super().__init__(core)
        self._uploads = uploads

    # -- create ------------------------------------------------------------------------------
    def create(
        self,
        company: Company | str,
        *,
        files: Sequence[FileLike] | None = None,
        rows: Sequence[Mapping[str, Any]] | None = None,
        frame: pd.DataFrame | None = None,
        sheet: str | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Start an import of ``files``, inline ``rows`` or a ``frame``; returns the run.

        ``sheet`` (name or id, inline rows only) picks the target sheet when the company has
        several (a sandbox extension). Re-running the same call returns the same run.

        >>> run = client.imports.create(acme, files=["contacts.csv"])  # doctest: +SKIP
        >>> run = client.imports.wait(run)  # doctest: +SKIP
        """
        if sum(x is not None for x in (files, rows, frame)) != 1:
            raise UsageError("pass exactly one of files=[...], rows=[...] or frame=DataFrame")
        cid = company_id(company)
        if files is not None:
            check_or_raise(key_problems(idempotency_key))
            if sheet is not None:
                raise UsageError(
                    "sheet= goes with rows or frame; files are matched to sheets by their names"
                )
            run = self._create_files(cid, list(files), idempotency_key)
        else:
            inline, problems = rows_payload(frame if frame is not None else list(rows or []))
            check_or_raise([*problems, *key_problems(idempotency_key)])
            body: dict[str, Any] = {"rows": inline}
            if sheet is not None:
                body["sheet_id"] = self._sheet_id(company, sheet)
            content = content_hash(body)
            key, derived = derived_key(cid, content, idempotency_key)
            existing = self._existing(cid, key, content)
            run = (
                existing if existing is not None else self._submit(cid, body, content, key, derived)
            )
        return dataclasses.replace(run, label=run_label(company, sheet, files))

    def _create_files(self, cid: str, files: list[FileLike], key: str | None) -> Run:
        prepared = [item if isinstance(item, Upload) else prepare_upload(item) for item in files]
        content = content_hash([[p.name, p.sha256] for p in prepared])
        key, derived = derived_key(cid, content, key)
        existing = self._existing(cid, key, content)
        if existing is not None:
            return existing  # a re-run cell: nothing is uploaded again
        uploaded = [p if isinstance(p, Upload) else self._uploads.send(cid, p) for p in prepared]
        body = {"files": [{"name": u.name, "upload_ref": u.upload_ref} for u in uploaded]}
        return self._submit(cid, body, content, key, derived)

    def _existing(self, cid: str, key: str, content: str) -> Run | None:
        """The run the ledger already has for this key and content (a re-run cell), if any.

        A key the ledger knows with *other* content is left to the server, which answers 409.
        """
        entry = self._ledger.import_entry(cid, key)
        if entry is None or entry.content_hash != content:
            return None
        if entry.run_id:
            return self.get(
                Run(id=entry.run_id, company_id=cid, status=entry.status, idempotency_key=key)
            )
        return self._post(cid, entry.request, key)  # sent before but the answer was lost

    def _submit(self, cid: str, body: dict[str, Any], content: str, key: str, derived: bool) -> Run:
        self._ledger.record_import(cid, key, content, body)
        try:
            return self._post(cid, body, key)
        except IdempotencyConflict:
            if not derived:
                raise  # the caller's key was used before with other content
            # A content-derived key: the same files, uploaded again under new upload_refs.
            found = self._by_key(cid, key)
            if found is None:
                raise
            return found

    def _post(self, cid: str, body: dict[str, Any], key: str) -> Run:
        answer = self._send(
            "POST",
            "/companies/{id}/imports",
            {**body, "idempotency_key": key},
            idempotent=True,
            id=cid,
        )
        # Checked before the ledger sees it: a created run has an id and a status.
        run = answer.parse(lambda raw: Run.from_api(cid, id_field(raw, "run_id"), raw, key))
        run = self._bind(run)
        self._ledger.set_run(cid, key, run.id, run.status)
        return run

    def _by_key(self, cid: str, key: str) -> Run | None:
        for run in self.list(cid, quiet=True):
            if run.idempotency_key == key:
                return self.get(run)
        return None

    # -- read --------------------------------------------------------------------------------
    def get(self, run: Run | str, company: Company | str | None = None) -> Run:
        """The run's current state (one poll).

        >>> client.imports.get(run).status  # doctest: +SKIP
        'running'
        """
        cid = self._company_of(run, company)
        rid = run_id(run)
        answer = self._get(RUN, id=cid, run_id=rid)
        key = run.idempotency_key if isinstance(run, Run) else None
        fresh = self._bind(answer.parse(lambda raw: Run.from_api(cid, rid, raw, key)), run)
        self._ledger.set_status(rid, fresh.status)
        return fresh

    def _bind(self, run: Run, before: Run | str | None = None) -> Run:
        # Runs this resource hands out know it, so run.wait() / run.decide() work; a fresh
        # state keeps the label (company and sheet) of the state it follows.
        label = before.label if isinstance(before, Run) and run.label is None else run.label
        if run._imports is self and label == run.label:
            return run
        return dataclasses.replace(run, _imports=self, label=label)

    def _company_of(self, run: Run | str, company: Company | str | None) -> str:
        if company is not None:
            return company_id(company)
        if isinstance(run, Run):
            return run.company_id
        entry = self._ledger.run_key(run)
        if entry is None:
            raise UsageError(f"run {run!r} is a bare id; pass company=... too")
        return entry.company_id

    def list(
        self, company: Company | str, *, active: bool = False, quiet: bool = False
    ) -> builtins.list[Run]:
        """The company's import runs, newest first (sandbox extension).

        With ``quiet`` a server without the extension gives ``[]`` instead of an error.
        """
        cid = company_id(company)
        params = {"status": "active"} if active else None

        def fetch() -> Answer:
            return self._get("/companies/{id}/imports", params=params, id=cid)

        answer = self._if_supported(fetch) if quiet else fetch()
        if answer is None:
            return []

        def runs(body: dict[str, Any]) -> builtins.list[Run]:
            return [
                self._bind(Run.from_api(cid, id_field(r, "run_id"), r, _key(r)))
                for r in object_list(body, "imports")
            ]

        return answer.parse(runs)

    def active(self, company: Company | str) -> Run | None:
        """The company's import that is queued, running or waiting, if any (sandbox EXT)."""
        runs = self.list(company, active=True)
        return self.get(runs[0]) if runs else None

    # -- wait --------------------------------------------------------------------------------
    def wait(
        self,
        run: Run | str,
        company: Company | str | None = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressHook[Run] | None = None,
        on_attention: Callable[[Run], Any] | None = None,
        raise_on_failure: bool = True,
    ) -> Run:
        """Poll until the run ends (or waits for a decision); polls slow down as it ages.

        Returns on ``needs_attention`` or ``blocked`` unless ``on_attention`` is given, which
        is called with the run (decide or answer there) and then waiting goes on. A status
        migkit does not know also ends the wait, with a :class:`~migkit.errors.MigkitWarning`.
        A ``failed`` run raises :class:`~migkit.errors.RunFailed` unless
        ``raise_on_failure=False``. ``timeout`` raises :class:`~migkit.errors.WaitTimeout`,
        which says the run is still going.

        >>> run = client.imports.wait(run)  # doctest: +SKIP
        >>> run.report.flagged_rows  # doctest: +SKIP
        """
        cid = self._company_of(run, company)
        current = self._bind(
            run if isinstance(run, Run) else Run(id=run, company_id=cid, status="queued")
        )
        hook = self._hook(on_progress)
        poll = MissedPolls(lambda r: self.get(r, cid))
        fetch = poll.following(current)
        while True:
            current = wait_for(
                fetch, schedule=self._core.schedule, timeout=timeout, on_progress=hook
            )
            if not (current.waiting and on_attention is not None):
                break
            on_attention(current)
            after = poll(current)
            if after.waiting and after.raw == current.raw:
                return after  # the handler did not decide: hand the waiting run back
            current = after
        if current.status == "failed" and raise_on_failure:
            raise RunFailed(current.id, current.error)
        return current

    def wait_all(
        self,
        runs: Sequence[Run],
        *,
        timeout: float | None = None,
        on_progress: ProgressHook[Run] | None = None,
    ) -> builtins.list[Run]:
        """Watch many runs in one loop, sharing the request budget fairly; no raising.

        >>> done = client.imports.wait_all(runs)  # doctest: +SKIP
        """
        budget = self._core.transport.budget
        return wait_many(
            list(runs),
            MissedPolls(self.get),
            schedule=self._core.schedule,
            timeout=timeout,
            on_progress=self._hook(on_progress, runs=len(runs)),
            per_minute=budget.per_minute if budget else None,
        )

    def _hook(
        self, on_progress: ProgressHook[Run] | None, runs: int = 1
    ) -> ProgressHook[Run] | None:
        if on_progress is not None:
            return on_progress
        if not self._core.progress:
            return None
        transport = self._core.transport
        return default_progress(runs, lambda: transport.requests_sent)

    # -- act ---------------------------------------------------------------------------------
    def decide(
        self,
        run: Run | str,
        company: Company | str | None = None,
        *,
        accept: bool = False,
        answers: Mapping[str, str | Option] | None = None,
        reject: bool = False,
    ) -> Run:
        """Answer a run waiting at ``needs_attention``: accept the proposed patch, answer
        questions by id (an option's label, an :class:`Option`, or free text), or reject.

        >>> client.imports.decide(run, accept=True)  # doctest: +SKIP
        >>> client.imports.decide(run, answers={"fq0": "Map all to 'Open'"})  # doctest: +SKIP
        """
        if sum([bool(accept), answers is not None, bool(reject)]) != 1:
            raise UsageError("decide with exactly one of accept=True, answers={...} or reject=True")
        if accept:
            body: dict[str, Any] = {"accept_proposed_patch": True}
        elif reject:
            body = {"reject": True}
        else:
            assert answers is not None
            body = answers_body(answers)
        return self._reply(run, company, "decisions", body)

    def answer(
        self,
        run: Run | str,
        company: Company | str | None = None,
        *,
        answers: Mapping[str, str | Option] | str,
    ) -> Run:
        """Answer a ``blocked`` run (``POST …/imports/{run_id}/messages``, §3.9): answers by
        question id (an option's label, an :class:`Option`, or your own text where the
        question allows it), or one free-form instruction as a string, which a running run
        also accepts.

        >>> client.imports.answer(run, answers={"q1": "Map them all to 'Open'"})  # doctest: +SKIP
        >>> client.imports.answer(run, answers="Treat 'Prospect' as 'Open'")  # doctest: +SKIP
        """
        body = answers_body(answers)
        return self._reply(run, company, "messages", body)

    def _reply(
        self, run: Run | str, company: Company | str | None, kind: str, body: dict[str, Any]
    ) -> Run:
        # A decision or an answer is not idempotent on the server, so it is sent once; when its
        # outcome is unknown, the run says whether it landed: only a reply moves a waiting run.
        cid = self._company_of(run, company)
        rid = run_id(run)
        key = run.idempotency_key if isinstance(run, Run) else None

        def send() -> Run:
            answer = self._send("POST", f"{RUN}/{kind}", body, idempotent=False, id=cid, run_id=rid)
            return self._bind(answer.parse(lambda raw: Run.from_api(cid, rid, raw, key)), run)

        def arrived() -> Run | None:
            now = self.get(Run(id=rid, company_id=cid, status="", idempotency_key=key))
            asked = [q.id for q in now.questions]
            if now.needs_attention is not None:
                asked += [q.id for q in now.needs_attention.questions]
            return now if landed(body, now.waiting, asked) else None

        return reply_once(self._act_once, send, arrived)

    def cancel(self, run: Run | str, company: Company | str | None = None) -> Run:
        """Cancel a queued, running or waiting run (sandbox extension); its rows are removed.

        >>> client.imports.cancel(run).status  # doctest: +SKIP
        'canceled'
        """
        cid = self._company_of(run, company)
        rid = run_id(run)
        body = {"status": "cancel_requested"}
        try:
            answer = self._send("PATCH", RUN, body, idempotent=True, id=cid, run_id=rid)
        except Conflict:
            now = self.get(Run(id=rid, company_id=cid, status=""))
            if now.status == "canceled":  # an earlier attempt of ours landed
                return self._bind(now, run)
            raise
        return self._bind(answer.parse(lambda raw: Run.from_api(cid, rid, raw)), run)

    def recover(self) -> builtins.list[Run]:
        """Unfinished imports this machine submitted (after a crash or kernel restart).

        Runs whose id was lost are fetched back by re-sending the original request with its
        idempotency key. Returns each run's current state; finished ones drop off the list.

        >>> [r.status for r in client.imports.recover()]  # doctest: +SKIP
        """
        if not self._ledger.enabled:
            raise UsageError(
                "recover() needs the run ledger; create the Client with the "
                "default ledger or ledger=PATH"
            )
        found = []
        for entry in self._ledger.unfinished():
            if entry.run_id:
                run = self.get(
                    Run(
                        id=entry.run_id,
                        company_id=entry.company_id,
                        status=entry.status,
                        idempotency_key=entry.idempotency_key,
                    )
                )
            else:
                run = self.get(self._post(entry.company_id, entry.request, entry.idempotency_key))
            if not run.done:
                found.append(run)
        return found
