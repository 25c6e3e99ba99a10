"""``migkit demo``: one migration end to end against the embedded sandbox, with the client.

It provisions a company, uploads ``accounts.csv`` and ``contacts.csv`` through the signed-upload
handshake, imports each, follows the run (printing every status), accepts Vern's proposed fix
when rows need attention, downloads ``export.csv`` and prints the report.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from pathlib import Path

from migkit.client import Client
from migkit.models import Company, Run
from migkit.polling import PollEvent, PollSchedule

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


class StatusPrinter:
    """A progress hook printing each new status and progress message once."""

    def __init__(self) -> None:
        self._last: tuple[str, str | None] | None = None

    def __call__(self, event: PollEvent[Run]) -> None:
        shown = (event.run.status, event.run.progress_message)
        if shown != self._last:
            message = f" - {shown[1]}" if shown[1] else ""
            print(f"  status: {shown[0]}{message}")
            self._last = shown


def _report(run: Run) -> None:
    if run.report is None:
        return
    sheets = ", ".join(f"{s.template_name} {s.row_count}" for s in run.report.per_sheet)
    print(
        f"  report: inserted {run.report.inserted} ({sheets}); "
        f"flagged rows {run.report.flagged_rows}"
    )


def _accept(client: Client, run: Run) -> None:
    _report(run)
    assert run.needs_attention is not None
    for question in run.needs_attention.questions:
        print(f"  question {question.id}: {question.prompt}")
        samples = f" For example: {list(question.sample_values)}" if question.sample_values else ""
        print(f"    {question.context}{samples}")
    if run.needs_attention.proposed_patch is not None:
        print(f"  proposed fix: {run.needs_attention.proposed_patch.summary}")
    print("  -> accepting the proposed fix")
    client.imports.decide(run, accept=True)


def _import(client: Client, company: Company, path: Path) -> Run:
    print(f"\nImporting {path.name}")
    run = client.imports.create(company, files=[path])
    print(f"  run {run.id} (idempotency key {run.idempotency_key})")
    printer = StatusPrinter()
    run = client.imports.wait(
        run,
        on_progress=printer,
        raise_on_failure=False,
        on_attention=lambda waiting: _accept(client, waiting),
    )
    if run.status == "completed":
        _report(run)
    else:
        print(f"  run ended {run.status}: {run.error or ''}")
    return run


def _export(client: Client, company: Company, sheet: str) -> None:
    for filter_ in ("valid", "all"):
        with client.exports.csv(company, sheet, filter=filter_) as stream:
            body = b"".join(stream.iter_bytes())
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        print(
            f"  {sheet} export.csv?filter={filter_}: {len(rows) - 1} rows "
            f"(X-Total-Records {stream.total_records})"
        )
        if filter_ == "valid":
            for row in rows[:4]:
                print("    " + " | ".join(row))


def run_demo(step_seconds: float = 0.3, data: str | None = None) -> int:
    """Run the demo; returns the process exit code (0 when every import completed).

    >>> run_demo(step_seconds=0)  # doctest: +SKIP
    0
    """
    import migkit.sandbox  # the demo's embedded server; the client itself never imports it

    folder = Path(data) if data else SAMPLE_DATA
    files = [folder / "accounts.csv", folder / "contacts.csv"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(
            f"migkit demo: sample files not found: {', '.join(missing)}; "
            "pass --data FOLDER holding accounts.csv and contacts.csv"
        )
        return 2
    poll = PollSchedule(first=max(0.1, step_seconds), growth=0.05, cap=2.0)
    with (
        migkit.sandbox.start(step_seconds=step_seconds) as sb,
        tempfile.TemporaryDirectory(prefix="migkit-demo-") as tmp,
        Client(
            sb.api_key, sb.base_url, ledger=Path(tmp) / "ledger.db", poll=poll, progress=False
        ) as client,
    ):
        print(f"Sandbox running at {sb.base_url}")
        source = client.sources.list()[0]
        company = client.companies.create(
            "Acme Corp (demo)", source.name, external_id=f"demo-{uuid.uuid4().hex[:12]}"
        )
        print(
            f"Provisioned company {company.id} from source {source.name!r} with sheets "
            + ", ".join(s.name for s in company.sheets)
        )
        results = [_import(client, company, f) for f in files]
        print("\nExports")
        for sheet in ("Accounts", "Contacts"):
            _export(client, company, sheet)
        print(f"\n{client.requests_sent} API requests in all.")
    ok = all(r.status == "completed" for r in results)
    print(
        "\nDemo finished: " + ("every import completed." if ok else "an import did not complete.")
    )
    return 0 if ok else 1
