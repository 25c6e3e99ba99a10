"""Pre-flight checks: refuse, before anything is sent, what the API would answer 400 to.

Problems are collected and raised together as one :class:`ValidationFailed`, each naming the
value and what to do; nothing is sent while any remains.

>>> try:
...     check_or_raise([*company_problems("", "bad id!"), *key_problems("é")])
... except ValidationFailed as exc:
...     print(len(exc.problems))
3
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from migkit.errors import ValidationFailed as ValidationFailed  # defined in migkit.errors

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
CONTENT_TYPES = (
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "text/tab-separated-values",
    "application/json",
)
SHOWN = 5  # problems listed per column before "and N more"


def check_or_raise(problems: Iterable[str]) -> None:
    """Raise :class:`ValidationFailed` when there is any problem."""
    found = list(problems)
    if found:
        raise ValidationFailed(found)


def company_problems(name: object, external_id: object) -> list[str]:
    """What ``POST /companies`` would refuse in a name or ``external_id``."""
    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append(f"name {name!r} must be a non-empty string (the customer's name)")
    if external_id is not None and (
        not isinstance(external_id, str) or not EXTERNAL_ID.fullmatch(external_id)
    ):
        problems.append(
            f"external_id {external_id!r} must be 1-255 letters, digits, hyphens or underscores"
        )
    return problems


def key_problems(key: object) -> list[str]:
    """What the API would refuse in an ``idempotency_key``."""
    if key is None or (isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key)):
        return []
    return [f"idempotency_key {key!r} must be 1-255 printable ASCII characters"]


def upload_problems(name: str, content_type: str, size: int) -> list[str]:
    """What the uploads call would refuse."""
    problems = []
    if content_type not in CONTENT_TYPES:
        problems.append(
            f"{name}: content type {content_type!r} is not accepted; use one of "
            + ", ".join(CONTENT_TYPES)
        )
    if size <= 0:
        problems.append(f"{name} is empty (0 bytes); the API refuses empty files")
    return problems


def _cell_problem(value: Any) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float | np.floating):
        return "is infinite; JSON has no infinity" if math.isinf(value) else None
    if isinstance(value, np.integer | np.bool_ | dt.date | dt.time | decimal.Decimal):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return f"is a {type(value).__name__}, which can't be sent; convert it to text"


def _convert(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def rows_payload(
    rows: Sequence[Mapping[Any, Any]] | pd.DataFrame,
) -> tuple[list[dict[str, Any]], list[str]]:
    """JSON-ready row objects and the problems found (NaN/NaT → null, numpy scalars → Python,
    timestamps → ISO text, decimals → text; infinities and objects are refused by row and
    column)."""
    if isinstance(rows, pd.DataFrame):
        if rows.columns.duplicated().any():
            dupes = sorted({str(c) for c in rows.columns[rows.columns.duplicated()]})
            return [], [f"columns {dupes} appear twice; rename them so each is unique"]
        records = rows.astype(object).to_dict("records")
        labels: list[Any] = list(rows.index)
    else:
        records = [dict(r) for r in rows]
        labels = list(range(len(records)))
    problems: list[str] = []
    if not records:
        problems.append("there are no rows; the API refuses an empty rows list")
    per_column: dict[str, list[str]] = {}
    out: list[dict[str, Any]] = []
    for label, record in zip(labels, records, strict=True):
        row: dict[str, Any] = {}
        for key, value in record.items():
            issue = _cell_problem(value)
            if issue:
                per_column.setdefault(str(key), []).append(f"row {label!r}: {value!r} {issue}")
            row[str(key)] = _convert(value)
        out.append(row)
    for column, issues in per_column.items():
        more = f" (and {len(issues) - SHOWN} more)" if len(issues) > SHOWN else ""
        problems.extend(f"column {column!r}, {i}" for i in issues[:SHOWN])
        if more:
            problems.append(f"column {column!r}: {more.strip(' ()')}")
    if not problems:
        json.dumps(out, allow_nan=False)  # a last guard: must be strict JSON
    return out, problems
