"""A Generation-2 preview as one side of :func:`migkit.reconcile`: which sheet, which frame,
which columns the recipe mapped, and the evidence that explains the differences.

- ``reconcile(source, preview, thread=...)``: sides ``source`` and ``preview``; the source's
  columns the recipe mapped explicitly are compared under their template column;
- ``reconcile(preview, export, flagged=...)``: sides ``preview`` and ``export``; the
  preview's invalid cells explain rows missing from a ``valid`` export.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from migkit.errors import UsageError
from migkit.preview import Preview, PreviewSheet
from migkit.reconcile.agent import column_mapping, preview_problems, recipe_evidence
from migkit.reconcile.reasons import PAST_SAMPLE
from migkit.reconcile.report import ReconcileReport


def preview_sheet(
    preview: Preview | PreviewSheet, template: str | None, other: Any
) -> PreviewSheet:
    """The sheet of ``preview`` to compare with ``other``: ``template`` (a slug or a name),
    else the only sheet with rows, else the one sheet whose columns are ``other``'s."""
    if isinstance(preview, PreviewSheet):
        if template is not None and template.casefold() not in (
            preview.slug.casefold(),
            preview.name.casefold(),
        ):
            raise UsageError(f"template={template!r}, but this is the {preview.slug} sheet")
        return preview
    if template is not None:
        return preview.sheet(template)
    sheets = list(preview.sheets.values())
    with_rows = [s for s in sheets if s.rows]
    if len(with_rows) == 1:
        return with_rows[0]
    columns = list(getattr(other, "columns", []))
    same = [s for s in sheets if list(s.frame.columns) == columns]
    if len(same) == 1:
        return same[0]
    slugs = ", ".join(s.slug for s in sheets) or "none"
    raise UsageError(
        f"The preview has {len(sheets)} templates; say which one to compare, e.g. "
        f"template={(sheets[0].slug if sheets else 'contacts')!r} (templates: {slugs})"
    )


@dataclass(frozen=True)
class PreviewSides:
    """The two frames to compare, their names, and what a preview adds to the report."""

    left: Any
    right: Any
    names: tuple[str, str] = ("source", "export")
    evidence: dict[str, Any] = field(default_factory=dict)
    mapped: dict[Hashable, Hashable] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    cut: bool = False  # a truncated preview first: export rows past its sample are expected

    @classmethod
    def of(cls, source: Any, export: Any, thread: Any, template: str | None) -> PreviewSides:
        """Resolve a preview on either side (``thread`` and ``template`` need one)."""
        kinds = (Preview, PreviewSheet)
        if isinstance(source, kinds) and isinstance(export, kinds):
            raise UsageError(
                "Both sides are previews; compare a preview with the source frame or with an "
                "export (for two previews, use diff_exports(old[slug], new[slug], key=...))"
            )
        if isinstance(export, kinds):
            return cls._source_vs_preview(source, export, thread, template)
        if isinstance(source, kinds):
            if thread is not None:
                raise UsageError(
                    "thread= explains source vs preview (reconcile(source, preview, ...)); "
                    "a preview vs its export needs flagged= (the invalid export) instead"
                )
            return cls._preview_vs_export(source, export, template)
        if thread is not None or template is not None:
            raise UsageError(
                "thread= and template= apply when one side is a migkit.Preview "
                "(client.migrations.preview(m)); both sides here are frames"
            )
        return cls(source, export)

    @classmethod
    def _source_vs_preview(
        cls, source: Any, preview: Preview | PreviewSheet, thread: Any, template: str | None
    ) -> PreviewSides:
        if not isinstance(source, pd.DataFrame):
            return cls(source, preview, ("source", "preview"))  # _compare names the problem
        sheet = preview_sheet(preview, template, source)
        renames: dict[Hashable, Hashable] = {}
        notes = []
        if thread is not None:
            for header, (column, why) in column_mapping(thread, sheet).items():
                if header in source.columns and column not in source.columns:
                    renames[header] = column
                    notes.append(f"{header} → {column} (mapped by {why})")
        left = source.rename(columns=renames) if renames else source  # a copy, never in place
        notes_out: tuple[str, ...] = (
            (f"Columns the recipe mapped: {'; '.join(notes)}",) if notes else ()
        )
        if thread is None:
            notes_out += (
                "No thread given: pass thread= (client.migrations.thread(m, include='tools')) "
                "to name the instruction behind each change and dropped row",
            )
        if sheet.truncated:
            notes_out += (_sample_note(sheet),)
        sheets = preview.sheets.values() if isinstance(preview, Preview) else [sheet]
        known = sorted({str(c) for s in sheets for c in s.frame.columns})
        evidence = {"recipe": recipe_evidence(thread, known), "sample_cut": sheet.truncated}
        return cls(left, sheet.frame, ("source", "preview"), evidence, renames, notes_out)

    @classmethod
    def _preview_vs_export(
        cls, preview: Preview | PreviewSheet, export: Any, template: str | None
    ) -> PreviewSides:
        sheet = preview_sheet(preview, template, export)
        notes = (_sample_note(sheet),) if sheet.truncated else ()
        evidence = {"preview_problems": preview_problems(sheet)}
        return cls(sheet.frame, export, ("preview", "export"), evidence, {}, notes, sheet.truncated)

    def finish(self, report: ReconcileReport) -> ReconcileReport:
        """``report`` with the mapped columns and the notes of a preview side."""
        if not self.mapped and not self.notes and not self.cut:
            return report
        extra = report.extra
        if self.cut and len(extra):
            reason = report.field_name("reason")
            extra = extra.assign(
                **{reason: extra[reason].replace(f"not in the {self.names[0]}", PAST_SAMPLE)}
            )
        return dataclasses.replace(
            report,
            extra=extra,
            columns={**self.mapped, **report.columns},
            notes=(*report.notes, *self.notes),
        )


def _sample_note(sheet: PreviewSheet) -> str:
    return (
        f"The preview of {sheet.slug} is a sample: it shows {sheet.rows:,} of "
        f"{sheet.total_rows:,} rows, so only those were compared row by row"
    )
