"""The agent stand-in's recipe: which table goes to which template under which column mapping,
then an ordered list of value steps. A recipe is plain JSON, stored on the migration (and on a
run while the run works on a draft), and replayed on the stored files to build frames.

``inputs[]``: ``{blob, content_type, file, part, headers, template (slug or null), mapping}``
where ``blob`` names the stored bytes (an upload or a source snapshot) and ``mapping`` maps
file headers to template columns. ``steps[]``: ``{op, template, column, ..., by, text}``.

Steps, in the order they apply to a template's frame:

- ``fold_allowed``: values equal to exactly one allowed value after trimming and case-folding
  become that value (the only fix the agent makes without asking).
- ``map_values`` ``{values, value}``: each listed value becomes ``value``.
- ``drop_values`` ``{values}``: rows holding one of the values are dropped.
- ``keep_flagged``: the column's bad values stay as they are (nothing asked again).
- ``drop_empty``, ``fill_empty`` ``{value}``, ``fill_from`` ``{source}``, ``trim``,
  ``lowercase``: as the instruction grammar says. ``source`` is a template column or
  ``file:<header>`` for a file column no template column maps to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from migkit.rules import Column, Template, blank_mask
from migkit.sandbox.exporter import slug
from migkit.sandbox.reader import FileProblem, Part, read_upload
from migkit.sandbox.sheets import Sheet, mapped_frame
from migkit.sandbox.store import Store

Recipe = dict[str, Any]
FILE_PREFIX = "file:"


def empty_recipe() -> Recipe:
    """A recipe with no inputs and no steps."""
    return {"inputs": [], "steps": []}


@dataclass
class Built:
    """Each template's frame after the recipe (template columns plus ``file:`` columns for the
    file headers nothing maps to), and how many cells or rows each step changed (aligned with
    ``recipe["steps"]``)."""

    frames: dict[str, pd.DataFrame]  # slug -> frame with template columns (+ file: extras)
    changes: list[int]


class Tables:
    """Reads each stored blob once per build and hands out its tables by name."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._read: dict[str, list[Part]] = {}

    def part(self, entry: dict[str, Any]) -> Part:
        """The table an input names; :class:`FileProblem` when it is gone."""
        blob = entry["blob"]
        if blob not in self._read:
            path = self.store.upload_path(blob)
            if not path.is_file():
                raise FileProblem(f"{entry['file']}: its stored bytes are gone; upload it again")
            self._read[blob] = read_upload(path, entry["file"], entry["content_type"])
        for part in self._read[blob]:
            if part.name == entry["part"]:
                return part
        raise FileProblem(f"{entry['file']}: sheet {entry['part']} is gone")


def _input_frame(template: Template, part: Part, mapping: dict[str, str]) -> pd.DataFrame:
    frame = mapped_frame(template, part, mapping)
    for position, header in enumerate(part.headers):
        if header not in mapping:  # kept for `use <file header> for missing <column>`
            frame[FILE_PREFIX + header] = part.frame[position].where(
                part.frame[position].notna(), None
            )
    return frame


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def _fold(series: pd.Series, column: Column) -> tuple[pd.Series, int]:
    allowed = list(column.allowed or ())
    by_fold: dict[str, list[str]] = {}
    for value in allowed:
        by_fold.setdefault(value.strip().casefold(), []).append(value)
    mapping = {}
    for value in series.dropna().unique().tolist():
        text = str(value)
        targets = by_fold.get(text.strip().casefold(), [])
        if text not in allowed and len(targets) == 1:
            mapping[text] = targets[0]
    return _replace(series, mapping)


def _replace(series: pd.Series, mapping: dict[str, str]) -> tuple[pd.Series, int]:
    hit = series.isin(list(mapping)).to_numpy(dtype=bool)
    out = series.copy()
    out[hit] = series[hit].map(mapping)
    return out, int(hit.sum())


def _apply(
    frame: pd.DataFrame, step: dict[str, Any], template: Template
) -> tuple[pd.DataFrame, int]:
    """One step on a template's frame: the new frame and how many cells or rows changed."""
    name, op = step["column"], step["op"]
    if name not in frame.columns:
        return frame, 0
    series = frame[name]
    empty = blank_mask(series.astype(pd.StringDtype())).to_numpy(dtype=bool)
    changed: int
    if op == "fold_allowed":
        new, changed = _fold(series, template.column(name))
    elif op == "map_values":
        new, changed = _replace(series, dict.fromkeys(step["values"], step["value"]))
    elif op in ("drop_values", "drop_empty"):
        drop = series.isin(step["values"]).to_numpy(dtype=bool) if op == "drop_values" else empty
        return frame.loc[~drop], int(drop.sum())
    elif op == "fill_empty":
        new, changed = series.where(~empty, step["value"]), int(empty.sum())
    elif op == "fill_from":
        source = frame.get(step["source"])
        if source is None:
            return frame, 0
        new = series.where(~empty, source)
        changed = int((empty & source.notna().to_numpy(dtype=bool)).sum())
    elif op in ("trim", "lowercase"):
        text = series.astype(pd.StringDtype())
        text = text.str.strip() if op == "trim" else text.str.lower()
        new = _text(text)
        changed = int((new.fillna("\0") != series.fillna("\0")).sum())
    else:  # keep_flagged only marks the question as settled
        return frame, 0
    frame = frame.copy()
    frame[name] = _text(new)
    return frame, changed


def build(store: Store, recipe: Recipe, sheets: list[Sheet]) -> Built:
    """Replay ``recipe`` on the stored tables: one frame per template that has an input."""
    tables = Tables(store)
    by_slug = {slug(s.template.name): s for s in sheets}
    pieces: dict[str, list[pd.DataFrame]] = {}
    for entry in recipe["inputs"]:
        sheet = by_slug.get(entry.get("template") or "")
        if sheet is not None:
            part = tables.part(entry)
            pieces.setdefault(entry["template"], []).append(
                _input_frame(sheet.template, part, entry["mapping"])
            )
    frames = {
        key: pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        for key, parts in pieces.items()
    }
    changes = []
    for step in recipe["steps"]:
        key = step["template"]
        if key not in frames:
            changes.append(0)
            continue
        frames[key], changed = _apply(frames[key], step, by_slug[key].template)
        changes.append(changed)
    return Built(frames=frames, changes=changes)


def template_columns(built: Built, sheets: list[Sheet]) -> dict[str, pd.DataFrame]:
    """Each built frame reduced to its template's columns, rows renumbered from 0."""
    out = {}
    for sheet in sheets:
        key = slug(sheet.template.name)
        if key in built.frames:
            out[key] = built.frames[key][sheet.template.column_names].reset_index(drop=True)
    return out


def settled(recipe: Recipe, template: str, column: str) -> bool:
    """True when the column's bad values are to stay flagged (``Keep them flagged``)."""
    return any(
        s["op"] == "keep_flagged" and s["template"] == template and s["column"] == column
        for s in recipe["steps"]
    )


def with_step(recipe: Recipe, step: dict[str, Any]) -> Recipe:
    """A copy of ``recipe`` with ``step`` appended."""
    out = copy.deepcopy(recipe)
    out["steps"].append(step)
    return out


def edited(recipe: Recipe, change: Callable[[Recipe], None]) -> Recipe:
    """A copy of ``recipe`` changed in place by ``change``."""
    out = copy.deepcopy(recipe)
    change(out)
    return out
