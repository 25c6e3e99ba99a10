"""JSON files as rows. Four shapes are tables, and are read:

- a list of objects, one per row: ``[{"Id": 1}, {"Id": 2}]``;
- JSON lines, an object per line (``.jsonl``, or a ``.json`` that is not one document);
- an object of columns, lists of the same length: ``{"Id": [1, 2], "Name": ["a", "b"]}``;
- an object of records, one object per key: ``{"r1": {"Id": 1}, "r2": {"Id": 2}}`` (the keys
  become the frame's index).

Anything else (a list of lists, a list of numbers, one object such as a GeoJSON feature
collection, a bare value) is refused, naming the shape found. Numbers stay as written.

>>> rows_of('{"Id": ["007", 8], "Name": ["Zoë", null]}', "c.json")
(['Id', 'Name'], [['007', 'Zoë'], ['8', None]], None)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from migkit.read.limits import ReadError, ReadLimits

SHAPES = (
    "a list of objects, JSON lines (an object per line), an object of columns (lists of equal "
    "length) or an object of records (an object per key)"
)
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<![0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _load(text: str, name: str, lines: bool) -> Any:
    parse = {"parse_float": str, "parse_int": str}  # numbers stay as written
    try:
        if not lines:
            try:
                return json.loads(text, **parse)  # type: ignore[arg-type]
            except json.JSONDecodeError as exc:
                if exc.msg != "Extra data":
                    raise
        return [json.loads(line, **parse) for line in text.splitlines() if line.strip()]  # type: ignore[arg-type]
    except json.JSONDecodeError as exc:
        raise ReadError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"migkit reads {SHAPES}"
        ) from None
    except RecursionError:
        raise ReadError(
            f"{name} nests JSON too deeply to be a table; migkit reads {SHAPES}"
        ) from None


def _describe(value: Any) -> str:
    if isinstance(value, list):
        if any(isinstance(v, list) for v in value):
            return "a list of lists (rows without column names)"
        return "a list of plain values (numbers or text, not objects)"
    if isinstance(value, Mapping):
        keys = ", ".join(list(map(str, value))[:5])
        return f"one object (keys {keys}) that is neither columns nor records"
    return f"a single {type(value).__name__} value"


def rows_of(
    text: str, name: str, lines: bool = False, limits: ReadLimits | None = None
) -> tuple[list[str], list[list[Any]], list[str] | None]:
    """(column names, rows of values, index labels or ``None``) of JSON ``text``; nested
    objects and lists in a cell are kept as JSON text."""
    bad = _LONE_SURROGATE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ReadError(
            f"{name} line {line} holds {bad.group()!r}, half of a UTF-16 pair that is not "
            "text in any encoding; fix the value (the program that wrote the file cut an emoji "
            "or symbol in two)"
        )
    value = _load(text, name, lines)
    index: list[str] | None = None
    if isinstance(value, Mapping) and value and all(isinstance(v, list) for v in value.values()):
        lengths = {len(v) for v in value.values()}
        if len(lengths) != 1:
            raise ReadError(
                f"{name} is an object of columns of different lengths {sorted(lengths)}"
            )
        items: list[Any] = [
            dict(zip(value, row, strict=True)) for row in zip(*value.values(), strict=True)
        ]
    elif (
        isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values())
    ):
        index, items = [str(k) for k in value], list(value.values())
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        items = value
    else:
        raise ReadError(f"{name} holds {_describe(value)}; migkit reads {SHAPES}")
    header: dict[str, None] = {}
    for item in items:
        header.update(dict.fromkeys(map(str, item)))
        if limits is not None and len(header) > limits.max_columns:
            limits.check_columns(len(header), name, "its objects' keys")
    names = list(header)
    rows = [
        [_cell(v) for v in (item.get(k) for k in names)]
        for item in ({str(k): v for k, v in i.items()} for i in items)
    ]
    return names, rows, index


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
