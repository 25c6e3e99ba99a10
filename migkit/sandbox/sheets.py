"""A company's sheets with their templates, and routing of uploaded tables to them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from migkit.header_healing import file_stem_matches, match_headers
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


@dataclass(frozen=True)
class PartMatch:
    """Which sheet a table goes to, and how sure that is.

    ``sheet`` is ``None`` when no sheet is named by the file and no header matches any
    template column. ``tied`` lists the other sheets whose columns the table matched exactly
    as well (the first in workbook order wins); ``score`` is the number of matched columns.
    """

    sheet: Sheet | None
    by_name: bool
    score: int
    tied: tuple[Sheet, ...] = ()


def match_part(file_name: str, part: Part, sheets: list[Sheet]) -> PartMatch:
    """The sheet a table belongs to: the one its file or worksheet names, else the one whose
    template columns its headers match best (header healing as :func:`match_headers`).

    Both generations route tables with this one function.
    """
    named = [
        s
        for s in sheets
        if file_stem_matches(part.name, s.template.name)
        or file_stem_matches(file_name, s.template.name)
    ]
    if named:
        score = len(match_headers(part.headers, named[0].template.column_names).mapping)
        return PartMatch(named[0], by_name=True, score=score)
    scores = [
        (len(match_headers(part.headers, s.template.column_names).mapping), s) for s in sheets
    ]
    best = max((score for score, _ in scores), default=0)
    if best == 0:
        return PartMatch(None, by_name=False, score=0)
    winners = [s for score, s in scores if score == best]
    return PartMatch(winners[0], by_name=False, score=best, tied=tuple(winners[1:]))


def route(parts: list[tuple[str, Part]], sheets: list[Sheet]) -> list[tuple[Sheet, str, Part]]:
    """Send each table to a sheet: by name (file or worksheet), else by best header overlap."""
    routed = []
    for file_name, part in parts:
        sheet = match_part(file_name, part, sheets).sheet
        if sheet is None:
            raise FileProblem(
                f"Could not match {part.name} to any sheet: its headers "
                f"({', '.join(part.headers)}) match no template column; name the file after "
                "its template (e.g. contacts.csv) or fix its header row"
            )
        routed.append((sheet, file_name, part))
    return routed


def mapped_frame(template: Template, part: Part, mapping: dict[str, str]) -> pd.DataFrame:
    """The part's cells under the template's column names, by ``mapping`` (file header ->
    template column); template columns no header maps to are empty (``None``)."""
    position = {h: i for i, h in enumerate(part.headers)}
    source = {column: position[h] for h, column in mapping.items() if h in position}
    # Arrow-backed text columns end to end (zero-copy when the part already is): the rules,
    # the fixes and the row store all work on Arrow arrays; a column the file lacks is null.
    return pd.DataFrame(
        {
            name: (
                part.frame[source[name]].astype("str")
                if name in source
                else pd.Series(None, index=part.frame.index, dtype="str")
            )
            for name in template.column_names
        },
        index=part.frame.index,
    )


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
    return mapped_frame(template, part, match.mapping)
