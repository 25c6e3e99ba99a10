"""The sandbox's managed agent: a deterministic, rule-based stand-in for Vern's AI agent.

Nothing here is intelligent. Each run kind follows fixed rules (see ``docs/sandbox-agent.md``):

- ``generate`` reads every file and the live source, routes each table to a template with
  Generation 1's matching and header healing, fixes allowed values that differ only in case
  or spacing, and asks one question per column with other bad allowed values (``blocked``);
  otherwise it publishes a preview (``awaiting_approval``).
- ``update`` applies the instruction grammar to the recipe and publishes a new preview; an
  instruction it cannot read blocks the run with an open question and changes nothing.
- ``clarify`` answers with the preview's counts and mapping, and changes nothing.
- ``execute`` inserts the approved preview's rows, valid ones clean and the others flagged.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from migkit.sandbox import agent_answers as answers
from migkit.sandbox import agent_inputs, import_pass, preview, questions
from migkit.sandbox.agent_worker import Busy, Context
from migkit.sandbox.connector import CONNECTORS
from migkit.sandbox.recipe import Recipe, build
from migkit.sandbox.sheets import Sheet, company_sheets
from migkit.sandbox.store import dumps

MAX_ATTEMPTS = 5
WAITING = "Waiting to start"
Event = tuple[str, dict[str, Any]]


def process(ctx: Context) -> None:
    """Work on one claimed run until it rests (blocked, awaiting approval) or ends."""
    run = ctx.run
    if run["message"] == WAITING:
        ctx.events([("task", {"task_id": f"{run['id']}:{run['kind']}", "title": _title(run)})])
    sheets = company_sheets(ctx.store, run["migration_id"])
    while True:
        try:
            {"generate": _generate, "update": _update, "clarify": _clarify, "execute": _execute}[
                run["kind"]
            ](ctx, sheets)
            return
        except Busy:  # an answer arrived while finishing: read it too
            fresh = ctx.store.one("SELECT * FROM migration_runs WHERE id = ?", run["id"])
            assert fresh is not None, "runs are never deleted"
            ctx.run = dict(fresh)


def _title(run: dict[str, Any]) -> str:
    return {
        "generate": "Write a recipe from your files and show a preview",
        "update": "Change the recipe as you asked and show a new preview",
        "clarify": "Answer your question about the preview",
        "execute": "Import the approved preview",
    }[run["kind"]]


def _migration(ctx: Context) -> sqlite3.Row:
    row = ctx.store.one("SELECT * FROM migrations WHERE id = ?", ctx.run["migration_id"])
    assert row is not None, "a run's migration is never deleted"
    return row


def _recipe(value: str | None) -> Recipe | None:
    return json.loads(value) if value else None


# -- generate -------------------------------------------------------------------------------
def _generate(ctx: Context, sheets: list[Sheet]) -> None:
    draft = _recipe(ctx.run["draft_json"])
    if draft is None:
        draft = _first_pass(ctx, sheets)
        if draft is None:
            return  # blocked on credentials, or failed
    ctx.step("Checking values")
    _settle(ctx, sheets, draft, ask_about_values=True)


def _first_pass(ctx: Context, sheets: list[Sheet]) -> Recipe | None:
    mid = ctx.run["migration_id"]
    ctx.step("Reading your files")
    tables, events = agent_inputs.read_files(ctx.store, mid)
    conn = agent_inputs.connection(ctx.store, mid)
    if conn is not None and not agent_inputs.creds_configured(conn):
        _block_for_credentials(ctx, conn, events)
        return None
    if conn is not None:
        extracted, more, snapshot = agent_inputs.extract(ctx.store, conn)
        tables.extend(extracted)
        events.extend(more)
        with ctx.transaction() as db:
            agent_inputs.record_sync(db, conn, snapshot)
    ctx.step("Matching files to templates", events)
    draft, events = agent_inputs.match(tables, sheets)
    if not any(i["template"] for i in draft["inputs"]):
        what = "could be read" if not tables else "matches any template"
        _fail(ctx, f"None of the uploaded files or source streams {what}; see the thread", events)
        return None
    ctx.step("Mapping columns", events)
    draft = agent_inputs.fold_steps(ctx.store, draft, sheets)
    with ctx.transaction() as db:
        db.execute(
            "UPDATE migration_runs SET draft_json = ? WHERE id = ?", (dumps(draft), ctx.run["id"])
        )
        ctx.emit(db, "prepared", {"recipe": draft})
    return draft


def _block_for_credentials(ctx: Context, conn: sqlite3.Row, events: list[Event]) -> None:
    request = CONNECTORS[conn["source_key"]].credential_request(conn["id"])
    with ctx.transaction() as db:
        db.execute(
            "UPDATE migration_runs SET status = 'blocked', message = NULL, credential_json = ?"
            " WHERE id = ?",
            (dumps(request), ctx.run["id"]),
        )
        for event in events:
            ctx.emit(db, *event)
        ctx.emit(
            db,
            "request_input",
            {"blocked_reason": "credentials", "credential_request": request},
        )


# -- answers, questions and the preview -----------------------------------------------------
def _settle(ctx: Context, sheets: list[Sheet], draft: Recipe, *, ask_about_values: bool) -> None:
    """Apply what is pending, then block with questions or publish the preview."""
    pending = ctx.pending()
    draft, reasons, rejected, events = answers.apply_pending(ctx, sheets, draft, pending)
    events = answers.counted(ctx.store, sheets, draft, events)
    ambiguous = []
    if ask_about_values:
        ambiguous = questions.ambiguities(build(ctx.store, draft, sheets), sheets, draft)
    if ambiguous or reasons:
        previous = json.loads(ctx.run["questions_json"] or "null")
        if previous is not None:
            previous["private"] = {
                q: p for q, p in previous["private"].items() if q not in rejected
            }
        asked = questions.ask(ambiguous, previous, reasons)
        _block(ctx, draft, asked, events, consumed=len(pending))
        return
    ctx.step("Building the preview", events)
    _publish(ctx, sheets, draft, consumed=len(pending))


def _block(
    ctx: Context, draft: Recipe, asked: dict[str, Any], events: list[Event], consumed: int
) -> None:
    count = len(asked["public"])
    text = f"I have {count} question{'' if count == 1 else 's'} before I can show a preview."
    with ctx.transaction(consumed) as db:
        db.execute(
            "UPDATE migration_runs SET status = 'blocked', message = NULL, draft_json = ?,"
            " questions_json = ?, pending_json = '[]' WHERE id = ?",
            (dumps(draft), dumps(asked), ctx.run["id"]),
        )
        for event in events:
            ctx.emit(db, *event)
        ctx.emit(db, "message", {"role": "agent", "text": text})
        ctx.emit(db, "request_input", {"questions": asked["public"]})


def _publish(ctx: Context, sheets: list[Sheet], draft: Recipe, consumed: int) -> None:
    checked = preview.check_recipe(ctx.store, sheets, draft)
    body = preview.preview_body(sheets, checked)
    counts = preview.summary(checked)
    stored = {"body": body, "summary": counts}
    text = "Preview ready: " + "; ".join(
        f"{c['template']} {c['rows']} rows, {c['flagged_rows']} flagged" for c in counts
    )
    with ctx.transaction(consumed) as db:
        db.execute(
            "UPDATE migrations SET recipe_json = ?, preview_json = ?, preview_recipe_json = ?,"
            " preview_version = preview_version + 1 WHERE id = ?",
            (dumps(draft), dumps(stored), dumps(draft), ctx.run["migration_id"]),
        )
        db.execute(
            "UPDATE migration_runs SET status = 'awaiting_approval', message = NULL,"
            " draft_json = NULL, questions_json = NULL, pending_json = '[]' WHERE id = ?",
            (ctx.run["id"],),
        )
        ctx.emit(db, "preview", {"templates": counts})
        ctx.emit(db, "message", {"role": "agent", "text": text})
        ctx.emit(db, "completed", {"status": "awaiting_approval"})


# -- update, clarify, execute ---------------------------------------------------------------
def _update(ctx: Context, sheets: list[Sheet]) -> None:
    draft = _recipe(ctx.run["draft_json"])
    if draft is None:
        ctx.step("Reading your instruction")
        base = _recipe(_migration(ctx)["recipe_json"])
        assert base is not None, "update starts only once a preview exists"
        message = json.loads(ctx.run["request_json"])["message"]
        reasons: list[str] = []
        events: list[Event] = []
        draft = answers.instruct(sheets, base, message, reasons, events)
        if reasons:
            _block(ctx, base, questions.ask([], None, reasons), events, consumed=0)
            return
        with ctx.transaction() as db:  # a restart resumes from the changed recipe
            db.execute(
                "UPDATE migration_runs SET draft_json = ? WHERE id = ?",
                (dumps(draft), ctx.run["id"]),
            )
        ctx.step("Changing the recipe", answers.counted(ctx.store, sheets, draft, events))
    _settle(ctx, sheets, draft, ask_about_values=False)


def _clarify(ctx: Context, sheets: list[Sheet]) -> None:
    ctx.step("Looking at the preview")
    migration = _migration(ctx)
    counts = json.loads(migration["preview_json"])["summary"]
    recipe = json.loads(migration["preview_recipe_json"])
    question = json.loads(ctx.run["request_json"])["message"]
    lines = []
    for item in counts:
        cells = ", ".join(f"{c} {n}" for c, n in item["invalid_cells"].items()) or "none"
        lines.append(
            f"{item['template']}: {item['rows']} rows, {item['flagged_rows']} flagged; "
            f"invalid cells per column: {cells}"
        )
    mapping = [
        {"file": i["file"], "sheet": i["part"], "template": i["template"], "mapping": i["mapping"]}
        for i in recipe["inputs"]
    ]
    for entry in mapping:
        pairs = ", ".join(f"{h} → {c}" for h, c in entry["mapping"].items())
        lines.append(
            f"{entry['file']} ({entry['sheet']}) → {entry['template'] or 'no template'}: {pairs}"
        )
    text = (
        f'You asked: "{question}". The current preview: '
        + "; ".join(lines)
        + ". Nothing was changed."
    )
    pending = ctx.pending()
    corrected = _corrections(ctx, sheets, migration, pending)
    with ctx.transaction(len(pending)) as db:
        _save_corrections(ctx, db, corrected)
        db.execute(
            "UPDATE migration_runs SET status = 'completed', message = NULL, pending_json = '[]'"
            " WHERE id = ?",
            (ctx.run["id"],),
        )
        ctx.emit(
            db, "message", {"role": "agent", "text": text, "templates": counts, "mapping": mapping}
        )
        ctx.emit(db, "completed", {"status": "completed"})


def _corrections(
    ctx: Context, sheets: list[Sheet], migration: sqlite3.Row, pending: list[dict[str, Any]]
) -> tuple[Recipe | None, list[Event]]:
    """Corrections sent while a clarify or execute ran change the working recipe (the next
    update starts from it); the preview being executed does not change. Built before the
    finishing transaction, so no file is read while the database is locked."""
    texts = [p["text"] for p in pending if p["type"] == "text"]
    if not texts:
        return None, []
    recipe = json.loads(migration["recipe_json"])
    reasons: list[str] = []
    events: list[Event] = []
    for text in texts:
        recipe = answers.instruct(sheets, recipe, text, reasons, events)
    return recipe, answers.counted(ctx.store, sheets, recipe, events)


def _save_corrections(
    ctx: Context, db: sqlite3.Connection, corrected: tuple[Recipe | None, list[Event]]
) -> None:
    recipe, events = corrected
    if recipe is not None:
        db.execute(
            "UPDATE migrations SET recipe_json = ? WHERE id = ?",
            (dumps(recipe), ctx.run["migration_id"]),
        )
    for event in events:
        ctx.emit(db, *event)


def _execute(ctx: Context, sheets: list[Sheet]) -> None:
    fault = ctx.run["fault"]
    if fault in ("retry", "fail"):
        for attempt in range(2, (MAX_ATTEMPTS if fault == "fail" else 3) + 1):
            ctx.step(f"Retrying (attempt {attempt} of {MAX_ATTEMPTS})")
        if fault == "fail":
            _fail(
                ctx,
                f"The import failed after {MAX_ATTEMPTS} attempts (sandbox run_fail fault); "
                "nothing was inserted; start execute again",
                [],
            )
            return
    migration = _migration(ctx)
    ctx.step("Preparing the approved preview")
    recipe = json.loads(migration["preview_recipe_json"])
    checked = preview.check_recipe(ctx.store, sheets, recipe, run_id=ctx.run["id"])
    rows, report = preview.records(checked, ctx.run["id"])
    ctx.step("Inserting rows", [("prepared", {"rows": {c.slug: len(c.frame) for c in checked}})])
    pending = ctx.pending()
    text = (
        f"Imported {report['inserted']} rows; {report['invalidCellCount']} of them are flagged "
        "(export them with ?filter=invalid)."
    )
    corrected = _corrections(ctx, sheets, migration, pending)
    with ctx.transaction(len(pending)) as db:
        import_pass.replace_rows(db, ctx.run["id"], rows)
        _save_corrections(ctx, db, corrected)
        db.execute(
            "UPDATE migration_runs SET status = 'completed', message = NULL, report_json = ?,"
            " pending_json = '[]' WHERE id = ?",
            (dumps(report), ctx.run["id"]),
        )
        db.execute(
            "UPDATE migrations SET executed_version = ?, executed_run_id = ? WHERE id = ?",
            (migration["preview_version"], ctx.run["id"], migration["id"]),
        )
        ctx.emit(db, "message", {"role": "agent", "text": text})
        ctx.emit(db, "completed", {"status": "completed", "report": report})


def _fail(ctx: Context, error: str, events: list[Event]) -> None:
    with ctx.transaction() as db:
        db.execute(
            "UPDATE migration_runs SET status = 'failed', message = NULL, error = ? WHERE id = ?",
            (error, ctx.run["id"]),
        )
        for event in events:
            ctx.emit(db, *event)
        ctx.emit(db, "error", {"error": error})
