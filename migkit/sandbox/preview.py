"""Validate a recipe's output with the rules engine, shape it as the documented preview, and
turn it into the rows an execute inserts.

Generation 1's :func:`migkit.sandbox.import_pass.validate_frames` decides every invalid cell, so
migkit's local validation predicts a Generation-2 preview exactly as it predicts an import.
Unique values and link targets also count the rows earlier executes of the same migration
inserted; an execute validates again with the same function, so it flags what the preview
showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from migkit.sandbox import import_pass
from migkit.sandbox.exporter import slug
from migkit.sandbox.recipe import Recipe, build, template_columns
from migkit.sandbox.sheets import Sheet, link_order
from migkit.sandbox.store import Store

PREVIEW_ROWS = 10_000


@dataclass(frozen=True)
class Checked:
    """One template's rows after the recipe, with the rules engine's verdict."""

    sheet: Sheet
    frame: pd.DataFrame  # template columns, rows numbered from 0
    violations: pd.DataFrame
    flagged: pd.Series

    @property
    def slug(self) -> str:
        return slug(self.sheet.template.name)


def check_recipe(
    store: Store, sheets: list[Sheet], recipe: Recipe, run_id: str = ""
) -> list[Checked]:
    """Build ``recipe`` and validate every template that has data, in workbook order.

    ``run_id`` names rows that do not count as already inserted (an execute re-running after
    a restart replaces its own rows).
    """
    frames = template_columns(build(store, recipe, sheets), sheets)
    by_sheet = {
        s.id: frames[slug(s.template.name)] for s in sheets if slug(s.template.name) in frames
    }
    checked = {
        sheet.id: Checked(sheet, frame, violations, flagged)
        for sheet, frame, violations, flagged in import_pass.validate_frames(
            store, link_order(sheets), by_sheet, run_id
        )
    }
    return [checked[s.id] for s in sheets if s.id in checked]


def _template(sheet: Sheet) -> dict[str, str]:
    return {"slug": slug(sheet.template.name), "name": sheet.template.name}


def _sheet_body(sheet: Sheet, checked: Checked | None) -> dict[str, Any]:
    header = sheet.template.column_names
    if checked is None:
        return {"template": _template(sheet), "rows": [header], "invalid_cells": []}
    frame = checked.frame
    shown = frame.iloc[:PREVIEW_ROWS]
    violations = checked.violations[checked.violations["row"] < PREVIEW_ROWS]
    body: dict[str, Any] = {
        "template": _template(sheet),
        "rows": [header, *shown.astype(object).where(shown.notna(), None).values.tolist()],
        "invalid_cells": [
            {"row": int(row), "column": str(column), "error": str(message)}
            for row, column, message in zip(
                violations["row"], violations["column"], violations["message"], strict=True
            )
        ],
    }
    if len(frame) > PREVIEW_ROWS:
        body["total_rows"] = len(frame)
        body["truncated"] = True
    return body


def preview_body(sheets: list[Sheet], checked: list[Checked]) -> dict[str, Any]:
    """The documented ``GET /preview`` body (every template of the migration has a sheet)."""
    by_id = {c.sheet.id: c for c in checked}
    return {
        "status": "awaiting_approval",
        "templates": [_template(s) for s in sheets],
        "sheets": [_sheet_body(s, by_id.get(s.id)) for s in sheets],
    }


def summary(checked: list[Checked]) -> list[dict[str, Any]]:
    """Counts per template: rows, flagged rows and invalid cells per column."""
    out = []
    for item in checked:
        per_column = item.violations.groupby("column", sort=False).size()
        out.append(
            {
                "template": item.slug,
                "rows": len(item.frame),
                "flagged_rows": int(item.flagged.sum()),
                "invalid_cells": {str(k): int(v) for k, v in per_column.items()},
            }
        )
    return out


def records(checked: list[Checked], run_id: str) -> tuple[import_pass.Outcome, dict[str, Any]]:
    """The rows an execute inserts (each sheet's frame, valid rows clean and the others
    flagged; for :func:`import_pass.replace_rows`) and the documented report."""
    rows: import_pass.Outcome = []
    per_sheet = []
    flagged = 0
    for item in checked:
        rows.append((item.sheet, item.frame, item.flagged))
        flagged += int(item.flagged.sum())
        per_sheet.append(
            {
                "templateName": item.sheet.template.name,
                "sheetId": item.sheet.id,
                "rowCount": len(item.frame),
            }
        )
    report = {
        "inserted": sum(len(frame) for _, frame, _ in rows),
        "perSheet": per_sheet,
        "invalidCellCount": flagged,
        "coverage": None,
    }
    return rows, report
