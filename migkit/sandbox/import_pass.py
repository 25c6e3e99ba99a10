"""One pass of an import run: read, map, fix, validate, insert; or pause with questions.

A pass is idempotent: it replaces whatever rows the run inserted before (a previous pass
paused at ``needs_attention``, or the server crashed mid-run), in one transaction, and only
when the run is still ``running`` at that moment (a cancel wins).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from migkit.column_kernels import as_arrow
from migkit.rules import Link, check, flagged_positions, link_values
from migkit.sandbox import attention, rowstore
from migkit.sandbox.reader import FileProblem, Part, read_upload, rows_to_part
from migkit.sandbox.sheets import Sheet, company_sheets, link_order, route, template_frame
from migkit.sandbox.store import Store, dumps

IMPORT_STEPS = (
    "Reading your files",
    "Mapping columns",
    "Cleaning your data",
    "Validating rows",
    "Inserting rows",
)
MAX_ATTEMPTS = 5


class RunCanceled(Exception):
    """The run was canceled while a pass was working on it."""


Step = Callable[[str], None]


def load_parts(store: Store, company_id: str, request: dict[str, Any]) -> list[tuple[str, Part]]:
    """The tables an import request brings, each with the file name it came from."""
    if "rows" in request:
        return [("rows", rows_to_part(request["rows"], "rows"))]
    parts: list[tuple[str, Part]] = []
    for entry in request["files"]:
        upload = store.one(
            "SELECT id, content_type FROM uploads WHERE company_id = ? AND upload_ref = ?",
            company_id,
            entry["upload_ref"],
        )
        if upload is None:
            raise FileProblem(f"{entry['name']}: its upload is gone; upload the file again")
        for part in read_upload(
            store.upload_path(upload["id"]), entry["name"], upload["content_type"]
        ):
            parts.append((entry["name"], part))
    return parts


def _column_values(store: Store, sheet: Sheet, column: str, run_id: str) -> pa.ChunkedArray:
    # Every stored value of the column but this run's own (a re-run replaces them).
    index = sheet.template.column_names.index(column)
    return rowstore.column_values(store, sheet.id, index, exclude_run=run_id)


def _link_targets(
    store: Store, sheet: Sheet, sheets: list[Sheet], frames: dict[str, pd.DataFrame], run_id: str
) -> dict[str, list[Any]]:
    by_template = {s.template.id: s for s in sheets}

    def values_of(link: Link) -> list[Any] | None:
        target = by_template.get(link.template)
        if target is None:
            return None  # no sheet for the linked template in this company: not checked
        values = _column_values(store, target, link.column, run_id).chunks
        if target.id in frames:
            values.append(as_arrow(frames[target.id][link.column]).cast(pa.large_string()))
        found: list[Any] = pa.chunked_array(values, pa.large_string()).to_pylist()
        return found

    links: dict[str, list[Any]] = {}
    for column in sheet.template.columns:
        allowed = link_values(column, values_of)  # every linkRule entry, as migkit.validate
        if allowed is not None:
            links[column.name] = allowed
    return links


def _groups(
    sheet: Sheet, violations: pd.DataFrame, kept: set[tuple[str, str, str]]
) -> list[attention.Group]:
    groups = []
    for column in sheet.template.columns:
        for rule in attention.QUESTION_RULES:
            hits = violations[(violations["column"] == column.name) & (violations["rule"] == rule)]
            if hits.empty or (sheet.id, column.name, rule) in kept:
                continue
            # a blank cell reads back as None or NaN (pandas 3 strings): never sample "nan"
            values = [("" if v is None or v != v else str(v)) for v in hits["value"].tolist()]
            groups.append(
                attention.Group(
                    sheet_id=sheet.id,
                    sheet_name=sheet.name,
                    column=column,
                    rule=rule,
                    rows=int(hits["row"].nunique()),
                    values=list(dict.fromkeys(values)),
                )
            )
    return groups


def _frames(
    store: Store, company_id: str, request: dict[str, Any], sheets: list[Sheet]
) -> dict[str, pd.DataFrame]:
    parts = load_parts(store, company_id, request)
    if "rows" in request:
        sheet_id = request.get("sheet_id") or sheets[0].id
        routed = [(next(s for s in sheets if s.id == sheet_id), name, part) for name, part in parts]
    else:
        routed = route(parts, sheets)
    frames: dict[str, pd.DataFrame] = {}
    for sheet, name, part in routed:
        frame = template_frame(sheet, name, part)
        frames[sheet.id] = (
            frame
            if sheet.id not in frames
            else pd.concat([frames[sheet.id], frame], ignore_index=True)
        )
    return frames


def run_import_pass(store: Store, run: dict[str, Any], step: Step) -> None:
    """Process one pass of an import run and record its outcome."""
    run_id, company_id = run["id"], run["company_id"]
    request = json.loads(run["request_json"])
    fixes = json.loads(run["fixes_json"])
    sheets = link_order(company_sheets(store, company_id))
    step(IMPORT_STEPS[0])
    try:
        frames = _frames(store, company_id, request, sheets)
    except FileProblem as exc:
        _finish(store, run_id, {"status": "failed", "error": str(exc)}, rows=[])
        return
    step(IMPORT_STEPS[1])
    step(IMPORT_STEPS[2])
    kept: set[tuple[str, str, str]] = set()
    for sheet in sheets:
        if sheet.id in frames:
            columns = {c.name: c for c in sheet.template.columns}
            frames[sheet.id], kept_here = attention.apply_fixes(
                frames[sheet.id], sheet.id, columns, fixes
            )
            kept |= kept_here
    step(IMPORT_STEPS[3])
    results: list[tuple[Sheet, pd.DataFrame, pd.Series]] = []
    groups: list[attention.Group] = []
    for sheet, frame, violations, flagged in validate_frames(store, sheets, frames, run_id):
        results.append((sheet, frame, flagged))
        groups.extend(_groups(sheet, violations, kept))
    step(IMPORT_STEPS[4])
    _store_outcome(store, run_id, results, groups)


def validate_frames(
    store: Store, sheets: list[Sheet], frames: dict[str, pd.DataFrame], run_id: str
) -> list[tuple[Sheet, pd.DataFrame, pd.DataFrame, pd.Series]]:
    """Check each sheet's frame with the rules engine, in ``sheets`` order (link order):
    ``(sheet, frame, violations, flagged rows)`` for every sheet that has a frame.

    Unique values and link targets include the rows already in the sheets (except rows of
    ``run_id``, which a pass replaces) and the frames of this same batch. Both generations
    validate with this one function.
    """
    checked = []
    for sheet in sheets:
        if sheet.id not in frames:
            continue
        frame = frames[sheet.id]
        violations = check(
            frame,
            sheet.template,
            links=_link_targets(store, sheet, sheets, frames, run_id),
            existing={
                c.name: _column_values(store, sheet, c.name, run_id).to_pylist()
                for c in sheet.template.columns
                if c.unique
            },
        )
        checked.append((sheet, frame, violations, flagged_positions(violations, frame)))
    return checked


Outcome = list[tuple[Sheet, pd.DataFrame, pd.Series]]  # frames checked, with flagged masks


def _store_outcome(
    store: Store, run_id: str, results: Outcome, groups: list[attention.Group]
) -> None:
    pausing = bool(groups)
    kept: Outcome = []
    per_sheet = []
    flagged_total = 0
    for sheet, frame, flagged in results:
        flagged_total += int(flagged.sum())
        if pausing:  # a paused run inserts its clean rows only; the decision re-runs the rest
            clean = ~flagged.to_numpy(dtype=bool)
            frame, flagged = frame.loc[clean], flagged.loc[clean]
        kept.append((sheet, frame, flagged))
        per_sheet.append(
            {"templateName": sheet.template.name, "sheetId": sheet.id, "rowCount": len(frame)}
        )
    report = {
        "inserted": sum(len(frame) for _, frame, _ in kept),
        "perSheet": per_sheet,
        "invalidCellCount": flagged_total,
    }
    if pausing:
        outcome = {
            "status": "needs_attention",
            "report": report,
            "attention": attention.needs_attention(groups),
        }
    else:
        outcome = {"status": "completed", "report": report}
    _finish(store, run_id, outcome, kept)


def _finish(store: Store, run_id: str, outcome: dict[str, Any], rows: Outcome) -> None:
    with store.write() as db:
        status = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        if status != "running":
            raise RunCanceled(run_id)
        replace_rows(db, run_id, rows)
        db.execute(
            "UPDATE runs SET status = ?, progress_message = NULL, report_json = ?,"
            " attention_json = ?, error = ? WHERE id = ?",
            (
                outcome["status"],
                dumps(outcome.get("report")) if outcome.get("report") else None,
                dumps(outcome["attention"]) if outcome.get("attention") else None,
                outcome.get("error"),
                run_id,
            ),
        )


def replace_rows(db: sqlite3.Connection, run_id: str, rows: Outcome) -> None:
    """Replace the rows ``run_id`` stored before with ``rows``: each sheet's checked frame
    (template columns in order) with its flagged mask. Call inside :meth:`Store.write`."""
    rowstore.delete_run_rows(db, run_id)
    for sheet, frame, flagged in rows:
        rowstore.insert_rows(db, sheet.id, run_id, frame, flagged.to_numpy(dtype=bool))


def retry_then(store: Store, run_id: str, step: Step, fault: str | None) -> bool:
    """Play an injected run fault; returns False when the run failed for good."""
    if fault == "crash":
        step(IMPORT_STEPS[0])
        os.abort()  # the process dies as under a native crash (SIGABRT): nothing runs after
    if fault not in ("retry", "fail"):
        return True
    attempts = MAX_ATTEMPTS if fault == "fail" else 3
    for attempt in range(2, attempts + 1):
        step(f"Retrying (attempt {attempt} of {MAX_ATTEMPTS})")
    if fault == "retry":
        return True
    _finish(
        store,
        run_id,
        {
            "status": "failed",
            "error": (
                f"The import plan failed after {MAX_ATTEMPTS} attempts (sandbox run_fail fault); "
                "start the import again"
            ),
        },
        rows=[],
    )
    return False
