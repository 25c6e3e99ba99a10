"""Small HTML renderings for reports: headline numbers first, then a compact table."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migkit.models import Company, Report, Run
    from migkit.reconcile.report import ReconcileReport
    from migkit.rules import Template
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


STATUS_COLORS = {
    "queued": "#757575",
    "running": "#1565c0",
    "needs_attention": "#ef6c00",
    "completed": "#2e7d32",
    "failed": "#c62828",
    "canceled": "#616161",
}


def badge(status: str) -> str:
    """A coloured status pill."""
    color = STATUS_COLORS.get(status, "#424242")
    return (
        f"<span style='background:{color};color:white;border-radius:8px;padding:1px 8px;"
        f"font-size:90%'>{escape(status)}</span>"
    )


def report_html(report: Report) -> str:
    """An import report: inserted and flagged rows first, then rows per sheet."""
    total = max(report.inserted, 1)
    head = (
        f"<div><b>{report.inserted:,}</b> rows inserted &middot; "
        f"<span style='color:{'#c62828' if report.flagged_rows else '#2e7d32'}'>"
        f"{report.flagged_rows:,} flagged</span></div>"
    )
    rows = [
        f"<tr><td>{escape(s.template_name)}</td><td style='text-align:right'>{s.row_count:,}</td>"
        f"<td>{_bar(s.row_count / total).replace('#d9534f', '#1565c0')}</td></tr>"
        for s in report.per_sheet
    ]
    return head + (_table(rows, ["sheet", "rows", ""]) if rows else "")


def run_html(run: Run) -> str:
    """A run: status badge and message, then its report or its questions."""
    parts = [f"<div>Import run <code>{escape(run.id)}</code> {badge(run.status)}"]
    if run.progress_message:
        parts.append(f" &middot; {escape(run.progress_message)}")
    parts.append("</div>")
    if run.error:
        parts.append(f"<div style='color:#c62828'>{escape(run.error)}</div>")
    if run.report is not None:
        parts.append(report_html(run.report))
    attention = run.needs_attention
    if attention is not None:
        items = []
        for q in attention.questions:
            options = ", ".join(escape(o.label) for o in q.options)
            sample = ", ".join(escape(v) for v in q.sample_values[:5])
            items.append(
                f"<li><b>{escape(q.prompt)}</b> <code>{escape(q.id)}</code><br>"
                f"<span style='color:#666'>{escape(q.context)}</span><br>"
                f"{escape(q.column or '')}: {q.affected_rows:,} rows"
                + (f", e.g. {sample}" if sample else "")
                + f"<br>Options: {options}"
                + (" (or a custom value)" if q.allow_custom else "")
                + "</li>"
            )
        parts.append(f"<ul>{''.join(items)}</ul>")
        if attention.proposed_patch is not None:
            parts.append(f"<div>Suggested fix: {escape(attention.proposed_patch.summary)}</div>")
        parts.append(
            "<div style='color:#666'>Answer with <code>run.decide(accept=True)</code>, "
            "<code>run.decide(answers={...})</code> or <code>run.decide(reject=True)</code>, "
            "or review it in a widget with <code>migkit.notebook.review(run)</code></div>"
        )
    return "".join(parts)


def company_html(company: Company) -> str:
    """A company: name and ids, then its sheets."""
    head = (
        f"<div><b>{escape(company.name)}</b> <code>{escape(company.id)}</code>"
        + (
            f" &middot; external id <code>{escape(company.external_id)}</code>"
            if company.external_id
            else ""
        )
        + "</div>"
    )
    rows = [
        f"<tr><td>{escape(s.name)}</td><td><code>{escape(s.id)}</code></td></tr>"
        for s in company.sheets
    ]
    return head + (_table(rows, ["sheet", "id"]) if rows else "")


def template_html(template: Template) -> str:
    """A template: its columns and their rules."""
    rows = []
    for c in template.columns:
        if c.pattern is not None:
            rule = f"matches <code>{escape(c.pattern)}</code>"
        elif c.allowed is not None:
            rule = "one of " + ", ".join(escape(v) for v in c.allowed)
        elif c.rule == "link":
            rule = f"links to {escape(f'{c.link_template}.{c.link_column}')}"
        else:
            rule = escape(c.rule)
        flags = ", ".join(f for f, on in (("required", c.required), ("unique", c.unique)) if on)
        rows.append(f"<tr><td>{escape(c.name)}</td><td>{flags}</td><td>{rule}</td></tr>")
    head = f"<div><b>{escape(template.name)}</b> &middot; {len(template.columns)} columns</div>"
    return head + _table(rows, ["column", "", "rule"])
