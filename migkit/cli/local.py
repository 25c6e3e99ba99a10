"""Commands on files: ``validate``, ``reconcile``, ``diff``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from migkit.cli.common import (
    FAILED,
    OK,
    Exit,
    Output,
    add_api,
    add_output,
    client,
    command,
    read_one,
    table,
)
from migkit.printable import counted

EXAMPLES = {
    "validate": "example: migkit validate contacts.csv --template Contacts "
    "--link Accounts=accounts.csv --max-flagged 10",
    "reconcile": "example: migkit reconcile contacts.csv export.csv --key Email --normalize trim",
    "diff": "example: migkit diff march.csv april.csv --key Email --normalize trim,case",
}


def _templates(args: argparse.Namespace) -> list[Any]:
    from migkit.rules import Template, name_links

    if args.templates_file:
        raw = json.loads(Path(args.templates_file).read_text(encoding="utf-8"))
        return name_links([Template.from_api(t) for t in raw.get("templates", raw)])
    return list(client(args).templates.list())


def _pick(templates: list[Any], name: str, where: str) -> Any:
    for template in templates:
        if name in (template.name, template.id) or template.name.casefold() == name.casefold():
            return template
    raise Exit(2, f"no template {name!r} in {where}; templates: {[t.name for t in templates]}")


def add_validate(sub: Any) -> None:
    p = command(
        sub,
        "validate",
        "predict what an import of a file will flag",
        EXAMPLES["validate"],
        "Validate a file against a template's rules locally (nothing is uploaded).",
    )
    p.add_argument("file", help="CSV, TSV, XLSX/XLS or JSON file")
    p.add_argument("--template", required=True, help="template name or id, e.g. Contacts")
    p.add_argument("--sheet", help="the workbook sheet to read (workbooks with several sheets)")
    p.add_argument(
        "--link",
        action="append",
        default=[],
        metavar="TEMPLATE=FILE",
        help="a file holding the rows a link column points to, e.g. Accounts=accounts.csv",
    )
    p.add_argument(
        "--max-flagged",
        type=int,
        default=0,
        help="exit 1 when more rows than this would be flagged (default 0)",
    )
    p.add_argument("--errors", metavar="CSV", help="write every problem (one row per cell) here")
    p.add_argument(
        "--errors-raw",
        action="store_true",
        help="write --errors values exactly as found; by default a value a spreadsheet would "
        "run as a formula (=, +, -, @ ...) gets a leading ' so opening the CSV is safe",
    )
    p.add_argument(
        "--templates-file",
        help="read templates from this JSON file (GET /templates' body) instead of the API",
    )
    add_output(p)
    add_api(p)
    p.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from migkit.validation import validate

    frame = read_one(args.file, args.sheet)
    templates = _templates(args)
    where = args.templates_file or "the account"
    template = _pick(templates, args.template, where)
    links: dict[str, Any] = {}
    for item in args.link:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise Exit(2, f"--link {item!r}: write it as TEMPLATE=FILE, e.g. Accounts=accounts.csv")
        columns = [c for c in template.columns if c.rule == "link" and c.name == name]
        if not columns:  # a template name: every link column pointing at it
            target = _pick(templates, name, where)
            columns = [
                c
                for c in template.columns
                if c.rule == "link" and any(link.template == target.id for link in c.links)
            ]
        if not columns:
            raise Exit(2, f"--link {item!r}: no column of {template.name} links to {name}")
        linked = read_one(path)
        links.update({c.name: linked for c in columns})
    report = validate(frame, template, links=links or None)
    if args.errors:
        from migkit.safe_write import write_people_csv

        write_people_csv(report.errors, args.errors, guard=not args.errors_raw)
    flagged = report.predicted_flagged_rows
    data = {
        "file": args.file,
        "template": report.template.name,
        "rows": len(frame),
        "valid": len(report.valid_rows),
        "flagged": flagged,
        "missing_required": report.missing_required,
        "summary": report.summary(),
        "errors": report.errors.head(1000),
    }

    def text() -> str:
        lines = [repr(report)]
        if len(report.errors):
            lines += ["", table(report.errors.drop(columns=["message"]))]
        return "\n".join(lines)

    Output(args.json).emit(data, text)
    return FAILED if flagged > args.max_flagged or report.missing_required else OK


def _compare_parser(sub: Any, name: str, help_text: str, first: str, second: str) -> Any:
    p = command(sub, name, help_text, EXAMPLES[name])
    p.add_argument(first, help="CSV, TSV, XLSX/XLS or JSON file")
    p.add_argument(second, help="CSV, TSV, XLSX/XLS or JSON file")
    p.add_argument(
        "--key",
        action="append",
        default=[],
        help="key column (repeat for several); without one, whole rows are matched",
    )
    p.add_argument(
        "--normalize",
        default="",
        help="formatting that is not a change: trim, case, or both (trim,case)",
    )
    p.add_argument("--tolerance", type=float, help="numbers this close are equal")
    p.add_argument("--excel", metavar="XLSX", help="also write the full report to this workbook")
    add_output(p)
    return p


def add_reconcile(sub: Any) -> None:
    p = _compare_parser(
        sub, "reconcile", "account for every source row in an export", "source", "export"
    )
    p.set_defaults(run=run_compare, names=("source", "export"))


def add_diff(sub: Any) -> None:
    p = _compare_parser(
        sub, "diff", "added, removed and changed rows between two exports", "old", "new"
    )
    p.set_defaults(run=run_compare, names=("old", "new"))


def run_compare(args: argparse.Namespace) -> int:
    from migkit.reconcile import Normalize, diff_exports, reconcile

    first, second = args.names
    left, right = read_one(getattr(args, first)), read_one(getattr(args, second))
    flags = [f.strip() for f in args.normalize.split(",") if f.strip()]
    how = Normalize.of(flags)
    if args.tolerance is not None:
        how = Normalize(trim=how.trim, ignore_case=how.ignore_case, tolerance=args.tolerance)
    key = args.key or None
    compare = reconcile if first == "source" else diff_exports
    report = compare(left, right, key, normalize=how)
    if args.excel:
        report.to_excel(args.excel)
    data = {
        "matched_by": report.matched_by,
        "rows": {first: report.rows[0], second: report.rows[1]},
        "matched": report.matched,
        "missing" if first == "source" else "removed": report.missing,
        "extra" if first == "source" else "added": report.extra,
        "changed": report.changed,
        "changed_rows": report.changed_rows,
        "hidden_by_normalization": report.hidden_cells,
        "by_column": report.by_column,
        "notes": list(report.notes),
    }

    def text() -> str:
        lines = [_headline(report), "", _summary(report).to_string()]
        labels = ("missing", "extra") if first == "source" else ("removed", "added")
        for label, frame in zip(labels, (report.missing, report.extra), strict=True):
            if len(frame):
                if _is_diff(report):  # nothing to explain: drop the reason columns
                    frame = frame.drop(columns=["reason", "detail"], errors="ignore")
                lines += ["", f"{label}:", table(frame)]
        if len(report.changed):
            lines += ["", "changed cells:", table(report.changed)]
        lines += [f"note: {n}" for n in report.notes]
        return "\n".join(lines)

    Output(args.json).emit(data, text)
    return OK if report.ok else FAILED


def _is_diff(report: Any) -> bool:
    return tuple(report.names) == ("old", "new")


def _headline(report: Any) -> str:
    """The report's one-line account; a diff of two exports says removed and added."""
    if not _is_diff(report):
        return repr(report)
    return (
        f"diff by {report.matched_by}: old {report.rows[0]:,} rows, new {report.rows[1]:,} "
        f"rows, {report.matched:,} in both, {len(report.removed):,} removed, "
        f"{len(report.added):,} added, {len(report.changed):,} changed cells in "
        f"{counted(report.changed_rows, 'row')}"
    )


def _summary(report: Any) -> Any:
    """The report's counts; a diff's say removed/added, without reasons (a row of a diff is
    removed or added, there is nothing to explain)."""
    summary = report.summary()
    if not _is_diff(report):
        return summary
    kept = summary[~summary.index.str.startswith(("missing:", "extra:"))]
    return kept.rename(index={"missing": "removed", "extra": "added"})
