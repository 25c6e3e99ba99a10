"""One pass of an import run: read, map, fix, validate, insert; or pause with questions.

A pass is idempotent: it replaces whatever rows the run inserted before (a previous pass
paused at ``needs_attention``, or the server crashed mid-run), in one transaction, and only
when the run is still ``running`` at that moment (a cancel wins).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pandas as pd

from migkit.rules import Link, check, flagged_positions, link_values
from migkit.sandbox import attention
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


def _column_values(store: Store, sheet: Sheet, column: str, run_id: str) -> list[Any]:
    index = sheet.template.column_names.index(column)
    rows = store.all(
        "SELECT json_extract(data_json, ?) AS v FROM rows WHERE sheet_id = ? AND run_id != ?",
        f"$[{index}]",
        sheet.id,
        run_id,
    )
    return [r["v"] for r in rows]


def _link_targets(
    store: Store, sheet: Sheet, sheets: list[Sheet], frames: dict[str, pd.DataFrame], run_id: str
) -> dict[str, list[Any]]:
    by_template = {s.template.id: s for s in sheets}

    def values_of(link: Link) -> list[Any] | None:
        target = by_template.get(link.template)
        if target is None:
            return None  # no sheet for the linked template in this company: not checked
        values = _column_values(store, target, link.column, run_id)
        if target.id in frames:
            values.extend(frames[target.id][link.column].tolist())
        return values

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
                c.name: _column_values(store, sheet, c.name, run_id)
                for c in sheet.template.columns
                if c.unique
            },
        )
        checked.append((sheet, frame, violations, flagged_positions(violations, frame)))
    return checked


def row_records(
    sheet: Sheet, frame: pd.DataFrame, flagged: pd.Series, run_id: str, only_clean: bool
) -> list[tuple[str, str, str, int]]:
    """The ``rows`` table records of a checked frame (every row, or only the clean ones)."""
    keep = ~flagged if only_clean else pd.Series(True, index=frame.index)
    chosen = frame.loc[keep.to_numpy()]
    flags = flagged.loc[keep.to_numpy()].astype(int).tolist()
    return [
        (sheet.id, run_id, dumps(values), flag)
        for values, flag in zip(chosen.values.tolist(), flags, strict=True)
    ]


def _store_outcome(
    store: Store,
    run_id: str,
    results: list[tuple[Sheet, pd.DataFrame, pd.Series]],
    groups: list[attention.Group],
) -> None:
    pausing = bool(groups)
    rows: list[tuple[str, str, str, int]] = []
    per_sheet = []
    flagged_total = 0
    for sheet, frame, flagged in results:
        sheet_rows = row_records(sheet, frame, flagged, run_id, only_clean=pausing)
        rows.extend(sheet_rows)
        flagged_total += int(flagged.sum())
        per_sheet.append(
            {"templateName": sheet.template.name, "sheetId": sheet.id, "rowCount": len(sheet_rows)}
        )
    report = {"inserted": len(rows), "perSheet": per_sheet, "invalidCellCount": flagged_total}
    if pausing:
        outcome = {
            "status": "needs_attention",
            "report": report,
            "attention": attention.needs_attention(groups),
        }
    else:
        outcome = {"status": "completed", "report": report}
    _finish(store, run_id, outcome, rows)


def _finish(
    store: Store, run_id: str, outcome: dict[str, Any], rows: list[tuple[str, str, str, int]]
) -> None:
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


def replace_rows(
    db: sqlite3.Connection, run_id: str, rows: list[tuple[str, str, str, int]]
) -> None:
    """Replace the rows ``run_id`` inserted before with ``rows`` (inside a write transaction)."""
    db.execute("DELETE FROM rows WHERE run_id = ?", (run_id,))
    db.executemany(
        "INSERT INTO rows (sheet_id, run_id, data_json, flagged) VALUES (?, ?, ?, ?)", rows
    )


def retry_then(store: Store, run_id: str, step: Step, fault: str | None) -> bool:
    """Play an injected run fault; returns False when the run failed for good."""
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
