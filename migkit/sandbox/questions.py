"""The agent stand-in's questions (the ``blocked`` shape of the docs' §3.9) and its answers.

One question per (template, column) whose allowed-value misses the agent cannot fix by itself;
an open question (no options) when it could not read an instruction. Ids are ``q1``, ``q2``, …
within a run; a question asked again after an unusable answer gets a new id.

>>> q = allowed_question("q1", Ambiguity("contacts", "Contacts", "Status",
...     ("Open", "Closed"), ["DONE"], 2))
>>> [o["label"] for o in q["options"]]
["Map them all to 'Open'", "Map them all to 'Closed'", 'Drop those rows', 'Keep them flagged']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from migkit.rules import blank_mask
from migkit.sandbox.exporter import slug
from migkit.sandbox.recipe import Built, Recipe, settled
from migkit.sandbox.sheets import Sheet

MAP = "Map them all to '{}'"
DROP = "Drop those rows"
KEEP = "Keep them flagged"
SHOWN_VALUES = 5


@dataclass(frozen=True)
class Ambiguity:
    """Bad values of one allowed-value column that the agent will not fix without asking."""

    template: str  # slug
    template_name: str
    column: str
    allowed: tuple[str, ...]
    values: list[str]  # distinct, first-seen order
    rows: int


def ambiguities(built: Built, sheets: list[Sheet], recipe: Recipe) -> list[Ambiguity]:
    """Every allowed-value column with values outside the list, unless kept flagged."""
    found = []
    for sheet in sheets:
        key = slug(sheet.template.name)
        frame = built.frames.get(key)
        if frame is None:
            continue
        for column in sheet.template.columns:
            if column.allowed is None or settled(recipe, key, column.name):
                continue
            series = frame[column.name]
            text = series.astype(pd.StringDtype())
            bad = ~series.isin(list(column.allowed)) & ~blank_mask(text)
            if bad.any():
                values = [str(v) for v in dict.fromkeys(series[bad].tolist())]
                found.append(
                    Ambiguity(
                        key,
                        sheet.template.name,
                        column.name,
                        column.allowed,
                        values,
                        int(bad.sum()),
                    )
                )
    return found


def _listing(values: list[str]) -> str:
    shown = ", ".join(f"'{v}'" for v in values[:SHOWN_VALUES])
    more = len(values) - SHOWN_VALUES
    return shown + (f" and {more} more" if more > 0 else "")


def allowed_question(qid: str, found: Ambiguity) -> dict[str, Any]:
    """The public question for one ambiguity."""
    rows = f"{found.rows} row{'' if found.rows == 1 else 's'}"
    text = (
        f"Some {found.column} values in {found.template_name} aren't one of the allowed options "
        f"({', '.join(found.allowed)}): {_listing(found.values)} in {rows}. "
        "How should I handle them?"
    )
    labels = [MAP.format(v) for v in found.allowed] + [DROP, KEEP]
    return {
        "id": qid,
        "question": text,
        "options": [{"id": chr(ord("a") + n), "label": label} for n, label in enumerate(labels)],
        "allowCustom": True,
    }


def rephrase_question(qid: str, reason: str) -> dict[str, Any]:
    """An open question asking to rephrase an instruction the grammar could not read."""
    return {
        "id": qid,
        "question": f"{reason}. Could you rephrase it?",
        "options": [],
        "allowCustom": True,
    }


def ask(
    ambiguous: list[Ambiguity],
    previous: dict[str, Any] | None,
    extra: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The run's question state: public questions plus what each one is about.

    A question about the same column and values as one still open keeps its id; every other
    question gets the next id. ``extra`` adds open rephrase questions with those reasons.
    """
    previous = previous or {"public": [], "private": {}, "next": 1}
    counter = int(previous["next"])
    kept = {
        (p["template"], p["column"], tuple(p["values"])): qid
        for qid, p in previous["private"].items()
        if p["kind"] == "allowed"
    }
    public, private = [], {}
    for found in ambiguous:
        qid = kept.get((found.template, found.column, tuple(found.values)))
        if qid is None:
            qid, counter = f"q{counter}", counter + 1
        public.append(allowed_question(qid, found))
        private[qid] = {
            "kind": "allowed",
            "template": found.template,
            "column": found.column,
            "values": found.values,
            "allowed": list(found.allowed),
        }
    for reason in extra:
        qid, counter = f"q{counter}", counter + 1
        public.append(rephrase_question(qid, reason))
        private[qid] = {"kind": "rephrase"}
    return {"public": public, "private": private, "next": counter}


def fold_allowed(value: str, allowed: list[str]) -> str | None:
    """The one allowed value ``value`` equals after trimming and case-folding, else ``None``.

    >>> fold_allowed(" closed ", ["Open", "Closed"]), fold_allowed("shut", ["Open", "Closed"])
    ('Closed', None)
    """
    hits = [a for a in allowed if a.strip().casefold() == value.strip().casefold()]
    return hits[0] if len(hits) == 1 else None


def answer_step(about: dict[str, Any], value: str) -> dict[str, Any] | None:
    """The recipe step an answer to an allowed-value question means, or ``None`` when the
    answer is free text that is not an allowed value (the agent asks again)."""
    base = {
        "template": about["template"],
        "column": about["column"],
        "by": "answer",
        "text": value,
    }
    if value == DROP:
        return {**base, "op": "drop_values", "values": about["values"]}
    if value == KEEP:
        return {**base, "op": "keep_flagged"}
    allowed = list(about["allowed"])
    labels = {MAP.format(v): v for v in allowed}
    target = labels.get(value) or fold_allowed(value, allowed)
    if target is None:
        return None
    return {**base, "op": "map_values", "values": about["values"], "value": target}
