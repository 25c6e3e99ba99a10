"""``migkit demo``: a whole migration in the terminal, against the embedded sandbox.

It reads the customer's messy workbook, validates it (what the server would flag, and why),
applies the suggested fixes it can make safely, imports Accounts then Contacts with progress,
answers the question the server asks, exports, reconciles, and ends with a summary in which
every source row is accounted for. Exit code 0 when the accounting holds.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from migkit.client import Client
from migkit.demo_session import demo_session, missing_workbook
from migkit.models import Run
from migkit.printable import counted
from migkit.progress import RunState, progress_enabled
from migkit.progress.state import outcome
from migkit.read import read
from migkit.reconcile import reconcile
from migkit.validation import ValidationReport, validate

WORKBOOK = "customer_workbook.xlsx"


def _title(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _validate(name: str, frame: pd.DataFrame, template: Any, **links: Any) -> ValidationReport:
    report = validate(frame, template, links=links or None)
    print(f"{name}: {counted(len(frame), 'row')}, {report.predicted_flagged_rows} would be flagged")
    if len(report.errors):
        print(_indent(report.summary().to_string(index=False)))
        first = report.errors.head(3)[["row", "column", "value", "message"]]
        first = first.assign(value=first["value"].fillna("(blank)"))  # never "NaN"
        print(_indent("e.g.\n" + first.to_string(index=False)))
    return report


def _fix(name: str, report: ValidationReport, skip_rules: tuple[str, ...] = ()) -> pd.DataFrame:
    fixes = report.suggest_fixes()
    chosen = fixes[~fixes["rule"].isin(skip_rules)] if len(fixes) else fixes
    fixed = report.apply(chosen)
    counts = chosen["action"].value_counts().to_dict() if len(chosen) else {}
    print(
        f"{name}: {counted(counts.get('set', 0), 'value')} corrected, "
        f"{counted(counts.get('drop', 0), 'row')} dropped"
        + (
            f" (left {', '.join(skip_rules)} fixes for the server to ask about)"
            if skip_rules
            else ""
        )
    )
    return fixed


def _wait(client: Client, run: Run, progress: bool) -> Run:
    # The progress display ends each run with one line saying how; without it, say it here.
    run = client.imports.wait(run, raise_on_failure=False)
    if not progress:
        print(f"{RunState(run.id, run.label).title}: {outcome(run)}")
    return run


def _finish(client: Client, run: Run, progress: bool) -> tuple[Run, Run | None]:
    """Wait for the run; answer a pause (its questions printed) by applying the suggested
    fix. Returns the final run and the paused one."""
    run = _wait(client, run, progress)
    paused = None
    if run.waiting:
        paused = run
        print("\n".join(run.questions_text()))
        print("-> answering: apply the suggested fix")
        run = _wait(client, client.imports.decide(run, accept=True), progress)
    return run, paused


def run_demo(step_seconds: float = 0.3, data: str | None = None, progress: bool = True) -> int:
    """Run the demo; returns the process exit code. ``progress=False`` (``--no-progress``)
    prints one line per run instead of live progress.

    >>> run_demo(step_seconds=0)  # doctest: +SKIP
    0
    """
    progress = progress and progress_enabled()
    missing = missing_workbook(WORKBOOK, data)
    if missing:
        print(f"migkit demo: {missing}")
        return 2
    with demo_session(WORKBOOK, step_seconds=step_seconds, data=data, progress=progress) as (
        path,
        _,
        client,
    ):
        return _story(client, path, progress)


def _story(client: Client, path: Path, progress: bool) -> int:
    """The Generation-1 story; the process exit code."""
    _title(f"1. Read {path.name}")
    sheets = read(path)
    for name, frame in sheets.items():
        print(f"{name}: {len(frame)} rows, columns {list(frame.columns)}")

    _title("2. Validate before upload")
    accounts, contacts = sheets["Accounts"], sheets["Contacts"]
    templates = {t.name: t for t in client.templates.list()}
    accounts_check = _validate("Accounts", accounts, templates["Accounts"])
    contacts_check = _validate(
        "Contacts", contacts, templates["Contacts"], Account=accounts["Company Name"]
    )

    _title("3. Apply suggested fixes")
    accounts_fixed = _fix("Accounts", accounts_check)
    contacts_fixed = _fix("Contacts", contacts_check, skip_rules=("allowed",))
    final_check = validate(
        contacts_fixed,
        templates["Contacts"],
        links={"Account": accounts_fixed["Company Name"]},
    )
    print(f"Contacts now: {final_check.predicted_flagged_rows} rows would be flagged")

    _title("4. Import Accounts, then Contacts")
    company = client.companies.create(
        "Acme Corp (demo)",
        "Spreadsheet",
        templates=["Accounts", "Contacts"],
        external_id=f"demo-{uuid.uuid4().hex[:12]}",
    )
    print(f"Company {company.name} ({company.id})")
    accounts_run, _ = _finish(
        client, client.imports.create(company, frame=accounts_fixed, sheet="Accounts"), progress
    )
    contacts_run, paused = _finish(
        client, client.imports.create(company, frame=contacts_fixed, sheet="Contacts"), progress
    )

    _title("5. Export and reconcile")
    exported = client.exports.frame(company, "Contacts")
    flagged = client.exports.frame(company, "Contacts", filter="flagged")
    print(f"Contacts export: {len(exported)} valid rows, {len(flagged)} flagged rows")
    report = reconcile(
        contacts_fixed,
        exported,
        key="Email",
        flagged=flagged,
        validation=final_check,
        patch=paused,
    )
    print(_indent(report.summary().to_string()))
    if len(report.changed):
        shown = report.changed[["Email", "column", "source", "export", "reason"]].head(5)
        print(_indent("changed cells, e.g.\n" + shown.to_string(index=False)))

    _title("Summary: every Contacts row accounted for")
    dropped = len(contacts) - len(contacts_fixed)
    reasons = report.missing["reason"].value_counts().to_dict()
    lines = [
        (f"rows in {path.name}", len(contacts)),
        ("dropped locally (missing a required value)", dropped),
        ("inserted (valid + flagged)", len(contacts_fixed)),
        ("exported as valid", report.matched),
        *[(f"not exported: {reason}", count) for reason, count in reasons.items()],
        ("cells changed by the accepted fix", len(report.changed)),
    ]
    for label, count in lines:
        print(f"  {label:<48} {count:>5}")
    accounted = dropped + report.matched + len(report.missing) == len(contacts)
    explained = "unknown" not in reasons and report.extra.empty
    ok = (
        accounts_run.status == "completed"
        and contacts_run.status == "completed"
        and accounted
        and explained
    )
    print(
        f"\n{client.requests_sent} API requests. "
        + ("Every row is accounted for." if ok else "Some rows are NOT accounted for: see above.")
    )
    return 0 if ok else 1
