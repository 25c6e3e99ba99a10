"""``client.migrations``: Generation 2 ("migrations", §4) from Python.

Create a migration, upload files, let the agent ``generate`` a preview, answer its questions,
``update`` or ``clarify``, ``execute``, and export. Each step is safe to re-run: a migration is
found again by its ``external_id`` (derived when none is given), a run is never started twice
(see :mod:`migkit.resources.migration_runs`), and a ``generate`` for files that already have a
preview returns that run unless ``force=True``.

>>> m = client.migrations.create("Acme Corp")  # doctest: +SKIP
>>> client.migrations.upload(m, ["contacts.csv", "accounts.xlsx"])  # doctest: +SKIP
>>> run = client.migrations.generate(m).wait()  # doctest: +SKIP
>>> preview = client.migrations.preview(m)  # doctest: +SKIP
>>> client.migrations.execute(m).wait().report  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from migkit.errors import APIError, MigkitError, ServerError, UsageError
from migkit.export_download import ExportStream, fetch_export
from migkit.export_files import describe, read_export_csv
from migkit.fields import object_list
from migkit.migration_models import Migration, MigrationFile, MigrationRun, ThreadEvent
from migkit.polling import ProgressHook
from migkit.preflight import check_or_raise, company_problems
from migkit.preview import Preview
from migkit.questions import Option
from migkit.resources._base import ClientCore, Resource, lacks_extension
from migkit.resources.migration_files import (
    FileSource,
    MigrationFiles,
    files_hash,
    prepared_files,
)
from migkit.resources.migration_runs import GONE, MigrationRuns
from migkit.resources.run_watch import RunWatch
from migkit.resources.secrets import scrubbed
from migkit.resources.thread import Thread, migration_id
from migkit.thread_frames import events_frame

MIGRATIONS = "/migrations"
MIGRATION = "/migrations/{id}"
FILTERS = ("valid", "all", "invalid")


def derived_migration_id(name: str, source: str | None, templates: Sequence[str] | None) -> str:
    """A stable ``external_id`` for a migration created without one (as companies have).

    >>> derived_migration_id("Acme", None, None)
    'migkit-m-4760ea6b75ec156cae9104c4'
    """
    text = json.dumps([name, source or None, sorted(templates or [])])
    return "migkit-m-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class Migrations(Resource):
    """``client.migrations``: the agent migrations of Generation 2."""

    def __init__(self, core: ClientCore) -> None:
        super().__init__(core)
        self._thread = Thread(core)
        self._files = MigrationFiles(core)
        self._runs = MigrationRuns(core, self._thread)
        self._runs.owner = self
        self._watch = RunWatch(core, self._runs, self._thread)

    # -- migrations --------------------------------------------------------------------------
    def create(
        self,
        name: str,
        source: str | None = None,
        *,
        external_id: str | None = None,
        templates: Sequence[str] | None = None,
    ) -> Migration:
        """Create a migration, or return the one this ``external_id`` already names (the
        server makes that idempotent for the same ``source``). Without ``external_id`` one is
        derived from the name, source and templates, so a re-run cell finds its migration.
        ``source`` is a source **name** (``None``: sourceless); ``templates`` are slugs
        (default: every active template). Raises
        :class:`~migkit.errors.ExternalIdConflict` when the ``external_id`` names a migration
        with another source.

        >>> m = client.migrations.create("Acme Corp", templates=["contacts"])  # doctest: +SKIP
        """
        check_or_raise(company_problems(name, external_id))
        ext = external_id or derived_migration_id(name, source, templates)
        self._ledger.record_migration(ext, name)
        body: dict[str, Any] = {"name": name, "external_id": ext}
        if source:
            body["source"] = source
        if templates is not None:
            body["templates"] = list(templates)

        def post() -> Migration:
            # Idempotent by external_id (§4.1): sending it again returns the same migration.
            answer = self._send("POST", MIGRATIONS, body, idempotent=True)
            created = answer.parse(Migration.from_api)
            if answer.status == 201:
                self._thread.fresh(created)
            return created

        migration = post()
        self._ledger.set_migration(ext, dict(migration.raw))
        return migration

    def get(self, migration: Migration | str) -> Migration:
        """A migration by id (sandbox EXT ``GET /migrations/{id}``); a server without it falls
        back to the ledger's copy of a migration this machine created."""
        mid = migration_id(migration)
        try:
            return self._get(MIGRATION, id=mid).parse(Migration.from_api)
        except APIError as exc:
            entry = self._ledger.migration(mid) if lacks_extension(exc) else None
            if entry is None or entry.body is None:
                raise
            return Migration.from_api(entry.body)

    def find(self, external_id: str) -> Migration | None:
        """The migration with this ``external_id``: the server's lookup (sandbox EXT
        ``GET /migrations?external_id=``), else the ledger; ``None`` when neither knows it."""
        try:
            answer = self._if_supported(
                lambda: self._get(MIGRATIONS, params={"external_id": external_id})
            )
        except ServerError:
            answer = None
        if answer is not None:
            found = answer.parse(
                lambda b: [Migration.from_api(m) for m in object_list(b, "migrations")]
            )
            return next((m for m in found if m.external_id == external_id), None)
        entry = self._ledger.migration(external_id)
        return None if entry is None or entry.body is None else Migration.from_api(entry.body)

    # -- files -------------------------------------------------------------------------------
    def upload(
        self,
        migration: Migration | str,
        files: FileSource | Sequence[FileSource] | Mapping[str, FileSource],
    ) -> builtins.list[MigrationFile]:
        """Upload files (a path, a DataFrame, bytes, a list of them, or ``{name: source}``)
        through signed URLs; the API key never goes to the storage host.

        >>> client.migrations.upload(m, {"contacts.csv": frame})  # doctest: +SKIP
        """
        return self._files.upload(migration, prepared_files(files))

    def files(self, migration: Migration | str) -> builtins.list[MigrationFile]:
        """The migration's files (``GET …/files``)."""
        return self._files.list(migration)

    # -- runs --------------------------------------------------------------------------------
    def generate(self, migration: Migration | str, *, force: bool = False) -> MigrationRun:
        """Start a ``generate`` run (the agent reads every uploaded file and writes a
        preview). When this client already generated from exactly these files and that run
        did not fail, that run is returned instead (a re-run cell does not throw away a
        preview and its answers); ``force=True`` generates again.

        >>> run = client.migrations.generate(m).wait()  # doctest: +SKIP
        """
        mid = migration_id(migration)
        fingerprint = files_hash(self.files(mid))
        if not force:
            for entry in reversed(self._ledger.migration_runs(mid)):
                if entry.kind == "generate" and entry.run_id and entry.status not in GONE:
                    if entry.files_hash == fingerprint:
                        return self._runs.get(entry.run_id, mid)
                    break
        return self._runs.start(mid, "generate", files_hash=fingerprint)

    def update(self, migration: Migration | str, message: str) -> MigrationRun:
        """Start an ``update`` run: the agent edits the recipe as ``message`` says and makes
        a new preview."""
        return self._runs.start(migration, "update", _text(message, "message"))

    def clarify(
        self, migration: Migration | str, question: str, *, timeout: float | None = None
    ) -> str:
        """Ask the agent about the current preview (a ``clarify`` run, which changes
        nothing); waits and returns its answer text from the thread."""
        run = self._runs.start(migration, "clarify", _text(question, "question"))
        after = self._runs.after_sequence(run) or 0
        self.wait(run, timeout=timeout)
        said = [
            e.text
            for e in self._thread.events(run.migration_id, after=after)
            if e.run_id == run.id and e.type == "message" and e.data.get("role") != "user"
        ]
        return said[-1] if said and said[-1] is not None else ""

    def execute(self, migration: Migration | str) -> MigrationRun:
        """Start the ``execute`` run: the approved preview's rows are imported."""
        return self._runs.start(migration, "execute")

    def get_run(self, run: MigrationRun | str, migration: Any = None) -> MigrationRun:
        """A run's current state (one poll)."""
        return self._runs.get(run, migration)

    def runs(
        self, migration: Migration | str, *, active: bool = False
    ) -> builtins.list[MigrationRun]:
        """The migration's runs, newest first (sandbox EXT)."""
        return self._runs.list(migration, active=active)

    def wait(
        self,
        run: MigrationRun | str,
        migration: Any = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressHook[MigrationRun] | None = None,
        stream: bool = True,
        raise_on_failure: bool = True,
    ) -> MigrationRun:
        """Wait until the run rests: ``blocked`` (answer it), ``awaiting_approval``
        (preview ready), ``completed``, ``failed`` (:class:`~migkit.errors.RunFailed` unless
        ``raise_on_failure=False``) or ``canceled``. Follows the thread stream (``stream=False``
        polls instead); ``timeout`` raises :class:`~migkit.errors.WaitTimeout`."""
        return self._watch.wait(
            run,
            migration,
            timeout=timeout,
            on_progress=on_progress,
            stream=stream,
            raise_on_failure=raise_on_failure,
        )

    def wait_all(
        self, runs: Sequence[MigrationRun], *, timeout: float | None = None
    ) -> builtins.list[MigrationRun]:
        """Wait for many runs at once (one stream per migration); never raises for a failed
        run."""
        return self._watch.wait_all(runs, timeout=timeout)

    def cancel(self, run: MigrationRun | str, migration: Any = None) -> MigrationRun:
        """Cancel a queued, running or blocked run."""
        return self._runs.cancel(run, migration)

    def answer(
        self,
        run: MigrationRun | str,
        answers: Mapping[str, str | Option] | str,
        migration: Any = None,
    ) -> MigrationRun:
        """Answer a blocked run: ``{question id: option label or text}`` or one free-form
        instruction (the same code as Generation 1's ``run.answer``)."""
        return self._runs.answer(run, answers, migration)

    def submit_credentials(
        self,
        run: MigrationRun | str,
        values: Mapping[str, str],
        *,
        connection_id: str | None = None,
        migration: Any = None,
    ) -> MigrationRun:
        """Send the secrets a credential-blocked run asks for (``run.credential_request``).
        The values never appear in a repr, log, ledger or error."""
        return self._runs.submit_credentials(
            run, values, connection_id=connection_id, migration=migration
        )

    def connect_source(
        self,
        migration: Migration | str,
        source_key: str,
        *,
        config: Mapping[str, Any] | None = None,
        credentials: Mapping[str, str] | None = None,
        selected_streams: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Create or update the migration's live source connection (§4.8); the connection
        as the server returns it (never with secrets). ``credentials`` stay out of every
        repr, log, ledger and error."""
        body: dict[str, Any] = {"source_key": source_key, "config": dict(config or {})}
        if credentials:
            body["credentials"] = dict(credentials)
        if selected_streams is not None:
            body["selected_streams"] = list(selected_streams)
        try:
            answer = self._send(
                "POST",
                "/migrations/{id}/source-connection",
                body,
                idempotent=True,  # "creates or updates in place": the same body twice is one
                id=migration_id(migration),
            )
        except MigkitError as exc:
            raise scrubbed(exc, (credentials or {}).values()) from None
        return answer.parse(lambda b: dict(b.get("source_connection") or {}))

    def recover(self) -> builtins.list[MigrationRun]:
        """Unfinished Generation-2 runs this machine started (after a crash)."""
        return self._runs.recover()

    # -- the thread --------------------------------------------------------------------------
    def events(
        self, migration: Migration | str, *, after: int | None = None, include: str = "user"
    ) -> builtins.list[ThreadEvent]:
        """The thread's events after ``after`` as :class:`ThreadEvent` objects."""
        return self._thread.events(migration, after=after, include=include)

    def thread(
        self, migration: Migration | str, *, after: int | None = None, include: str = "user"
    ) -> pd.DataFrame:
        """The thread as a DataFrame, one row per event, indexed by ``sequence``: ``type``,
        ``created_at``, ``run_id``, ``kind``, ``text`` and ``data``. ``include`` is ``user``,
        ``tools`` or ``all``.

        >>> client.migrations.thread(m, include="tools").tail()  # doctest: +SKIP
        """
        return events_frame(self.events(migration, after=after, include=include))

    def stream(
        self, migration: Migration | str, *, after: int | None = None, include: str = "user"
    ) -> Iterator[ThreadEvent]:
        """The thread live: events as the agent writes them (Server-Sent Events), forever;
        ``break`` to stop. A dropped stream is resumed with ``Last-Event-ID``: no event is
        lost or repeated. Without a stream on the server, the thread is polled.

        >>> for event in client.migrations.stream(m):  # doctest: +SKIP
        ...     print(event.type, event.text)
        """
        return self._thread.stream(migration, after=after, include=include)

    # -- results -----------------------------------------------------------------------------
    def preview(self, migration: Migration | str) -> Preview:
        """The current preview as a ``migkit.preview.Preview``: per template a DataFrame,
        an ``invalid_cells`` table (row, column, error) and a ``truncated`` flag.
        :class:`~migkit.errors.NotFound` before any preview."""
        answer = self._get("/migrations/{id}/preview", id=migration_id(migration))
        return Preview.from_payload(answer.parse(dict))

    def export_csv(
        self, migration: Migration | str, slug: str, *, filter: str = "valid"
    ) -> ExportStream:
        """Stream one template's export (``…/exports/{slug}.csv``), gzip on the wire; save it
        with ``.save(path)`` or read ``.iter_bytes()``."""
        _check_filter(filter)
        body = self._stream(
            "/migrations/{id}/exports/{slug}.csv",
            params={"filter": filter},
            label="the export download",
            noun="an export",
            id=migration_id(migration),
            slug=slug,
        )
        return ExportStream(body)

    def export_frame(
        self, migration: Migration | str, slug: str, *, filter: str = "valid"
    ) -> pd.DataFrame:
        """One template's export as a DataFrame of text, checked against
        ``X-Total-Records`` (a damaged download is fetched once more, then
        :class:`~migkit.errors.ExportIncomplete`). ``filter``: ``valid``, ``all`` or
        ``invalid``.

        >>> contacts = client.migrations.export_frame(m, "contacts")  # doctest: +SKIP
        """
        _check_filter(filter)
        frame = fetch_export(
            lambda: self.export_csv(migration, slug, filter=filter),
            lambda path, total: read_export_csv(path, expected_rows=total),
            progress=self._core.progress,
        )
        info = {"migration": migration_id(migration), "template": slug, "filter": filter}
        return describe(frame, info)

    def to_parquet(
        self,
        migration: Migration | str,
        slug: str,
        path: str | PathLike[str],
        *,
        filter: str = "valid",
    ) -> Path:
        """Stream one template's export straight to the Parquet file ``path`` in bounded
        memory (it never becomes a DataFrame); returns the path. Checked against
        ``X-Total-Records`` and fetched once more when damaged, as :meth:`export_frame` is;
        ``migkit.reconcile`` and ``diff_exports`` take the path directly.

        >>> client.migrations.to_parquet(m, "contacts", "contacts.parquet")  # doctest: +SKIP
        """
        from migkit.export_parquet import csv_to_parquet

        _check_filter(filter)
        target = Path(path)
        return fetch_export(
            lambda: self.export_csv(migration, slug, filter=filter),
            lambda body, total: csv_to_parquet(body, target, expected_rows=total).path,
            progress=self._core.progress,
        )


def _check_filter(filter: str) -> None:
    if filter not in FILTERS:
        raise UsageError(f"filter must be 'valid', 'all' or 'invalid', not {filter!r}")


def _text(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{name}= is empty; write it in plain words")
    return value
