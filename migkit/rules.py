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
- ``link``: the raw value must be one of the linked columns' values. ``linkRule`` is a list;
  a value found in any of its links' columns is valid (:func:`link_values`).
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit.column_kernels import as_arrow, blank, is_in, repeated, run_all
from migkit.errors import UnknownName
from migkit.regex import fullmatch_arrow

RuleName = Literal["required", "unique", "regex", "allowed", "link"]
VIOLATION_COLUMNS = ["row", "column", "rule", "value", "message"]


@dataclass(frozen=True)
class Link:
    """One ``linkRule`` entry: values must exist in ``column`` of the sheet made from
    ``template`` (a template id from the API, or a name in a local catalog)."""

    template: str
    column: str
    # GET /templates names a linked template by id only; name_links() fills in its name.
    template_name: str | None = None

    @property
    def target(self) -> str:
        """The linked column for people: ``Accounts Name``, never the template's id.

        >>> uuid = "2b32e811-8f1e-4c3a-9d2b-0a1b2c3d4e5f"
        >>> Link(uuid, "Name", "Accounts").target, Link(uuid, "Name").target
        ('Accounts Name', 'Name of the linked template')
        >>> Link("Accounts", "Name").target  # a local catalog names templates
        'Accounts Name'
        """
        name = self.template_name or (None if _looks_like_id(self.template) else self.template)
        if name:
            return f"{name} {self.column}"
        return f"{self.column} of the linked template"


def _name(raw: Mapping[str, Any], kind: str) -> str:
    # A ValueError, not a KeyError: the mapping is a template given by a caller (or a broken
    # answer, which Answer.parse reports as such), not a lookup that missed.
    if not isinstance(raw, Mapping) or "name" not in raw:
        keys = sorted(map(str, raw)) if isinstance(raw, Mapping) else type(raw).__name__
        raise ValueError(f"a {kind} needs a name (as GET /templates gives); got {keys}")
    return str(raw["name"])


def _looks_like_id(template: str) -> bool:
    # The API names a linked template by its UUID; a local catalog by its name.
    return len(template) == 36 and template.count("-") == 4


def _article(noun: str) -> str:
    # English picks the article by sound: "a Users Email", "an Hour Log", "an Accounts Name".
    word = noun.lower()
    if word.startswith(("uni", "use", "usu", "uti", "ure", "eu", "one", "once")):
        return "a"
    if word.startswith(("hour", "honest", "honor", "honour", "heir")):
        return "an"
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _links(raw: Any) -> tuple[Link, ...]:
    # Every entry of ``linkRule`` (a list in the docs; a lone object is read as one entry).
    entries = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    links = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        template = entry.get("templateId") or entry.get("template")
        column = entry.get("columnName")
        if isinstance(template, str) and isinstance(column, str):
            links.append(Link(template, column))
    return tuple(links)


@dataclass(frozen=True)
class Column:
    """One template column and its rules, as ``GET /templates`` describes it."""

    name: str
    required: bool = False
    unique: bool = False
    rule: str = "none"
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    links: tuple[Link, ...] = ()
    description: str | None = None

    @property
    def link_template(self) -> str | None:
        """The first link's template (``links`` has them all)."""
        return self.links[0].template if self.links else None

    @property
    def link_column(self) -> str | None:
        """The first link's column (``links`` has them all)."""
        return self.links[0].column if self.links else None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Column:
        """Build a column from its API JSON (unknown keys are ignored).

        >>> Column.from_api({"name": "Tier", "desiredRule": "strict",
        ...                  "strictRule": ["Gold", "Silver"]}).allowed
        ('Gold', 'Silver')
        >>> len(Column.from_api({"name": "Owner", "desiredRule": "link", "linkRule": [
        ...     {"templateId": "t1", "columnName": "Email"},
        ...     {"templateId": "t2", "columnName": "Email"}]}).links)
        2
        """
        rule = str(raw.get("desiredRule") or "none")
        strict = raw.get("strictRule")
        return cls(
            name=_name(raw, "column"),
            required=bool(raw.get("required", False)),
            unique=bool(raw.get("unique", False)),
            rule=rule,
            pattern=strict if rule == "strict" and isinstance(strict, str) else None,
            allowed=tuple(str(v) for v in strict)
            if rule == "strict" and isinstance(strict, list)
            else None,
            links=_links(raw.get("linkRule")),
            description=raw.get("description"),
        )

    @property
    def allowed_message(self) -> str:
        """The server's wording for an allowed-value miss."""
        return "Does not match allowed values: " + ", ".join(self.allowed or ())

    @property
    def link_target(self) -> str:
        """What a link column points to, for people: each linked template and column by name
        (``Accounts Name``), never a template's id.

        >>> Column("Account", rule="link", links=(Link("2b32e811", "Name", "Accounts"),)
        ...        ).link_target
        'Accounts Name'
        """
        return " or ".join(link.target for link in self.links) or "the linked column"

    @property
    def link_message(self) -> str:
        """The message for a value found in none of the linked columns.

        >>> Column("Account", rule="link", links=(Link("t1", "Name", "Accounts"),)).link_message
        'Not an Accounts Name'
        >>> Column("Owner", rule="link", links=(Link("t2", "Email", "Users"),
        ...        Link("t3", "Email", "Teams"))).link_message
        'Not a Users Email or a Teams Email'
        """
        targets = [link.target for link in self.links] or ["value of the linked column"]
        return "Not " + " or ".join(f"{_article(t)} {t}" for t in targets)


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
            name=_name(raw, "template"),
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

    def _repr_html_(self) -> str:
        from migkit.notebook.html import template_html

        return template_html(self)

    def column(self, name: str) -> Column:
        """The column called ``name``; :class:`~migkit.errors.UnknownName` (a ``KeyError``)
        naming the known columns otherwise."""
        for col in self.columns:
            if col.name == name:
                return col
        raise UnknownName(f"{self.name} has no column {name!r}; columns: {self.column_names}")


def name_links(templates: Sequence[Template]) -> list[Template]:
    """``templates`` with each link's template named (``Link.template_name``), so messages
    say "Not an Accounts Name" instead of quoting a template id.

    >>> accounts = Template("Accounts", (Column("Name"),), id="t1")
    >>> contacts = Template("Contacts", (Column("Account", rule="link",
    ...                                         links=(Link("t1", "Name"),)),), id="t2")
    >>> name_links([accounts, contacts])[1].columns[0].link_message
    'Not an Accounts Name'
    """
    names = {t.id: t.name for t in templates if t.id}

    def named(column: Column) -> Column:
        links = tuple(
            replace(link, template_name=names[link.template])
            if link.template in names and not link.template_name
            else link
            for link in column.links
        )
        return replace(column, links=links) if links != column.links else column

    return [
        replace(template, columns=tuple(named(c) for c in template.columns))
        for template in templates
    ]


def link_values(
    column: Column, values_of: Callable[[Link], Iterable[Any] | None]
) -> list[Any] | None:
    """The values a link column may take: every value of every link's column, as
    ``values_of(link)`` gives them. A link whose values are not at hand (``None``: no sheet
    for its template, no values given) is left out; when none is at hand, ``None``: the column
    is not checked. The sandbox's run worker and :func:`migkit.validate` both use this.

    >>> col = Column("Owner", rule="link", links=(Link("Users", "Email"), Link("Teams", "Email")))
    >>> given = {"Users": ["a@x"], "Teams": ["t@x"]}
    >>> link_values(col, lambda link: given.get(link.template))
    ['a@x', 't@x']
    >>> link_values(col, lambda link: None) is None
    True
    """
    if column.rule != "link":
        return None
    found: list[Any] | None = None
    for link in column.links:
        values = values_of(link)
        if values is not None:
            found = (found or []) + list(values)
    return found


def blank_mask(text: pd.Series) -> pd.Series:
    """True where the value is null or blank after trimming.

    >>> blank_mask(pd.Series(["a", " ", "", None, "\\u00a0"])).tolist()
    [False, True, True, True, True]
    """
    return pd.Series(blank(as_arrow(text)), index=text.index)


def _repeats(
    array: pa.Array,
    empty: np.ndarray,
    existing: Iterable[Any] | None,
    earlier: np.ndarray | None,
) -> np.ndarray:
    # Every repeat after the first, compared after trimming; blanks are never repeats. The
    # trimmed copy is the largest short-lived buffer of the check: it comes from the system
    # allocator, which hands it back to the OS when freed instead of keeping a column-sized
    # cache in the notebook kernel (Arrow's default pool would).
    trimmed = pc.utf8_trim_whitespace(array, memory_pool=pa.system_memory_pool())
    repeat = repeated(trimmed)
    if existing is not None:
        values = pc.utf8_trim_whitespace(as_arrow(pd.Series(list(existing), dtype=object)))
        repeat |= is_in(trimmed, values)
    if earlier is not None:
        repeat |= earlier
    out: np.ndarray = repeat & ~empty
    return out


Mask = Callable[[], np.ndarray]


def _column_masks(
    array: pa.Array,
    column: Column,
    allowed_links: Iterable[Any] | None,
    existing: Iterable[Any] | None,
    earlier: np.ndarray | None = None,
) -> list[tuple[RuleName, Mask, str]]:
    # The rules of one column as (rule, deferred mask, message), in the order they report.
    empty = blank(array)
    masks: list[tuple[RuleName, Mask, str]] = []
    if column.required:
        masks.append(("required", lambda: empty, f"{column.name} is required but empty"))
    if column.unique:
        masks.append(
            (
                "unique",
                lambda: _repeats(array, empty, existing, earlier),
                "Duplicate of an earlier value",
            )
        )
    if column.pattern is not None:
        pattern = column.pattern
        # Python ``re`` full-match semantics, as the contract fixes (RE2 where they agree).
        masks.append(
            (
                "regex",
                lambda: ~fullmatch_arrow(array, pattern) & ~empty,
                f"Does not match pattern {pattern}",
            )
        )
    if column.allowed is not None:
        allowed = pa.array(column.allowed, pa.large_string())
        masks.append(("allowed", lambda: ~is_in(array, allowed) & ~empty, column.allowed_message))
    if column.rule == "link" and allowed_links is not None:
        targets = as_arrow(pd.Series(list(allowed_links), dtype=object))
        masks.append(("link", lambda: ~is_in(array, targets) & ~empty, column.link_message))
    return masks


def check(
    frame: pd.DataFrame,
    template: Template,
    *,
    links: Mapping[str, Iterable[Any]] | None = None,
    existing: Mapping[str, Iterable[Any]] | None = None,
    earlier: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Every rule violation in ``frame`` as one long table, in row then column order.

    ``frame`` holds template column names (map file headers first with
    :func:`migkit.header_healing.match_headers`); a template column absent from it counts as empty.
    ``links`` gives, per link column, the values it may take; a link column without an entry
    is not checked. ``existing`` gives, per unique column, the values already in the sheet.
    ``earlier`` gives, per unique column, a boolean mask over ``frame``'s rows: True where the
    row's value already came before ``frame`` (an earlier batch of a streamed file, as
    :class:`migkit.validation.seen.SeenValues` finds it), so it is a repeat.

    The result has columns ``row`` (the frame's index label), ``column``, ``rule``, ``value``
    and ``message``; the input is never modified.

    >>> t = Template.from_api({"name": "T", "columns": [
    ...     {"name": "Tier", "desiredRule": "strict", "strictRule": ["Gold"]}]})
    >>> check(pd.DataFrame({"Tier": ["Gold", "gold"]}), t)["message"].tolist()
    ['Does not match allowed values: Gold']
    """
    links = links or {}
    existing = existing or {}
    earlier = earlier or {}
    arrays: list[pa.Array] = []
    rules: list[tuple[int, RuleName, Mask, str]] = []
    for column in template.columns:
        if column.name in frame.columns:
            raw = frame[column.name]
            if isinstance(raw, pd.DataFrame):  # duplicate column names: the first one counts
                raw = raw.iloc[:, 0]
            arrays.append(as_arrow(raw))
        else:
            arrays.append(pa.nulls(len(frame), pa.large_string()))
        for rule, mask, message in _column_masks(
            arrays[-1],
            column,
            links.get(column.name),
            existing.get(column.name),
            earlier.get(column.name),
        ):
            rules.append((len(arrays) - 1, rule, mask, message))
    # One entry per (column, rule) that fired: positions, values, and its labels.
    hits: list[np.ndarray] = []
    values: list[np.ndarray] = []
    labels: list[tuple[str, str, str]] = []
    results = run_all(
        [mask for _, _, mask, _ in rules],
        [rule == "unique" for _, rule, _, _ in rules],
        len(frame) * len(rules),
    )
    for (index, rule, _, message), result in zip(rules, results, strict=True):
        where = np.flatnonzero(result)
        if len(where):
            hits.append(where)
            values.append(arrays[index].take(pa.array(where)).to_numpy(zero_copy_only=False))
            labels.append((template.columns[index].name, rule, message))
    if not hits:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in VIOLATION_COLUMNS})
    part = np.repeat(np.arange(len(hits)), [len(h) for h in hits])
    pos = np.concatenate(hits)
    order = np.lexsort((part, pos))  # row first, then template column and rule order
    part = part[order]
    names = np.array(labels, dtype=object)
    return pd.DataFrame(
        {
            "row": frame.index[pos[order]],
            "column": names[part, 0],
            "rule": names[part, 1],
            "value": np.concatenate(values)[order],
            "message": names[part, 2],
        }
    )


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
