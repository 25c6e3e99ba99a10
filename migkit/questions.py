"""What a waiting run asks a person: questions with options, and a proposed patch.

A ``needs_attention`` run (Generation 1, §3.7) asks about groups of flagged cells
(``prompt``, ``target``, ``allow_custom``) and proposes a patch; a ``blocked`` run (§3.9) asks
the agent's questions (``question``, ``allowCustom``). Both read into :class:`Question`.

>>> q = Question.from_api({"id": "q1", "question": "Map 'Prospect'?", "allowCustom": True,
...                        "options": [{"id": "a", "label": "Open"}]})
>>> q.prompt, q.allow_custom, q.options[0].label
("Map 'Prospect'?", True, 'Open')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migkit.fields import count, id_field, object_list, raw_field, text_or_none
from migkit.printable import counted, printable


@dataclass(frozen=True)
class Option:
    """A suggested answer; send its ``label`` as the answer value."""

    id: str
    label: str


@dataclass(frozen=True)
class Question:
    """A question a paused run asks: about one group of flagged cells (``needs_attention``),
    or the agent's question of a ``blocked`` run (§3.9: ``question``, ``allowCustom``, no
    target), read into the same fields."""

    id: str
    prompt: str
    context: str
    column: str | None
    sheet_id: str | None
    affected_rows: int
    sample_values: tuple[str, ...]
    error: str | None
    options: tuple[Option, ...]
    allow_custom: bool
    relevant_columns: tuple[str, ...] = ()
    raw: Mapping[str, Any] = raw_field()

    def samples_text(self, limit: int = 5) -> str:
        """Up to ``limit`` sample values for people; a blank one reads ``(blank)``.

        >>> Question("q", "", "", None, None, 2, ("open", " "), None, (), False).samples_text()
        'open, (blank)'
        """
        return ", ".join(v if v.strip() else "(blank)" for v in self.sample_values[:limit])

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Question:
        target = raw.get("target") or {}
        custom = raw.get("allow_custom", raw.get("allowCustom", False))
        return cls(
            id=id_field(raw, "id"),
            prompt=str(raw.get("prompt", raw.get("question", ""))),
            context=str(raw.get("context", "")),
            column=text_or_none(target, "column"),
            sheet_id=text_or_none(target, "sheet_id"),
            affected_rows=count(target, "affected_count"),
            sample_values=tuple(
                "" if v is None else str(v) for v in target.get("sample_values") or []
            ),
            error=text_or_none(target, "error"),
            options=tuple(
                Option(id=str(o.get("id", "")), label=str(o.get("label", "")))
                for o in object_list(raw, "options")
            ),
            allow_custom=custom is True,
            relevant_columns=tuple(str(c) for c in raw.get("relevant_columns") or []),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class ProposedPatch:
    """Vern's best-guess fix: a one-line ``summary`` and per-column ``actions``."""

    summary: str
    actions: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class NeedsAttention:
    """What a paused run asks: questions and a proposed patch."""

    questions: tuple[Question, ...]
    proposed_patch: ProposedPatch | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> NeedsAttention:
        patch = raw.get("proposed_patch")
        return cls(
            questions=tuple(Question.from_api(q) for q in object_list(raw, "questions")),
            proposed_patch=ProposedPatch(
                summary=str(patch.get("summary", "")), actions=tuple(patch.get("actions") or [])
            )
            if isinstance(patch, Mapping)
            else None,
        )


def question_lines(q: Question) -> list[str]:
    """A question as indented lines for ``str(run)``, the server's text escaped."""
    target = f"{printable(q.column, limit=100)}: " if q.column else ""
    lines = [f"  [{printable(q.id, limit=80)}] {target}{printable(q.prompt, limit=1000)}"]
    if q.context:
        lines.append(f"      {printable(q.context, limit=1000)}")
    if q.sample_values:
        samples = printable(q.samples_text(), limit=300)
        lines.append(f"      {counted(q.affected_rows, 'row')}, e.g. {samples}")
    lines += [f"      - {printable(o.label, limit=300)}" for o in q.options]
    if q.allow_custom:
        lines.append("      - (or type your own value)")
    return lines
