"""A Generation-2 preview sheet as an HTML table for the preview widget: every shown row (up
to a limit), invalid cells highlighted with their errors on hover, and, after a *Change*, the
cells that changed since the previous preview marked with what they were.

Pure functions over :class:`migkit.preview.PreviewSheet` (``frame``, ``invalid_cells``,
``rows``, ``total_rows``, ``truncated``, ``flagged_rows``, ``name``, ``slug``); no widgets.

>>> sheet_counts  # doctest: +ELLIPSIS
<function sheet_counts at ...>
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from migkit.notebook.html import BAD, GOOD, MUTED, WARN, span
from migkit.preview_changes import Change, cell_text
from migkit.printable import counted

if TYPE_CHECKING:
    from migkit.preview import Preview, PreviewSheet

# A light red in both themes, so its text is dark in both (a theme colour would turn white).
INVALID = "background:#ffcdd2;color:#1a1a1a"
CHANGED = "outline:2px solid var(--jp-brand-color1,#1565c0);outline-offset:-2px"
CELL_LIMIT = 60  # characters shown per cell (the whole value is in the frame)
ROW_LIMIT = 200  # rows drawn per template (the frame holds them all)


def errors_by_cell(sheet: PreviewSheet) -> dict[tuple[int, str], list[str]]:
    """``(row, column)`` → the error messages of that cell."""
    errors: dict[tuple[int, str], list[str]] = defaultdict(list)
    cells = sheet.invalid_cells
    for row, column, error in cells[["row", "column", "error"]].itertuples(index=False):
        errors[(int(row), str(column))].append(str(error))
    return errors


def _cell(value: Any, errors: list[str] | None, was: tuple[bool, str | None]) -> str:
    text = cell_text(value) or ""
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
