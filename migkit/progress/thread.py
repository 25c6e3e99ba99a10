"""The agent's thread (Generation 2) in words: one line per event, for terminals and for the
notebook's thread panel.

An event is ``{sequence, type, data, created_at}`` (§4.9), as a mapping or as the client's
``ThreadEvent``; ``data`` is passed through from the server, so every field is read
defensively and every value is made printable (a hostile server cannot act on a terminal).
Tool calls, tool results, prepared inputs and thinking are *folded*: :func:`folded` is true
for them, and their line is a one-line summary of what the full payload says.

>>> event_line({"sequence": 3, "type": "message", "created_at": "2026-06-19T15:32:20Z",
...             "data": {"role": "agent", "text": "Mapped 4 of 5 columns.", "kind": "generate"}})
'15:32:20 generate  agent: Mapped 4 of 5 columns.'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from migkit.printable import counted, printable

FOLDED = frozenset({"tool_call", "tool_result", "prepared", "thinking"})
INCLUDE = ("user", "tools", "all")


def parts(event: Any) -> tuple[int, str, Mapping[str, Any], str]:
    """``(sequence, type, data, created_at)`` of an event given as a mapping or an object."""
    if isinstance(event, Mapping):
        sequence, kind = event.get("sequence"), event.get("type")
        data, created = event.get("data"), event.get("created_at")
    else:
        sequence, kind = getattr(event, "sequence", None), getattr(event, "type", None)
        data, created = getattr(event, "data", None), getattr(event, "created_at", None)
    number = sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else 0
    return (
        number,
        str(kind or ""),
        data if isinstance(data, Mapping) else {},
        created if isinstance(created, str) else "",
    )


def folded(event: Any) -> bool:
    """True for events shown folded (tool calls and results, prepared inputs, thinking)."""
    return parts(event)[1] in FOLDED


def clock(created_at: str) -> str:
    """``HH:MM:SS`` of an ISO timestamp (``""`` when it has none).

    >>> clock("2026-06-19T15:32:11.000Z")
    '15:32:11'
    """
    _, sep, time = created_at.partition("T")
    return printable(time[:8], limit=8) if sep and len(time) >= 8 else ""


def _text(data: Mapping[str, Any], *keys: str, limit: int = 500) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return printable(value, limit=limit)
    return ""


def compact(value: Any, limit: int = 120) -> str:
    """A payload as short one-line JSON (cut at ``limit`` characters), for folded lines.

    >>> compact({"instruction": "trim Email"})
    '{"instruction": "trim Email"}'
    """
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # pragma: no cover - json handles every decoded value
        text = str(value)
    return printable(text, limit=limit)


def question_texts(data: Mapping[str, Any]) -> list[str]:
    """The questions of a ``request_input`` event, as text."""
    questions = data.get("questions")
    out = []
    for q in questions if isinstance(questions, list) else []:
        if isinstance(q, Mapping):
            text = _text(q, "question", "prompt")
            labels = [
                printable(o.get("label", ""), limit=80)
                for o in q.get("options") or []
                if isinstance(o, Mapping)
            ]
            out.append(text + (f" [{' | '.join(labels)}]" if labels else ""))
    return out


def _preview_text(data: Mapping[str, Any]) -> str:
    templates = data.get("templates")
    items = []
    for t in templates if isinstance(templates, list) else []:
        if isinstance(t, Mapping):
            name = printable(t.get("template", t.get("name", "?")), limit=60)
            rows, flagged = t.get("rows"), t.get("flagged_rows")
            item = f"{name} {counted(rows, 'row')}" if isinstance(rows, int) else name
            items.append(item + (f", {flagged} flagged" if isinstance(flagged, int) else ""))
    return "preview ready" + (": " + "; ".join(items) if items else "")


def _answers_text(answers: Any) -> str:
    if isinstance(answers, str):
        return printable(answers, limit=500)
    items = (
        [
            f"{printable(a.get('id', '?'), limit=40)} = {printable(a.get('value', ''), limit=120)}"
            for a in answers
            if isinstance(a, Mapping)
        ]
        if isinstance(answers, list)
        else []
    )
    return "answered " + "; ".join(items) if items else ""


def _report_text(report: Any) -> str:
    if not isinstance(report, Mapping):
        return ""
    inserted, flagged = report.get("inserted"), report.get("invalidCellCount")
    words = []
    if isinstance(inserted, int):
        words.append(f"{counted(inserted, 'row')} inserted")
    if isinstance(flagged, int):
        words.append(f"{flagged:,} flagged")
    return " (" + ", ".join(words) + ")" if words else ""


def summary(event: Any) -> str:
    """What the event says, without its time and run: the body of :func:`event_line`."""
    _, kind, data, _ = parts(event)
    if kind == "message":
        who = "you" if data.get("role") == "user" else "agent"
        return f"{who}: {_text(data, 'text', 'message') or _answers_text(data.get('answers'))}"
    if kind == "status":
        return "· " + (_text(data, "message", "status") or "status")
    if kind == "request_input":
        asked = question_texts(data)
        return f"asks {counted(len(asked), 'question')}: " + " / ".join(asked)
    if kind == "preview":
        return _preview_text(data)
    if kind == "completed":
        status = _text(data, "status", limit=40) or "done"
        return f"✓ {status}{_report_text(data.get('report'))}"
    if kind == "error":
        return "✗ " + (_text(data, "error", "message", limit=1000) or "error")
    if kind == "task":
        return "task: " + (_text(data, "title") or _text(data, "task_id"))
    if kind == "thinking":
        return "(thinking) " + _text(data, "text", limit=200)
    tool = _text(data, "tool", limit=60) or "tool"
    if kind == "tool_call":
        return f"→ {tool} {compact(data.get('input', {}))}"
    if kind == "tool_result":
        if "error" in data:
            return f"← {tool} failed: {_text(data, 'error', limit=200)}"
        changed = data.get("changed")
        more = f" ({counted(changed, 'change')})" if isinstance(changed, int) else ""
        return f"← {tool} {compact(data.get('output', {}))}{more}"
    if kind == "prepared":
        return "prepared " + compact({k: v for k, v in data.items() if k not in ("run_id", "kind")})
    return f"{printable(kind, limit=40) or 'event'} {compact(dict(data))}"


def event_line(event: Any) -> str:
    """One line for a terminal: time, the run's kind, and what the event says."""
    _, _, data, created = parts(event)
    kind = data.get("kind")
    run = printable(kind, limit=20) if isinstance(kind, str) and kind else "-"
    return f"{clock(created) or '--:--:--'} {run:<9} {summary(event)}"
