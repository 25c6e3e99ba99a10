"""Reconciliation: prove what landed. Source vs export, or one export vs a later one.

>>> import migkit, pandas as pd
>>> source = pd.DataFrame({"Email": ["a@x.io", "b@x.io", "c@x.io"],
...                        "Status": ["Open", "open ", "Closed"]})
>>> export = pd.DataFrame({"Email": ["a@x.io", "b@x.io"], "Status": ["Open", "Open"]})
>>> report = migkit.reconcile(source, export, key="Email", normalize=["trim", "case"])
>>> report.matched, report.missing["reason"].tolist(), len(report.changed), len(report.hidden)
(2, ['unknown'], 0, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.columns import blank, is_in, run_all
from migkit.errors import UsageError
from migkit.reconcile.engine import (
    Aligned,
    CellDiffs,
    Pairing,
    Side,
    align,
    check_key,
    compare_column,
    full_row_key,
    hidden_by,
    pair_by_key,
    pair_by_rows,
    row_key,
)
from migkit.reconcile.normalize import Normalize, canonical
from migkit.reconcile.report import ReconcileReport

if TYPE_CHECKING:
    from migkit.models import ProposedPatch, Run
    from migkit.validation.report import ValidationReport

__all__ = ["Normalize", "ReconcileReport", "diff_exports", "reconcile"]

NormalizeLike = Normalize | str | Iterable[str] | Mapping[str, Any] | None


def reconcile(
    source: pd.DataFrame,
    export: pd.DataFrame,
    key: str | Sequence[str] | None = None,
    *,
    normalize: NormalizeLike = None,
    flagged: pd.DataFrame | None = None,
    validation: ValidationReport | None = None,
    patch: ProposedPatch | Run | Sequence[Mapping[str, Any]] | None = None,
) -> ReconcileReport:
    """Compare the rows you imported (``source``) with what the export holds.

    Rows are paired by ``key`` (one column name or several); without a key, identical rows
    are paired (a full-row hash) and the report says so. Source columns are matched to export
    columns by name, healing header drift as the server does. Cells are compared as canonical
    text (``1.0`` and ``"1"`` are equal, an empty string equals a missing value); ``normalize``
    (``"trim"``, ``["trim", "case"]`` or a :class:`Normalize`) says which formatting is not a
    change, and the report lists what it hid.

    Each source row missing from the export gets a reason when one can be known:

    - ``empty key`` / ``duplicate key`` (a later row repeating an earlier row's key);
    - ``flagged by the server``: its key is in ``flagged`` (the sheet's
      ``exports.frame(..., filter="flagged")`` or ``filter="all"``);
    - ``deleted by an accepted patch``: ``patch`` (the accepted ``proposed_patch``, or the
      paused run) has a ``delete_invalid_rows`` action for a column the row breaks;
    - ``predicted invalid locally``: ``validation`` (a :func:`migkit.validate` report of this
      source) flags the row; ``detail`` lists its problems either way;
    - ``unknown`` otherwise.

    >>> report = migkit.reconcile(contacts, exported, key="Email",  # doctest: +SKIP
    ...                           normalize="trim", validation=migkit.validate(contacts, t))
    """
    return _compare(
        source,
        export,
        key,
        names=("source", "export"),
        normalize=normalize,
        flagged=flagged,
        validation=validation,
        patch=patch,
    )


def diff_exports(
    old: pd.DataFrame,
    new: pd.DataFrame,
    key: str | Sequence[str] | None = None,
    *,
    normalize: NormalizeLike = None,
) -> ReconcileReport:
    """Added, removed and changed rows between two exports of the same sheet.

    The report is a :class:`ReconcileReport` with sides ``old`` and ``new``: ``.added``
    (rows only in ``new``), ``.removed`` (rows only in ``old``) and ``.changed`` cells.

    >>> old = pd.DataFrame({"Email": ["a@x.io", "b@x.io"], "Tier": ["Gold", "Silver"]})
    >>> new = pd.DataFrame({"Email": ["b@x.io", "c@x.io"], "Tier": ["Gold", "Gold"]})
    >>> d = diff_exports(old, new, key="Email")
    >>> d.added["Email"].tolist(), d.removed["Email"].tolist(), d.changed["column"].tolist()
    (['c@x.io'], ['a@x.io'], ['Tier'])
    """
    return _compare(old, new, key, names=("old", "new"), normalize=normalize)


def _frame(value: Any, role: str) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise UsageError(f"{role} must be a pandas DataFrame, not {type(value).__name__}")
    return value


def _compare(
    left: pd.DataFrame,
    right: pd.DataFrame,
    key: str | Sequence[str] | None,
    *,
    names: tuple[str, str],
    normalize: NormalizeLike,
    flagged: pd.DataFrame | None = None,
    validation: ValidationReport | None = None,
    patch: Any = None,
) -> ReconcileReport:
    left, right = _frame(left, names[0]), _frame(right, names[1])
    how = Normalize.of(normalize)
    aligned = align(left, right)
    keys = check_key(key, aligned)
    lcols = [a for a, _ in aligned.pairs]
    rcols = [b for _, b in aligned.pairs]
    lside = Side.of(left, lcols, how, names[0])
    rside = Side.of(right, rcols, how, names[1])
    to_left = {b: a for a, b in aligned.pairs}
    if keys is None:
        pairing = pair_by_rows(
            full_row_key(lside, lcols, rcols, how), full_row_key(rside, rcols, rcols, how)
        )
        lkey = rkey = None
        compared: list[tuple[str, str]] = []
    else:
        lkey, rkey = run_all(
            [
                lambda: row_key(lside, [to_left[k] for k in keys], keys, how),
                lambda: row_key(rside, list(keys), keys, how),
            ],
            [True, False],
            len(left) + len(right),
        )
        pairing = pair_by_key(lkey, rkey)
        compared = [(a, b) for a, b in aligned.pairs if b not in keys]
    tasks = [(lambda p=pair: compare_column(lside, rside, p, pairing, how)) for pair in compared]
    diffs: list[CellDiffs] = run_all(
        tasks, [i == 0 for i in range(len(tasks))], len(pairing.left) * len(tasks)
    )
    patch_actions = _patch_actions(patch)
    context = (left, right, lside, rside, keys, to_left, compared, pairing, diffs, names, how)
    changed = _cell_table("changed", *context, patch_actions)
    missing = _missing(
        left, lside, lkey, pairing, names, keys, to_left, how, flagged, validation, patch_actions
    )
    extra = _extra(right, pairing, names)
    return ReconcileReport(
        names=names,
        key=keys,
        rows=(len(left), len(right)),
        matched=len(pairing.left),
        missing=missing,
        extra=extra,
        changed=changed,
        build_hidden=lambda: _cell_table("hidden", *context, []),
        duplicates=_duplicates(left, right, lkey, rkey, pairing, names),
        by_column=_by_column(compared, diffs, len(pairing.left)),
        columns={a: b for a, b in aligned.pairs if a != b},
        only_in=(aligned.only_left, aligned.only_right),
        notes=tuple(lside.notes + rside.notes + _mode_notes(keys, aligned)),
    )


def _mode_notes(keys: tuple[str, ...] | None, aligned: Aligned) -> list[str]:
    notes = []
    if keys is None:
        notes.append(
            "No key given: rows were paired when every compared column is equal (full-row hash),"
            " so a changed row shows as one missing and one extra row; pass key=... to see"
            " changed cells"
        )
    renamed = [f"{a} → {b}" for a, b in aligned.pairs if a != b]
    if renamed:
        notes.append("Columns matched by header healing: " + ", ".join(renamed))
    return notes


def _patch_actions(patch: Any) -> list[Mapping[str, Any]]:
    if patch is None:
        return []
    attention = getattr(patch, "needs_attention", None)
    if attention is not None:  # a paused Run
        patch = attention.proposed_patch
        if patch is None:
            return []
    actions = getattr(patch, "actions", patch)
    if not isinstance(actions, Sequence) or not all(isinstance(a, Mapping) for a in actions):
        raise UsageError(
            "patch must be a ProposedPatch, the paused Run that carried it, or a list of its"
            f" actions, not {type(patch).__name__}"
        )
    return list(actions)


def _labels(frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    return np.asarray(frame.index[positions], dtype=object)


def _texts(array: pa.Array, positions: np.ndarray) -> np.ndarray:
    return np.asarray(array.take(pa.array(positions)).to_numpy(zero_copy_only=False), dtype=object)


def _cell_table(
    kind: str,
    left: pd.DataFrame,
    right: pd.DataFrame,
    lside: Side,
    rside: Side,
    keys: tuple[str, ...] | None,
    to_left: Mapping[str, str],
    compared: Sequence[tuple[str, str]],
    pairing: Pairing,
    diffs: Sequence[CellDiffs],
    names: tuple[str, str],
    how: Normalize,
    actions: Sequence[Mapping[str, Any]],
) -> pd.DataFrame:
    # The long table of changed (or hidden) cells, in row then column order.
    first, second = names
    key_names = list(keys or ())
    last = "reason" if kind == "changed" else "by"
    columns = [*key_names, "column", first, second, f"{first}_row", f"{second}_row", last]
    parts: list[pd.DataFrame] = []
    for order, ((lname, rname), diff) in enumerate(zip(compared, diffs, strict=True)):
        where = diff.changed if kind == "changed" else diff.hidden
        if not len(where):
            continue
        lpos, rpos = pairing.left[where], pairing.right[where]
        part: dict[str, Any] = {k: _texts(lside.raw[to_left[k]], lpos) for k in key_names}
        lval = lside.raw[lname].take(pa.array(lpos))
        rval = rside.raw[rname].take(pa.array(rpos))
        part |= {
            "column": rname,
            first: np.asarray(lval.to_numpy(zero_copy_only=False), dtype=object),
            second: np.asarray(rval.to_numpy(zero_copy_only=False), dtype=object),
            f"{first}_row": _labels(left, lpos),
            f"{second}_row": _labels(right, rpos),
            "_order": order,
            "_pos": lpos,
        }
        table = pd.DataFrame(part)
        if kind == "changed":
            table[last] = _change_reasons(table, rname, names, actions)
        else:
            table[last] = hidden_by(lval, rval, rname, how)
        parts.append(table)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values(["_pos", "_order"], kind="stable").drop(columns=["_pos", "_order"])
    return table.reset_index(drop=True)


def _change_reasons(
    table: pd.DataFrame,
    column: str,
    names: tuple[str, str],
    actions: Sequence[Mapping[str, Any]],
) -> np.ndarray:
    reasons = np.full(len(table), "value differs", dtype=object)
    for action in actions:
        if action.get("action") != "set_value" or action.get("column") != column:
            continue
        target = canonical(pd.Series([action.get("value")], dtype=object))[0][0].as_py()
        hit = (
            (table[names[1]] == target).to_numpy()
            if target is not None
            else (table[names[1]].isna().to_numpy())
        )
        originals = action.get("values")
        if originals is not None:
            hit = hit & table[names[0]].isin([str(v) for v in originals]).to_numpy()
        reasons[hit] = "set by the accepted patch"
    return reasons


def _missing(
    left: pd.DataFrame,
    lside: Side,
    lkey: pa.Array | None,
    pairing: Pairing,
    names: tuple[str, str],
    keys: tuple[str, ...] | None,
    to_left: Mapping[str, str],
    how: Normalize,
    flagged: pd.DataFrame | None,
    validation: ValidationReport | None,
    actions: Sequence[Mapping[str, Any]],
) -> pd.DataFrame:
    unmatched = np.ones(len(left), dtype=bool)
    unmatched[pairing.left] = False
    positions = np.flatnonzero(unmatched)
    reason = np.full(len(positions), "unknown", dtype=object)
    detail = np.full(len(positions), "", dtype=object)
    open_ = np.ones(len(positions), dtype=bool)  # no reason found yet

    def settle(mask: np.ndarray, text: str) -> None:
        nonlocal open_
        reason[open_ & mask] = text
        open_ &= ~mask

    settle(pairing.left_empty[positions], "empty key")
    settle(pairing.left_repeat[positions], "duplicate key")
    if flagged is not None and lkey is not None and keys is not None:
        fside = Side.of(_frame(flagged, "flagged"), list(keys), how, "flagged")
        fkey = row_key(fside, list(keys), keys, how)
        settle(is_in(lkey.take(pa.array(positions)), fkey), "flagged by the server")
    labels = left.index[positions]
    problems = _problems(validation)
    if len(problems):
        found = problems.reindex(labels)
        detail[:] = found.fillna("").to_numpy(dtype=object)
    for action in actions:
        column = action.get("column")
        if action.get("action") != "delete_invalid_rows" or column is None:
            continue
        hit = np.zeros(len(positions), dtype=bool)
        if column in to_left:
            hit |= blank(lside.raw[to_left[column]].take(pa.array(positions)))
        if validation is not None:
            bad = validation.errors.loc[validation.errors["column"] == column, "row"]
            hit |= labels.isin(bad.unique())
        settle(hit, "deleted by an accepted patch")
    if len(problems):
        settle(labels.isin(problems.index), "predicted invalid locally")
    if not (flagged is not None or validation is not None or actions):
        detail[open_] = "pass flagged=, validation= or patch= to explain missing rows"
    out = left.iloc[positions].copy()
    out["reason"] = reason
    out["detail"] = detail
    return out


def _problems(validation: ValidationReport | None) -> pd.Series:
    """Per source row label, its predicted problems as one line."""
    if validation is None or validation.errors.empty:
        return pd.Series(dtype=object)
    errors = validation.errors
    lines = errors["column"].astype(str) + ": " + errors["message"].astype(str)
    return lines.groupby(errors["row"], sort=False).agg("; ".join)


def _extra(right: pd.DataFrame, pairing: Pairing, names: tuple[str, str]) -> pd.DataFrame:
    unmatched = np.ones(len(right), dtype=bool)
    unmatched[pairing.right] = False
    positions = np.flatnonzero(unmatched)
    reason = np.full(len(positions), f"not in the {names[0]}", dtype=object)
    reason[pairing.right_repeat[positions]] = "duplicate key"
    reason[pairing.right_empty[positions]] = "empty key"
    out = right.iloc[positions].copy()
    out["reason"] = reason
    return out


def _duplicates(
    left: pd.DataFrame,
    right: pd.DataFrame,
    lkey: pa.Array | None,
    rkey: pa.Array | None,
    pairing: Pairing,
    names: tuple[str, str],
) -> pd.DataFrame:
    parts = []
    for name, frame, key, repeat in (
        (names[0], left, lkey, pairing.left_repeat),
        (names[1], right, rkey, pairing.right_repeat),
    ):
        if key is None or not repeat.any():
            continue
        rows = np.flatnonzero(is_in(key, key.filter(pa.array(repeat))))
        parts.append(
            pd.DataFrame(
                {
                    "side": name,
                    "key": _texts(key, rows),
                    "row": _labels(frame, rows),
                    "matched": ~repeat[rows],
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ["side", "key", "row", "matched"]})
    return pd.concat(parts, ignore_index=True).sort_values(["side", "key"], kind="stable")


def _by_column(
    compared: Sequence[tuple[str, str]], diffs: Sequence[CellDiffs], matched: int
) -> pd.DataFrame:
    changed = [len(d.changed) for d in diffs]
    hidden = [len(d.hidden) for d in diffs]
    table = pd.DataFrame(
        {
            "compared": [matched] * len(compared),
            "changed": changed,
            "hidden by normalization": hidden,
        },
        index=pd.Index([b for _, b in compared], name="column"),
    )
    table["match rate"] = 1.0 - table["changed"] / matched if matched else 1.0
    return table
