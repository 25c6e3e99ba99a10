"""Suggested fixes for flagged cells, of the same kinds as the server's ``proposed_patch``:
closest allowed value, trimming, lower case; rows missing a required value are proposed for
removal. Nothing is changed in place: :func:`apply_fixes` returns a new frame."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from migkit.errors import UnknownName
from migkit.regex import fullmatch
from migkit.rules import closest_allowed

if TYPE_CHECKING:
    from migkit.validation.report import ValidationReport

FIX_COLUMNS = ["row", "column", "rule", "value", "action", "fix", "reason"]


def _regex_fixes(hits: pd.DataFrame, pattern: str) -> pd.DataFrame:
    values = hits["value"].astype(pd.StringDtype())
    trimmed = values.str.strip()
    lowered = trimmed.str.lower()
    ok_trim = fullmatch(trimmed, pattern).to_numpy()
    ok_lower = fullmatch(lowered, pattern).to_numpy() & ~ok_trim
    out = []
    for mask, fixed, reason in (
        (ok_trim, trimmed, "trim spaces"),
        (ok_lower, lowered, "trim and lower case"),
    ):
        if mask.any():
            part = hits.loc[mask].copy()
            part["fix"] = fixed[mask].astype(object).to_numpy()
            part["reason"] = reason
            out.append(part)
    return pd.concat(out) if out else hits.iloc[0:0].assign(fix=None, reason=None)


def suggest(report: ValidationReport) -> pd.DataFrame:
    """One row per proposed change: ``row``, ``column`` (the caller's header), ``rule``,
    ``value``, ``action`` (``set`` or ``drop``), ``fix`` and ``reason``."""
    errors = report.errors
    header_of = {column: header for header, column in report.headers.mapping.items()}
    parts: list[pd.DataFrame] = []
    for column in report.template.columns:
        mine = errors[errors["column"] == column.name]
        if mine.empty:
            continue
        allowed = mine[mine["rule"] == "allowed"].copy()
        if not allowed.empty and column.allowed:
            choices = list(column.allowed)
            mapping = {v: closest_allowed(v, choices) for v in allowed["value"].unique()}
            allowed["fix"] = allowed["value"].map(mapping)
            allowed["reason"] = [
                "same value, other case or spaces"
                if str(v).strip().casefold() == str(f).casefold()
                else "closest allowed value"
                for v, f in zip(allowed["value"], allowed["fix"], strict=True)
            ]
            parts.append(allowed.assign(action="set"))
        regex = mine[mine["rule"] == "regex"]
        if not regex.empty and column.pattern:
            parts.append(_regex_fixes(regex, column.pattern).assign(action="set"))
        required = mine[mine["rule"] == "required"]
        if not required.empty:
            parts.append(
                required.assign(
                    action="drop",
                    fix=None,
                    reason=f"{column.name} is required and empty (the server proposes removing "
                    "these rows)",
                )
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FIX_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["column"] = out["column"].map(lambda c: header_of.get(c, c))
    return out[FIX_COLUMNS].reset_index(drop=True)


def apply_fixes(frame: pd.DataFrame, fixes: pd.DataFrame) -> pd.DataFrame:
    """A new frame with ``set`` fixes written and ``drop`` rows removed; ``frame`` is untouched.

    >>> frame = pd.DataFrame({"Status": ["open", "Closed"]})
    >>> fixes = pd.DataFrame({"row": [0], "column": ["Status"], "action": ["set"],
    ...                       "fix": ["Open"]})
    >>> apply_fixes(frame, fixes)["Status"].tolist(), frame["Status"].tolist()
    (['Open', 'Closed'], ['open', 'Closed'])
    """
    missing = [c for c in ("row", "column", "action", "fix") if c not in fixes.columns]
    if missing:
        raise UnknownName(
            f"the fixes table has no column(s) {missing}; use the table suggest() returns "
            f"(columns {FIX_COLUMNS})"
        )
    out = frame.copy()
    sets = fixes[fixes["action"] == "set"]
    for column, group in sets.groupby("column", sort=False):
        if column not in out.columns:
            raise UnknownName(f"fix for column {column!r}, which the frame does not have")
        out[column] = out[column].astype(object)
        out.loc[group["row"].to_numpy(), column] = group["fix"].to_numpy()
    drops = fixes.loc[fixes["action"] == "drop", "row"].unique()
    return out.drop(index=list(drops)) if len(drops) else out
