"""Pairing the rows of two sides on an engine (steps 3 and 4 of
:mod:`migkit.scale.reconcile`): whether keys repeat, and the filtered full outer join on the
key, or on (key, occurrence) when one does, in key-hash slices when the engine needs them.

Whether keys repeat is settled without a pass over the second side: the first side's keys are
checked (one aggregate); when they are unique the join is on the key alone, which then has at
most one row per row of the second side, and a repeat there shows in the join itself (more
second-side rows paired than first-side rows, or an unpaired key twice). Only then are the
ranks computed and the join run again on (key, occurrence).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migkit.scale import text
from migkit.scale.engines import Engine, union_all
from migkit.scale.progress import Stages

if TYPE_CHECKING:
    from migkit.scale.reconcile import Plan


def pair(
    engine: Engine, plan: Plan, lside: Any, rside: Any, stages: Stages
) -> tuple[Any, Any, Any, bool, tuple[int, int]]:
    """The join of the keyed sides (unpaired rows and pairs that differ as written), the
    sides (ranked when a key repeats), whether they are, and the unpaired rows per side."""
    ranked = _repeats(engine, lside, "l") > 0
    parts = _parts(engine, plan)
    if not ranked:
        kept = _joined(engine, plan, lside, rside, parts, stages, ranked=False)
        joined = _with_keys(plan, union_all(kept))
        unpaired = _unpaired_counts(engine, joined)
        ranked = _second_side_repeats(engine, plan, joined, unpaired)
        if not ranked:
            return joined, lside, rside, False, unpaired
        for table in kept:
            engine.release(table)
    lside, rside = _ranked(lside), _ranked(rside)
    joined = union_all(_joined(engine, plan, lside, rside, parts, stages, ranked=True))
    return joined, lside, rside, True, _unpaired_counts(engine, joined)


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
    unpaired key is two unpaired rows with one key (counted: the unpaired rows are few)."""
    paired_left = plan.left.rows - unpaired[0]
    paired_right = plan.right.rows - unpaired[1]
    if paired_right != paired_left:
        return True
    rows = joined.filter(joined.r_pos.notnull() & joined.l_pos.isnull())
    return _later_rows(engine, rows, "r", hashed=False) > 0


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
