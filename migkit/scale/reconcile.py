"""Reconciliation on an engine: the in-memory algorithm as one Ibis expression per step.

1. Stage both sides (:mod:`migkit.scale.staging`), each row with its position.
2. Key text per row, normalized exactly as in memory (:mod:`migkit.scale.text`). When a key
   repeats, each row's occurrence is its rank among the rows of its key by position, so the
   n-th row of a key pairs with the n-th on the other side (``duplicates="first"``: only the
   first ones); when no key repeats, the ranks are all 0 and are skipped.
3. One full outer join keeps only what the report needs: unpaired rows and pairs with a
   cell that differs as written (usually few), materialized once. Whether keys repeat is
   settled without a pass over the second side: the first side's keys are checked (one
   aggregate); when they are unique the join is on the key alone, which then has at most
   one row per row of the second side, and a repeat there shows in the join itself (more
   second-side rows paired than first-side rows, or an unpaired key twice). Only then are
   the ranks computed and the join run again on (key, occurrence).
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
from migkit.scale import text
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
        # Occurrence ranks only when a key repeats (module docstring, step 3).
        ranked = _repeats(engine, lside, "l") > 0
        parts = _parts(engine, plan)
        if not ranked:
            kept = _joined(engine, plan, lside, rside, parts, stages, ranked=False)
            joined = _with_keys(plan, union_all(kept))
            unpaired = _unpaired_counts(engine, joined)
            ranked = _second_side_repeats(engine, plan, joined, unpaired)
            if ranked:
                for table in kept:
                    engine.release(table)
        if ranked:
            lside, rside = _ranked(lside), _ranked(rside)
            joined = union_all(_joined(engine, plan, lside, rside, parts, stages, ranked=True))
            unpaired = _unpaired_counts(engine, joined)
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


def _ranked(side: Any) -> Any:
    """Each row's occurrence of its key (0 for the first) by position, and the key's rows."""
    import ibis

    p = side.columns[0][0]
    k, pos = side[f"{p}_k"], side[f"{p}_pos"]
    return side.mutate(
        **{
            f"{p}_occ": ibis.row_number().over(group_by=k, order_by=pos),
            f"{p}_n": k.count().over(group_by=k),
        }
    )


def _repeats(engine: Engine, side: Any, p: str) -> int:
    """Rows of one side whose key an earlier row holds. On DuckDB the distinct 64-bit hashes
    of the key are counted first (an integer hash table, far cheaper than one of strings):
    when no hash repeats, no key does; only when one does (a repeat, or a collision) are
    the keys themselves counted."""
    if engine.name == "duckdb" and not _later_rows(engine, side, p, hashed=True):
        return 0
    return _later_rows(engine, side, p, hashed=False)


def _duckdb_hash(x: Any) -> Any:
    # DuckDB's own 64-bit ``hash`` (Ibis's ``hash()`` casts it through a bit string).
    import ibis
    import ibis.expr.datatypes as dt

    @ibis.udf.scalar.builtin(name="hash", signature=((dt.string,), dt.uint64))  # type: ignore[untyped-decorator]
    def hash_of(value: str) -> int: ...  # type: ignore[empty-body]

    return hash_of(x)


def _later_rows(engine: Engine, side: Any, p: str, *, hashed: bool) -> int:
    # Keys (or their hashes) less their distinct values: rows after the first of a key.
    keyed = side.filter(side[f"{p}_k"].notnull())  # DuckDB hashes a null too
    k = keyed[f"{p}_k"]
    distinct = _duckdb_hash(k).nunique() if hashed else k.nunique()
    found = engine.to_pyarrow(keyed.aggregate(n=k.count() - distinct))
    return int(found["n"][0].as_py() or 0)


def _second_side_repeats(
    engine: Engine, plan: Plan, joined: Any, unpaired: tuple[int, int]
) -> bool:
    """Whether a key of the second side repeats, read from the join on the key alone when
    the first side's keys are unique: each second-side row then pairs at most once, so a
    repeated paired key pairs more second-side rows than first-side rows, and a repeated
    unpaired key is two unpaired rows with one key (grouped: the unpaired rows are few)."""
    paired_left = plan.left.rows - unpaired[0]
    paired_right = plan.right.rows - unpaired[1]
    if paired_right != paired_left:
        return True
    rows = joined.filter(joined.r_pos.notnull() & joined.l_pos.isnull() & joined.r_k.notnull())
    groups = rows.group_by(rows.r_k.name("g")).aggregate(n=rows.count())
    found = engine.to_pyarrow(groups.filter(groups.n > 1).count().name("n").as_table())
    return bool(found["n"][0].as_py())


def _parts(engine: Engine, plan: Plan) -> int:
    # How many key-hash slices the join runs in (Engine.join_parts).
    sizes = (plan.left.nbytes, plan.right.nbytes)
    return engine.join_parts(None if None in sizes else sum(s or 0 for s in sizes))


def _joined(
    engine: Engine,
    plan: Plan,
    lside: Any,
    rside: Any,
    parts: int,
    stages: Stages,
    *,
    ranked: bool,
) -> list[Any]:
    # The join, materialized in ``parts`` key-hash slices (each key in exactly one).
    kept = []
    for i in range(parts):
        if parts > 1:
            stages.start(f"pairing, slice {i + 1} of {parts},", plan.left.rows + plan.right.rows)
        kept.append(engine.materialize(_join(plan, lside, rside, ranked=ranked, part=(i, parts))))
    return kept


def _join(
    plan: Plan, lside: Any, rside: Any, *, ranked: bool, part: tuple[int, int] = (0, 1)
) -> Any:
    """The full outer join on the key (and occurrence when ``ranked``), keeping what the
    report needs: unpaired rows, and pairs with a cell that differs as written. With
    ``part=(i, n)``, only the rows whose key hashes to slice ``i`` of ``n``."""
    plain = None if ranked else _plain_key(plan)
    if plain is not None:
        # The key is a column as written: the join reads it in place (no copy of the key
        # text in the join's rows), an empty key pairing with nothing.
        lside, rside = lside.drop("l_k"), rside.drop("r_k")

    def key(side: Any, p: str) -> Any:
        return side[f"{p}_k"] if plain is None else side[f"{p}_{plain['lr'.index(p)]}"]

    if part[1] > 1:
        lside, rside = (
            lside.filter(_slice(key(lside, "l"), part)),
            rside.filter(_slice(key(rside, "r"), part)),
        )
    on = [key(lside, "l") == key(rside, "r")]
    if plain is not None:
        on.append(key(lside, "l") != "")
    if ranked:
        on.append(lside.l_occ == rside.r_occ)
        if plan.duplicates == "first" and plan.keys is not None:
            on.append(lside.l_occ == 0)  # whole rows always pair copy by copy
    joined = lside.outer_join(rside, on)
    keep = joined.l_pos.isnull() | joined.r_pos.isnull()
    for a, b in plan.compared:
        la = joined[f"l_{plan.left.names[a]}"]
        rb = joined[f"r_{plan.right.names[b]}"]
        keep = keep | ~text.same(la, rb)
    return joined.filter(keep)


def _slice(key: Any, part: tuple[int, int]) -> Any:
    # Slice ``part[0]`` of ``part[1]`` by the key's 64-bit hash (DuckDB only: the one engine
    # that joins in parts); a null key is in slice 0.
    return (_duckdb_hash(key) % part[1]).fill_null(0) == part[0]


def _plain_key(plan: Plan) -> tuple[str, str] | None:
    """The staged columns of a key that is one column compared as written (its key text is
    the column, empty as null), else None."""
    if plan.keys is None or len(plan.keys) != 1 or plan.rules[plan.keys[0]].steps:
        return None
    k = plan.keys[0]
    return plan.left.names[plan.to_left[k]], plan.right.names[k]


def _with_keys(plan: Plan, joined: Any) -> Any:
    # The key text of each side again, for the report's queries (a join that read a plain
    # key in place kept only the column).
    plain = _plain_key(plan)
    if plain is None:
        return joined
    return joined.mutate(
        l_k=joined[f"l_{plain[0]}"].nullif(""), r_k=joined[f"r_{plain[1]}"].nullif("")
    )


def _unpaired_counts(engine: Engine, joined: Any) -> tuple[int, int]:
    counts = joined.aggregate(
        left=(joined.l_pos.notnull() & joined.r_pos.isnull()).sum(),
        right=(joined.r_pos.notnull() & joined.l_pos.isnull()).sum(),
    )
    row = engine.to_pyarrow(counts).to_pylist()[0]
    return int(row["left"] or 0), int(row["right"] or 0)


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
