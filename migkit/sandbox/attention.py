"""Questions, proposed patches and decisions for runs that pause at ``needs_attention``.

A *group* is one (sheet, column, rule) set of flagged cells that needs a person: allowed-value
misses and missing required cells. Fixes are stored as small dicts and replayed on every pass
of the run, so a re-run after a decision is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from migkit.rules import Column, blank_mask, closest_allowed

CLOSEST = "Map each value to the closest allowed value"
REMOVE = "Remove these rows"
KEEP = "Keep these rows flagged"
QUESTION_RULES = ("allowed", "required")


class DecisionError(ValueError):
    """A decision body that cannot be applied (becomes a 400)."""


@dataclass(frozen=True)
class Group:
    """Flagged cells of one sheet, column and rule, with what a question needs to know."""

    sheet_id: str
    sheet_name: str
    column: Column
    rule: str
    rows: int
    values: list[str]  # distinct offending values, first-seen order ("" for blanks)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.sheet_id, self.column.name, self.rule)


def failing(frame: pd.DataFrame, column: Column, rule: str) -> pd.Series:
    """Rows of ``frame`` whose ``column`` fails ``rule`` (``allowed`` or ``required``)."""
    text = frame[column.name].astype(pd.StringDtype())
    blank = blank_mask(text)
    if rule == "required":
        return blank
    return ~text.isin(list(column.allowed or ())).astype(bool) & ~blank


def apply_fixes(
    frame: pd.DataFrame, sheet_id: str, columns: dict[str, Column], fixes: list[dict[str, Any]]
) -> tuple[pd.DataFrame, set[tuple[str, str, str]]]:
    """Replay stored fixes on a sheet's frame; returns the new frame and the groups kept."""
    kept: set[tuple[str, str, str]] = set()
    for fix in fixes:
        if fix["sheet_id"] != sheet_id or fix["column"] not in columns:
            continue
        column = columns[fix["column"]]
        if fix["op"] == "keep":
            kept.add((sheet_id, column.name, fix["rule"]))
            continue
        mask = failing(frame, column, fix["rule"])
        if fix.get("values") is not None:
            mask &= frame[column.name].isin(fix["values"])
        if fix["op"] == "delete":
            frame = frame.loc[~mask.to_numpy()]
        elif fix["op"] == "set":
            frame = frame.copy()
            frame.loc[mask.to_numpy(), column.name] = fix["value"]
    return frame, kept


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def _have(n: int) -> str:
    return "has" if n == 1 else "have"


def question(group: Group, qid: str) -> dict[str, Any]:
    """The public question for a group, as the docs shape it."""
    column = group.column
    if group.rule == "allowed":
        allowed = list(column.allowed or ())
        prompt = (
            f"Some {column.name} values aren't one of the allowed options. "
            "How should Vern handle them?"
        )
        context = (
            f"{_rows(group.rows)} in {group.sheet_name} {_have(group.rows)} a {column.name} "
            f"outside {' / '.join(allowed)}."
        )
        labels = [CLOSEST, *[f"Map all to '{v}'" for v in allowed], REMOVE, KEEP]
        error = column.allowed_message
    else:
        prompt = f"Some rows have no {column.name}, which is required. How should Vern handle them?"
        context = (
            f"{_rows(group.rows)} in {group.sheet_name} {_be(group.rows)} missing {column.name}."
        )
        labels = [REMOVE, KEEP]
        error = f"{column.name} is required but empty"
    return {
        "id": qid,
        "prompt": prompt,
        "context": context,
        "target": {
            "sheet_id": group.sheet_id,
            "column": column.name,
            "affected_count": group.rows,
            "sample_values": [v for v in group.values if v.strip()][:3],  # blanks left out
            "error": error,
        },
        "relevant_columns": [column.name],
        "options": [{"id": chr(ord("a") + i), "label": label} for i, label in enumerate(labels)],
        "allow_custom": True,
    }


def closest_actions(group: Group) -> list[dict[str, Any]]:
    """``set_value`` actions mapping each bad value to its closest allowed value."""
    targets: dict[str, list[str]] = {}
    for value in group.values:
        targets.setdefault(closest_allowed(value, list(group.column.allowed or ())), []).append(
            value
        )
    return [
        {
            "action": "set_value",
            "sheet_id": group.sheet_id,
            "column": group.column.name,
            "value": target,
            "values": values,
        }
        for target, values in targets.items()
    ]


def proposed_patch(groups: list[Group]) -> dict[str, Any]:
    """Vern's best-guess fix for every group, with a one-sentence summary."""
    actions: list[dict[str, Any]] = []
    phrases: list[str] = []
    for group in groups:
        if group.rule == "allowed":
            actions.extend(closest_actions(group))
            phrases.append(
                f"map {group.rows} out-of-range {group.column.name} value"
                f"{'' if group.rows == 1 else 's'} in "
                f"{group.sheet_name} to the closest allowed value"
            )
        else:
            actions.append(
                {
                    "action": "delete_invalid_rows",
                    "sheet_id": group.sheet_id,
                    "column": group.column.name,
                }
            )
            phrases.append(
                f"drop {_rows(group.rows)} of {group.sheet_name} missing {group.column.name}"
            )
    summary = "; ".join(phrases)
    return {"summary": summary[:1].upper() + summary[1:] + ".", "actions": actions}


def needs_attention(groups: list[Group]) -> dict[str, Any]:
    """The ``needs_attention`` block, plus a private map from question id to group key."""
    questions = [question(g, f"fq{i}") for i, g in enumerate(groups)]
    return {
        "public": {"questions": questions, "proposed_patch": proposed_patch(groups)},
        "groups": {
            f"fq{i}": {"sheet_id": g.sheet_id, "column": g.column.name, "rule": g.rule}
            for i, g in enumerate(groups)
        },
    }


def _action_fix(action: dict[str, Any]) -> dict[str, Any]:
    if action["action"] == "set_value":
        return {
            "sheet_id": action["sheet_id"],
            "column": action["column"],
            "rule": "allowed",
            "op": "set",
            "value": action["value"],
            "values": action.get("values"),
        }
    return {
        "sheet_id": action["sheet_id"],
        "column": action["column"],
        "rule": "required",
        "op": "delete",
    }


def decision_fixes(attention: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn a decisions body into fixes; raises :class:`DecisionError` for a bad body."""
    public, groups = attention["public"], attention["groups"]
    chosen = [k for k in ("accept_proposed_patch", "answers", "reject") if k in body]
    if len(chosen) != 1:
        raise DecisionError(
            "Send exactly one of accept_proposed_patch: true, answers: [{id, value}], "
            "or reject: true"
        )
    kind = chosen[0]
    if kind in ("accept_proposed_patch", "reject"):
        if body[kind] is not True:
            raise DecisionError(f"{kind} must be true")
        if kind == "accept_proposed_patch":
            return [_action_fix(a) for a in public["proposed_patch"]["actions"]]
        return [{**g, "op": "keep"} for g in groups.values()]
    answers = body["answers"]
    if not isinstance(answers, list) or not answers:
        raise DecisionError("answers must be a non-empty array of {id, value} objects")
    fixes: list[dict[str, Any]] = []
    answered: set[str] = set()
    questions = {q["id"]: q for q in public["questions"]}
    for number, answer in enumerate(answers):
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise DecisionError(f"answers[{number}] must be an object with a string id")
        qid, value = answer["id"], answer.get("value")
        if qid not in groups:
            known = ", ".join(groups) or "none"
            raise DecisionError(
                f"answers[{number}].id {qid!r} is not a question of this run (questions: {known})"
            )
        if not isinstance(value, str):
            raise DecisionError(
                f"answers[{number}].value must be a string: an option's label or free text"
            )
        if qid in answered:
            raise DecisionError(f"question {qid} is answered twice")
        answered.add(qid)
        fixes.extend(_answer_fixes(groups[qid], questions[qid], value, public))
    for qid, group in groups.items():
        if qid not in answered:
            fixes.append({**group, "op": "keep"})
    return fixes


def _answer_fixes(
    group: dict[str, Any], question: dict[str, Any], value: str, public: dict[str, Any]
) -> list[dict[str, Any]]:
    base = {"sheet_id": group["sheet_id"], "column": group["column"], "rule": group["rule"]}
    if value == REMOVE:
        return [{**base, "op": "delete"}]
    if value == KEEP:
        return [{**base, "op": "keep"}]
    if value == CLOSEST and group["rule"] == "allowed":
        return [
            _action_fix(a)
            for a in public["proposed_patch"]["actions"]
            if a["action"] == "set_value"
            and a["sheet_id"] == group["sheet_id"]
            and a["column"] == group["column"]
        ]
    labels = {o["label"] for o in question["options"]}
    if value.startswith("Map all to '") and value in labels:
        return [{**base, "op": "set", "value": value[len("Map all to '") : -1], "values": None}]
    return [{**base, "op": "set", "value": value, "values": None}]  # allow_custom free text
