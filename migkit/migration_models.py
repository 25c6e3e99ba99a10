"""Typed results of Generation 2 ("migrations"): frozen dataclasses with ``.raw`` JSON.

As in :mod:`migkit.models`, unknown fields are ignored (kept in ``.raw``), ids and statuses are
read strictly, and names follow the API's meaning in Python spelling.

>>> run = MigrationRun.from_api("m1", "r1", {"run_id": "r1", "status": "blocked",
...     "questions": [{"id": "q1", "question": "Status?", "options": [], "allowCustom": True}]})
>>> run.waiting, run.done, run.questions[0].prompt
(True, False, 'Status?')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from migkit.errors import UsageError
from migkit.fields import id_field, object_list, raw_field, status_field, text_or_none
from migkit.models import Report
from migkit.printable import printable
from migkit.questions import Option, Question, question_lines
from migkit.statuses import RUN_STATUSES, RUN_TERMINAL, RUN_WAITING

RUN_KINDS = ("generate", "update", "clarify", "execute")


@dataclass(frozen=True)
class TemplateRef:
    """A template as Generation 2 names it: ``slug`` (``contacts``) and ``name``."""

    slug: str
    name: str


@dataclass(frozen=True)
class Migration:
    """One customer's migration (Generation 2): files in, the agent's preview, an execute.

    ``status`` is one of :data:`~migkit.statuses.MigrationStatus` (``awaiting_files``,
    ``ready``, ``in_progress``, ``awaiting_approval``, ``completed``) or one migkit does not
    know.
    """

    id: str
    name: str
    source: str | None
    external_id: str | None
    status: str
    templates: tuple[TemplateRef, ...]
    created_at: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Migration:
        """From ``{"migration": {...}}`` or the inner object itself."""
        inner = raw.get("migration", raw)
        if not isinstance(inner, Mapping):
            raise TypeError("migration is not an object")
        return cls(
            id=id_field(inner, "id"),
            name=str(inner.get("name", "")),
            source=text_or_none(inner, "source") or None,
            external_id=text_or_none(inner, "external_id"),
            status=status_field(inner, "awaiting_files"),
            templates=tuple(
                TemplateRef(slug=str(t.get("slug", "")), name=str(t.get("name", "")))
                for t in object_list(inner, "templates")
            ),
            created_at=text_or_none(inner, "created_at"),
            raw=dict(inner),
        )

    @property
    def slugs(self) -> list[str]:
        """The template slugs of this migration, in order."""
        return [t.slug for t in self.templates]


@dataclass(frozen=True)
class MigrationFile:
    """A file uploaded to a migration (``GET …/files``; the shape is the sandbox's, since the
    docs leave it open: missing fields are ``None``)."""

    name: str
    storage_path: str | None
    content_type: str | None
    size: int | None
    status: str | None
    uploaded_at: str | None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> MigrationFile:
        size = raw.get("size")
        return cls(
            name=str(raw.get("name", "")),
            storage_path=text_or_none(raw, "storage_path"),
            content_type=text_or_none(raw, "content_type"),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            status=text_or_none(raw, "status"),
            uploaded_at=text_or_none(raw, "uploaded_at"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class CredentialRequest:
    """What a credential-blocked run asks for (§4.7): fill ``schema`` and send it with
    ``client.migrations.submit_credentials(run, {...})``. Fields marked ``secret`` are
    secrets: show them as password fields."""

    connection_id: str | None
    source_key: str | None
    source_name: str | None
    reason: str | None
    schema: Mapping[str, Any]
    guidance: Mapping[str, Any]
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CredentialRequest:
        schema = raw.get("schema")
        guidance = raw.get("guidance")
        return cls(
            connection_id=text_or_none(raw, "connection_id"),
            source_key=text_or_none(raw, "source_key"),
            source_name=text_or_none(raw, "source_name"),
            reason=text_or_none(raw, "reason"),
            schema=dict(schema) if isinstance(schema, Mapping) else {},
            guidance=dict(guidance) if isinstance(guidance, Mapping) else {},
            raw=dict(raw),
        )

    @property
    def secret_fields(self) -> list[str]:
        """The schema's fields marked ``secret: true``."""
        return [
            k for k, v in self.schema.items() if isinstance(v, Mapping) and v.get("secret") is True
        ]


class MigrationRunActions(Protocol):
    """What a :class:`MigrationRun` asks of the ``client.migrations`` that made it."""

    def get_run(self, run: MigrationRun, migration: Any = ...) -> MigrationRun: ...

    def wait(
        self,
        run: MigrationRun,
        migration: Any = ...,
        *,
        timeout: float | None = ...,
        on_progress: Any = ...,
        stream: bool = ...,
        raise_on_failure: bool = ...,
    ) -> MigrationRun: ...

    def answer(
        self, run: MigrationRun, answers: Mapping[str, str | Option] | str, migration: Any = ...
    ) -> MigrationRun: ...

    def cancel(self, run: MigrationRun, migration: Any = ...) -> MigrationRun: ...

    def submit_credentials(
        self,
        run: MigrationRun,
        values: Mapping[str, str],
        *,
        connection_id: str | None = ...,
        migration: Any = ...,
    ) -> MigrationRun: ...


@dataclass(frozen=True)
class MigrationRun:
    """One agent run of a migration (``generate``, ``update``, ``clarify``, ``execute``) as
    last seen.

    ``status`` is one of :data:`~migkit.statuses.RunStatus`. ``kind`` is known when this
    client started the run (the docs do not echo it; the sandbox does). A ``blocked`` run
    carries ``questions`` (answer with :meth:`answer`), or ``blocked_reason == "credentials"``
    and ``credential_request`` (answer with :meth:`submit_credentials`).
    """

    id: str
    migration_id: str
    status: str
    kind: str | None = None
    message: str | None = None
    questions: tuple[Question, ...] = ()
    blocked_reason: str | None = None
    credential_request: CredentialRequest | None = None
    report: Report | None = None
    error: str | None = None
    created_at: str | None = None
    raw: Mapping[str, Any] = raw_field()
    label: str | None = field(default=None, compare=False, repr=False)
    _owner_ref: MigrationRunActions | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_api(
        cls, migration_id: str, run_id: str, raw: Mapping[str, Any], kind: str | None = None
    ) -> MigrationRun:
        if "run_id" in raw and id_field(raw, "run_id") != run_id:
            raise ValueError(f"run_id {printable(raw['run_id'], limit=60)} is not {run_id}")
        report = raw.get("report")
        request = raw.get("credential_request")
        said_kind = raw.get("kind")
        return cls(
            id=run_id,
            migration_id=migration_id,
            status=status_field(raw),
            kind=said_kind if isinstance(said_kind, str) and said_kind in RUN_KINDS else kind,
            message=text_or_none(raw, "message"),
            questions=tuple(Question.from_api(q) for q in object_list(raw, "questions")),
            blocked_reason=text_or_none(raw, "blocked_reason"),
            credential_request=CredentialRequest.from_api(request)
            if isinstance(request, Mapping)
            else None,
            report=Report.from_api(report) if isinstance(report, Mapping) else None,
            error=text_or_none(raw, "error"),
            created_at=text_or_none(raw, "created_at"),
            raw=dict(raw),
        )

    # -- what it is --------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True for ``awaiting_approval``, ``completed``, ``failed`` and ``canceled``: the run
        ended (an ``awaiting_approval`` generate/update left a preview to approve)."""
        return self.status in RUN_TERMINAL

    @property
    def waiting(self) -> bool:
        """True while the run is ``blocked`` on a question or on credentials."""
        return self.status in RUN_WAITING

    @property
    def known(self) -> bool:
        """False for a status this version of migkit does not know."""
        return self.status in RUN_STATUSES

    @property
    def progress_message(self) -> str | None:
        """What the run is doing, for progress displays (the poll's ``message``)."""
        return self.message

    @property
    def needs_credentials(self) -> bool:
        """True for a run blocked on credentials (answer with :meth:`submit_credentials`)."""
        return self.waiting and (
            self.blocked_reason == "credentials" or self.credential_request is not None
        )

    # -- acting on it ------------------------------------------------------------------------
    def _owner(self) -> MigrationRunActions:
        if self._owner_ref is None:
            raise UsageError(
                f"run {self.id} is not attached to a client; call "
                "client.migrations.wait(run) or client.migrations.answer(run, ...) instead"
            )
        return self._owner_ref

    def wait(self, **options: Any) -> MigrationRun:
        """``client.migrations.wait(run, ...)``."""
        return self._owner().wait(self, **options)

    def refresh(self) -> MigrationRun:
        """This run's current state (one poll)."""
        return self._owner().get_run(self)

    def answer(self, answers: Mapping[str, str | Option] | str) -> MigrationRun:
        """``client.migrations.answer(run, answers)``."""
        return self._owner().answer(self, answers)

    def cancel(self) -> MigrationRun:
        """``client.migrations.cancel(run)``."""
        return self._owner().cancel(self)

    def submit_credentials(self, values: Mapping[str, str], **options: Any) -> MigrationRun:
        """``client.migrations.submit_credentials(run, values)``."""
        return self._owner().submit_credentials(self, values, **options)

    def __str__(self) -> str:
        what = f"{self.kind} run" if self.kind else "Run"
        lines = [f"{what} {printable(self.id)} ({printable(self.status, limit=80)})"]
        if self.message:
            lines.append(f"  {printable(self.message, limit=500)}")
        if self.error:
            lines.append(f"  error: {printable(self.error, limit=1000)}")
        if self.report is not None:
            lines.append(f"  {self.report.headline()}")
        for q in self.questions:
            lines += question_lines(q)
        if self.questions:
            lines.append(
                "  Answer with run.answer({question id: option label or text}) or "
                'run.answer("an instruction in your own words")'
            )
        if self.needs_credentials and self.credential_request is not None:
            request = self.credential_request
            wanted = ", ".join(printable(k, limit=80) for k in request.schema)
            lines.append(
                f"  needs credentials for {printable(request.source_name or '?', limit=80)}: "
                f"{wanted}; send them with run.submit_credentials({{...}})"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


@dataclass(frozen=True)
class ThreadEvent:
    """One event of a migration's thread: ``sequence`` (stable order), ``type`` (``message``,
    ``status``, ``preview``, ``request_input``, ``completed``, ``error``, ``tool_call``, ...),
    ``data`` (passed through), and the ``run_id`` / ``kind`` it belongs to when it has one."""

    sequence: int
    type: str
    data: Mapping[str, Any]
    created_at: str | None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ThreadEvent:
        sequence = raw.get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            raise ValueError(f"sequence is {printable(repr(sequence), limit=40)}, not a number")
        data = raw.get("data")
        return cls(
            sequence=sequence,
            type=str(raw.get("type", "")),
            data=dict(data) if isinstance(data, Mapping) else {},
            created_at=text_or_none(raw, "created_at"),
            raw=dict(raw),
        )

    @property
    def run_id(self) -> str | None:
        """The run this event belongs to (``data.run_id``), if any."""
        value = self.data.get("run_id")
        return value if isinstance(value, str) and value else None

    @property
    def kind(self) -> str | None:
        """The kind of the run this event belongs to (``data.kind``), if any."""
        value = self.data.get("kind")
        return value if isinstance(value, str) and value else None

    @property
    def text(self) -> str | None:
        """The event's words for people: ``data.text``, else ``data.message``, else
        ``data.error``."""
        for key in ("text", "message", "error"):
            value = self.data.get(key)
            if isinstance(value, str):
                return value
        return None
