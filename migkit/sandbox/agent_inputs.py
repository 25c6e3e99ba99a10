"""What a ``generate`` run reads: every uploaded file and the live source, matched to the
migration's templates with Generation 1's routing and header healing.

Each table becomes a recipe input. A source's streams are copied into snapshot blobs, so the
recipe replays the same data even after the connection is deleted.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from migkit.header_healing import match_headers
from migkit.sandbox.connector import CONNECTORS
from migkit.sandbox.exporter import slug
from migkit.sandbox.reader import FileProblem, Part, read_upload
from migkit.sandbox.recipe import Recipe, build, empty_recipe, with_step
from migkit.sandbox.sheets import Sheet, match_part
from migkit.sandbox.store import Store, dumps, new_id, now_iso

Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Table:
    """One table read for a generate: a CSV, a worksheet or a source stream."""

    blob: str
    content_type: str
    file: str
    part: Part
    origin: str  # "upload" or a connector key


def uploaded_files(store: Store, migration_id: str) -> list[sqlite3.Row]:
    """The migration's uploaded files, in the order they were requested."""
    return store.all(
        "SELECT id, name, storage_path, content_type FROM migration_files"
        " WHERE migration_id = ? AND uploaded_at IS NOT NULL ORDER BY seq",
        migration_id,
    )


def connection(store: Store, migration_id: str) -> sqlite3.Row | None:
    """The migration's newest source connection, if any."""
    return store.one(
        "SELECT * FROM source_connections WHERE migration_id = ? ORDER BY seq DESC LIMIT 1",
        migration_id,
    )


def creds_configured(conn: sqlite3.Row) -> bool:
    """True when every secret its connector's schema asks for is stored (as a hash)."""
    stored = json.loads(conn["secret_hashes_json"])
    return all(name in stored for name in CONNECTORS[conn["source_key"]].schema)


def read_files(store: Store, migration_id: str) -> tuple[list[Table], list[Event]]:
    """Every uploaded file's tables, with a tool call and result per file (problems included:
    a file that cannot be read is reported and left out)."""
    tables: list[Table] = []
    events: list[Event] = []
    for row in uploaded_files(store, migration_id):
        call = {"name": row["name"], "storage_path": row["storage_path"]}
        events.append(("tool_call", {"tool": "read_file", "input": call}))
        try:
            parts = read_upload(store.upload_path(row["id"]), row["name"], row["content_type"])
        except FileProblem as exc:
            events.append(("tool_result", {"tool": "read_file", "error": str(exc)}))
            events.append(("message", {"role": "agent", "text": f"I left out {exc}"}))
            continue
        sheets = [{"name": p.name, "columns": p.headers, "rows": len(p.frame)} for p in parts]
        events.append(("tool_result", {"tool": "read_file", "output": {"sheets": sheets}}))
        tables.extend(
            Table(row["id"], row["content_type"], row["name"], p, "upload") for p in parts
        )
    return tables, events


def extract(store: Store, conn: sqlite3.Row) -> tuple[list[Table], list[Event], dict[str, Any]]:
    """Copy the connection's streams into snapshot blobs: the tables, the events and the
    connection's new ``last_snapshot``."""
    connector = CONNECTORS[conn["source_key"]]
    selected = json.loads(conn["selected_streams_json"] or "null") or sorted(connector.streams)
    call = {"source_key": connector.key, "streams": selected}
    events: list[Event] = [("tool_call", {"tool": "extract_source", "input": call})]
    tables, counts = [], {}
    for stream in selected:
        blob = new_id()
        data = connector.stream_bytes(stream)
        fd = os.open(store.upload_path(blob), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        for part in read_upload(store.upload_path(blob), stream, "text/csv"):
            tables.append(Table(blob, "text/csv", stream, part, connector.key))
            counts[stream] = len(part.frame)
    events.append(("tool_result", {"tool": "extract_source", "output": {"streams": counts}}))
    return tables, events, {"streams": counts}


def record_sync(db: sqlite3.Connection, conn: sqlite3.Row, snapshot: dict[str, Any]) -> None:
    """Note on the connection that its streams were read (inside a transaction)."""
    db.execute(
        "UPDATE source_connections SET last_snapshot_json = ?, last_sync_at = ?,"
        " extractor_id = COALESCE(extractor_id, ?) WHERE id = ?",
        (dumps(snapshot), now_iso(), f"{conn['source_key']}-extractor-{new_id()}", conn["id"]),
    )


def _where(table: Table) -> str:
    return (
        table.file if table.file == table.part.name else f"{table.file} (sheet {table.part.name})"
    )


def match(tables: list[Table], sheets: list[Sheet]) -> tuple[Recipe, list[Event]]:
    """The draft recipe's inputs: each table with its template and header mapping, plus a
    ``thinking`` event per table and a ``message`` for ties, misses and missing columns."""
    recipe = empty_recipe()
    events: list[Event] = []
    for table in tables:
        found = match_part(table.file, table.part, sheets)
        sheet = found.sheet
        mapping = match_headers(table.part.headers, sheet.template.column_names) if sheet else None
        recipe["inputs"].append(
            {
                "blob": table.blob,
                "content_type": table.content_type,
                "file": table.file,
                "part": table.part.name,
                "origin": table.origin,
                "headers": table.part.headers,
                "template": slug(sheet.template.name) if sheet else None,
                "mapping": mapping.mapping if mapping else {},
            }
        )
        where = _where(table)
        if sheet is None or mapping is None:
            events.append(
                (
                    "message",
                    {"role": "agent", "text": f"{where} matches no template; I left it out."},
                )
            )
            continue
        how = ", ".join(f"{h} → {c} ({mapping.how[h]})" for h, c in mapping.mapping.items())
        reason = "its name" if found.by_name else f"{found.score} matching columns"
        events.append(("thinking", {"text": f"{where} → {sheet.template.name} by {reason}: {how}"}))
        if found.tied:
            names = [s.template.name for s in (sheet, *found.tied)]
            both = ", ".join(names[:-1]) + f" and {names[-1]}"
            events.append(
                (
                    "message",
                    {
                        "role": "agent",
                        "text": f"{where} matches {both} equally "
                        f"well ({found.score} columns each); I used {sheet.template.name}. If "
                        "that is wrong, name the file after its template and upload it again.",
                    },
                )
            )
        missing = [c for c in mapping.missing_required(sheet.template.required_columns)]
        if missing:
            events.append(
                (
                    "message",
                    {
                        "role": "agent",
                        "text": f"I found no column for {sheet.template.name}.{missing[0]} "
                        f"(required) in {where}, so every row will be flagged until you tell "
                        f'me which file column holds it: map column "<file header>" to '
                        f"{missing[0]}",
                    },
                )
            )
    return recipe, events


def fold_steps(store: Store, recipe: Recipe, sheets: list[Sheet]) -> Recipe:
    """The recipe plus a ``fold_allowed`` step for each allowed-value column where trimming
    and case-folding turns a value into exactly one allowed value (``open`` → ``Open``)."""
    used = {i["template"] for i in recipe["inputs"] if i["template"]}
    candidate = recipe
    for sheet in sheets:
        key = slug(sheet.template.name)
        for column in sheet.template.columns:
            if key in used and column.allowed is not None:
                step = {
                    "op": "fold_allowed",
                    "template": key,
                    "column": column.name,
                    "by": "agent",
                    "text": f"fix case and spacing of {sheet.template.name}.{column.name}",
                }
                candidate = with_step(candidate, step)
    changes = build(store, candidate, sheets).changes
    out = dict(recipe, steps=list(recipe["steps"]))
    for step, changed in zip(
        candidate["steps"][len(recipe["steps"]) :], changes[len(recipe["steps"]) :], strict=True
    ):
        if changed:
            out["steps"].append(step)
    return out
