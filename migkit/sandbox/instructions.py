"""Apply parsed instructions (:mod:`migkit.sandbox.grammar`) to a recipe.

Names are settled here: ``<column>`` is a template column of the migration, matched without
regard to case, spacing or punctuation, and may be qualified as ``Template.Column`` when two
templates share a name. ``<file header>`` is a column of a file mapped to that template. A
name that matches nothing makes the whole message unreadable, and the recipe stays unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migkit.header_healing import normalize_header
from migkit.sandbox.exporter import slug
from migkit.sandbox.grammar import Instruction, Unreadable
from migkit.sandbox.recipe import FILE_PREFIX, Recipe, edited, with_step
from migkit.sandbox.sheets import Sheet


@dataclass(frozen=True)
class Applied:
    """What one instruction did: its text, a sentence saying so, and the index of the recipe
    step it added (``None`` when it changed the mapping or removed steps)."""

    text: str
    op: str
    summary: str
    step: int | None


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold() or (
        normalize_header(a) == normalize_header(b) and normalize_header(a) != ""
    )


def find_column(token: str, sheets: list[Sheet]) -> tuple[Sheet, str]:
    """The sheet and template column a name means; :class:`Unreadable` otherwise."""
    scope = sheets
    head, dot, tail = token.partition(".")
    named = [
        s
        for s in sheets
        if dot and (_same(head, s.template.name) or head.strip() == slug(s.template.name))
    ]
    if named:
        scope, token = named, tail.strip()
    hits = [(s, c) for s in scope for c in s.template.column_names if _same(token, c)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        names = " or ".join(f"{s.template.name}.{c}" for s, c in hits)
        raise Unreadable(f'"{token}" is a column of several templates; write {names}')
    columns = "; ".join(f"{s.template.name}: {', '.join(s.template.column_names)}" for s in scope)
    raise Unreadable(f'There is no column "{token}" in this migration ({columns})')


def _inputs(recipe: Recipe, sheet: Sheet) -> list[dict[str, Any]]:
    return [i for i in recipe["inputs"] if i.get("template") == slug(sheet.template.name)]


def _header(entry: dict[str, Any], wanted: str) -> str | None:
    headers: list[str] = entry["headers"]
    exact = [h for h in headers if h == wanted]
    loose = [h for h in headers if _same(h, wanted)]
    found = exact or loose
    return found[0] if found else None


def _map_column(recipe: Recipe, sheet: Sheet, column: str, header: str) -> tuple[Recipe, str]:
    key = slug(sheet.template.name)
    found = {
        n: h
        for n, e in enumerate(recipe["inputs"])
        if e.get("template") == key and (h := _header(e, header)) is not None
    }
    if not found:
        known = sorted({h for e in _inputs(recipe, sheet) for h in e["headers"]})
        raise Unreadable(
            f'No file mapped to {sheet.template.name} has a column "{header}"'
            + (f"; its file columns are: {', '.join(known)}" if known else "")
        )
    before: list[str] = []

    def change(out: Recipe) -> None:
        for position, chosen in found.items():
            mapping = out["inputs"][position]["mapping"]
            before.extend(h for h, c in mapping.items() if c == column and h != chosen)
            kept = {h: c for h, c in mapping.items() if c != column and h != chosen}
            out["inputs"][position]["mapping"] = {**kept, chosen: column}

    out = edited(recipe, change)
    was = f' (was "{before[0]}")' if before else ""
    return out, f'{sheet.template.name}.{column} now comes from file column "{header}"{was}'


def _source(recipe: Recipe, sheet: Sheet, token: str) -> str:
    for column in sheet.template.column_names:
        if _same(token, column):
            return column
    for entry in _inputs(recipe, sheet):
        found = _header(entry, token)
        if found is not None:
            return entry["mapping"].get(found) or FILE_PREFIX + found
    raise Unreadable(
        f'"{token}" is neither a {sheet.template.name} column nor a column of its files'
    )


def apply(recipe: Recipe, instruction: Instruction, sheets: list[Sheet]) -> tuple[Recipe, Applied]:
    """``recipe`` with one instruction applied, and what it did."""
    sheet, column = find_column(instruction.column, sheets)
    key, name, op = slug(sheet.template.name), f"{sheet.template.name}.{column}", instruction.op
    base = {"template": key, "column": column, "by": "instruction", "text": instruction.text}
    if op == "map_column":
        out, summary = _map_column(recipe, sheet, column, str(instruction.source))
        return out, Applied(instruction.text, op, summary, None)
    if op == "keep_empty":
        drops = [
            s
            for s in recipe["steps"]
            if s["op"] == "drop_empty" and (s["template"], s["column"]) == (key, column)
        ]
        out = edited(
            recipe, lambda r: r.__setitem__("steps", [s for s in r["steps"] if s not in drops])
        )
        summary = (
            f"Rows with an empty {name} are kept again"
            if drops
            else f"Rows with an empty {name} were already kept; nothing changed"
        )
        return out, Applied(instruction.text, op, summary, None)
    if op == "map_value":
        if not instruction.source:
            raise Unreadable(
                f'To fill empty cells write: set {column} to "<value>" where it is empty'
            )
        step = {
            **base,
            "op": "map_values",
            "values": [instruction.source],
            "value": instruction.value,
        }
        summary = f'"{instruction.source}" becomes "{instruction.value}" in {name}'
    elif op == "fill_from":
        source = _source(recipe, sheet, str(instruction.source))
        step = {**base, "op": op, "source": source}
        summary = f"Empty {name} cells take the value of {source.removeprefix(FILE_PREFIX)}"
    else:
        step = {**base, "op": op}
        if op == "fill_empty":
            step["value"] = instruction.value
        summary = {
            "drop_empty": f"Rows with an empty {name} are dropped",
            "fill_empty": f'Empty {name} cells become "{instruction.value}"',
            "trim": f"{name} is trimmed",
            "lowercase": f"{name} is lower-cased",
        }[op]
    return with_step(recipe, step), Applied(instruction.text, op, summary, len(recipe["steps"]))


def apply_all(
    recipe: Recipe, instructions: list[Instruction], sheets: list[Sheet]
) -> tuple[Recipe, list[Applied]]:
    """Every instruction in order; :class:`Unreadable` (recipe untouched) if any fails."""
    applied = []
    for instruction in instructions:
        recipe, done = apply(recipe, instruction, sheets)
        applied.append(done)
    return recipe, applied
