"""Small HTML renderings for reports: headline numbers first, then a compact table.

Colours come from JupyterLab's theme variables (with a fallback for renderers without
them: GitHub, nbviewer, VS Code), so text stays readable in light and dark themes.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from migkit.printable import counted

if TYPE_CHECKING:
    from migkit.models import Company, Report, Run
    from migkit.reconcile.report import ReconcileReport
    from migkit.rules import Template
    from migkit.validation.report import ValidationReport

MUTED = "color:var(--jp-ui-font-color2,#616161)"
GOOD = "color:var(--jp-success-color1,#2e7d32)"
BAD = "color:var(--jp-error-color1,#c62828)"
WARN = "color:var(--jp-warn-color1,#e65100)"
RED_BAR = "var(--jp-error-color2,#d9534f)"
BLUE_BAR = "var(--jp-brand-color1,#1565c0)"
GREY_BAR = "var(--jp-ui-font-color3,#9e9e9e)"


def span(style: str, text: str) -> str:
    """``text`` (already escaped) in a span with ``style``."""
    return f"<span style='{style}'>{text}</span>"


def _bar(share: float, color: str = RED_BAR) -> str:
    width = max(1, round(120 * share)) if share > 0 else 0
    return f"<div style='background:{color};height:8px;width:{width}px;display:inline-block'></div>"


def validation_html(report: ValidationReport) -> str:
    """The report as HTML: totals, a failing-run warning, and counts per column and rule."""
    total = len(report.frame)
    flagged = report.predicted_flagged_rows
    parts = [
        f"<div><b>{escape(report.template.name)}</b>: {counted(total, 'row')} &middot; "
        f"{span(GOOD, f'{total - flagged:,} valid')} &middot; "
        f"{span(BAD if flagged else GOOD, f'{flagged:,} flagged')}</div>"
    ]
    if report.missing_required:
        parts.append(
            f"<div style='{BAD}'><b>The run would fail:</b> required columns "
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
        parts.append(f"<div style='{MUTED}'>Not checked locally: {escape(names)}</div>")
    return "".join(parts)


def table(rows: list[str], headers: list[str]) -> str:
    """A table of ready ``<tr>`` rows under escaped ``headers``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _reconcile_counts(report: ReconcileReport, diff: bool) -> str:
    # A diff of two exports reports changes, not failures: removed/added in neutral colours.
    missing, extra = len(report.missing), len(report.extra)
    changed = f"{len(report.changed):,} changed cells in {counted(report.changed_rows, 'row')}"
    if diff:
        items = [
            f"{report.matched:,} in both",
            f"{missing:,} removed",
            f"{extra:,} added",
            changed,
        ]
    else:
        items = [
            span(GOOD, f"{report.matched:,} matched"),
            span(BAD if missing else GOOD, f"{missing:,} missing"),
            span(BAD if extra else GOOD, f"{extra:,} extra"),
            span(BAD if len(report.changed) else GOOD, changed),
        ]
    items.append(f"{report.hidden_cells:,} formatting differences hidden by normalization")
    return "<div>" + " &middot; ".join(items) + "</div>"


def reconcile_html(report: ReconcileReport, sample: int = 5) -> str:
    """The reconciliation as HTML: the headline numbers, reasons, counts per column with bars,
    then a few changed cells. A diff of two exports (``diff_exports``) says removed and added
    in neutral colours."""
    first, second = report.names
    diff = report.is_diff
    parts = [
        f"<div><b>{escape(first)}</b> {counted(report.rows[0], 'row')} &middot; "
        f"<b>{escape(second)}</b> {counted(report.rows[1], 'row')} &middot; matched by "
        f"{escape(report.matched_by)}</div>",
        _reconcile_counts(report, diff),
    ]
    # A diff gives only reasons that tell more than "removed" or "added" (an empty key, ...).
    for label, frame in zip(report.words, (report.missing, report.extra), strict=True):
        counts = report.reasons(frame)
        if counts:
            text = ", ".join(f"{escape(r)}: {n:,}" for r, n in counts.items())
            parts.append(f"<div>{label.capitalize()} by reason: {text}</div>")
    if len(report.by_column):
        compared = max(report.matched, 1)
        color = GREY_BAR if diff else RED_BAR
        rows = [
            f"<tr><td>{escape(str(column))}</td><td style='text-align:right'>{int(r['changed']):,}"
            f"</td><td>{_bar(int(r['changed']) / compared, color)}</td>"
            f"<td style='text-align:right'>{int(r['hidden by normalization']):,}</td>"
            f"<td style='text-align:right'>{r['match rate']:.1%}</td></tr>"
            for column, r in report.by_column.iterrows()
        ]
        parts.append(table(rows, ["column", "changed", "", "hidden", "match rate"]))
    if len(report.changed):
        shown = report.changed.head(sample)
        headers = [str(c) for c in shown.columns]
        rows = [
            "<tr>" + "".join(f"<td>{escape(_short(v))}</td>" for v in row) + "</tr>"
            for row in shown.itertuples(index=False)
        ]
        more = len(report.changed) - len(shown)
        parts.append(table(rows, headers))
        if more:
            parts.append(f"<div style='{MUTED}'>… {more:,} more in <code>.changed</code></div>")
    for note in report.notes:
        parts.append(f"<div style='{MUTED}'>{escape(note)}</div>")
    return "".join(parts)


def _short(value: object, limit: int = 60) -> str:
    text = "" if value is None or value != value else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


STATUS_COLORS = {
    "queued": "#616161",
    "running": "#1565c0",
    "needs_attention": "#e65100",
    "completed": "#2e7d32",
    "failed": "#c62828",
    "canceled": "#616161",
}


def badge(status: str) -> str:
    """A coloured status pill (white on a status colour reads in light and dark themes)."""
    color = STATUS_COLORS.get(status, "#424242")
    return (
        f"<span style='background:{color};color:white;border-radius:8px;padding:1px 8px;"
        f"font-size:90%'>{escape(status)}</span>"
    )


def report_html(report: Report, waiting: bool = False) -> str:
    """An import report: what ``inserted`` counts, in words, then rows per sheet."""
    total = max(report.inserted, 1)
    text = escape(report.headline(waiting))
    head = f"<div>{span(GOOD, text) if not report.flagged_rows else text}</div>"
    rows = [
        f"<tr><td>{escape(s.template_name)}</td><td style='text-align:right'>{s.row_count:,}</td>"
        f"<td>{_bar(s.row_count / total, BLUE_BAR)}</td></tr>"
        for s in report.per_sheet
    ]
    return head + (table(rows, ["sheet", "rows inserted", ""]) if rows else "")


def questions_html(run: Run) -> str:
    """A paused run's questions, options and suggested fix, and how to answer (a blocked
    Generation-2 agent run: its questions and options)."""
    attention = getattr(run, "needs_attention", None)
    if attention is None:
        return agent_questions_html(run)
    items = []
    for q in attention.questions:
        options = ", ".join(escape(o.label) for o in q.options)
        samples = q.samples_text()
        items.append(
            f"<li><b>{escape(q.prompt)}</b> <code>{escape(q.id)}</code><br>"
            f"<span style='{MUTED}'>{escape(q.context)}</span><br>"
            f"{escape(q.column or '')}: {counted(q.affected_rows, 'row')}"
            + (f", e.g. {escape(samples)}" if samples else "")
            + f"<br>Options: {options}"
            + (" (or a custom value)" if q.allow_custom else "")
            + "</li>"
        )
    parts = [f"<ul>{''.join(items)}</ul>"]
    if attention.proposed_patch is not None:
        parts.append(f"<div>Suggested fix: {escape(attention.proposed_patch.summary)}</div>")
    parts.append(
        f"<div style='{MUTED}'>Answer with <code>run.decide(accept=True)</code>, "
        "<code>run.decide(answers={...})</code> or <code>run.decide(reject=True)</code>, "
        "or review it in a widget with <code>migkit.notebook.review(run)</code></div>"
    )
    return "".join(parts)


def agent_questions_html(run: Any) -> str:
    """A blocked agent run's questions (Generation 2) and how to answer them."""
    questions = getattr(run, "questions", ()) or ()
    if not questions:
        return ""
    items = "".join(
        f"<li><b>{escape(q.prompt)}</b> <code>{escape(q.id)}</code><br>Options: "
        + ", ".join(escape(o.label) for o in q.options)
        + (" (or your own value)" if q.allow_custom else "")
        + "</li>"
        for q in questions
    )
    return (
        f"<ul>{items}</ul><div style='{MUTED}'>Answer with <code>run.answer({{...}})</code> "
        "or in a widget with <code>migkit.notebook.review(run)</code></div>"
    )


def questions_lines(run: Any) -> list[str]:
    """A paused run's questions as text: a Generation-1 run's own lines, else (a blocked
    agent run) each question with its options."""
    own = getattr(run, "questions_text", None)
    if callable(own):
        return list(own())
    from migkit.questions import question_lines

    lines = [line for q in getattr(run, "questions", ()) or () for line in question_lines(q)]
    return lines + (
        ["  Answer with run.answer({...}) or migkit.notebook.review(run)"] if lines else []
    )


def run_html(run: Run) -> str:
    """A run: status badge and message, then its report or its questions. A run this cell's
    progress panel already shows in this state gets one line pointing there (the report is
    shown once per cell)."""
    from migkit.notebook.cells import shown_here

    where = f" into {escape(run.label)}" if run.label else ""
    head = f"<div>Import run <code>{escape(run.id)}</code>{where} {badge(run.status)}"
    if shown_here(run):
        return head + f" <span style='{MUTED}'>(shown in the panel above)</span></div>"
    parts = [head]
    if run.progress_message:
        parts.append(f" &middot; {escape(run.progress_message)}")
    parts.append("</div>")
    if run.error:
        parts.append(f"<div style='{BAD}'>{escape(run.error)}</div>")
    if run.report is not None:
        parts.append(report_html(run.report, run.waiting))
    parts.append(questions_html(run))
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
    return head + (table(rows, ["sheet", "id"]) if rows else "")


def template_html(template: Template) -> str:
    """A template: its columns and their rules."""
    rows = []
    for c in template.columns:
        if c.pattern is not None:
            rule = f"matches <code>{escape(c.pattern)}</code>"
        elif c.allowed is not None:
            rule = "one of " + ", ".join(escape(v) for v in c.allowed)
        elif c.rule == "link":
            rule = f"links to {escape(c.link_target)}"
        else:
            rule = escape(c.rule)
        flags = ", ".join(f for f, on in (("required", c.required), ("unique", c.unique)) if on)
        rows.append(f"<tr><td>{escape(c.name)}</td><td>{flags}</td><td>{rule}</td></tr>")
    head = (
        f"<div><b>{escape(template.name)}</b> &middot; "
        f"{counted(len(template.columns), 'column')}</div>"
    )
    return head + table(rows, ["column", "", "rule"])
