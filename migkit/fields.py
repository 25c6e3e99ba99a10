"""Reading fields of API answers: leniently where a missing value has a meaning (``None``, 0),
strictly where migkit will act on the value (an id in a path or the ledger, a status, a list).

A strict reader raises ``KeyError``, ``TypeError`` or ``ValueError`` naming the field; the
transport's :meth:`~migkit._answers.Answer.parse` turns that into one
:class:`~migkit.errors.UnexpectedResponse` for the request.

>>> id_field({"run_id": "r1"}, "run_id")
'r1'
>>> id_field({"run_id": None}, "run_id")
Traceback (most recent call last):
ValueError: run_id is None, not an id
>>> count({"inserted": "12"}, "inserted"), text_or_none({}, "error")
(0, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from migkit.printable import printable


def raw_field() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


def text_or_none(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def id_field(raw: Mapping[str, Any], key: str) -> str:
    # An id the client will use in a path or record in the ledger: a non-empty string (an
    # integer is taken as its digits). Anything else is a broken answer, not Run(id='None').
    value = raw[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValueError(f"{key} is {printable(repr(value), limit=60)}, not an id")
    if not value.isprintable() or "/" in value:
        raise ValueError(f"{key} {printable(repr(value), limit=60)} is not an id")
    return value


def status_field(raw: Mapping[str, Any], default: str = "queued") -> str:
    value = raw.get("status", default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"status is {printable(repr(value), limit=60)}, not a status")
    return value


def object_list(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    # A list of JSON objects (missing or null: none); anything else is a broken answer.
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise TypeError(f"{key} is not a list of objects")
    return value


def count(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
