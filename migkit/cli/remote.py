"""Commands that call the API: ``templates``, ``import``, ``watch``, ``decide``, ``export``,
``recover``."""

from __future__ import annotations

import argparse
import sys
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
    progress,
    read_one,
    table,
)
from migkit.printable import counted, printable

EXAMPLES = {
    "templates": "example: migkit templates --json",
    "import": "example: migkit import contacts.csv --company acme-001 --wait --max-flagged 5",
    "watch": "example: migkit watch 3f0c9a2e-... --company acme-001",
    "decide": "example: migkit decide 3f0c9a2e-... --answer fq0=\"Map all to 'Open'\" --wait",
    "export": "example: migkit export --company acme-001 --sheet Contacts -o contacts.csv",
    "recover": "example: migkit recover --json",
}


def _parser(sub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    p = command(sub, name, help_text, EXAMPLES[name])
    add_output(p)
    add_api(p)
    return p


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN", help="the run id")
    p.add_argument("--company", help="company id or external id (not needed for runs started here)")


def _add_gate(p: argparse.ArgumentParser, wait_help: str) -> None:
    p.add_argument("--wait", action="store_true", help=wait_help)
    p.add_argument(
        "--max-flagged",
        type=int,
        default=None,
        help="with --wait: exit 1 above this many flagged rows",
    )


def _company(api: Any, name: str, create: str | None = None) -> Any:
    """A company by id or external id; ``create`` (a source) makes it when it is not found."""
    from migkit.errors import NotFound
    from migkit.resources._base import looks_like_id

    if looks_like_id(name):
        try:
            return api.companies.get(name)
        except NotFound:
            pass
    found = api.companies.find(name)
    if found is not None:
        return found
    if create:
        return api.companies.create(name, create, external_id=name)
    raise Exit(
        2,
        f"no company with id or external id {name!r}; pass --create SOURCE to create it, "
        "e.g. --create Spreadsheet",
    )


def _run_data(run: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"run_id": run.id, "company_id": run.company_id, "status": run.status}
    if run.progress_message:
        data["progress_message"] = run.progress_message
    if run.error:
        data["error"] = run.error
    if run.report is not None:
        data["report"] = {
            "inserted": run.report.inserted,
            "flagged_rows": run.report.flagged_rows,
            "headline": run.report.headline(run.waiting),  # what "inserted" counts, in words
            "per_sheet": {s.template_name: s.row_count for s in run.report.per_sheet},
        }
    if run.needs_attention is not None:
        data["needs_attention"] = run.raw.get("needs_attention")
    if run.questions:
        data["questions"] = run.raw.get("questions")
    return data


def _run_exit(run: Any, max_flagged: int | None) -> int:
    if run.status == "failed" or run.waiting or not run.known:
        return FAILED
    if max_flagged is not None and run.report is not None and run.report.flagged_rows > max_flagged:
        return FAILED
    return OK


def _show_run(args: argparse.Namespace, run: Any) -> int:
    hint = ""
    if run.status == "needs_attention":
        hint = f"\nanswer with: migkit decide {run.id} --accept | --reject | --answer ID=VALUE"
    elif run.waiting:
        hint = f"\nanswer in Python with client.imports.answer({run.id!r}, answers=...)"
    Output(args.json).emit(_run_data(run), lambda: str(run) + hint)
    return _run_exit(run, getattr(args, "max_flagged", None))


def add_templates(sub: Any) -> None:
    p = _parser(sub, "templates", "list the account's templates and their column rules")
    p.set_defaults(run=run_templates)


def run_templates(args: argparse.Namespace) -> int:
    templates = client(args).templates.list()
    data = {"templates": [dict(t.raw) for t in templates]}

    def text() -> str:
        lines = []
        for t in templates:
            lines.append(f"{printable(t.name)} ({printable(t.id)})")
            for c in t.columns:
                rule = (
                    f"matches {c.pattern}"
                    if c.pattern
                    else f"one of {', '.join(c.allowed)}"
                    if c.allowed
                    else f"links to {c.link_target}"
                    if c.rule == "link"
                    else c.rule
                )
                flags = " ".join(
                    f for f, on in (("required", c.required), ("unique", c.unique)) if on
                )
                lines.append(f"  {printable(c.name):<20} {flags:<16} {printable(rule)}")
        return "\n".join(lines)

    Output(args.json).emit(data, text)
    return OK


def add_import(sub: Any) -> None:
    p = _parser(sub, "import", "import files into a company's sheets")
    p.add_argument("files", nargs="+", metavar="FILE", help="files; names pick the sheets")
    p.add_argument("--company", required=True, help="company id or external id")
    p.add_argument(
        "--create", metavar="SOURCE", help="create the company (external id = --company) if missing"
    )
    p.add_argument("--sheet", help="import the file's rows into this sheet (one file)")
    _add_gate(p, "watch the run until it ends")
    p.set_defaults(run=run_import)


def run_import(args: argparse.Namespace) -> int:
    api = client(args)
    company = _company(api, args.company, args.create)
    if args.sheet:
        if len(args.files) != 1:
            raise Exit(2, "--sheet takes one file; import several files without it")
        frame = read_one(args.files[0], hint="import it without --sheet")
        run = api.imports.create(company, frame=frame, sheet=args.sheet)
    else:
        run = api.imports.create(company, files=args.files)
    if args.wait:
        run = api.imports.wait(run, raise_on_failure=False, on_progress=progress(args))
    return _show_run(args, run)


def add_watch(sub: Any) -> None:
    p = _parser(sub, "watch", "watch an import run until it ends or waits for a decision")
    _add_run(p)
    p.add_argument("--timeout", type=float, help="give up watching after this many seconds")
    p.add_argument(
        "--max-flagged", type=int, default=None, help="exit 1 above this many flagged rows"
    )
    p.set_defaults(run=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    api = client(args)
    company = _company(api, args.company) if args.company else None
    run = api.imports.wait(
        args.run_id,
        company,
        timeout=args.timeout,
        raise_on_failure=False,
        on_progress=progress(args),
    )
    return _show_run(args, run)


def add_decide(sub: Any) -> None:
    p = _parser(sub, "decide", "answer an import run that waits for a decision")
    _add_run(p)
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--accept", action="store_true", help="apply the proposed patch")
    choice.add_argument(
        "--reject", action="store_true", help="keep valid rows, leave the rest flagged"
    )
    choice.add_argument(
        "--answer",
        action="append",
        metavar="ID=VALUE",
        help="answer question ID with an option's label or your own value (repeat)",
    )
    _add_gate(p, "watch the re-run until it ends")
    p.set_defaults(run=run_decide)


def run_decide(args: argparse.Namespace) -> int:
    api = client(args)
    answers = None
    if args.answer:
        answers = {}
        for item in args.answer:
            qid, sep, value = item.partition("=")
            if not sep or not qid:
                raise Exit(2, f"--answer {item!r}: write it as ID=VALUE, e.g. fq0=Open")
            answers[qid] = value
    company = _company(api, args.company) if args.company else None
    run = api.imports.decide(
        args.run_id, company, accept=args.accept, reject=args.reject, answers=answers
    )
    if args.wait:
        run = api.imports.wait(run, raise_on_failure=False, on_progress=progress(args))
    return _show_run(args, run)


def add_export(sub: Any) -> None:
    p = _parser(sub, "export", "download a sheet's export")
    p.add_argument("--company", required=True, help="company id or external id")
    p.add_argument("--sheet", required=True, help="sheet name or id")
    p.add_argument(
        "--filter",
        default="valid",
        choices=["valid", "all", "flagged"],
        help="rows (default valid)",
    )
    p.add_argument("-o", "--output", required=True, help="CSV file to write ('-' for stdout)")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    api = client(args)
    company = _company(api, args.company)
    frame = api.exports.frame(company, args.sheet, filter=args.filter)
    if args.output == "-":
        frame.to_csv(sys.stdout, index=False)
        return OK
    frame.to_csv(args.output, index=False)
    data = {
        "file": args.output,
        "rows": len(frame),
        "columns": list(frame.columns),
        "filter": args.filter,
    }
    Output(args.json).emit(
        data, lambda: f"wrote {counted(len(frame), args.filter + ' row')} to {args.output}"
    )
    return OK


def add_recover(sub: Any) -> None:
    p = _parser(sub, "recover", "list unfinished imports this machine started (after a crash)")
    p.set_defaults(run=run_recover)


def run_recover(args: argparse.Namespace) -> int:
    runs = client(args).imports.recover()
    data = {"runs": [_run_data(r) for r in runs]}

    def text() -> str:
        if not runs:
            return "no unfinished imports"
        import pandas as pd

        rows = pd.DataFrame(
            [{"run": r.id, "company": r.company_id, "status": r.status} for r in runs]
        )
        return table(rows) + "\nwatch one with: migkit watch RUN"

    Output(args.json).emit(data, text)
    return OK
