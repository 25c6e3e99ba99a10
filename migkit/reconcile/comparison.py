"""One comparison of two frames: the state every table of the report is built from.

:meth:`Comparison.run` aligns the columns, pairs the rows and compares the cells; the
methods then build the long tables (changed and hidden cells, extra rows, repeated keys,
counts per column) from that state, so no table recomputes what another already knows.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.column_kernels import is_in, run_all
from migkit.errors import UsageError
from migkit.reconcile.cells import CellDiffs, compare_column
from migkit.reconcile.labels import Aligned, IndexLevel, Label, align, free_name, key_labels
from migkit.reconcile.normalize import Normalize
from migkit.reconcile.pairing import (
    DUPLICATES,
    Duplicates,
    Pairing,
    full_row_key,
    pair_by_key,
    pair_by_rows,
    row_key,
)
from migkit.reconcile.sides import Side
from migkit.reconcile.steps import ColumnRules, rules_for

# Why a changed cell changed, from its column and both values (see reasons.change_reasons).
ChangeReasons = Callable[[Label, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """Two frames paired row by row and compared cell by cell.

    ``keys`` are second-side labels (or :class:`IndexLevel` s), ``None`` for whole-row
    pairing; ``compared`` the (first, second) column pairs compared cell by cell, with one
    :class:`CellDiffs` each in ``diffs``; ``fields`` the names the report's own columns got
    (``"reason"`` unless one of the caller's columns already has that label).
    """

    names: tuple[str, str]
    left: Side
    right: Side
    aligned: Aligned
    keys: tuple[Label, ...] | None
    to_left: Mapping[Label, Label]
    rules: Mapping[Label, ColumnRules]
    compared: tuple[tuple[Label, Label], ...]
    pairing: Pairing
    diffs: tuple[CellDiffs, ...]
    key_text: tuple[pa.Array | None, pa.Array | None]
    duplicates: Duplicates
    fields: Mapping[str, str]

    @classmethod
    def run(
        cls,
        left: pd.DataFrame,
        right: pd.DataFrame,
        key: Any,
        *,
        names: tuple[str, str],
        how: Normalize,
        duplicates: str = "occurrence",
        on_index: bool = False,
        heal_headers: bool = True,
    ) -> Comparison:
        """Align, pair and compare ``left`` and ``right`` (see :func:`migkit.reconcile`)."""
        if duplicates not in DUPLICATES:
            raise UsageError(
                f"duplicates={duplicates!r} is not an option; use 'occurrence' (the n-th row of"
                " a key pairs with the n-th) or 'first' (only the first rows pair)"
            )
        mode: Duplicates = "first" if duplicates == "first" else "occurrence"
        aligned = align(left, right, heal=heal_headers)
        _check_named(how, aligned)
        levels = (left.index.nlevels, right.index.nlevels)
        keys = key_labels(key, aligned, on_index, levels)
        # Joining on the index: the index levels become key "columns" of both sides.
        index = bool(keys) and isinstance(keys[0], IndexLevel)  # type: ignore[index]
        lside = Side.of(left, [a for a, _ in aligned.pairs], names[0], index)
        rside = Side.of(right, [b for _, b in aligned.pairs], names[1], index)
        to_left: dict[Label, Label] = {b: a for a, b in aligned.pairs}
        to_left |= {level: level for level in rside.raw if isinstance(level, IndexLevel)}
        # One set of rules per column, decided once from both sides' kinds: keys, cells and
        # the hidden table all see a column the same way.
        rules = {
            b: rules_for(how, (b, a), (lside.kinds[a], rside.kinds[b])) for b, a in to_left.items()
        }
        pairing, lkey, rkey = _pair(lside, rside, aligned, keys, to_left, rules, mode)
        compared = tuple((a, b) for a, b in aligned.pairs if keys is not None and b not in keys)
        # One task per column; the first stays on this thread, the rest go to workers.
        tasks = [
            (lambda p=pair: compare_column(lside, rside, p, pairing, rules[p[1]]))
            for pair in compared
        ]
        diffs = run_all(tasks, [i == 0 for i in range(len(tasks))], len(pairing.left) * len(tasks))
        return cls(
            names=names,
            left=lside,
            right=rside,
            aligned=aligned,
            keys=keys,
            to_left=to_left,
            rules=rules,
            compared=compared,
            pairing=pairing,
            diffs=tuple(diffs),
            key_text=(lkey, rkey),
            duplicates=mode,
            fields=_fields(names, keys, left, right),
        )

    @property
    def shown_keys(self) -> list[Label]:
        """The key columns the cell tables show (an index key shows as the row labels)."""
        return [k for k in self.keys or () if not isinstance(k, IndexLevel)]

    @property
    def on_index(self) -> bool:
        """True when rows were joined on the index."""
        return bool(self.keys) and isinstance(self.keys[0], IndexLevel)  # type: ignore[index]

    def cell_table(
        self, kind: Literal["changed", "hidden"], reasons: ChangeReasons | None = None
    ) -> pd.DataFrame:
        """The long table of changed (or hidden) cells, in row then column order."""
        first, second = self.names
        f = self.fields
        last = f["reason"] if kind == "changed" else f["by"]
        names = [*self.shown_keys, f["column"], f[first], f[second]]
        names += [f[f"{first}_row"], f[f"{second}_row"], last]
        parts: list[list[np.ndarray]] = []
        order: list[np.ndarray] = []
        pairs = zip(self.compared, self.diffs, strict=True)
        for number, ((lname, rname), diff) in enumerate(pairs):
            where = diff.changed if kind == "changed" else diff.hidden
            if not len(where):
                continue
            lpos, rpos = self.pairing.left[where], self.pairing.right[where]
            lval, rval = self.left.values(lname, lpos), self.right.values(rname, rpos)
            if kind == "changed":
                why = reasons(rname, lval, rval) if reasons else np.full(len(lpos), "value differs")
            else:
                take_l, take_r = pa.array(lpos), pa.array(rpos)
                why = np.asarray(
                    self.rules[rname].hidden_by(
                        self.left.raw[lname].take(take_l), self.right.raw[rname].take(take_r)
                    ),
                    dtype=object,
                )
            column = np.empty(len(lpos), dtype=object)
            column[:] = [rname] * len(lpos)  # a tuple label stays one value
            keys = [self.left.values(self.to_left[k], lpos) for k in self.shown_keys]
            parts.append([*keys, column, lval, rval, self.left.labels(lpos)])
            parts[-1] += [self.right.labels(rpos), np.asarray(why, dtype=object)]
            order.append(np.column_stack([lpos, np.full(len(lpos), number)]))
        if not parts:
            return pd.DataFrame({n: pd.Series(dtype=object) for n in names}, columns=names)
        both = np.concatenate(order)
        sort = np.lexsort((both[:, 1], both[:, 0]))  # row position, then column order
        data = {n: np.concatenate([p[i] for p in parts])[sort] for i, n in enumerate(names)}
        return pd.DataFrame(data, columns=names)

    def extra(self) -> pd.DataFrame:
        """Rows of the second frame with no partner, with a reason."""
        positions = _unpaired(len(self.right.frame), self.pairing.right)
        p = self.pairing
        reason = np.full(len(positions), f"not in the {self.names[0]}", dtype=object)
        # A repeat is a "duplicate key" only when the other side has that key (fewer times);
        # a key absent there explains itself. Empty keys win: they could never pair.
        reason[(p.right_repeat & p.right_shared)[positions]] = "duplicate key"
        reason[p.right_empty[positions]] = "empty key"
        out = self.right.frame.iloc[positions].copy()
        out[self.fields["reason"]] = reason
        return out

    def repeated_keys(self) -> pd.DataFrame:
        """Every row whose key occurs more than once on its side, and whether it paired."""
        parts = []
        p = self.pairing
        for name, side, key, repeat, paired in (
            (self.names[0], self.left, self.key_text[0], p.left_repeat, p.left),
            (self.names[1], self.right, self.key_text[1], p.right_repeat, p.right),
        ):
            if key is None or not repeat.any():
                continue
            # Every row of a repeated key, the first included: a repeat mask marks only later ones.
            rows = np.flatnonzero(is_in(key, key.filter(pa.array(repeat))))
            matched = np.zeros(len(key), dtype=bool)
            matched[paired] = True
            text = np.asarray(key.take(pa.array(rows)).to_numpy(zero_copy_only=False), dtype=object)
            parts.append(
                pd.DataFrame(
                    {"side": name, "key": text, "row": side.labels(rows), "matched": matched[rows]}
                )
            )
        if not parts:
            columns = ["side", "key", "row", "matched"]
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return pd.concat(parts, ignore_index=True).sort_values(["side", "key"], kind="stable")

    def by_column(self) -> pd.DataFrame:
        """Compared, changed and hidden cells per compared column, and the match rate."""
        matched = len(self.pairing.left)
        labels = np.empty(len(self.compared), dtype=object)
        labels[:] = [b for _, b in self.compared]
        table = pd.DataFrame(
            {
                "compared": [matched] * len(self.compared),
                "changed": [len(d.changed) for d in self.diffs],
                "hidden by normalization": [len(d.hidden) for d in self.diffs],
            },
            index=pd.Index(labels, name="column", dtype=object),
        )
        table["match rate"] = 1.0 - table["changed"] / matched if matched else 1.0
        return table


def _pair(
    lside: Side,
    rside: Side,
    aligned: Aligned,
    keys: tuple[Label, ...] | None,
    to_left: Mapping[Label, Label],
    rules: Mapping[Label, ColumnRules],
    mode: Duplicates,
) -> tuple[Pairing, pa.Array | None, pa.Array | None]:
    # The pairing, and each side's key text (None when whole rows pair).
    if keys is None:
        # Whole rows pair on their normalized text; nothing is left to compare cell by cell.
        lrow = full_row_key(
            [lside.normalized(a, rules[b]) for a, b in aligned.pairs], len(lside.frame)
        )
        rrow = full_row_key(
            [rside.normalized(b, rules[b]) for _, b in aligned.pairs], len(rside.frame)
        )
        return pair_by_rows(lrow, rrow), None, None
    # The two sides' keys are normalized on two threads (Arrow releases the GIL).
    lkey, rkey = run_all(
        [
            lambda: row_key([lside.normalized(to_left[k], rules[k]) for k in keys]),
            lambda: row_key([rside.normalized(k, rules[k]) for k in keys]),
        ],
        [True, False],
        len(lside.frame) + len(rside.frame),
    )
    return pair_by_key(lkey, rkey, mode), lkey, rkey


def _unpaired(rows: int, paired: np.ndarray) -> np.ndarray:
    unmatched = np.ones(rows, dtype=bool)
    unmatched[paired] = False
    return np.flatnonzero(unmatched)


def _check_named(how: Normalize, aligned: Aligned) -> None:
    # A per-column option naming a column that is not compared would silently do nothing.
    known: set[Hashable] = {a for a, _ in aligned.pairs} | {b for _, b in aligned.pairs}
    for option, labels in how.per_column.items():
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise UsageError(
                f"normalize {option} names column(s) {unknown} that are not in both frames;"
                f" columns in both: {[b for _, b in aligned.pairs]}"
            )


def _fields(
    names: tuple[str, str], keys: tuple[Label, ...] | None, left: pd.DataFrame, right: pd.DataFrame
) -> dict[str, str]:
    # The report's own columns: the usual name unless a caller's label already has it (the
    # caller's labels are never renamed, so the report's column moves aside instead).
    first, second = names
    in_cells = [k for k in keys or () if not isinstance(k, IndexLevel)]
    taken_rows = [*left.columns, *right.columns]
    fields = {
        name: free_name(name, in_cells)
        for name in ("column", first, second, f"{first}_row", f"{second}_row", "by")
    }
    fields["reason"] = free_name("reason", [*in_cells, *taken_rows])
    fields["detail"] = free_name("detail", taken_rows)
    return fields
