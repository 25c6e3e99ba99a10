"""``migkit demo --generation 2``: an agent migration in the terminal, against the embedded
sandbox.

It uploads the customer's workbook (sheets named after no template) to a migration, lets the
agent generate a preview, answers the questions it asks, asks it about the preview, changes
the recipe in plain words, executes, exports, reconciles the source with the preview (what
the recipe changed, and why) and the preview with the export (every previewed row landed),
and ends with a summary in which every source row is accounted for. The agent's thread is
printed step by step. Exit code 0 when the accounting holds.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from migkit.client import Client
from migkit.demo_session import demo_session, missing_workbook
from migkit.preview_changes import preview_changes
from migkit.printable import counted
from migkit.progress.thread import event_line
from migkit.read import read
from migkit.reconcile import reconcile

WORKBOOK = "agent_workbook.xlsx"
ANSWERS = {"Tier": "Map them all to 'Gold'", "Status": "open", "Stage": "Keep them flagged"}
QUESTION = "Why are some contacts flagged?"
INSTRUCTION = "use Work Email for missing Email"


def _title(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


class ThreadPrinter:
    """Prints the thread's events written since the last call (the user level: messages,
    status, questions, previews, completions)."""

    def __init__(self, client: Client, migration: Any) -> None:
        self.client, self.migration, self.after = client, migration, 0

    def __call__(self) -> None:
        events = self.client.migrations.events(self.migration, after=self.after)
        for event in events:
            print("  " + event_line(event))
            self.after = max(self.after, event.sequence)

    def skip(self) -> None:
        """Mark every event so far as printed."""
        events = self.client.migrations.events(self.migration, after=self.after)
        self.after = max([self.after, *(e.sequence for e in events)])


def _answer(run: Any) -> dict[str, str]:
    """The demo's answers: one per question, by the column the question names."""
    answers = {}
    for q in run.questions:
        column = next((c for c in ANSWERS if f" {c} values" in q.prompt), None)
        if column is not None:
            answers[q.id] = ANSWERS[column]
            print(f"  -> answering {q.id} ({column}): {ANSWERS[column]}")
    return answers


def _generate(client: Client, path: Path) -> tuple[Any, ThreadPrinter, Any]:
    """Steps 2 and 3: the migration, the upload, the generate and its answers; the preview."""
    from migkit.cli.agent import preview_lines

    _title("2. Create a migration and upload the workbook")
    migration = client.migrations.create(
        "Acme Corp (agent demo)", external_id=f"demo-{uuid.uuid4().hex[:12]}"
    )
    (uploaded,) = client.migrations.upload(migration, [path])
    print(f"Migration {migration.name} ({migration.id}): {uploaded.name} uploaded")
    thread = ThreadPrinter(client, migration)

    _title("3. Generate: the agent reads the files, maps them, and asks")
    run = client.migrations.generate(migration).wait()
    thread()
    while run.waiting:
        run = run.answer(_answer(run)).wait()
        thread()
    preview = client.migrations.preview(migration)
    print(_indent("\n".join(preview_lines(preview))))
    return migration, thread, preview


def _change(client: Client, migration: Any, thread: ThreadPrinter, preview: Any) -> Any:
    """Step 4: a question about the preview, then a change in plain words; the new preview."""
    from migkit.cli.agent import preview_lines

    _title("4. Ask about the preview, then change it in plain words")
    print(f"  asked: {QUESTION}\n  agent: {client.migrations.clarify(migration, QUESTION)}")
    thread.skip()  # the clarify run's events: its answer is printed above
    client.migrations.update(migration, INSTRUCTION).wait()
    thread()
    changed = client.migrations.preview(migration)
    for slug, change in preview_changes(preview, changed).items():
        if change:
            print(f"  {changed.sheets[slug].name}: {change.text()}")
    print(_indent("\n".join(preview_lines(changed))))
    return changed


def _summary(source_rows: int, preview: Any, report: Any, recipe: Any, landed: Any) -> None:
    _title("Summary: every source row accounted for")
    lines = [
        (f"rows in {WORKBOOK} (Notes matches no template)", source_rows),
        ("previewed", preview.rows),
        ("inserted (valid + flagged)", report.inserted if report else 0),
        ("flagged (export them with filter='invalid')", report.flagged_rows if report else 0),
        ("contacts changed by the recipe (cells)", len(recipe.changed)),
        ("contacts exported as valid", landed.matched),
        ("contacts flagged, not in the valid export", len(landed.missing)),
    ]
    width = max(len(label) for label, _ in lines)
    for label, count in lines:
        print(f"  {label:<{width}} {count:>6,}")


def _story(client: Client, path: Path) -> bool:
    """The steps; True when every row is accounted for."""
    _title(f"1. Read {path.name}")
    sheets = read(path)
    for name, frame in sheets.items():
        print(f"{name}: {counted(len(frame), 'row')}, columns {list(frame.columns)}")
    migration, thread, preview = _generate(client, path)
    changed = _change(client, migration, thread, preview)

    _title("5. What the recipe changed, and why (source vs preview)")
    events = client.migrations.thread(migration, include="tools")
    recipe = reconcile(
        sheets["People"], changed, key="First Name", template="contacts", thread=events
    )
    shown = recipe.changed[["First Name", "column", "source", "preview", "reason"]]
    print(_indent(shown.to_string(index=False)))

    _title("6. Approve and execute, export, reconcile (preview vs export)")
    executed = client.migrations.execute(migration).wait(raise_on_failure=False)
    thread()
    report = executed.report
    print(f"  execute: {executed.status}" + (f": {report.headline()}" if report else ""))
    valid = client.migrations.export_frame(migration, "contacts")
    flagged = client.migrations.export_frame(migration, "contacts", filter="invalid")
    landed = reconcile(changed, valid, key="Email", template="contacts", flagged=flagged)
    print(_indent(landed.summary().to_string()))

    source_rows = sum(len(sheets[n]) for n in ("Companies", "People", "Opportunities"))
    _summary(source_rows, changed, report, recipe, landed)
    reasons = set(landed.missing["reason"]) if len(landed.missing) else set()
    return (
        executed.status == "completed"
        and source_rows == changed.rows == (report.inserted if report else -1)
        and recipe.missing.empty
        and landed.matched + len(landed.missing) == changed.sheets["contacts"].rows
        and reasons <= {"flagged by the server"}
    )


def run_agent_demo(
    step_seconds: float = 0.3, data: str | None = None, progress: bool = True
) -> int:
    """Run the Generation-2 demo; returns the process exit code.

    >>> run_agent_demo(step_seconds=0)  # doctest: +SKIP
    0
    """
    missing = missing_workbook(WORKBOOK, data)
    if missing:
        print(f"migkit demo: {missing}")
        return 2
    with demo_session(WORKBOOK, step_seconds=step_seconds, data=data, progress=progress) as (
        path,
        _,
        client,
    ):
        print("Its agent is a deterministic, rule-based stand-in for the real managed agent.")
        ok = _story(client, path)
        print(
            f"\n{client.requests_sent} API requests. "
            + (
                "Every row is accounted for."
                if ok
                else "Some rows are NOT accounted for: see above."
            )
        )
    return 0 if ok else 1
