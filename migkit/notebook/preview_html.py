"""A Generation-2 preview as HTML and as plain text: the counts first, then per template its
invalid cells by column and rule, and a few rows with the invalid cells marked (the error
on hover).

Every value from the payload is escaped; a cell is cut to 60 characters.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING

from migkit.notebook.html import BAD, GOOD, MUTED, WARN, span, table
from migkit.printable import counted, printable

if TYPE_CHECKING:
    from migkit.preview import Preview, PreviewSheet

MARK = "background:var(--jp-error-color3,#ffcdd2)"


def _rows_text(sheet: PreviewSheet) -> str:
    if sheet.truncated:
        return f"first {sheet.rows:,} of {counted(sheet.total_rows, 'row')} (a sample)"
    return counted(sheet.rows, "row")


def _by_rule(sheet: PreviewSheet) -> list[tuple[str, str, int]]:
    cells = sheet.invalid_cells
    if not len(cells):
        return []
    counts = cells.groupby(["column", "error"], sort=False).size()
    return [
        (str(c), str(e), int(n))
        for c, e, n in zip(
            counts.index.get_level_values(0), counts.index.get_level_values(1), counts, strict=True
        )
    ]


def preview_text(preview: Preview) -> str:
    """Plain text for a terminal: one line for the preview, then per template its counts and
    its invalid cells by column and rule."""
    head = f"Preview ({preview.status or 'no status'}): {counted(len(preview), 'template')}, "
    head += f"{counted(preview.rows, 'row')} shown, {preview.flagged_rows:,} flagged"
    if preview.truncated:
        head += ", TRUNCATED (a sample of the rows)"
    lines = [head]
    for sheet in preview.sheets.values():
        lines.append(
            f"  {printable(sheet.slug, limit=60)} ({printable(sheet.name, limit=60)}): "
            f"{_rows_text(sheet)}, {sheet.flagged_rows:,} flagged, "
            f"{counted(len(sheet.invalid_cells), 'invalid cell')}"
        )
        for column, error, n in _by_rule(sheet):
            lines.append(
                f"    {printable(column, limit=30):<20} {n:>7,}  {printable(error, limit=80)}"
            )
    return "\n".join(lines)


def _cell(value: object, error: str | None) -> str:
    text = "" if value is None or value != value else str(value)
    text = text if len(text) <= 60 else text[:59] + "…"
    if error is None:
        return f"<td>{escape(text)}</td>"
    return f"<td style='{MARK}' title='{escape(error, quote=True)}'>{escape(text)}</td>"


def _sample(sheet: PreviewSheet, sample: int) -> str:
    errors: dict[tuple[int, str], list[str]] = defaultdict(list)
    for row, column, error in sheet.invalid_cells[["row", "column", "error"]].itertuples(
        index=False
    ):
        errors[(int(row), str(column))].append(str(error))
    shown = sheet.frame.head(sample)
    rows = []
    for label, values in zip(shown.index, shown.itertuples(index=False), strict=True):
        found = [errors.get((int(label), str(c))) for c in shown.columns]
        cells = "".join(
            _cell(v, "; ".join(e) if e else None) for v, e in zip(values, found, strict=True)
        )
        rows.append(f"<tr><td style='{MUTED}'>{int(label)}</td>{cells}</tr>")
    out = table(rows, ["row", *map(str, shown.columns)])
    if sheet.rows > len(shown):
        out += f"<div style='{MUTED}'>… {sheet.rows - len(shown):,} more rows</div>"
    return out


def _sheet_html(sheet: PreviewSheet, sample: int) -> str:
    flagged = sheet.flagged_rows
    parts = [
        f"<div><b>{escape(sheet.name)}</b> <code>{escape(sheet.slug)}</code>: "
        f"{escape(_rows_text(sheet))} &middot; "
        f"{span(GOOD, f'{sheet.rows - flagged:,} valid')} &middot; "
        f"{span(BAD if flagged else GOOD, f'{flagged:,} flagged')} &middot; "
        f"{counted(len(sheet.invalid_cells), 'invalid cell')}</div>"
    ]
    rules = _by_rule(sheet)
    if rules:
        rows = [
            f"<tr><td>{escape(c)}</td><td>{escape(e)}</td>"
            f"<td style='text-align:right'>{n:,}</td></tr>"
            for c, e, n in rules
        ]
        parts.append(table(rows, ["column", "error", "cells"]))
    if sheet.rows:
        parts.append(_sample(sheet, sample))
    return "".join(parts)


def preview_html(preview: Preview, sample: int = 5) -> str:
    """The preview as HTML: totals (and a warning when it is a sample), then each template."""
    flagged = preview.flagged_rows
    parts = [
        f"<div><b>Preview</b> ({escape(preview.status or 'no status')}): "
        f"{counted(len(preview), 'template')} &middot; {counted(preview.rows, 'row')} shown "
        f"&middot; {span(BAD if flagged else GOOD, f'{flagged:,} flagged')}</div>"
    ]
    if preview.truncated:
        parts.append(
            f"<div style='{WARN}'><b>A sample:</b> the server sent the first rows only of "
            f"{preview.total_rows:,}; invalid cells are counted for the shown rows.</div>"
        )
    parts += [_sheet_html(sheet, sample) for sheet in preview.sheets.values()]
    return "".join(parts)
