"""Typed results: small frozen dataclasses with the documented fields and ``.raw`` JSON.

Unknown fields are ignored (kept in ``.raw``) and missing optional fields become ``None``, so
a newer server never breaks parsing; ids and statuses, which migkit acts on, are read strictly
(:mod:`migkit.fields`), so a broken answer never becomes ``Run(id='None')``. Names follow the
API's meaning in Python spelling: ``Report.flagged_rows`` is the API's ``invalidCellCount``,
which counts rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from migkit.errors import UnknownName, UsageError
from migkit.fields import count, id_field, object_list, raw_field, status_field, text_or_none
from migkit.printable import counted, printable
from migkit.questions import NeedsAttention, Option, ProposedPatch, Question, question_lines
from migkit.rules import Column, Template
from migkit.statuses import EXPORT_STATUSES, IMPORT_STATUSES, TERMINAL, WAITING

__all__ = [
    "Column",
    "Company",
    "ExportReport",
    "ExportRun",
    "NeedsAttention",
    "Option",
    "ProposedPatch",
    "Question",
    "Report",
    "Run",
    "Sheet",
    "SheetReport",
    "Source",
    "Template",
    "Upload",
    "WriteResult",
]


@dataclass(frozen=True)
class Source:
    """A source system (its published import plan); pass it when creating a company."""

    id: str
    name: str
    logo_url: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Source:
        return cls(
            id=id_field(raw, "id"),
            name=str(raw.get("name", "")),
            logo_url=text_or_none(raw, "logo_url"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Sheet:
    """One sheet of a company's workbook, shaped by a template."""

    id: str
    name: str
    template_id: str | None = None


@dataclass(frozen=True)
class Company:
    """One customer's migration: a workbook with one sheet per template."""

    id: str
    name: str
    external_id: str | None
    created_at: str | None
    workbook_id: str | None
    sheets: tuple[Sheet, ...]
    magic_link_url: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Company:
        company = raw.get("company")
        if not isinstance(company, Mapping):
            raise TypeError("company is not an object")
        return cls(
            id=id_field(company, "id"),
            name=str(company.get("name", "")),
            external_id=text_or_none(company, "external_id"),
            created_at=text_or_none(company, "created_at"),
            workbook_id=text_or_none(raw, "workbook_id"),
            sheets=tuple(
                Sheet(
                    id=id_field(s, "id"),
                    name=str(s.get("name", "")),
                    template_id=text_or_none(s, "template_id"),
                )
                for s in object_list(raw, "sheets")
            ),
            magic_link_url=text_or_none(raw, "magic_link_url"),
            raw=dict(raw),
        )

    def _repr_html_(self) -> str:
        from migkit.notebook.html import company_html

        return company_html(self)

    def sheet(self, name_or_id: str) -> Sheet:
        """The sheet with this name (case-insensitive) or id;
        :class:`~migkit.errors.UnknownName` (a ``KeyError``) listing the sheets otherwise."""
        for sheet in self.sheets:
            if sheet.id == name_or_id or sheet.name.casefold() == name_or_id.casefold():
                return sheet
        names = printable(", ".join(s.name for s in self.sheets) or "none", limit=500)
        raise UnknownName(
            f"company {printable(self.name, limit=100)!r} has no sheet {name_or_id!r}; "
            f"sheets: {names}"
        )


@dataclass(frozen=True)
class Upload:
    """A file uploaded through the signed-URL handshake; pass it to ``imports.create``."""

    name: str
    upload_ref: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SheetReport:
    """Rows a run put into one sheet."""

    template_name: str
    sheet_id: str
    row_count: int


@dataclass(frozen=True)
class Report:
    """An import run's report.

    ``flagged_rows`` is the API's ``invalidCellCount``: despite its name it counts **rows**
    with at least one invalid cell (they are imported, but left out of ``filter=valid``).
    """

    inserted: int
    per_sheet: tuple[SheetReport, ...]
    flagged_rows: int
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Report:
        return cls(
            inserted=count(raw, "inserted"),
            per_sheet=tuple(
                SheetReport(
                    template_name=str(s.get("templateName", "")),
                    sheet_id=str(s.get("sheetId", "")),
                    row_count=count(s, "rowCount"),
                )
                for s in raw.get("perSheet") or []
            ),
            flagged_rows=count(raw, "invalidCellCount"),
            raw=dict(raw),
        )

    @property
    def valid_rows(self) -> int:
        """Rows a completed run left valid (in ``filter=valid`` exports): inserted minus
        flagged."""
        return max(self.inserted - self.flagged_rows, 0)

    def headline(self, waiting: bool = False) -> str:
        """What the numbers mean, in words. A completed run's ``inserted`` counts valid and
        flagged rows; a run waiting for a decision has inserted only its clean rows so far.

        >>> Report(inserted=196, per_sheet=(), flagged_rows=12).headline()
        '184 valid + 12 flagged = 196 inserted'
        >>> Report(inserted=178, per_sheet=(), flagged_rows=22).headline(waiting=True)
        '178 clean rows inserted so far; 22 flagged rows wait for a decision'
        """
        if waiting:
            flagged = counted(self.flagged_rows, "flagged row")
            verb = "waits" if self.flagged_rows == 1 else "wait"
            return (
                f"{counted(self.inserted, 'clean row')} inserted so far; "
                f"{flagged} {verb} for a decision"
            )
        return (
            f"{self.valid_rows:,} valid + {self.flagged_rows:,} flagged = "
            f"{self.inserted:,} inserted"
        )

    def _repr_html_(self) -> str:
        from migkit.notebook.html import report_html

        return report_html(self)


class RunActions(Protocol):
    """What a :class:`Run` asks of the ``client.imports`` that made it (so ``run.wait()``,
    ``run.decide(...)`` and the rest work)."""

    def get(self, run: Run) -> Run: ...

    def wait(
        self,
        run: Run,
        *,
        timeout: float | None = None,
        on_progress: Any = None,
        on_attention: Any = None,
        raise_on_failure: bool = True,
    ) -> Run: ...

    def decide(
        self,
        run: Run,
        *,
        accept: bool = False,
        answers: Mapping[str, str | Option] | None = None,
        reject: bool = False,
    ) -> Run: ...

    def answer(self, run: Run, *, answers: Mapping[str, str | Option] | str) -> Run: ...

    def cancel(self, run: Run) -> Run: ...


@dataclass(frozen=True)
class Run:
    """An import run's state as last polled.

    ``status`` is one of :data:`~migkit.statuses.ImportStatus` (``queued``, ``running``,
    ``needs_attention``, ``blocked``, ``completed``, ``failed``, ``canceled``), or a status this
    version of migkit does not know (``known`` is then False). A ``needs_attention`` run carries
    ``needs_attention`` (answer with :meth:`decide`); a ``blocked`` run carries ``questions``
    (answer with :meth:`answer`).
    """

    id: str
    company_id: str
    status: str
    progress_message: str | None = None
    report: Report | None = None
    needs_attention: NeedsAttention | None = None
    error: str | None = None
    idempotency_key: str | None = None
    questions: tuple[Question, ...] = ()
    raw: Mapping[str, Any] = raw_field()
    # For people: which company and sheet (or files) the run imports into, e.g.
    # "Acme Corp · Contacts"; set by ``client.imports.create`` and kept across polls.
    label: str | None = field(default=None, compare=False, repr=False)
    # The ``client.imports`` that made this object, so ``run.wait()`` and ``run.decide()``
    # work; never part of equality or the repr.
    _imports: RunActions | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_api(
        cls,
        company_id: str,
        run_id: str,
        raw: Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> Run:
        if "run_id" in raw and id_field(raw, "run_id") != run_id:
            raise ValueError(f"run_id {printable(raw['run_id'], limit=60)} is not {run_id}")
        report = raw.get("report")
        attention = raw.get("needs_attention")
        return cls(
            id=run_id,
            company_id=company_id,
            status=status_field(raw),
            progress_message=text_or_none(raw, "progress_message"),
            report=Report.from_api(report) if isinstance(report, Mapping) else None,
            needs_attention=NeedsAttention.from_api(attention)
            if isinstance(attention, Mapping)
            else None,
            error=text_or_none(raw, "error"),
            idempotency_key=idempotency_key,
            questions=tuple(Question.from_api(q) for q in object_list(raw, "questions")),
            raw=dict(raw),
        )

    @property
    def done(self) -> bool:
        """True for ``completed``, ``failed`` and ``canceled``."""
        return self.status in TERMINAL

    @property
    def waiting(self) -> bool:
        """True while the run waits for a person: ``needs_attention`` or ``blocked``."""
        return self.status in WAITING

    @property
    def known(self) -> bool:
        """False for a status this version of migkit does not know."""
        return self.status in IMPORT_STATUSES

    def _owner(self) -> RunActions:
        if self._imports is None:
            raise UsageError(
                f"run {self.id} is not attached to a client; call client.imports.wait(run) "
                "or client.imports.decide(run, ...) instead"
            )
        return self._imports

    def wait(self, **options: Any) -> Run:
        """Poll this run until it ends or waits for a decision: ``client.imports.wait(run)``.

        >>> run = run.wait()  # doctest: +SKIP
        """
        return self._owner().wait(self, **options)

    def refresh(self) -> Run:
        """This run's current state (one poll)."""
        return self._owner().get(self)

    def decide(
        self,
        *,
        accept: bool = False,
        answers: Mapping[str, str | Option] | None = None,
        reject: bool = False,
    ) -> Run:
        """Answer this paused run: accept the proposed patch, answer questions by id, or
        reject (keep the valid rows, leave the rest flagged). See ``print(run)`` for the
        questions.

        >>> run.decide(accept=True).wait()  # doctest: +SKIP
        """
        return self._owner().decide(self, accept=accept, answers=answers, reject=reject)

    def answer(self, answers: Mapping[str, str | Option] | str) -> Run:
        """Answer this ``blocked`` run: ``{question id: option label or your own text}``, or
        a free-form instruction as one string (``client.imports.answer(run, ...)``).

        >>> run.answer({"q1": "Map them all to 'Open'"}).wait()  # doctest: +SKIP
        """
        return self._owner().answer(self, answers=answers)

    def cancel(self) -> Run:
        """Cancel this run (sandbox extension); its rows are removed."""
        return self._owner().cancel(self)

    def __str__(self) -> str:
        """A readable account: status, message, report, and any questions with their options
        (the server's text with control characters escaped)."""
        where = f" into {printable(self.label, limit=200)}" if self.label else ""
        lines = [f"Run {printable(self.id)}{where} ({printable(self.status, limit=80)})"]
        if self.progress_message:
            lines.append(f"  {printable(self.progress_message, limit=500)}")
        if self.error:
            lines.append(f"  error: {printable(self.error, limit=1000)}")
        if self.report is not None:
            lines.append(f"  {self.report.headline(self.waiting)}")
        lines += self.questions_text()
        return "\n".join(lines)

    def questions_text(self) -> list[str]:
        """A paused run's questions, options and suggested fix as indented lines, and how
        to answer; empty for a run that asks nothing."""
        lines: list[str] = []
        attention = self.needs_attention
        if attention is not None:
            lines += [line for q in attention.questions for line in question_lines(q)]
            if attention.proposed_patch is not None:
                summary = printable(attention.proposed_patch.summary, limit=500)
                lines.append(f"  Suggested fix: {summary}")
            lines.append(
                "  Answer with run.decide(accept=True), run.decide(answers={question id: "
                "option label or text}) or run.decide(reject=True)"
            )
        if self.questions:
            lines += [line for q in self.questions for line in question_lines(q)]
            lines.append(
                "  Answer with run.answer({question id: option label or text}) or "
                'run.answer("an instruction in your own words")'
            )
        return lines

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's text/plain (what renderers without HTML show): the readable account.
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from migkit.notebook.html import run_html

        return run_html(self)


@dataclass(frozen=True)
class WriteResult:
    """One write an export run made to the destination."""

    template_id: str | None
    path: str | None
    status: int
    ok: bool
    error: str | None
    fields_confirmed: tuple[str, ...] | None


@dataclass(frozen=True)
class ExportReport:
    """An export run's report: every write accounted for."""

    mode: str
    total: int
    succeeded: int
    failed: int
    results: tuple[WriteResult, ...]
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ExportReport:
        return cls(
            mode=str(raw.get("mode", "full")),
            total=count(raw, "total"),
            succeeded=count(raw, "succeeded"),
            failed=count(raw, "failed"),
            results=tuple(
                WriteResult(
                    template_id=text_or_none(r, "template_id"),
                    path=text_or_none(r, "path"),
                    status=count(r, "status"),
                    ok=bool(r.get("ok")),
                    error=text_or_none(r, "error"),
                    fields_confirmed=tuple(r["fields_confirmed"])
                    if isinstance(r.get("fields_confirmed"), list)
                    else None,
                )
                for r in raw.get("results") or []
            ),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class ExportRun:
    """An export-to-destination run's state as last polled."""

    id: str
    company_id: str
    status: str
    progress_message: str | None = None
    report: ExportReport | None = None
    error: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, company_id: str, run_id: str, raw: Mapping[str, Any]) -> ExportRun:
        report = raw.get("report")
        if "run_id" in raw and id_field(raw, "run_id") != run_id:
            raise ValueError(f"run_id {printable(raw['run_id'], limit=60)} is not {run_id}")
        return cls(
            id=run_id,
            company_id=company_id,
            status=status_field(raw),
            progress_message=text_or_none(raw, "progress_message"),
            report=ExportReport.from_api(report) if isinstance(report, Mapping) else None,
            error=text_or_none(raw, "error"),
            raw=dict(raw),
        )

    @property
    def done(self) -> bool:
        """True for ``completed``, ``failed`` and ``canceled``."""
        return self.status in TERMINAL

    @property
    def waiting(self) -> bool:
        """Always False: nothing asks a person during an export run."""
        return False

    @property
    def known(self) -> bool:
        """False for a status this version of migkit does not know."""
        return self.status in EXPORT_STATUSES
