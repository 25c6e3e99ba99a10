"""Why a source row is missing, on the engine: the reasons of
:mod:`migkit.reconcile.reasons`, in the same precedence, as one expression per row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.reconcile.reasons import (
    DELETED,
    DUPLICATE_KEY,
    EMPTY_KEY,
    FLAGGED,
    NO_EVIDENCE,
    PREDICTED,
    UNKNOWN,
    Evidence,
    _check_count,
    _problems,
)
from migkit.scale import text
from migkit.scale.engines import POSITION, Engine
from migkit.scale.staging import Staged, stage

if TYPE_CHECKING:
    from migkit.scale.reconcile import Plan


def missing_reasons(
    engine: Engine, plan: Plan, rows: Any, evidence: Evidence
) -> tuple[Any, Any, Any, list[str]]:
    """The missing ``rows`` (the first side's staged columns plus ``m_k``, ``m_empty``,
    ``m_dup``) with what the reasons need joined on, their ``reason`` and ``detail``
    expressions, and notes."""
    import ibis

    problems = _problems(evidence.validation)
    if len(problems):
        found = _problem_table(engine, plan.left, problems)
        rows = rows.left_join(found, rows[POSITION] == found.p_pos)
    settled: list[tuple[Any, str]] = []  # (condition, reason) in precedence order
    if evidence.flagged is not None:
        settled.append((_in_flagged(engine, plan, rows, evidence.flagged), FLAGGED))
    notes: list[str] = []
    taken: Any = settled[0][0] if settled else ibis.literal(False)
    for column in evidence.deletions():
        hit = _deleted(engine, plan, rows, column, evidence)
        if evidence.questions:
            count = int(engine.backend.execute((hit & ~taken).sum()) or 0)
            notes += _check_count(column, count, evidence.questions)
        settled.append((hit, DELETED))
        taken = taken | hit
    settled += [(rows.m_empty, EMPTY_KEY), (rows.m_dup, DUPLICATE_KEY)]
    detail: Any = ibis.literal("")
    if len(problems):
        detail = rows.p_detail.fill_null("")
        settled.append((rows.p_pos.notnull(), PREDICTED))
    # What nothing explains: the caller's word for it (a diff's "not in the new", as in
    # migkit.reconcile.reasons.missing_table), else unknown with a hint to pass evidence.
    reason: Any = ibis.literal(plan.unexplained or UNKNOWN)
    for condition, name in reversed(settled):
        reason = ibis.ifelse(condition.fill_null(False), name, reason)
    if not evidence.given and plan.unexplained is None:
        detail = ibis.ifelse(reason == UNKNOWN, NO_EVIDENCE, detail)
    return rows, reason, detail, notes


def _in_flagged(engine: Engine, plan: Plan, rows: Any, flagged: Any) -> Any:
    # By key where every key column is in the flagged export; as a whole row (every shared
    # column) when the flagged export has them all (reasons._in_flagged).
    import ibis

    fside: Staged = stage(flagged, engine, "flagged")
    found: Any = ibis.literal(False)
    keys = list(plan.keys or ())
    if keys and all(k in fside.names for k in keys):
        fkey = text.row_key([text.normalized(engine, fside.column(k), plan.rules[k]) for k in keys])
        found = found | rows.m_k.isin(fside.table.select(fk=fkey).fk).fill_null(False)
    pairs = plan.aligned.pairs
    if pairs and all(b in fside.names for _, b in pairs):
        lrow = text.row_text(
            [text.normalized(engine, rows[plan.left.names[a]], plan.rules[b]) for a, b in pairs]
        )
        frow = text.row_text(
            [text.normalized(engine, fside.column(b), plan.rules[b]) for _, b in pairs]
        )
        found = found | lrow.isin(fside.table.select(fr=frow).fr).fill_null(False)
    return found


def _deleted(engine: Engine, plan: Plan, rows: Any, column: Any, evidence: Evidence) -> Any:
    # Rows empty in the action's column, and rows validation says break its `required`.
    import ibis

    hit: Any = ibis.literal(False)
    left = plan.to_left.get(column)
    if left is None and column in plan.left.names:
        left = column
    if left is not None:
        hit = hit | text.blank(rows[plan.left.names[left]])
    validation = evidence.validation
    if validation is not None and not validation.errors.empty:
        errors = validation.errors
        labels = errors.loc[(errors["column"] == column) & (errors["rule"] == "required"), "row"]
        positions = _positions(plan.left, pd.Index(labels.unique()))
        if len(positions):
            hit = hit | rows[POSITION].isin(_position_table(engine, positions).p_pos)
    return hit


def _positions(staged: Staged, labels: pd.Index) -> np.ndarray:
    # Row labels of the first side as positions (a path's rows are labelled by position).
    if staged.frame is not None:
        return np.flatnonzero(staged.frame.index.isin(labels))
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce").dropna()
    values = numbers.to_numpy(dtype=np.int64)
    return np.unique(values[(values >= 0) & (values < staged.rows)])


def _position_table(engine: Engine, positions: np.ndarray, detail: Any = None) -> Any:
    columns: dict[str, pa.Array] = {"p_pos": pa.array(positions, pa.int64())}
    if detail is not None:
        columns["p_detail"] = pa.array(detail, pa.large_string())
    return engine.from_arrow(pa.table(columns))


def _problem_table(engine: Engine, staged: Staged, problems: pd.Series) -> Any:
    positions = _positions(staged, pd.Index(problems.index))
    labels = staged.frame.index[positions] if staged.frame is not None else positions
    detail = problems.reindex(labels).fillna("").to_numpy(dtype=object)
    return _position_table(engine, positions, detail)
