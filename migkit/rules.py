"""Template column rules and their vectorized evaluation over a DataFrame.

One implementation, shared: the sandbox's run worker flags rows with it, and migkit's local
validation predicts the server with it, so the two cannot drift apart.

Semantics (from the sandbox contract):

- ``required``: null, or blank after trimming, is invalid.
- ``unique``: every repeat after the first is invalid, compared after trimming; values already
  in the sheet (``existing``) count as earlier occurrences. Blank values are never duplicates.
- ``strict`` with a regex: the raw value must match in full (Python ``re`` semantics; see
  :mod:`migkit.regex` for the vectorized RE2 path and when it falls back to ``re``).
- ``strict`` with a list: the raw value must equal one of the allowed values exactly.
- ``link``: the raw value must be one of the linked column's values.
- ``none`` / ``ai``: not checked.

Blank cells are only ever invalid through ``required``.

>>> import pandas as pd
>>> t = Template.from_api({"name": "T", "columns": [
...     {"name": "Email", "required": True, "unique": True,
...      "desiredRule": "strict", "strictRule": "^[^@]+@[^@]+$"}]})
>>> v = check(pd.DataFrame({"Email": ["a@x", "bad", "a@x", None]}), t)
>>> v[["row", "rule"]].values.tolist()
[[1, 'regex'], [2, 'unique'], [3, 'required']]
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from migkit.regex import fullmatch

RuleName = Literal["required", "unique", "regex", "allowed", "link"]
VIOLATION_COLUMNS = ["row", "column", "rule", "value", "message"]


@dataclass(frozen=True)
class Column:
    """One template column and its rules, as ``GET /templates`` describes it."""

    name: str
    required: bool = False
    unique: bool = False
    rule: str = "none"
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    link_template: str | None = None
    link_column: str | None = None
    description: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Column:
        """Build a column from its API JSON (unknown keys are ignored).

        >>> Column.from_api({"name": "Tier", "desiredRule": "strict",
        ...                  "strictRule": ["Gold", "Silver"]}).allowed
        ('Gold', 'Silver')
        """
        rule = str(raw.get("desiredRule") or "none")
        strict = raw.get("strictRule")
        links = raw.get("linkRule") or []
        link = links[0] if links and isinstance(links[0], Mapping) else {}
        return cls(
            name=str(raw["name"]),
            required=bool(raw.get("required", False)),
            unique=bool(raw.get("unique", False)),
            rule=rule,
            pattern=strict if rule == "strict" and isinstance(strict, str) else None,
            allowed=tuple(str(v) for v in strict)
            if rule == "strict" and isinstance(strict, list)
            else None,
            link_template=(link.get("templateId") or link.get("template")) if link else None,
            link_column=link.get("columnName") if link else None,
            description=raw.get("description"),
        )

    @property
    def allowed_message(self) -> str:
        """The server's wording for an allowed-value miss."""
        return "Does not match allowed values: " + ", ".join(self.allowed or ())


@dataclass(frozen=True)
class Template:
    """A template: a named, ordered list of columns with rules."""

    name: str
    columns: tuple[Column, ...]
    id: str | None = None
    description: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Template:
        """Build a template from its ``GET /templates`` JSON."""
        return cls(
            name=str(raw["name"]),
            columns=tuple(Column.from_api(c) for c in raw.get("columns") or []),
            id=raw.get("id"),
            description=raw.get("description"),
            raw=dict(raw),
        )

    @property
    def column_names(self) -> list[str]:
        """Column names in template order."""
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Names of the required columns, in template order."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """The column called ``name``; ``KeyError`` naming the known columns otherwise."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}; columns: {self.column_names}")


def as_text(values: pd.Series) -> pd.Series:
    """The column as nullable strings (numbers become their ``str``), index kept."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    return values.astype(pd.StringDtype())


def blank_mask(text: pd.Series) -> pd.Series:
    """True where the value is null or blank after trimming."""
    return (text.isna() | (text.str.strip() == "")).astype(bool)


def _regex_miss(text: pd.Series, pattern: str) -> pd.Series:
    # Python ``re`` full-match semantics, as the contract fixes (RE2 where they provably agree).
    return ~fullmatch(text, pattern)


def _unique_miss(text: pd.Series, blank: pd.Series, existing: Iterable[Any] | None) -> pd.Series:
    key = text.str.strip()
    dup = key.duplicated(keep="first") & ~blank
    if existing is not None:
        earlier = pd.Series(list(existing), dtype=pd.StringDtype()).str.strip().dropna()
        dup = dup | (key.isin(earlier.unique()) & ~blank)
    return dup.astype(bool)


def _column_masks(
    text: pd.Series,
    column: Column,
    link_values: Iterable[Any] | None,
    existing: Iterable[Any] | None,
) -> list[tuple[RuleName, pd.Series, str]]:
    blank = blank_mask(text)
    masks: list[tuple[RuleName, pd.Series, str]] = []
    if column.required:
        masks.append(("required", blank, f"{column.name} is required but empty"))
    if column.unique:
        masks.append(
            ("unique", _unique_miss(text, blank, existing), "Duplicate of an earlier value")
        )
    if column.pattern is not None:
        miss = _regex_miss(text, column.pattern) & ~blank
        masks.append(("regex", miss, f"Does not match pattern {column.pattern}"))
    if column.allowed is not None:
        miss = ~text.isin(list(column.allowed)).astype(bool) & ~blank
        masks.append(("allowed", miss, column.allowed_message))
    if column.rule == "link" and link_values is not None:
        targets = pd.Series(list(link_values), dtype=pd.StringDtype()).dropna().unique()
        miss = ~text.isin(list(targets)).astype(bool) & ~blank
        where = f"{column.link_template}.{column.link_column}"
        masks.append(("link", miss, f"No {where} has this value"))
    return masks


def check(
    frame: pd.DataFrame,
    template: Template,
    *,
    links: Mapping[str, Iterable[Any]] | None = None,
    existing: Mapping[str, Iterable[Any]] | None = None,
) -> pd.DataFrame:
    """Every rule violation in ``frame`` as one long table, in row then column order.

    ``frame`` holds template column names (map file headers first with
    :func:`migkit.headers.match_headers`); a template column absent from it counts as empty.
    ``links`` gives, per link column, the values it may take; a link column without an entry
    is not checked. ``existing`` gives, per unique column, the values already in the sheet.

    The result has columns ``row`` (the frame's index label), ``column``, ``rule``, ``value``
    and ``message``; the input is never modified.

    >>> t = Template.from_api({"name": "T", "columns": [
    ...     {"name": "Tier", "desiredRule": "strict", "strictRule": ["Gold"]}]})
    >>> check(pd.DataFrame({"Tier": ["Gold", "gold"]}), t)["message"].tolist()
    ['Does not match allowed values: Gold']
    """
    links = links or {}
    existing = existing or {}
    parts: list[pd.DataFrame] = []
    positions = pd.RangeIndex(len(frame))
    for order, column in enumerate(template.columns):
        if column.name in frame.columns:
            raw = frame[column.name]
            if isinstance(raw, pd.DataFrame):  # duplicate column names: the first one counts
                raw = raw.iloc[:, 0]
            text = as_text(raw.reset_index(drop=True))
        else:
            text = pd.Series([pd.NA] * len(frame), dtype=pd.StringDtype())
        for rule, mask, message in _column_masks(
            text, column, links.get(column.name), existing.get(column.name)
        ):
            hit = mask.to_numpy(dtype=bool)
            if not hit.any():
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "_pos": positions[hit],
                        "_order": order,
                        "row": frame.index[hit],
                        "column": column.name,
                        "rule": rule,
                        "value": text[hit].astype(object).where(text[hit].notna(), None).array,
                        "message": message,
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in VIOLATION_COLUMNS})
    out = pd.concat(parts, ignore_index=True).sort_values(["_pos", "_order"], kind="stable")
    return out[VIOLATION_COLUMNS].reset_index(drop=True)


def flagged_positions(violations: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Boolean mask over ``frame`` (its index kept): True for rows with any violation."""
    return pd.Series(frame.index.isin(violations["row"].unique()), index=frame.index)


def closest_allowed(value: str | None, allowed: Sequence[str]) -> str:
    """The allowed value closest to ``value``: a case/space-insensitive match first, else the
    most similar by edit ratio, else the first allowed value.

    >>> closest_allowed("open ", ["Open", "Closed"]), closest_allowed("Closd", ["Open", "Closed"])
    ('Open', 'Closed')
    """
    if not allowed:
        raise ValueError("closest_allowed needs at least one allowed value")
    folded = (value or "").strip().casefold()
    by_fold = {a.casefold(): a for a in allowed}
    if folded in by_fold:
        return by_fold[folded]
    best = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.0)
    return by_fold[best[0]] if best else allowed[0]
