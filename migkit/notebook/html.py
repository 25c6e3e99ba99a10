"""Small HTML renderings for reports: headline numbers first, then a compact table."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
