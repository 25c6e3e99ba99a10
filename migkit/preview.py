"""A Generation-2 preview (``GET /migrations/{id}/preview``) as DataFrames.

:meth:`Preview.from_payload` reads the documented body strictly where migkit acts on it and
passes every other field through (``.raw``): per template a text frame (the first row of
``rows`` is the header), an ``invalid_cells`` table, and whether the sheet is a truncated
sample. Rows keep the identity the payload gives them: the 0-based data-row index that
``invalid_cells`` refers to, as the frame's index (named ``row``).

A payload of the wrong shape raises :class:`migkit.MalformedPreview`, naming where
(``sheets[1].rows[3]``) and what is wrong; nothing is half-read.

>>> from migkit.preview import Preview
>>> p = Preview.from_payload({"status": "awaiting_approval", "sheets": [
...     {"template": {"slug": "contacts", "name": "Contacts"},
...      "rows": [["Email", "Status"], ["a@x.io", "Open"], [None, "open?"]],
...      "invalid_cells": [{"row": 1, "column": "Email", "error": "Required"}]}]})
>>> p["contacts"]["Email"].isna().tolist(), p.flagged_rows, p.truncated
([False, True], 1, False)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from migkit.errors import MalformedPreview, UnknownName

INVALID_COLUMNS = ["template", "row", "column", "error"]


@dataclass(frozen=True)
class PreviewSheet:
    """One template's part of a preview.

    - ``frame``: the rows under the header, every cell text (``None`` for an empty cell),
      indexed by the payload's data-row index (``row``, from 0);
    - ``invalid_cells``: one row per broken rule: ``template`` (slug), ``row``, ``column``,
      ``error`` (the server's rule message);
    - ``truncated`` / ``total_rows``: the server sent the first rows only (EXT
      ``truncated: true`` and ``total_rows``); ``total_rows`` is the shown count otherwise.
    """

    slug: str
    name: str
    frame: pd.DataFrame
    invalid_cells: pd.DataFrame
    truncated: bool
    total_rows: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def rows(self) -> int:
        """Rows shown in the preview (all of them unless :attr:`truncated`)."""
        return len(self.frame)

    @property
    def flagged(self) -> pd.DataFrame:
        """The shown rows with at least one invalid cell (an execute inserts them flagged)."""
        return self.frame[self.frame.index.isin(self.invalid_cells["row"])]

    @property
    def valid(self) -> pd.DataFrame:
        """The shown rows with no invalid cell."""
        return self.frame[~self.frame.index.isin(self.invalid_cells["row"])]

    @property
    def flagged_rows(self) -> int:
        """How many shown rows have at least one invalid cell."""
        return int(self.invalid_cells["row"].nunique())


def _where(i: int, *parts: str | int) -> str:
    return f"sheets[{i}]" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _text(value: object, where: str) -> str | None:
    """A cell as text: strings as they are, numbers and booleans as JSON writes them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise MalformedPreview(f"{where} is a {_kind(value)} where a cell (text or null) belongs")


def _mapping(value: object, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPreview(f"{where} is a {_kind(value)} where {what} (an object) belongs")
    return value


def _list(value: object, where: str, what: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise MalformedPreview(f"{where} is a {_kind(value)} where {what} (an array) belongs")
    return value


def _template(i: int, sheet: Mapping[str, Any]) -> tuple[str, str]:
    template = _mapping(sheet.get("template"), _where(i, "template"), "the template")
    slug, name = template.get("slug"), template.get("name")
    if not isinstance(slug, str) or not slug:
        raise MalformedPreview(f"{_where(i, 'template', 'slug')} is {slug!r}, not a slug")
    if name is not None and not isinstance(name, str):
        raise MalformedPreview(f"{_where(i, 'template', 'name')} is {name!r}, not a name")
    return slug, name or slug


def _header(i: int, rows: Sequence[Any]) -> list[str]:
    if not rows:
        raise MalformedPreview(f"{_where(i, 'rows')} is empty: the header row is missing")
    header = _list(rows[0], _where(i, "rows", 0), "the header row")
    seen: set[str] = set()
    for j, name in enumerate(header):
        if not isinstance(name, str):
            raise MalformedPreview(f"{_where(i, 'rows', 0, j)} is {name!r}, not a column name")
        if name in seen:
            raise MalformedPreview(f"{_where(i, 'rows', 0)} names column {name!r} twice")
        seen.add(name)
    return list(header)


def _frame(i: int, rows: Sequence[Any], header: list[str], slug: str) -> pd.DataFrame:
    width = len(header)
    cells: list[list[str | None]] = []
    for r, row in enumerate(rows[1:], start=1):
        if not isinstance(row, list):
            _list(row, _where(i, "rows", r), "a row")
        if len(row) != width:
            raise MalformedPreview(
                f"{_where(i, 'rows', r)} has {len(row)} cells where the header has {width}"
            )
        # The usual row (text and nulls only) is taken as it is; only others are converted.
        if all(v is None or type(v) is str for v in row):
            cells.append(row)
        else:
            cells.append([_text(v, _where(i, "rows", r, c)) for c, v in enumerate(row)])
    index = pd.RangeIndex(len(cells), name="row")
    columns = list(zip(*cells, strict=True)) if cells else [() for _ in header]
    frame = pd.DataFrame(
        {name: pd.array(columns[c], dtype="str") for c, name in enumerate(header)},
        index=index,
        columns=header,
    )
    frame.attrs["migkit"] = {"template": slug, "preview": True}
    return frame


def _invalid(i: int, sheet: Mapping[str, Any], slug: str, frame: pd.DataFrame) -> pd.DataFrame:
    items = _list(sheet.get("invalid_cells", []), _where(i, "invalid_cells"), "invalid cells")
    out: list[tuple[str, int, str, str]] = []
    for k, item in enumerate(items):
        where = _where(i, "invalid_cells", k)
        cell = _mapping(item, where, "an invalid cell")
        row, column, error = cell.get("row"), cell.get("column"), cell.get("error")
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < len(frame):
            raise MalformedPreview(
                f"{where}.row is {row!r}: not one of the sheet's {len(frame):,} shown rows"
            )
        if not isinstance(column, str) or column not in frame.columns:
            raise MalformedPreview(
                f"{where}.column is {column!r}: not one of the sheet's columns "
                f"{list(frame.columns)}"
            )
        if error is not None and not isinstance(error, str):
            raise MalformedPreview(f"{where}.error is a {_kind(error)}, not a message")
        out.append((slug, row, column, error or ""))
    return invalid_frame(out)


def invalid_frame(items: Sequence[tuple[str, int, str, str]]) -> pd.DataFrame:
    """The ``invalid_cells`` table (``template``, ``row``, ``column``, ``error``)."""
    return pd.DataFrame(
        {
            "template": pd.array([t for t, _, _, _ in items], dtype="str"),
            "row": pd.array([r for _, r, _, _ in items], dtype="int64"),
            "column": pd.array([c for _, _, c, _ in items], dtype="str"),
            "error": pd.array([e for _, _, _, e in items], dtype="str"),
        },
        columns=INVALID_COLUMNS,
    )


def _truncation(i: int, sheet: Mapping[str, Any], shown: int) -> tuple[bool, int]:
    truncated, total = sheet.get("truncated", False), sheet.get("total_rows")
    if truncated is None:
        truncated = False
    if not isinstance(truncated, bool):
        raise MalformedPreview(f"{_where(i, 'truncated')} is {truncated!r}, not true or false")
    if total is None:
        return truncated, shown
    if isinstance(total, bool) or not isinstance(total, int) or total < shown:
        raise MalformedPreview(
            f"{_where(i, 'total_rows')} is {total!r}: not a count of at least the "
            f"{shown:,} rows shown"
        )
    # A total above the shown rows says the sample is cut, whatever the flag says.
    return truncated or total > shown, total


def _sheet(i: int, value: object) -> PreviewSheet:
    sheet = _mapping(value, _where(i), "a sheet")
    slug, name = _template(i, sheet)
    rows = _list(sheet.get("rows"), _where(i, "rows"), "the rows")
    header = _header(i, rows)
    frame = _frame(i, rows, header, slug)
    truncated, total = _truncation(i, sheet, len(frame))
    invalid = _invalid(i, sheet, slug, frame)
    return PreviewSheet(slug, name, frame, invalid, truncated, total, sheet)


@dataclass(frozen=True)
class Preview:
    """The agent's proposed import, template by template.

    ``preview["contacts"]`` (by slug, or by template name) is that template's frame;
    :attr:`sheets` holds each :class:`PreviewSheet`; :attr:`invalid_cells` is every
    template's invalid cells in one table; :attr:`truncated` is true when any sheet is a
    sample; :meth:`summary` counts per template. ``raw`` is the payload as received.

    >>> preview = client.migrations.preview(migration)  # doctest: +SKIP
    >>> preview["contacts"].head(), preview.invalid_cells  # doctest: +SKIP
    """

    status: str | None
    sheets: Mapping[str, PreviewSheet]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Preview:
        """Read a ``GET /preview`` body; raises :class:`migkit.MalformedPreview` naming what
        is wrong when it is not the documented shape.

        >>> Preview.from_payload({"sheets": []}).sheets
        {}
        """
        body = _mapping(payload, "the preview", "the preview body")
        status = body.get("status")
        if status is not None and not isinstance(status, str):
            raise MalformedPreview(f"status is {status!r}, not a status")
        sheets: dict[str, PreviewSheet] = {}
        for i, value in enumerate(_list(body.get("sheets"), "sheets", "the sheets")):
            sheet = _sheet(i, value)
            if sheet.slug in sheets:
                raise MalformedPreview(
                    f"{_where(i, 'template', 'slug')} {sheet.slug!r} has a sheet already"
                )
            sheets[sheet.slug] = sheet
        return cls(status, sheets, body)

    def sheet(self, template: str) -> PreviewSheet:
        """The sheet of ``template``, a slug or a template name (case-insensitive)."""
        if template in self.sheets:
            return self.sheets[template]
        for sheet in self.sheets.values():
            if template.casefold() in (sheet.slug.casefold(), sheet.name.casefold()):
                return sheet
        known = ", ".join(f"{s.slug} ({s.name})" for s in self.sheets.values()) or "none"
        raise UnknownName(f"no template {template!r} in this preview; templates: {known}")

    def __getitem__(self, template: str) -> pd.DataFrame:
        return self.sheet(template).frame

    def __iter__(self) -> Iterator[str]:
        return iter(self.sheets)

    def __len__(self) -> int:
        return len(self.sheets)

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """``{slug: frame}`` for every template."""
        return {slug: sheet.frame for slug, sheet in self.sheets.items()}

    @property
    def invalid_cells(self) -> pd.DataFrame:
        """Every template's invalid cells: ``template`` (slug), ``row``, ``column``, ``error``."""
        tables = [s.invalid_cells for s in self.sheets.values() if len(s.invalid_cells)]
        return pd.concat(tables, ignore_index=True) if tables else invalid_frame([])

    @property
    def truncated(self) -> bool:
        """True when any sheet shows only its first rows."""
        return any(s.truncated for s in self.sheets.values())

    @property
    def rows(self) -> int:
        """Rows shown, over every template."""
        return sum(s.rows for s in self.sheets.values())

    @property
    def total_rows(self) -> int:
        """Rows the recipe produced, over every template (the shown rows unless truncated)."""
        return sum(s.total_rows for s in self.sheets.values())

    @property
    def flagged_rows(self) -> int:
        """Shown rows with at least one invalid cell, over every template."""
        return sum(s.flagged_rows for s in self.sheets.values())

    def summary(self) -> pd.DataFrame:
        """One row per template: name, rows shown, total rows, flagged rows, invalid cells,
        truncated."""
        index = pd.Index(list(self.sheets), name="template")
        return pd.DataFrame(
            {
                "name": [s.name for s in self.sheets.values()],
                "rows": [s.rows for s in self.sheets.values()],
                "total_rows": [s.total_rows for s in self.sheets.values()],
                "flagged_rows": [s.flagged_rows for s in self.sheets.values()],
                "invalid_cells": [len(s.invalid_cells) for s in self.sheets.values()],
                "truncated": [s.truncated for s in self.sheets.values()],
            },
            index=index,
        )

    def __repr__(self) -> str:
        from migkit.notebook.preview_html import preview_text

        return preview_text(self)

    def _repr_html_(self) -> str:
        from migkit.notebook.preview_html import preview_html

        return preview_html(self)
