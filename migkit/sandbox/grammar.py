"""The small instruction grammar the sandbox's agent stand-in reads (``update`` messages and
free-form answers). Case-insensitive, one instruction per line or ``;``:

- ``map "<value>" to "<value>" in <column>``
- ``map column "<file header>" to <column>``
- ``drop rows where <column> is empty`` / ``keep rows where <column> is empty``
- ``set <column> to "<value>" where it is empty``
- ``use <column A> for missing <column B>``
- ``trim <column>`` / ``lowercase <column>``

Parsing only recognises the shapes; which column a name means is settled against the recipe
(:mod:`migkit.sandbox.recipe`). A message with any line it cannot read is unreadable as a whole.

>>> [i.op for i in parse('trim Email; map "open" to "Open" in Status')]
['trim', 'map_value']
>>> parse("lowercase   Email.")[0].column
'Email'
>>> parse("please fix everything")
Traceback (most recent call last):
...
migkit.sandbox.grammar.Unreadable: I could not read "please fix everything" ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUOTED = r'"(?P<{}>[^"]*)"'
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "map_value",
        re.compile(
            r"map\s+"
            + QUOTED.format("source")
            + r"\s+to\s+"
            + QUOTED.format("value")
            + r"\s+in\s+(?P<column>.+)",
            re.I,
        ),
    ),
    (
        "map_column",
        re.compile(r"map\s+column\s+" + QUOTED.format("source") + r"\s+to\s+(?P<column>.+)", re.I),
    ),
    ("drop_empty", re.compile(r"drop\s+rows\s+where\s+(?P<column>.+?)\s+is\s+empty", re.I)),
    ("keep_empty", re.compile(r"keep\s+rows\s+where\s+(?P<column>.+?)\s+is\s+empty", re.I)),
    (
        "fill_empty",
        re.compile(
            r"set\s+(?P<column>.+?)\s+to\s+"
            + QUOTED.format("value")
            + r"\s+where\s+it\s+is\s+empty",
            re.I,
        ),
    ),
    ("fill_from", re.compile(r"use\s+(?P<source>.+?)\s+for\s+missing\s+(?P<column>.+)", re.I)),
    ("trim", re.compile(r"trim\s+(?P<column>.+)", re.I)),
    ("lowercase", re.compile(r"lower-?case\s+(?P<column>.+)", re.I)),
]
GRAMMAR_HELP = (
    'map "<value>" to "<value>" in <column>; map column "<file header>" to <column>; '
    "drop rows where <column> is empty; keep rows where <column> is empty; "
    'set <column> to "<value>" where it is empty; use <column A> for missing <column B>; '
    "trim <column>; lowercase <column>"
)


class Unreadable(ValueError):
    """A message (or one line of it) the grammar cannot read; the text says which and why."""


@dataclass(frozen=True)
class Instruction:
    """One parsed instruction: its operation, the names as written, and the line itself."""

    op: str
    text: str
    column: str
    value: str | None = None  # the new value (map_value, fill_empty)
    source: str | None = None  # the old value, the file header, or column A (fill_from)


def split(message: str) -> list[str]:
    """The message's instructions: lines and ``;``-separated parts, quotes respected.

    >>> split('map "a;b" to "c" in Status\\ntrim Email ; ')
    ['map "a;b" to "c" in Status', 'trim Email']
    """
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in message:
        if char == '"':
            quoted = not quoted
        if char in "\r\n" or (char == ";" and not quoted):
            parts.append("".join(current))
            current, quoted = [], False
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _name(raw: str) -> str:
    name = raw.strip().rstrip(".").strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'`":
        name = name[1:-1].strip()
    return name


def parse_line(line: str) -> Instruction:
    """One instruction, or :class:`Unreadable`."""
    text = line.replace("\u201c", '"').replace("\u201d", '"').strip()
    for op, pattern in _PATTERNS:
        found = pattern.fullmatch(text.rstrip(".").strip())
        if found is None:
            continue
        groups = found.groupdict()
        column = _name(groups["column"])
        source = groups.get("source")
        if op == "fill_from" and source is not None:
            source = _name(source)
        if not column or (source is not None and op != "map_value" and not source):
            break
        return Instruction(op, line, column, groups.get("value"), source)
    raise Unreadable(f'I could not read "{line}" as an instruction; I understand: {GRAMMAR_HELP}')


def parse(message: str) -> list[Instruction]:
    """Every instruction of ``message``; :class:`Unreadable` when any line is not one."""
    lines = split(message)
    if not lines:
        raise Unreadable(f"The message holds no instruction; I understand: {GRAMMAR_HELP}")
    return [parse_line(line) for line in lines]
