"""Generation-2 commands: ``migrate`` (files to the agent, its preview, its questions, and an
execute only with ``--approve``) and ``thread`` (the agent's events, live with ``--follow``).

``migrate`` answers the agent's questions interactively when stdin is a terminal; elsewhere
(a script, CI) it stops with exit code 3 and the questions (in ``--json``), to be answered
with ``--answer ID=VALUE`` on the next run, which finds the same migration and run (the
external id, and the ledger) instead of starting over.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from migkit.cli.common import (
    API,
    FAILED,
    OK,
    USAGE,
    Exit,
    add_api,
    add_output,
    client,
    command,
    plain,
)
from migkit.printable import counted, json_printable, printable
from migkit.questions import question_lines

WAITING = 3  # exit code: the agent waits for answers (or credentials) a script must give
EXAMPLES = {
    "migrate": "example: migkit migrate people.csv deals.xlsx --name 'Acme Corp' "
    "--external-id acme-2026 --instruction 'use Work Email for missing Email' --approve",
    "thread": "example: migkit thread acme-2026 --follow --include tools",
}


def add_migrate(sub: Any) -> None:
    p = command(
        sub,
        "migrate",
        "migrate files with the agent (Generation 2): preview, questions, execute",
        EXAMPLES["migrate"],
        "Create (or find) a migration, upload FILES, let the agent generate a preview, apply "
        "each --instruction, print the preview's counts and the agent's questions, and import "
        "only with --approve. On a terminal the questions are asked; elsewhere the command "
        "exits 3 with them, and --answer ID=VALUE answers them on the next run.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="files to upload (csv, xlsx, json…)")
    p.add_argument("--name", required=True, help="the migration's name (the customer's name)")
    p.add_argument(
        "--external-id",
        default=None,
        help="your id for the migration; the same id finds the same migration again "
        "(default: derived from the name and source)",
    )
    p.add_argument("--source", default=None, help="source name (default: none, files only)")
    p.add_argument(
        "--instruction",
        action="append",
        default=[],
        metavar="TEXT",
        help="a change for the agent after the preview, e.g. 'trim Email' (repeatable)",
    )
    p.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="ID=VALUE",
        help="answer a question of the agent (an option's label or your own value; repeatable)",
    )
    p.add_argument("--approve", action="store_true", help="execute the preview (import the rows)")
    add_output(p)
    add_api(p)
    p.set_defaults(run=run_migrate)


def add_thread(sub: Any) -> None:
    p = command(
        sub,
        "thread",
        "print a migration's thread: the agent's events (live with --follow)",
        EXAMPLES["thread"],
    )
    p.add_argument("migration", metavar="MIGRATION", help="migration id or external id")
    p.add_argument("--follow", action="store_true", help="keep printing events as they come")
    p.add_argument(
        "--include",
        choices=("user", "tools", "all"),
        default="user",
        help="user: messages, status, questions; tools: and tool calls; all: and thinking",
    )
    p.add_argument("--after", type=int, default=None, help="only events after this sequence")
    add_output(p)
    add_api(p)
    p.set_defaults(run=run_thread)


# -- helpers -----------------------------------------------------------------------------------
def find_migration(api: Any, name: str) -> Any:
    """A migration by id or external id; a usage error naming it when neither finds one."""
    from migkit.errors import NotFound
    from migkit.resources._base import looks_like_id

    if looks_like_id(name):
        try:
            return api.migrations.get(name)
        except NotFound:
            pass
    found = api.migrations.find(name)
    if found is None:
        raise Exit(USAGE, f"no migration with id or external id {name!r}")
    return found


def _answers(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        qid, sep, value = pair.partition("=")
        if not sep or not qid.strip() or not value.strip():
            raise Exit(
                USAGE, f"--answer {pair!r}: write it as ID=VALUE, e.g. q1='Keep them flagged'"
            )
        out[qid.strip()] = value.strip()
    return out


class Story:
    """What ``migrate`` did, as JSON data and (printed as it goes) lines for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.data: dict[str, Any] = {"runs": []}

    def say(self, text: str) -> None:
        if not self.as_json:
            sys.stdout.write(printable(text, keep_newlines=True) + "\n")
            sys.stdout.flush()

    def run(self, run: Any) -> None:
        entry = {"run_id": run.id, "kind": run.kind, "status": run.status}
        if run.error:
            entry["error"] = run.error
        self.data["runs"].append(entry)
        self.say(f"{run.kind or 'agent'} run {run.id[:8]}: {run.status}")

    def end(self, code: int) -> int:
        if self.as_json:
            import json

            document = json.dumps(plain(self.data), indent=2, ensure_ascii=False, default=str)
            sys.stdout.write(json_printable(document) + "\n")
            sys.stdout.flush()
        return code


def _question_data(run: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": q.id,
            "question": q.prompt,
            "options": [o.label for o in q.options],
            "allow_custom": q.allow_custom,
        }
        for q in run.questions
    ]


def _credential_data(run: Any) -> dict[str, Any]:
    request = run.credential_request
    return {
        "source": getattr(request, "source_name", None) or getattr(request, "source_key", None),
        "reason": getattr(request, "reason", None),
        "fields": list(getattr(request, "schema", {}) or {}),
        "secret_fields": list(getattr(request, "secret_fields", []) or []),
        "guidance": dict(getattr(request, "guidance", {}) or {}),
    }


def ask_on_terminal(run: Any, read: Callable[[str], str] = input) -> dict[str, str]:
    """Ask each question on the terminal; ``{id: answer}`` of those answered."""
    answers: dict[str, str] = {}
    for q in run.questions:
        print(f"\n{printable(q.prompt, limit=1000)}", file=sys.stderr)
        for n, option in enumerate(q.options, 1):
            print(f"  {n}. {printable(option.label, limit=300)}", file=sys.stderr)
        hint = f"1-{len(q.options)}" if q.options else ""
        hint += (", or type a value" if hint else "type a value") if q.allow_custom else ""
        while True:
            reply = read(f"answer ({hint}; Enter to skip): ").strip()
            if not reply:
                break
            if reply.isdigit() and q.options:
                if 1 <= int(reply) <= len(q.options):
                    answers[q.id] = q.options[int(reply) - 1].label
                    break
            elif q.allow_custom:
                answers[q.id] = reply
                break
            print(f"  pick a number from 1 to {len(q.options)}", file=sys.stderr)  # or a value
    return answers


def credentials_on_terminal(run: Any) -> dict[str, str]:
    """Ask each field of the credential request (secrets without echo)."""
    request = run.credential_request
    print(f"\n{printable(getattr(request, 'reason', None) or 'The agent needs credentials.')}")
    secret = set(getattr(request, "secret_fields", []) or [])
    values = {}
    for name in getattr(request, "schema", {}) or {}:
        prompt = f"{printable(name, limit=80)}: "
        value = getpass.getpass(prompt) if name in secret else input(prompt)
        if value:
            values[str(name)] = value
    return values


def preview_lines(preview: Any) -> list[str]:
    """The preview's counts for a terminal: totals, then per template its rows, flagged rows
    and invalid cells by column."""
    flagged = preview.flagged_rows
    cells = preview.invalid_cells
    lines = [
        f"Preview: {counted(len(preview.sheets), 'template')}, {counted(preview.rows, 'row')}, "
        f"{preview.rows - flagged:,} valid, {flagged:,} flagged"
        + (f" (a sample: {preview.total_rows:,} rows in all)" if preview.truncated else "")
    ]
    for slug, sheet in preview.sheets.items():
        mine = cells[cells["template"] == slug]
        by_column = mine["column"].value_counts(sort=False)
        where = ", ".join(f"{printable(c, limit=60)} {n}" for c, n in by_column.items())
        lines.append(
            f"  {printable(sheet.name, limit=60)}: {counted(sheet.rows, 'row')}, "
            f"{sheet.flagged_rows:,} flagged" + (f" (invalid cells: {where})" if where else "")
        )
    return lines


def _preview_data(preview: Any) -> dict[str, Any]:
    return {
        "rows": preview.rows,
        "flagged_rows": preview.flagged_rows,
        "truncated": preview.truncated,
        "templates": {
            slug: {
                "name": s.name,
                "rows": s.rows,
                "total_rows": s.total_rows,
                "flagged_rows": s.flagged_rows,
                "invalid_cells": plain(s.invalid_cells[["row", "column", "error"]]),
            }
            for slug, s in preview.sheets.items()
        },
    }


def _settle(api: Any, run: Any, story: Story, answers: dict[str, str], interactive: bool) -> Any:
    """Wait for ``run``; answer what it asks (given answers, or the terminal) until it rests
    without a question. Returns the run, or raises :class:`Exit` (code 3) when it still asks
    and nobody here can answer."""
    run = api.migrations.wait(run, raise_on_failure=False)
    story.run(run)
    while run.waiting:
        if run.needs_credentials:
            if not interactive:
                story.data["credentials"] = _credential_data(run)
                story.say(
                    f"The agent needs credentials: {', '.join(run.credential_request.schema)}"
                )
                raise Exit(WAITING, "the agent needs credentials; run this on a terminal")
            run = api.migrations.wait(run.submit_credentials(credentials_on_terminal(run)))
        else:
            mine = {q.id: answers.pop(q.id) for q in run.questions if q.id in answers}
            if not mine and interactive:
                mine = ask_on_terminal(run)
            if not mine:
                story.data["questions"] = _question_data(run)
                story.say("\n".join(line for q in run.questions for line in question_lines(q)))
                story.say("answer with: --answer ID=VALUE (one per question), then run again")
                raise Exit(WAITING, f"the agent asks {counted(len(run.questions), 'question')}")
            run = api.migrations.wait(run.answer(mine), raise_on_failure=False)
        story.run(run)
    if run.status == "failed":
        raise Exit(
            FAILED, f"the {run.kind or 'agent'} run failed: {run.error or 'no reason given'}"
        )
    return run


def _upload(api: Any, migration: Any, files: list[str], story: Story) -> None:
    """Upload the files the migration does not hold yet (same name and size): a re-run of
    the command never uploads a file twice, so the agent never reads it twice."""
    from pathlib import Path

    held = {(f.name, f.size) for f in api.migrations.files(migration) if f.status == "uploaded"}
    new = [f for f in files if (Path(f).name, Path(f).stat().st_size) not in held]
    kept = [Path(f).name for f in files if f not in new]
    uploaded = api.migrations.upload(migration, new) if new else []
    story.data["files"] = [{"name": f.name, "size": f.size} for f in uploaded]
    story.data["already_uploaded"] = kept
    if uploaded:
        story.say("Uploaded " + ", ".join(f"{f.name} ({f.size or 0:,} bytes)" for f in uploaded))
    if kept:
        story.say("Already uploaded: " + ", ".join(kept))


def run_migrate(args: argparse.Namespace) -> int:
    """``migkit migrate``: the Generation-2 story for files, in a terminal or a script."""
    from pathlib import Path

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise Exit(USAGE, f"no such file: {', '.join(missing)}")
    answers = _answers(args.answer)
    interactive = sys.stdin.isatty()
    story = Story(args.json)
    api = client(args)
    m = api.migrations.create(args.name, args.source, external_id=args.external_id)
    story.data["migration"] = {"id": m.id, "name": m.name, "external_id": m.external_id}
    story.say(f"Migration {m.name} ({m.id}), external id {m.external_id}")
    _upload(api, m, args.files, story)
    try:
        _settle(api, api.migrations.generate(m), story, answers, interactive)
        for instruction in args.instruction:
            story.say(f"Change: {instruction}")
            _settle(api, api.migrations.update(m, instruction), story, answers, interactive)
    except Exit as exc:
        story.data["status"] = "waiting" if exc.code == WAITING else "failed"
        story.end(exc.code)
        raise
    preview = api.migrations.preview(m)
    story.data["preview"] = _preview_data(preview)
    story.say("\n".join(preview_lines(preview)))
    if not args.approve:
        story.data["status"] = "preview"
        story.say("Not imported: run again with --approve to execute this preview.")
        return story.end(OK)
    executed = api.migrations.wait(api.migrations.execute(m), raise_on_failure=False)
    story.run(executed)
    story.data["status"] = executed.status
    if executed.report is not None:
        story.data["report"] = dict(executed.raw.get("report") or {})
        story.say(f"Executed: {executed.report.headline()}")
    if executed.status != "completed":
        story.say(f"Not imported: {executed.error or executed.status}")
    return story.end(OK if executed.status == "completed" else FAILED)


def run_thread(args: argparse.Namespace) -> int:
    """``migkit thread``: the snapshot, or every event as it arrives with ``--follow``."""
    import json

    from migkit.progress.thread import event_line

    api = client(args)
    m = find_migration(api, args.migration)

    def show(event: Any) -> None:
        if args.json:  # one JSON document per line (JSON Lines), as events arrive
            line = json.dumps(plain(dict(event.raw)), ensure_ascii=False, default=str)
            sys.stdout.write(json_printable(line) + "\n")
        else:
            sys.stdout.write(event_line(event) + "\n")
        sys.stdout.flush()

    if not args.follow:
        for event in api.migrations.events(m, after=args.after, include=args.include):
            show(event)
        return OK
    try:
        for event in api.migrations.stream(m, after=args.after, include=args.include):
            show(event)
    except KeyboardInterrupt:
        return OK  # Ctrl-C ends a --follow: not an error
    return API  # pragma: no cover - the stream never ends by itself
