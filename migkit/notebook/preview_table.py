"""A Generation-2 preview sheet as an HTML table for the preview widget: every shown row (up
to a limit), invalid cells highlighted with their errors on hover, and, after a *Change*, the
cells that changed since the previous preview marked with what they were.

Pure functions over :class:`migkit.preview.PreviewSheet` (``frame``, ``invalid_cells``,
``rows``, ``total_rows``, ``truncated``, ``flagged_rows``, ``name``, ``slug``); no widgets.

>>> Change(cells={(0, "Email"): None}, added=0, removed=1).text()
'1 cell changed, 1 row fewer'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from migkit.notebook.html import BAD, GOOD, MUTED, WARN, span
from migkit.printable import counted

if TYPE_CHECKING:
    from migkit.preview import Preview, PreviewSheet

INVALID = "background:var(--jp-error-color3,#ffcdd2);color:var(--jp-ui-font-color0,#000)"
CHANGED = "outline:2px solid var(--jp-brand-color1,#1565c0);outline-offset:-2px"
CELL_LIMIT = 60  # characters shown per cell (the whole value is in the frame)
ROW_LIMIT = 200  # rows drawn per template (the frame holds them all)


@dataclass(frozen=True)
class Change:
    """What changed in one template between two previews: ``cells`` maps ``(row, column)``
    to the value it had (``None`` for empty), plus rows added and removed."""

    cells: Mapping[tuple[int, str], str | None] = field(default_factory=dict)
    added: int = 0
    removed: int = 0

    def __bool__(self) -> bool:
        return bool(self.cells) or bool(self.added) or bool(self.removed)

    def text(self) -> str:
        """The change in words (``""`` when nothing changed)."""
        parts = [f"{counted(len(self.cells), 'cell')} changed"] if self.cells else []
        if self.added:
            parts.append(f"{counted(self.added, 'row')} more")
        if self.removed:
            parts.append(f"{counted(self.removed, 'row')} fewer")
        return ", ".join(parts)


def _value(value: Any) -> str | None:
    return None if value is None or value != value else str(value)  # NaN / NA are empty


def sheet_change(old: PreviewSheet | None, new: PreviewSheet) -> Change:
    """The cells of ``new`` whose value differs from ``old`` (same row index and column; a
    column new to the sheet counts as changed where it holds a value)."""
    if old is None:
        return Change()
    before, after = old.frame, new.frame
    common = after.index.intersection(before.index)
    cells: dict[tuple[int, str], str | None] = {}
    for column in after.columns:
        now = after.loc[common, column]
        was = before.loc[common, column] if column in before.columns else None
        for label, value in now.items():
            old_value = _value(was[label]) if was is not None else None
            if _value(value) != old_value:
                cells[(int(label), str(column))] = old_value
    added = len(after.index.difference(before.index))
    removed = len(before.index.difference(after.index))
    return Change(cells, added, removed)


def preview_changes(old: Preview | None, new: Preview) -> dict[str, Change]:
    """Per template slug, what changed from ``old`` to ``new`` (empty without ``old``)."""
    if old is None:
        return {}
    return {slug: sheet_change(old.sheets.get(slug), sheet) for slug, sheet in new.sheets.items()}


def errors_by_cell(sheet: PreviewSheet) -> dict[tuple[int, str], list[str]]:
    """``(row, column)`` → the error messages of that cell."""
    errors: dict[tuple[int, str], list[str]] = defaultdict(list)
    cells = sheet.invalid_cells
    for row, column, error in cells[["row", "column", "error"]].itertuples(index=False):
        errors[(int(row), str(column))].append(str(error))
    return errors


def _cell(value: Any, errors: list[str] | None, was: tuple[bool, str | None]) -> str:
    text = _value(value) or ""
    text = text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"
    styles, titles = [], []
    if errors:
        styles.append(INVALID)
        titles.append("; ".join(errors))
    changed, old = was
    if changed:
        styles.append(CHANGED)
        titles.append(f"changed; was {old!r}" if old is not None else "changed; was empty")
    attrs = ""
    if styles:
        attrs += f" style='{';'.join(styles)}'"
    if titles:
        attrs += f" title='{escape(' · '.join(titles), quote=True)}'"
    marks = " data-invalid='1'" if errors else ""
    marks += " data-changed='1'" if changed else ""
    return f"<td{attrs}{marks}>{escape(text)}</td>"


def sheet_counts(sheet: PreviewSheet, change: Change | None = None) -> str:
    """One line of counts for a template: rows (of how many), valid, flagged, invalid cells,
    and what changed."""
    shown = (
        f"first {sheet.rows:,} of {counted(sheet.total_rows, 'row')} (a sample)"
        if sheet.truncated
        else counted(sheet.rows, "row")
    )
    flagged = sheet.flagged_rows
    parts = [
        f"<b>{escape(sheet.name)}</b>: {escape(shown)}",
        span(GOOD, f"{sheet.rows - flagged:,} valid"),
        span(BAD if flagged else GOOD, f"{flagged:,} flagged"),
        counted(len(sheet.invalid_cells), "invalid cell"),
    ]
    if change:
        parts.append(span(WARN, "changed: " + escape(change.text())))
    return "<div>" + " &middot; ".join(parts) + "</div>"


def sheet_table(sheet: PreviewSheet, change: Change | None = None, limit: int = ROW_LIMIT) -> str:
    """The sheet's rows as a table: invalid cells highlighted (errors on hover), changed
    cells outlined (the old value on hover); at most ``limit`` rows drawn."""
    errors = errors_by_cell(sheet)
    changed = change.cells if change else {}
    frame = sheet.frame.head(limit)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in ["row", *frame.columns])
    body = []
    for label, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        row = int(label)
        cells = "".join(
            _cell(
                value,
                errors.get((row, str(column))),
                ((row, str(column)) in changed, changed.get((row, str(column)))),
            )
            for column, value in zip(frame.columns, values, strict=True)
        )
        body.append(f"<tr><td style='{MUTED}'>{row}</td>{cells}</tr>")
    out = (
        f"<table class='migkit-preview' data-template='{escape(sheet.slug, quote=True)}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    if sheet.rows > len(frame):
        out += (
            f"<div style='{MUTED}'>… {sheet.rows - len(frame):,} more rows: "
            f"preview[{sheet.slug!r}] holds them all</div>"
        )
    return out


def preview_counts(preview: Preview) -> str:
    """The counts on top of the widget: templates, rows, flagged rows, invalid cells, and a
    warning when the preview is a sample."""
    flagged = preview.flagged_rows
    cells = len(preview.invalid_cells)
    line = (
        f"<div><b>Preview</b>: {counted(len(preview.sheets), 'template')} &middot; "
        f"{counted(preview.rows, 'row')} &middot; "
        f"{span(GOOD, f'{preview.rows - flagged:,} valid')} &middot; "
        f"{span(BAD if flagged else GOOD, f'{flagged:,} flagged')} &middot; "
        f"{counted(cells, 'invalid cell')}</div>"
    )
    if preview.truncated:
        line += (
            f"<div style='{WARN}'><b>A sample:</b> the server sent the first rows only "
            f"({preview.rows:,} of {preview.total_rows:,}); counts are of the shown rows.</div>"
        )
    return line


def preview_plain(preview: Preview, changes: Mapping[str, Change] | None = None) -> str:
    """The preview's counts as text, one line per template (and what changed)."""
    flagged = preview.flagged_rows
    lines = [
        f"Preview: {counted(len(preview.sheets), 'template')}, {counted(preview.rows, 'row')}, "
        f"{preview.rows - flagged:,} valid, {flagged:,} flagged, "
        f"{counted(len(preview.invalid_cells), 'invalid cell')}"
        + (f" (a sample of {preview.total_rows:,} rows)" if preview.truncated else "")
    ]
    for slug, sheet in preview.sheets.items():
        change = (changes or {}).get(slug)
        lines.append(
            f"  {sheet.name}: {counted(sheet.rows, 'row')}, {sheet.flagged_rows:,} flagged, "
            f"{counted(len(sheet.invalid_cells), 'invalid cell')}"
            + (f"; changed: {change.text()}" if change else "")
        )
    return "\n".join(lines)
