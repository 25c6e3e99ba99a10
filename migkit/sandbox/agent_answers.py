"""How the agent stand-in takes answers and corrections: structured answers to its questions,
free-form instructions (read with :mod:`migkit.sandbox.grammar`), and the thread events that
say what each one changed."""

from __future__ import annotations

import json
from typing import Any

from migkit.sandbox import grammar, instructions, questions
from migkit.sandbox.agent_worker import Context
from migkit.sandbox.recipe import Recipe, build, with_step
from migkit.sandbox.sheets import Sheet
from migkit.sandbox.store import Store

Event = tuple[str, dict[str, Any]]


def apply_pending(
    ctx: Context, sheets: list[Sheet], draft: Recipe, pending: list[dict[str, Any]]
) -> tuple[Recipe, list[str], set[str], list[Event]]:
    """Apply answers and corrections: the new draft, reasons to ask for a rephrase, the
    question ids answered unusably (asked again under new ids), and the events to write."""
    state = json.loads(ctx.run["questions_json"] or "null") or {"private": {}}
    reasons: list[str] = []
    rejected: set[str] = set()
    events: list[Event] = []
    for item in pending:
        if item["type"] == "text":
            draft = instruct(sheets, draft, item["text"], reasons, events)
            continue
        for answer in item["answers"]:
            about = state["private"].get(answer["id"], {"kind": "gone"})
            call = {
                "tool": "apply_answer",
                "input": {"question": answer["id"], "value": answer["value"]},
            }
            events.append(("tool_call", call))
            if about["kind"] == "rephrase":
                draft = instruct(sheets, draft, answer["value"], reasons, events)
                continue
            step = (
                questions.answer_step(about, answer["value"])
                if about["kind"] == "allowed"
                else None
            )
            if step is None:
                rejected.add(answer["id"])
                allowed = ", ".join(about.get("allowed", []))
                note = (
                    f"'{answer['value']}' is not one of the allowed values ({allowed}); "
                    "I am asking again."
                )
                events.append(("tool_result", {"tool": "apply_answer", "error": note}))
                events.append(("message", {"role": "agent", "text": note}))
                continue
            draft = with_step(draft, step)
            events.append(("tool_result", {"tool": "apply_answer", "output": step["op"]}))
    return draft, reasons, rejected, events


def instruct(
    sheets: list[Sheet], draft: Recipe, text: str, reasons: list[str], events: list[Event]
) -> Recipe:
    try:
        changed, applied = instructions.apply_all(draft, grammar.parse(text), sheets)
    except grammar.Unreadable as exc:
        reasons.append(str(exc).rstrip("."))
        events.append(("message", {"role": "agent", "text": f"{exc} Nothing was changed."}))
        return draft
    for done in applied:
        events.append(("tool_call", {"tool": "edit_recipe", "input": {"instruction": done.text}}))
        result: dict[str, Any] = {"tool": "edit_recipe", "output": done.summary}
        if done.step is not None:
            result.update({"_step": True, "step": done.step})
        events.append(("tool_result", result))
    return changed


def counted(store: Store, sheets: list[Sheet], draft: Recipe, events: list[Event]) -> list[Event]:
    """The events with each edit's result saying how many cells or rows its step changed."""
    if not any("_step" in data for _, data in events):
        return events
    changes = build(store, draft, sheets).changes
    out: list[Event] = []
    for type_, data in events:
        if "_step" in data:
            data = {k: v for k, v in data.items() if k != "_step"}
            if 0 <= data.get("step", -1) < len(changes):
                data["changed"] = changes[data["step"]]
            data.pop("step", None)
        out.append((type_, data))
    return out
