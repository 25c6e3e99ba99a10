"""Small HTML renderings for reports: headline numbers first, then a compact table."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migkit.reconcile.report import ReconcileReport
    from migkit.validation.report import ValidationReport


def _bar(share: float) -> str:
    width = max(1, round(120 * share)) if share > 0 else 0
    return f'<div style="background:#d9534f;height:8px;width:{width}px;display:inline-block"></div>'


def validation_html(report: ValidationReport) -> str:
    """The report as HTML: totals, a failing-run warning, and counts per column and rule."""
    total = len(report.frame)
    flagged = report.predicted_flagged_rows
    parts = [
        f"<div><b>{escape(report.template.name)}</b>: {total:,} rows &middot; "
        f"<span style='color:#2e7d32'>{total - flagged:,} valid</span> &middot; "
        f"<span style='color:#c62828'>{flagged:,} flagged</span></div>"
    ]
    if report.missing_required:
        parts.append(
            "<div style='color:#c62828'><b>The run would fail:</b> required columns "
            f"not found: {escape(', '.join(report.missing_required))}</div>"
        )
    summary = report.summary()
    counts = [int(n) for n in summary["rows"].tolist()]
    rows = "".join(
        f"<tr><td>{escape(str(r.column))}</td><td>{escape(str(r.rule))}</td>"
        f"<td style='text-align:right'>{n:,}</td>"
        f"<td>{_bar(n / total if total else 0.0)}</td></tr>"
        for r, n in zip(summary.itertuples(index=False), counts, strict=True)
    )
    if rows:
        parts.append(
            "<table><thead><tr><th>column</th><th>rule</th><th>rows</th><th></th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    if report.unchecked:
        names = ", ".join(f"{c} ({r})" for c, r in report.unchecked)
        parts.append(f"<div style='color:#666'>Not checked locally: {escape(names)}</div>")
    return "".join(parts)


def _table(frame_rows: list[str], headers: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(frame_rows)}</tbody></table>"


def reconcile_html(report: ReconcileReport, sample: int = 5) -> str:
    """The reconciliation as HTML: the headline numbers, reasons, counts per column with bars,
    then a few changed cells."""
    first, second = report.names
    ok, bad = "color:#2e7d32", "color:#c62828"
    parts = [
        f"<div><b>{escape(first)}</b> {report.rows[0]:,} rows &middot; "
        f"<b>{escape(second)}</b> {report.rows[1]:,} rows &middot; matched by "
        f"{escape(report.matched_by)}</div>",
        f"<div><span style='{ok}'>{report.matched:,} matched</span> &middot; "
        f"<span style='{bad if len(report.missing) else ok}'>{len(report.missing):,} "
        f"missing</span> &middot; <span style='{bad if len(report.extra) else ok}'>"
        f"{len(report.extra):,} extra</span> &middot; <span style='"
        f"{bad if len(report.changed) else ok}'>{len(report.changed):,} changed cells in "
        f"{report.changed_rows:,} rows</span> &middot; {report.hidden_cells:,} formatting "
        "differences hidden by normalization</div>",
    ]
    for label, table in (("missing", report.missing), ("extra", report.extra)):
        if len(table):
            counts = table["reason"].value_counts()
            text = ", ".join(f"{escape(str(r))}: {n:,}" for r, n in counts.items())
            parts.append(f"<div>{label.capitalize()} by reason: {text}</div>")
    if len(report.by_column):
        compared = max(report.matched, 1)
        rows = [
            f"<tr><td>{escape(str(column))}</td><td style='text-align:right'>{int(r['changed']):,}"
            f"</td><td>{_bar(int(r['changed']) / compared)}</td>"
            f"<td style='text-align:right'>{int(r['hidden by normalization']):,}</td>"
            f"<td style='text-align:right'>{r['match rate']:.1%}</td></tr>"
            for column, r in report.by_column.iterrows()
        ]
        parts.append(_table(rows, ["column", "changed", "", "hidden", "match rate"]))
    if len(report.changed):
        shown = report.changed.head(sample)
        headers = [str(c) for c in shown.columns]
        rows = [
            "<tr>" + "".join(f"<td>{escape(_short(v))}</td>" for v in row) + "</tr>"
            for row in shown.itertuples(index=False)
        ]
        more = len(report.changed) - len(shown)
        parts.append(_table(rows, headers))
        if more:
            parts.append(f"<div style='color:#666'>… {more:,} more in <code>.changed</code></div>")
    for note in report.notes:
        parts.append(f"<div style='color:#666'>{escape(note)}</div>")
    return "".join(parts)


def _short(value: object, limit: int = 60) -> str:
    text = "" if value is None or value != value else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
