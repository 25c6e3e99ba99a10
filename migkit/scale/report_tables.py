"""The report's tables read from the engine's join, shaped exactly as the in-memory path
shapes them (same columns, order, labels and reasons)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.reconcile.canonical import canonical
from migkit.reconcile.reasons import DUPLICATE_KEY, EMPTY_KEY, SET_BY_PATCH, Evidence
from migkit.scale import text
from migkit.scale.engines import POSITION, Engine, union_all
from migkit.scale.evidence import missing_reasons
from migkit.scale.staging import Staged
from migkit.scale.tables import LazyTable

if TYPE_CHECKING:
    from migkit.scale.reconcile import Plan

Table = pd.DataFrame | LazyTable


def _deliver(
    engine: Engine,
    expr: Any,
    post: Callable[[pa.Table], pd.DataFrame],
    small_rows: int,
    counted: dict[Any, str] | None = None,
    order: list[str] | None = None,
    rows: int | None = None,
) -> Table:
    # Counted first (no sort; skipped when the count is known from an earlier query); small
    # results come back as DataFrames, large ones stay on the engine, sorted only when their
    # rows are read.
    rows = engine.count(expr) if rows is None else rows
    ordered = expr.order_by(order) if order else expr
    if rows <= small_rows:
        return post(engine.to_pyarrow(ordered))
    first = order[0] if order else None
    return LazyTable(engine, ordered, post, rows, counted, first, unordered=expr)


def _labels_are_positions(staged: Staged) -> bool:
    # Counting distinct row labels on the engine counts positions: the same when labels are.
    return staged.frame is None or staged.frame.index.is_unique


def _objects(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def cell_table(
    engine: Engine,
    plan: Plan,
    cells: Any,
    kind: str,
    evidence: Evidence,
    small_rows: int,
    rows_known: int | None = None,
) -> Table:
    """Changed (or hidden) cells in row then column order (``Comparison.cell_table``);
    ``rows_known``: their count when already known."""
    import ibis

    first, second = plan.names
    f = plan.fields
    last = f["reason"] if kind == "changed" else f["by"]
    shown = list(plan.keys or ())
    names = [*shown, f["column"], f[first], f[second], f[f"{first}_row"], f[f"{second}_row"], last]
    rows = cells.filter(cells.status == kind)
    if kind == "changed":
        why: Any = ibis.literal("value differs")
        for number, (_, b) in enumerate(plan.compared):
            for hit in _patch_hits(evidence, b, rows):
                why = ibis.ifelse((rows.col == number) & hit, SET_BY_PATCH, why)
        rows = rows.mutate(why=why)
    else:
        parts = []
        for number, (_, b) in enumerate(plan.compared):
            part = rows.filter(rows.col == number)
            by = text.hidden_by(engine, plan.rules[b], part["first"], part["second"])
            parts.append(part.mutate(why=by))
        rows = union_all(parts) if parts else rows.mutate(why=ibis.literal(""))
    labels = np.empty(len(plan.compared), dtype=object)
    labels[:] = [b for _, b in plan.compared]

    def post(table: pa.Table) -> pd.DataFrame:
        if not table.num_rows:
            return pd.DataFrame({n: pd.Series(dtype=object) for n in names}, columns=names)
        lpos = np.asarray(table["l_pos"].to_numpy(), dtype=np.int64)
        rpos = np.asarray(table["r_pos"].to_numpy(), dtype=np.int64)
        data = [_objects(table[f"k{i}"]) for i in range(len(shown))]
        data += [labels[np.asarray(table["col"].to_numpy())]]
        data += [_objects(table["first"]), _objects(table["second"])]
        data += [plan.left.row_labels(lpos), plan.right.row_labels(rpos), _objects(table["why"])]
        return pd.DataFrame(dict(zip(names, data, strict=True)), columns=names)

    counted = {last: "why"}
    if _labels_are_positions(plan.left):
        counted[f[f"{first}_row"]] = "l_pos"
    return _deliver(engine, rows, post, small_rows, counted, ["l_pos", "col"], rows_known)


def _patch_hits(evidence: Evidence, column: Any, rows: Any) -> list[Any]:
    # A set_value action explains a change: same column, the export holds its value, the
    # source held one of its values (reasons.change_reasons).
    hits = []
    for action in evidence.actions:
        if action.get("action") != "set_value" or action.get("column") != column:
            continue
        value = canonical(pd.Series([action.get("value")], dtype=object)).text[0].as_py()
        hit = rows.second.isnull() if value is None else (rows.second == value).fill_null(False)
        originals = action.get("values")
        if originals is not None:
            hit = hit & rows["first"].isin([str(v) for v in originals]).fill_null(False)
        hits.append(hit)
    return hits


def missing_table(
    engine: Engine,
    plan: Plan,
    joined: Any,
    rside: Any,
    repeats: bool,
    evidence: Evidence,
    small_rows: int,
    rows_known: int | None = None,
) -> tuple[Table, list[str]]:
    """Rows of the first side with no partner, with ``reason`` and ``detail``."""
    import ibis

    unpaired = joined.filter(joined.l_pos.notnull() & joined.r_pos.isnull())
    dup = ibis.literal(False)
    if repeats:
        shared = unpaired.l_k.isin(rside.r_k).fill_null(False)
        dup = (unpaired.l_occ > 0) & unpaired.l_k.notnull() & shared
    rows = unpaired.select(
        unpaired.l_pos.name(POSITION),
        *[unpaired[f"l_{name}"].name(name) for name in plan.left.names.values()],
        m_k=unpaired.l_k,
        m_empty=unpaired.l_k.isnull(),
        m_dup=dup,
    )
    rows, reason, detail, notes = missing_reasons(engine, plan, rows, evidence)
    rows = rows.mutate(m_reason=reason, m_detail=detail)
    out = rows.select(POSITION, *plan.left.names.values(), "m_reason", "m_detail")
    post = _rows_post(plan.left, [("m_reason", plan.fields["reason"])], plan.fields["detail"])
    counted = {plan.fields["reason"]: "m_reason"}
    return _deliver(engine, out, post, small_rows, counted, [POSITION], rows_known), notes


def extra_table(
    engine: Engine,
    plan: Plan,
    joined: Any,
    lside: Any,
    repeats: bool,
    small_rows: int,
    rows_known: int | None = None,
) -> Table:
    """Rows of the second side with no partner, with ``reason``."""
    import ibis

    unpaired = joined.filter(joined.r_pos.notnull() & joined.l_pos.isnull())
    reason: Any = ibis.literal(f"not in the {plan.names[0]}")
    if repeats:
        shared = unpaired.r_k.isin(lside.l_k).fill_null(False)
        dup = (unpaired.r_occ > 0) & unpaired.r_k.notnull() & shared
        reason = ibis.ifelse(dup, DUPLICATE_KEY, reason)
    reason = ibis.ifelse(unpaired.r_k.isnull(), EMPTY_KEY, reason)
    out = unpaired.select(
        unpaired.r_pos.name(POSITION),
        *[unpaired[f"r_{name}"].name(name) for name in plan.right.names.values()],
        e_reason=reason,
    )
    post = _rows_post(plan.right, [("e_reason", plan.fields["reason"])], None)
    counted = {plan.fields["reason"]: "e_reason"}
    return _deliver(engine, out, post, small_rows, counted, [POSITION], rows_known)


def _rows_post(
    staged: Staged, added: list[tuple[str, str]], detail: str | None
) -> Callable[[pa.Table], pd.DataFrame]:
    # The caller's rows (their own frame's rows and labels when a frame was given) plus the
    # report's columns, as object arrays like the in-memory tables.
    def post(table: pa.Table) -> pd.DataFrame:
        positions = np.asarray(table[POSITION].to_numpy(), dtype=np.int64)
        if staged.frame is not None:
            out = staged.frame.iloc[positions].copy()
        else:
            out = pd.DataFrame(
                {label: table[staged.names[label]].to_pandas() for label in staged.labels},
                columns=pd.Index(list(staged.labels), dtype=object, tupleize_cols=False),
            )
            out.index = pd.Index(positions)
        for column, name in added:
            out[name] = _objects(table[column])
        if detail is not None:
            out[detail] = _objects(table["m_detail"])
        return out

    return post


def repeated_keys(engine: Engine, plan: Plan, lside: Any, rside: Any, joined: Any) -> pd.DataFrame:
    """Every row whose key occurs more than once on its side, and whether it paired."""
    parts = []
    for name, staged, side, p, o in (
        (plan.names[0], plan.left, lside, "l", "r"),
        (plan.names[1], plan.right, rside, "r", "l"),
    ):
        unpaired = joined.filter(joined[f"{p}_pos"].notnull() & joined[f"{o}_pos"].isnull())
        rows = side.filter(side[f"{p}_k"].notnull() & (side[f"{p}_n"] > 1))
        rows = rows.select(
            pos=rows[f"{p}_pos"],
            key=rows[f"{p}_k"],
            matched=~rows[f"{p}_pos"].isin(unpaired[f"{p}_pos"]).fill_null(False),
        )
        found = engine.to_pyarrow(rows.order_by("pos"))
        if not found.num_rows:
            continue
        positions = np.asarray(found["pos"].to_numpy(), dtype=np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "side": name,
                    "key": _objects(found["key"]),
                    "row": staged.row_labels(positions),
                    "matched": np.asarray(found["matched"].to_numpy(), dtype=bool),
                }
            )
        )
    if not parts:
        columns = ["side", "key", "row", "matched"]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(parts, ignore_index=True).sort_values(["side", "key"], kind="stable")


def by_column(engine: Engine, plan: Plan, cells: Any, matched: int) -> pd.DataFrame:
    """Compared, changed and hidden cells per compared column, and the match rate."""
    counts = engine.to_pyarrow(cells.group_by(["col", "status"]).aggregate(n=cells.count()))
    changed = np.zeros(len(plan.compared), dtype=np.int64)
    hidden = np.zeros(len(plan.compared), dtype=np.int64)
    for row in counts.to_pylist():
        (changed if row["status"] == "changed" else hidden)[row["col"]] = row["n"]
    labels = np.empty(len(plan.compared), dtype=object)
    labels[:] = [b for _, b in plan.compared]
    table = pd.DataFrame(
        {
            "compared": [matched] * len(plan.compared),
            "changed": [int(n) for n in changed],
            "hidden by normalization": [int(n) for n in hidden],
        },
        index=pd.Index(labels, name="column", dtype=object),
    )
    table["match rate"] = 1.0 - table["changed"] / matched if matched else 1.0
    return table
