"""Evidence from a Generation-2 preview and its thread: what the agent's recipe did.

The preview shows the recipe's output, not how it got there; the thread says what was asked
and answered. This module reads the thread's events (``tool_call`` inputs, answers to
``request_input`` questions, the user's own instructions, the sandbox's ``prepared`` recipe)
into :class:`Instruction` records, and explains with them:

- a column the recipe **mapped** (``map column "Work Mail" to Phone``, or the recipe's
  mapping): the source's column is compared as the template column;
- a **value fix**: a changed cell whose old or new value an instruction or answered question
  quotes, or that only differs in case and spacing (the agent's own fix, or a ``trim`` /
  ``lowercase`` instruction), or an empty cell an instruction about missing values filled;
- a **dropped row**: an instruction or answer that drops rows, and the row is empty in (or
  holds a quoted value of) a column it names.

Only the runs that built the current preview count: the last ``generate`` and the
``update`` runs after it (a generate starts a fresh recipe). An instruction is credited only
where the thread says so; anything else stays ``value differs`` or ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from migkit.errors import UsageError

if TYPE_CHECKING:
    from migkit.preview import PreviewSheet

VALUE_FIX = "value fix"
CASE_FIX = "value fix: case and spacing"
OWN_FIX = f"{CASE_FIX} (the agent's own fix)"
RECIPE_KINDS = ("generate", "update")
# A quote opens and closes away from letters, so the apostrophe of "aren't" is no quote.
_QUOTED = re.compile(r"(?<!\w)'([^']*)'(?!\w)|(?<!\w)\"([^\"]*)\"(?!\w)")
_MAP_COLUMN = re.compile(r"^\s*map\s+column\s+\"([^\"]+)\"\s+to\s+(.+?)\s*$", re.IGNORECASE)
_CASE_WORDS = re.compile(r"\b(trim|trimmed|lower|lowercase|upper|uppercase|case|spac\w*)\b")
_FILL_WORDS = re.compile(r"\b(missing|empty|blank)\b")


@dataclass(frozen=True)
class Instruction:
    """One thing the recipe was told: an instruction or an answer, with the run that got it.

    ``about`` is the text matched against columns and words (for an answer, the question
    and the answer), case-folded; ``subject`` the part whose quoted values are the values it
    changes (an instruction's text; for an answer, the question).
    """

    text: str
    about: str
    run_id: str | None
    kind: str | None
    sequence: int | None
    subject: str = ""

    @property
    def quoted(self) -> frozenset[str]:
        """The values ``subject`` quotes, case-folded and trimmed."""
        found = _QUOTED.findall(self.subject or self.about)
        return frozenset(v for a, b in found if (v := (a or b).strip().casefold()))

    def mentions(self, column: Hashable, known: Sequence[str] = ()) -> bool:
        """True when ``about`` names ``column`` as a whole word, not as part of a longer
        ``known`` column name (``Name`` is not named by ``trim First Name``)."""
        name = str(column).casefold()
        about = self.about
        for other in sorted((k.casefold() for k in known), key=len, reverse=True):
            if name in other and name != other:
                about = about.replace(other, " ")
        return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", about) is not None

    @property
    def where(self) -> str:
        """``text`` with the run that received it: ``trim Last Name (update run b077c1e7)``."""
        run = f"{self.kind or 'a'} run {self.run_id[:8]}" if self.run_id else ""
        return f"{self.text} ({run})" if run else self.text


def _records(thread: Any) -> list[dict[str, Any]]:
    """The thread's events as ``{sequence, type, data, run_id, kind}``, in sequence order."""
    if isinstance(thread, pd.DataFrame):
        rows: Sequence[Any] = thread.to_dict("records")
    elif isinstance(thread, Sequence) and not isinstance(thread, str | bytes):
        rows = thread
    else:
        raise UsageError(
            "thread must be a DataFrame of thread events or a list of events (dicts with "
            f"type and data), not {type(thread).__name__}"
        )
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise UsageError(f"thread event {i} is a {type(row).__name__}, not a dict")
        data = row.get("data")
        if not isinstance(data, Mapping):  # a flattened frame: the other columns are the data
            data = {k: v for k, v in row.items() if k not in ("sequence", "type", "created_at")}
        sequence = row.get("sequence")
        out.append(
            {
                "sequence": sequence if isinstance(sequence, int) else None,
                "type": row.get("type"),
                "data": data,
                "run_id": data.get("run_id", row.get("run_id")),
                "kind": data.get("kind", row.get("kind")),
            }
        )
    if all(e["sequence"] is not None for e in out):
        out.sort(key=lambda e: e["sequence"])
    return out


def _current(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the runs behind the current preview: the last generate and later
    updates (events that name no kind are kept: the service may not say)."""
    starts = [i for i, e in enumerate(events) if e["kind"] == "generate"]
    last_generate = events[starts[-1]]["run_id"] if starts else None
    first = next((i for i, e in enumerate(events) if e["run_id"] == last_generate), 0)
    return [e for e in events[first:] if e["kind"] in (*RECIPE_KINDS, None)]


def _questions(events: list[dict[str, Any]]) -> dict[tuple[Any, Any], str]:
    asked: dict[tuple[Any, Any], str] = {}
    for e in events:
        if e["type"] == "request_input":
            for q in e["data"].get("questions") or []:
                if isinstance(q, Mapping) and isinstance(q.get("question"), str):
                    asked[(e["run_id"], q.get("id"))] = q["question"]
    return asked


def _answer(e: dict[str, Any], qid: Any, value: Any, asked: dict[Any, str]) -> Instruction:
    question = asked.get((e["run_id"], qid), "")
    text = f"answer to {qid}: {value}"
    return Instruction(
        text, f"{question} {value}".casefold(), e["run_id"], e["kind"], e["sequence"]
    )


def _from_tools(events: list[dict[str, Any]]) -> tuple[list[Instruction], set[Any]]:
    """Instructions from ``tool_call`` events (a call whose result is an error is left out),
    and the runs that had any."""
    asked = _questions(events)
    found: list[Instruction] = []
    runs: set[Any] = set()
    pending: dict[tuple[Any, Any], Instruction] = {}  # (run, tool) -> its call awaiting a result
    for e in events:
        data = e["data"]
        if e["type"] == "tool_result":
            call = pending.pop((e["run_id"], data.get("tool")), None)
            if call is not None and data.get("error"):
                found.remove(call)
            continue
        if e["type"] != "tool_call" or not isinstance(data.get("input"), Mapping):
            continue
        given = data["input"]
        if isinstance(given.get("instruction"), str):
            text = given["instruction"]
            call = Instruction(text, text.casefold(), e["run_id"], e["kind"], e["sequence"])
        elif "question" in given and isinstance(given.get("value"), str):
            call = _answer(e, given["question"], given["value"], asked)
        else:
            continue
        pending[(e["run_id"], data.get("tool"))] = call
        found.append(call)
        runs.add(e["run_id"])
    return found, runs


def instructions(thread: Any) -> list[Instruction]:
    """What the current preview's recipe was told, oldest first: from tool calls where the
    thread shows them (``include="tools"``), else from the user's messages and answers.

    >>> [i.text for i in instructions([{"type": "message", "data": {"role": "user",
    ...     "kind": "update", "run_id": "r1", "text": "trim Email; lowercase Email"}}])]
    ['trim Email', 'lowercase Email']
    """
    events = _current(_records(thread))
    found, runs = _from_tools(events)
    asked = _questions(events)
    for e in events:  # runs whose tool calls the thread does not show
        data = e["data"]
        if e["type"] != "message" or data.get("role") != "user" or e["run_id"] in runs:
            continue
        answers = data.get("answers")
        text = data.get("text") if isinstance(data.get("text"), str) else answers
        if isinstance(text, str):
            for part in filter(None, (p.strip() for p in re.split(r"[;\n]", text))):
                found.append(
                    Instruction(part, part.casefold(), e["run_id"], e["kind"], e["sequence"])
                )
        elif isinstance(answers, list):
            for a in answers:
                if isinstance(a, Mapping) and isinstance(a.get("value"), str):
                    found.append(_answer(e, a.get("id"), a["value"], asked))
    if all(i.sequence is not None for i in found):
        found.sort(key=lambda i: i.sequence or 0)
    return found


def column_mapping(thread: Any, sheet: PreviewSheet) -> dict[str, tuple[str, str]]:
    """``{source header: (template column, why)}`` the recipe mapped explicitly: the
    ``map column "<header>" to <column>`` instructions, then the sandbox's ``prepared``
    recipe (EXT) for this template. Columns equal after header healing need no entry."""
    columns = {str(c).casefold(): str(c) for c in sheet.frame.columns}
    out: dict[str, tuple[str, str]] = {}
    for event in _current(_records(thread)):
        recipe = event["data"].get("recipe") if event["type"] == "prepared" else None
        for entry in (recipe or {}).get("inputs", []) if isinstance(recipe, Mapping) else []:
            mapping = entry.get("mapping") if isinstance(entry, Mapping) else None
            if entry.get("template") == sheet.slug and isinstance(mapping, Mapping):
                for header, column in mapping.items():
                    if str(column).casefold() in columns and header != column:
                        out[str(header)] = (columns[str(column).casefold()], "the recipe")
    for i in instructions(thread):
        match = _MAP_COLUMN.match(i.text)
        if match and match.group(2).casefold() in columns:
            out[match.group(1)] = (columns[match.group(2).casefold()], i.where)
    return out


def _folded(values: np.ndarray) -> pd.Series:
    """The values as trimmed, case-folded text, ``""`` for a missing one (vectorized)."""
    text = pd.Series(values, dtype=object).astype("str")
    return text.str.strip().str.casefold().fillna("").reset_index(drop=True)


@dataclass(frozen=True)
class RecipeEvidence:
    """The instructions behind a preview, and the preview's own invalid cells."""

    told: tuple[Instruction, ...]
    thread_given: bool
    known: tuple[str, ...] = ()  # every template column of the preview, for whole names

    def change_reasons(self, column: Hashable, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Per changed cell of ``column`` (source value ``first``, preview value ``second``):
        ``value fix: <instruction (run)>``, the agent's own case/spacing fix, or
        ``value differs``."""
        fold_old, fold_new = _folded(first), _folded(second)
        out = np.full(len(first), "value differs", dtype=object)
        open_ = np.ones(len(first), dtype=bool)

        def settle(mask: Any, text: str) -> None:
            nonlocal open_
            hit = open_ & np.asarray(mask, dtype=bool)
            out[hit] = text
            open_ &= ~hit

        about = [i for i in reversed(self.told) if i.mentions(column, self.known)]  # latest first
        # An instruction (or the question an answer answers) that quotes the old value names
        # what it changes; quoting the new value alone proves nothing (" CLOSED " folded to
        # "Closed" is not the answer "Map them all to 'Closed'").
        # A change of case and spacing alone is settled below, by its own evidence.
        same = (fold_old == fold_new).to_numpy(dtype=bool)
        for i in about:
            settle(fold_old.isin(list(i.quoted)) & ~same, f"{VALUE_FIX}: {i.where}")
        for i in about:
            if _CASE_WORDS.search(i.about):
                settle(same, f"{VALUE_FIX}: {i.where}")
        # With the thread, a fix no instruction asked for is the agent's own (the contract's
        # fold of allowed values); without it, nobody can say who made it.
        settle(same, OWN_FIX if self.thread_given else CASE_FIX)
        filled = ((fold_old == "") & (fold_new != "")).to_numpy(dtype=bool)
        for i in about:
            if _FILL_WORDS.search(i.about):
                settle(filled, f"{VALUE_FIX}: {i.where}")
        return out

    def dropped(self, values: Mapping[Hashable, pd.Series]) -> list[tuple[np.ndarray, str]]:
        """For each instruction that drops rows (latest first), the rows (``values``: the
        source's columns by template column, for the missing rows) it explains."""
        out = []
        for i in reversed(self.told):
            if "drop" not in i.about:
                continue
            mask = np.zeros(len(next(iter(values.values()), [])), dtype=bool)
            for column, cells in values.items():
                if not i.mentions(column, self.known):
                    continue
                folded = _folded(cells.to_numpy(dtype=object))
                if _FILL_WORDS.search(i.about):
                    mask |= (folded == "").to_numpy(dtype=bool)
                mask |= folded.isin(list(i.quoted)).to_numpy(dtype=bool)
            out.append((mask, i.where))
        return out


def recipe_evidence(thread: Any, known: Sequence[str] = ()) -> RecipeEvidence:
    """The evidence for a source-vs-preview reconciliation (``thread`` may be None);
    ``known``: the preview's column names, so a column is not found inside a longer one."""
    if thread is None:
        return RecipeEvidence((), False, tuple(known))
    return RecipeEvidence(tuple(instructions(thread)), True, tuple(known))


def preview_problems(sheet: PreviewSheet) -> pd.Series:
    """Per preview row label, its invalid cells as one line (``Email: <error>; ...``)."""
    cells = sheet.invalid_cells
    if not len(cells):
        return pd.Series(dtype=object)
    lines = cells["column"].astype(str) + ": " + cells["error"].astype(str)
    return lines.groupby(cells["row"].to_numpy(), sort=False).agg("; ".join)
