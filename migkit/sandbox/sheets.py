"""A company's sheets with their templates, and routing of uploaded tables to them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from migkit.headers import file_stem_matches, match_headers
from migkit.rules import Template
from migkit.sandbox.reader import FileProblem, Part
from migkit.sandbox.store import Store


@dataclass(frozen=True)
class Sheet:
    """One sheet of a company's workbook and the template that shapes it."""

    id: str
    name: str
    template: Template


def company_sheets(store: Store, company_id: str) -> list[Sheet]:
    """The company's sheets in workbook order."""
    rows = store.all(
        "SELECT s.id, s.name, t.id AS template_id, t.name AS template_name, t.description,"
        " t.columns_json FROM sheets s JOIN templates t ON t.id = s.template_id"
        " WHERE s.company_id = ? ORDER BY s.position",
        company_id,
    )
    return [
        Sheet(
            id=r["id"],
            name=r["name"],
            template=Template.from_api(
                {
                    "id": r["template_id"],
                    "name": r["template_name"],
                    "description": r["description"],
                    "columns": json.loads(r["columns_json"]),
                }
            ),
        )
        for r in rows
    ]


def link_order(sheets: list[Sheet]) -> list[Sheet]:
    """Sheets ordered so that a linked-to template comes before the sheets that link to it."""
    by_template = {s.template.id: s for s in sheets}
    ordered: list[Sheet] = []
    visiting: set[str] = set()

    def visit(sheet: Sheet) -> None:
        if sheet in ordered or sheet.id in visiting:
            return
        visiting.add(sheet.id)
        for link in (link for column in sheet.template.columns for link in column.links):
            target = by_template.get(link.template)
            if target is not None and target is not sheet:
                visit(target)
        ordered.append(sheet)

    for sheet in sheets:
        visit(sheet)
    return ordered


def route(parts: list[tuple[str, Part]], sheets: list[Sheet]) -> list[tuple[Sheet, str, Part]]:
    """Send each table to a sheet: by name (file or worksheet), else by best header overlap."""
    routed = []
    for file_name, part in parts:
        named = [
            s
            for s in sheets
            if file_stem_matches(part.name, s.template.name)
            or file_stem_matches(file_name, s.template.name)
        ]
        if named:
            routed.append((named[0], file_name, part))
            continue
        scores = [
            (len(match_headers(part.headers, s.template.column_names).mapping), s) for s in sheets
        ]
        best_score = max((score for score, _ in scores), default=0)
        if best_score == 0:
            raise FileProblem(
                f"Could not match {part.name} to any sheet: its headers "
                f"({', '.join(part.headers)}) match no template column; name the file after "
                "its template (e.g. contacts.csv) or fix its header row"
            )
        routed.append((next(s for score, s in scores if score == best_score), file_name, part))
    return routed


def template_frame(sheet: Sheet, file_name: str, part: Part) -> pd.DataFrame:
    """The part's cells under the template's column names (unmatched columns empty).

    Raises :class:`FileProblem` for unrecoverable drift (a required column not found).
    """
    template = sheet.template
    match = match_headers(part.headers, template.column_names)
    missing = match.missing_required(template.required_columns)
    where = file_name if file_name == part.name else f"{file_name} (sheet {part.name})"
    if missing:
        raise FileProblem(
            f"Unrecoverable column drift: required column '{missing[0]}' not found in {where}"
        )
    position = {h: i for i, h in enumerate(part.headers)}
    data = {column: part.frame[position[header]] for header, column in match.mapping.items()}
    frame = pd.DataFrame(data, index=part.frame.index, dtype=object)
    frame = frame.reindex(columns=template.column_names).astype(object)
    return frame.where(frame.notna(), None)
