"""Typed results: small frozen dataclasses with the documented fields and ``.raw`` JSON.

Unknown fields are ignored (kept in ``.raw``) and missing optional fields become ``None``, so
a newer server never breaks parsing. Names follow the API's meaning in Python spelling:
``Report.flagged_rows`` is the API's ``invalidCellCount``, which counts rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migkit.errors import UsageError
from migkit.rules import Column, Template

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

TERMINAL = frozenset({"completed", "failed", "canceled"})


def _raw() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


def _str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular or plural: ``1 row``, ``1,204 rows``.

    >>> counted(1, "row"), counted(1204, "row"), counted(2, "run", "runs")
    ('1 row', '1,204 rows', '2 runs')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _int(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class Source:
    """A source system (its published import plan); pass it when creating a company."""

    id: str
    name: str
    logo_url: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Source:
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name", "")),
            logo_url=_str(raw, "logo_url"),
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
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Company:
        company = raw.get("company") or {}
        return cls(
            id=str(company["id"]),
            name=str(company.get("name", "")),
            external_id=_str(company, "external_id"),
            created_at=_str(company, "created_at"),
            workbook_id=_str(raw, "workbook_id"),
            sheets=tuple(
                Sheet(
                    id=str(s["id"]), name=str(s.get("name", "")), template_id=_str(s, "template_id")
                )
                for s in raw.get("sheets") or []
            ),
            magic_link_url=_str(raw, "magic_link_url"),
            raw=dict(raw),
        )

    def _repr_html_(self) -> str:
        from migkit.notebook.html import company_html

        return company_html(self)

    def sheet(self, name_or_id: str) -> Sheet:
        """The sheet with this name (case-insensitive) or id."""
        for sheet in self.sheets:
            if sheet.id == name_or_id or sheet.name.casefold() == name_or_id.casefold():
                return sheet
        names = ", ".join(s.name for s in self.sheets) or "none"
        raise KeyError(f"company {self.name!r} has no sheet {name_or_id!r}; sheets: {names}")


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
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Report:
        return cls(
            inserted=_int(raw, "inserted"),
            per_sheet=tuple(
                SheetReport(
                    template_name=str(s.get("templateName", "")),
                    sheet_id=str(s.get("sheetId", "")),
                    row_count=_int(s, "rowCount"),
                )
                for s in raw.get("perSheet") or []
            ),
            flagged_rows=_int(raw, "invalidCellCount"),
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


@dataclass(frozen=True)
class Option:
    """A suggested answer; send its ``label`` as the answer value."""

    id: str
    label: str


@dataclass(frozen=True)
class Question:
    """A question a paused run asks about one group of flagged cells."""

    id: str
    prompt: str
    context: str
    column: str | None
    sheet_id: str | None
    affected_rows: int
    sample_values: tuple[str, ...]
    error: str | None
    options: tuple[Option, ...]
    allow_custom: bool
    relevant_columns: tuple[str, ...] = ()
    raw: Mapping[str, Any] = _raw()

    def samples_text(self, limit: int = 5) -> str:
        """Up to ``limit`` sample values for people; a blank one reads ``(blank)``.

        >>> Question("q", "", "", None, None, 2, ("open", " "), None, (), False).samples_text()
        'open, (blank)'
        """
        return ", ".join(v if v.strip() else "(blank)" for v in self.sample_values[:limit])

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Question:
        target = raw.get("target") or {}
        return cls(
            id=str(raw["id"]),
            prompt=str(raw.get("prompt", "")),
            context=str(raw.get("context", "")),
            column=_str(target, "column"),
            sheet_id=_str(target, "sheet_id"),
            affected_rows=_int(target, "affected_count"),
            sample_values=tuple(
                "" if v is None else str(v) for v in target.get("sample_values") or []
            ),
            error=_str(target, "error"),
            options=tuple(
                Option(id=str(o.get("id", "")), label=str(o.get("label", "")))
                for o in raw.get("options") or []
            ),
            allow_custom=bool(raw.get("allow_custom", False)),
            relevant_columns=tuple(str(c) for c in raw.get("relevant_columns") or []),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class ProposedPatch:
    """Vern's best-guess fix: a one-line ``summary`` and per-column ``actions``."""

    summary: str
    actions: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class NeedsAttention:
    """What a paused run asks: questions and a proposed patch."""

    questions: tuple[Question, ...]
    proposed_patch: ProposedPatch | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> NeedsAttention:
        patch = raw.get("proposed_patch")
        return cls(
            questions=tuple(Question.from_api(q) for q in raw.get("questions") or []),
            proposed_patch=ProposedPatch(
                summary=str(patch.get("summary", "")), actions=tuple(patch.get("actions") or [])
            )
            if isinstance(patch, Mapping)
            else None,
        )


@dataclass(frozen=True)
class Run:
    """An import run's state as last polled.

    ``status`` is one of ``queued``, ``running``, ``needs_attention``, ``completed``,
    ``failed``, ``canceled``.
    """

    id: str
    company_id: str
    status: str
    progress_message: str | None = None
    report: Report | None = None
    needs_attention: NeedsAttention | None = None
    error: str | None = None
    idempotency_key: str | None = None
    raw: Mapping[str, Any] = _raw()
    # For people: which company and sheet (or files) the run imports into, e.g.
    # "Acme Corp · Contacts"; set by ``client.imports.create`` and kept across polls.
    label: str | None = field(default=None, compare=False, repr=False)
    # The ``client.imports`` that made this object, so ``run.wait()`` and ``run.decide()``
    # work; never part of equality or the repr.
    _imports: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_api(
        cls,
        company_id: str,
        run_id: str,
        raw: Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> Run:
        report = raw.get("report")
        attention = raw.get("needs_attention")
        return cls(
            id=run_id,
            company_id=company_id,
            status=str(raw.get("status", "queued")),
            progress_message=_str(raw, "progress_message"),
            report=Report.from_api(report) if isinstance(report, Mapping) else None,
            needs_attention=NeedsAttention.from_api(attention)
            if isinstance(attention, Mapping)
            else None,
            error=_str(raw, "error"),
            idempotency_key=idempotency_key,
            raw=dict(raw),
        )

    @property
    def done(self) -> bool:
        """True for ``completed``, ``failed`` and ``canceled``."""
        return self.status in TERMINAL

    @property
    def waiting(self) -> bool:
        """True while the run waits for a decision (``needs_attention``)."""
        return self.status == "needs_attention"

    def _owner(self) -> Any:
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
        return self._owner().wait(self, **options)  # type: ignore[no-any-return]

    def refresh(self) -> Run:
        """This run's current state (one poll)."""
        return self._owner().get(self)  # type: ignore[no-any-return]

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
        return self._owner().decide(  # type: ignore[no-any-return]
            self, accept=accept, answers=answers, reject=reject
        )

    def cancel(self) -> Run:
        """Cancel this run (sandbox extension); its rows are removed."""
        return self._owner().cancel(self)  # type: ignore[no-any-return]

    def __str__(self) -> str:
        """A readable account: status, message, report, and any questions with their options."""
        where = f" into {self.label}" if self.label else ""
        lines = [f"Run {self.id}{where} ({self.status})"]
        if self.progress_message:
            lines.append(f"  {self.progress_message}")
        if self.error:
            lines.append(f"  error: {self.error}")
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
            for q in attention.questions:
                target = f"{q.column}: " if q.column else ""
                lines.append(f"  [{q.id}] {target}{q.prompt}")
                if q.context:
                    lines.append(f"      {q.context}")
                if q.sample_values:
                    lines.append(
                        f"      {counted(q.affected_rows, 'row')}, e.g. {q.samples_text()}"
                    )
                for option in q.options:
                    lines.append(f"      - {option.label}")
                if q.allow_custom:
                    lines.append("      - (or type your own value)")
            if attention.proposed_patch is not None:
                lines.append(f"  Suggested fix: {attention.proposed_patch.summary}")
            lines.append(
                "  Answer with run.decide(accept=True), run.decide(answers={question id: "
                "option label or text}) or run.decide(reject=True)"
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
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ExportReport:
        return cls(
            mode=str(raw.get("mode", "full")),
            total=_int(raw, "total"),
            succeeded=_int(raw, "succeeded"),
            failed=_int(raw, "failed"),
            results=tuple(
                WriteResult(
                    template_id=_str(r, "template_id"),
                    path=_str(r, "path"),
                    status=_int(r, "status"),
                    ok=bool(r.get("ok")),
                    error=_str(r, "error"),
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
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, company_id: str, run_id: str, raw: Mapping[str, Any]) -> ExportRun:
        report = raw.get("report")
        return cls(
            id=run_id,
            company_id=company_id,
            status=str(raw.get("status", "queued")),
            progress_message=_str(raw, "progress_message"),
            report=ExportReport.from_api(report) if isinstance(report, Mapping) else None,
            error=_str(raw, "error"),
            raw=dict(raw),
        )

    @property
    def done(self) -> bool:
        """True for ``completed``, ``failed`` and ``canceled``."""
        return self.status in TERMINAL
