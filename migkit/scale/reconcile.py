"""Reconciliation on an engine: the in-memory algorithm as one Ibis expression per step.

1. Stage both sides (:mod:`migkit.scale.staging`), each row with its position.
2. Key text per row, normalized exactly as in memory (:mod:`migkit.scale.text`). When a key
   repeats, each row's occurrence is its rank among the rows of its key by position, so the
   n-th row of a key pairs with the n-th on the other side (``duplicates="first"``: only the
   first ones); when no key repeats, the ranks are all 0 and are skipped.
3. One full outer join keeps only what the report needs: unpaired rows and pairs with a
   cell that differs as written (usually few), materialized once
   (:mod:`migkit.scale.pairing`: whether keys repeat, and the join in key-hash slices when
   the engine needs them).
4. Missing and extra rows, changed and hidden cells, repeated keys and the counts per column
   are read from that, with the same reasons and the same order as in memory.

Large tables stay on the engine as :class:`~migkit.scale.tables.LazyTable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import pandas as pd

from migkit.errors import UsageError
from migkit.reconcile.compare import _notes
from migkit.reconcile.comparison import _check_named, _fields
from migkit.reconcile.labels import align, key_labels
from migkit.reconcile.normalize import Normalize
from migkit.reconcile.pairing import Duplicates
from migkit.reconcile.reasons import Evidence
from migkit.reconcile.report import ReconcileReport
from migkit.reconcile.steps import ColumnRules, rules_for
from migkit.scale import pairing, text
from migkit.scale.engines import POSITION, Engine, union_all
from migkit.scale.progress import Stages
from migkit.scale.staging import Staged, stage

Label = Hashable
SMALL_ROWS = 250_000  # report tables up to this many rows come back as DataFrames


@dataclass(frozen=True)
class Plan:
    """Everything decided before the engine runs: columns, key, rules."""

    names: tuple[str, str]
    left: Staged
    right: Staged
    aligned: Any
    keys: tuple[Label, ...] | None
    to_left: dict[Label, Label]
    rules: dict[Label, ColumnRules]
    compared: tuple[tuple[Label, Label], ...]
    duplicates: Duplicates
    fields: dict[str, str]
    unexplained: str | None = None  # the reason of a missing row nothing explains


def run(
    engine: Engine,
    left: Any,
    right: Any,
    key: Any,
    *,
    names: tuple[str, str],
    how: Normalize,
    duplicates: Duplicates,
    heal_headers: bool,
    evidence: Evidence,
    small_rows: int | None = None,
    progress: bool = True,
    unexplained: str | None = None,
) -> ReconcileReport:
    """:func:`migkit.reconcile` on ``engine`` (see there for the semantics). Report tables
    of more than ``small_rows`` rows (:data:`SMALL_ROWS`) stay on the engine as lazy tables;
    ``unexplained`` is the reason of a missing row no evidence explains (a diff's "not in
    the new"; by default a hint to pass evidence)."""
    small_rows = SMALL_ROWS if small_rows is None else small_rows
    with Stages(engine, progress) as stages:
        stages.start("staging", None)
        plan = _plan(engine, left, right, key, names, how, duplicates, heal_headers)
        plan = dataclasses.replace(plan, unexplained=unexplained)
        stages.start("pairing", plan.left.rows + plan.right.rows)
        lside, rside = _keyed(engine, plan, 0), _keyed(engine, plan, 1)
        if _reread(engine, plan):  # keys normalized once, not once per query that reads them
            lside, rside = engine.materialize(lside), engine.materialize(rside)
        joined, lside, rside, ranked, unpaired = pairing.pair(engine, plan, lside, rside, stages)
        stages.start("comparing", None)
        cells = engine.materialize(_cells(engine, plan, joined))
        stages.start("writing", None)
        return _report(
            engine,
            plan,
            joined,
            cells,
            lside,
            rside,
            ranked,
            unpaired,
            how,
            evidence,
            small_rows,
        )


def _plan(
    engine: Engine,
    left: Any,
    right: Any,
    key: Any,
    names: tuple[str, str],
    how: Normalize,
    duplicates: Duplicates,
    heal: bool,
) -> Plan:
    lstaged, rstaged = stage(left, engine, names[0]), stage(right, engine, names[1])
    lframe, rframe = _empty(lstaged.labels), _empty(rstaged.labels)
    aligned = align(lframe, rframe, heal=heal)
    _check_named(how, aligned)
    shared = {b for _, b in aligned.pairs} | {a for a, _ in aligned.pairs}
    if isinstance(key, str) and key == "index" and key not in shared:
        raise UsageError(
            "an engine pairs rows by columns, not by a frame index: pass key=<column>, or"
            " engine='pandas' to join on the index"
        )
    keys = key_labels(key, aligned, False, (1, 1))
    to_left = {b: a for a, b in aligned.pairs}
    rules = {
        b: rules_for(how, (b, a), (lstaged.kinds[a], rstaged.kinds[b])) for b, a in to_left.items()
    }
    compared = tuple((a, b) for a, b in aligned.pairs if keys is not None and b not in keys)
    return Plan(
        names,
        lstaged,
        rstaged,
        aligned,
        keys,
        to_left,
        rules,
        compared,
        duplicates,
        _fields(names, keys, lframe, rframe),
    )


def _empty(labels: tuple[Label, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=pd.Index(list(labels), dtype=object, tupleize_cols=False))


def _keyed(engine: Engine, plan: Plan, side: int) -> Any:
    """``_pos``, ``k`` (the key text) and every column of one side, prefixed l_/r_."""
    staged = (plan.left, plan.right)[side]
    own = (lambda b: plan.to_left[b]) if side == 0 else (lambda b: b)
    if plan.keys is not None:
        parts = [text.normalized(engine, staged.column(own(k)), plan.rules[k]) for k in plan.keys]
        k = text.row_key(parts)
    else:
        parts = [
            text.normalized(engine, staged.column(own(b)), plan.rules[b])
            for _, b in plan.aligned.pairs
        ]
        k = text.row_text(parts)
    prefix = "lr"[side]
    columns = {f"{prefix}_{c}": staged.table[c] for c in staged.names.values()}
    return staged.table.select(
        **{f"{prefix}_pos": staged.table[POSITION], f"{prefix}_k": k}, **columns
    )


def _reread(engine: Engine, plan: Plan) -> bool:
    # Spark re-runs a plan for every query that reads it; DuckDB is only told to keep the
    # keyed sides when their keys take more than a column read (a normalization step).
    if engine.name == "spark":
        return True
    keys = plan.keys if plan.keys is not None else [b for _, b in plan.aligned.pairs]
    return any(plan.rules[k].steps for k in keys)


def _cells(engine: Engine, plan: Plan, joined: Any) -> Any:
    """Every differing cell of a pair: positions, column number, both values, and whether
    normalization hid it."""
    import ibis

    paired = joined.filter(joined.l_pos.notnull() & joined.r_pos.notnull())
    parts = []
    for number, (a, b) in enumerate(plan.compared):
        la, rb = paired[f"l_{plan.left.names[a]}"], paired[f"r_{plan.right.names[b]}"]
        differ = paired.filter(~text.same(la, rb))
        la, rb = differ[f"l_{plan.left.names[a]}"], differ[f"r_{plan.right.names[b]}"]
        if plan.left.kinds[a] == "number" and plan.right.kinds[b] == "number":
            equal = (text.numbers(engine, la) == text.numbers(engine, rb)).fill_null(False)
            differ = differ.filter(~equal)
            la, rb = differ[f"l_{plan.left.names[a]}"], differ[f"r_{plan.right.names[b]}"]
        rules = plan.rules[b]
        status: Any = ibis.literal("changed")
        if rules.active:
            status = ibis.ifelse(text.hidden(engine, rules, la, rb), "hidden", "changed")
        keys = [
            differ[f"l_{plan.left.names[plan.to_left[k]]}"].name(f"k{i}")
            for i, k in enumerate(plan.keys or ())
        ]
        parts.append(
            differ.select(
                differ.l_pos,
                differ.r_pos,
                ibis.literal(number).cast("int64").name("col"),
                la.cast("string").name("first"),
                rb.cast("string").name("second"),
                status.name("status"),
                *keys,
            )
        )
    if not parts:
        return paired.select(
            paired.l_pos,
            paired.r_pos,
            ibis.literal(0).cast("int64").name("col"),
            ibis.null("string").name("first"),
            ibis.null("string").name("second"),
            ibis.literal("changed").name("status"),
        ).filter(ibis.literal(False))
    return union_all(parts)


def _report(
    engine: Engine,
    plan: Plan,
    joined: Any,
    cells: Any,
    lside: Any,
    rside: Any,
    ranked: bool,
    unpaired: tuple[int, int],
    how: Normalize,
    evidence: Evidence,
    small_rows: int,
) -> ReconcileReport:
    from migkit.scale.report_tables import (
        by_column,
        cell_table,
        extra_table,
        missing_table,
        repeated_keys,
    )

    # The counts are known before the tables (one query each on Spark): the cells per column
    # and status, the unpaired rows per side.
    matched = plan.left.rows - unpaired[0]
    counts = by_column(engine, plan, cells, matched)
    n_changed = int(counts["changed"].sum())
    n_hidden = int(counts["hidden by normalization"].sum())
    # Whole rows pair copy by copy; a repeated row is no repeated key (the in-memory
    # pair_by_rows): no duplicate-key reasons, no duplicates table, no note.
    ranked = ranked and plan.keys is not None
    changed = cell_table(engine, plan, cells, "changed", evidence, small_rows, n_changed)
    missing, evidence_notes = missing_table(
        engine, plan, joined, rside, ranked, evidence, small_rows, unpaired[0]
    )
    repeat_rows = _repeat_rows(engine, lside, rside) if ranked else (0, 0)
    notes = _notes(_facade(plan, repeat_rows), how)
    # A large part is a LazyTable, which answers what the report asks of its tables (len,
    # column counts, head, to_excel) as a DataFrame does.
    lazy = cast(Callable[[Any], pd.DataFrame], lambda table: table)
    return ReconcileReport(
        names=plan.names,
        key=plan.keys,
        rows=(plan.left.rows, plan.right.rows),
        matched=matched,
        missing=lazy(missing),
        extra=lazy(extra_table(engine, plan, joined, lside, ranked, small_rows, unpaired[1])),
        changed=lazy(changed),
        build_hidden=lambda: lazy(
            cell_table(engine, plan, cells, "hidden", evidence, small_rows, n_hidden)
        ),
        duplicates=repeated_keys(engine, plan, lside, rside, joined)
        if any(repeat_rows)
        else _no_dups(),
        by_column=counts,
        columns={a: b for a, b in plan.aligned.pairs if a != b},
        only_in=(plan.aligned.only_left, plan.aligned.only_right),
        notes=tuple([*plan.left.notes, *plan.right.notes, *notes, *evidence_notes]),
        on_index=False,
        duplicates_mode=plan.duplicates,
        fields=dict(plan.fields),
    )


def _no_dups() -> pd.DataFrame:
    columns = ["side", "key", "row", "matched"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _repeat_rows(engine: Engine, lside: Any, rside: Any) -> tuple[int, int]:
    # Rows after the first of their key, per side (one query).
    sums = []
    for side, p in ((lside, "l"), (rside, "r")):
        mask = (side[f"{p}_occ"] > 0) & side[f"{p}_k"].notnull()
        sums.append(side.aggregate(**{f"{p}n": mask.sum()}))
    row = engine.to_pyarrow(sums[0].cross_join(sums[1])).to_pylist()[0]
    return int(row["ln"] or 0), int(row["rn"] or 0)


class _Count:
    # Stands in for a repeat mask in the notes (they only ask any() and sum()).
    def __init__(self, n: int) -> None:
        self.n = n

    def any(self) -> bool:
        return self.n > 0

    def sum(self) -> int:
        return self.n


def _facade(plan: Plan, repeat_rows: tuple[int, int]) -> Any:
    # The fields of a Comparison the notes read, from the plan and the counts.
    pairing = SimpleNamespace(
        left_repeat=_Count(repeat_rows[0]), right_repeat=_Count(repeat_rows[1])
    )
    return SimpleNamespace(
        keys=plan.keys,
        aligned=plan.aligned,
        pairing=pairing,
        names=plan.names,
        duplicates=plan.duplicates,
        fields=plan.fields,
        rules=plan.rules,
    )


__all__ = ["Plan", "run"]
