"""Pairing rows of two frames and comparing their cells, vectorized over Arrow arrays."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit import columns
from migkit.columns import SEPARATOR, codes_of, row_text
from migkit.errors import UsageError
from migkit.headers import match_headers
from migkit.reconcile.normalize import Normalize, canonical, normalized, same, within


@dataclass(frozen=True)
class Aligned:
    """The columns two frames share: ``pairs`` of (left name, right name)."""

    pairs: list[tuple[str, str]]
    only_left: tuple[str, ...]
    only_right: tuple[str, ...]


def align(left: pd.DataFrame, right: pd.DataFrame) -> Aligned:
    """Pair columns by exact name, then heal the rest as the server heals headers."""
    lcols, rcols = [str(c) for c in left.columns], [str(c) for c in right.columns]
    for side, cols in (("first", lcols), ("second", rcols)):
        repeats = sorted({c for c in cols if cols.count(c) > 1})
        if repeats:
            raise UsageError(f"the {side} frame repeats column(s) {repeats}; rename them first")
    exact = [c for c in lcols if c in rcols]
    healed = match_headers(
        [c for c in lcols if c not in exact], [c for c in rcols if c not in exact]
    ).mapping
    pairs = [(c, c) for c in exact] + list(healed.items())
    paired_left = {a for a, _ in pairs}
    paired_right = {b for _, b in pairs}
    return Aligned(
        pairs=sorted(pairs, key=lambda p: rcols.index(p[1])),
        only_left=tuple(c for c in lcols if c not in paired_left),
        only_right=tuple(c for c in rcols if c not in paired_right),
    )


@dataclass
class Side:
    """One frame prepared for comparison: canonical and normalized text per column."""

    frame: pd.DataFrame
    raw: dict[str, pa.Array]
    norm: dict[str, pa.Array]
    notes: list[str]

    @classmethod
    def of(cls, frame: pd.DataFrame, columns: Sequence[str], how: Normalize, name: str) -> Side:
        raw: dict[str, pa.Array] = {}
        notes: list[str] = []
        for column in columns:
            values = frame[column].reset_index(drop=True)
            raw[column], note = canonical(values)
            if note:
                notes.append(f"{name} {column}: {note}")
        return cls(frame, raw, {}, notes)

    def normalized(self, column: str, template_name: str, how: Normalize) -> pa.Array:
        if column not in self.norm:
            self.norm[column] = normalized(self.raw[column], template_name, how)
        return self.norm[column]


def row_key(side: Side, columns: Sequence[str], names: Sequence[str], how: Normalize) -> pa.Array:
    """One text key per row: the (normalized) key column, or its parts joined; null when any
    part is empty."""
    parts = [side.normalized(c, n, how) for c, n in zip(columns, names, strict=True)]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, SEPARATOR, null_handling="emit_null")


def full_row_key(
    side: Side, columns: Sequence[str], names: Sequence[str], how: Normalize
) -> pa.Array:
    """One text per row joining every compared column (nulls stand in as ``\\x00``)."""
    parts = [side.normalized(c, n, how) for c, n in zip(columns, names, strict=True)]
    return row_text(parts, len(side.frame))


@dataclass(frozen=True)
class Pairing:
    """Which row positions matched, and why the others did not."""

    left: np.ndarray  # positions in the left frame, pairwise with ``right``
    right: np.ndarray
    left_empty: np.ndarray  # bool masks over each frame
    left_repeat: np.ndarray
    right_empty: np.ndarray
    right_repeat: np.ndarray


def pair_by_key(lkey: pa.Array, rkey: pa.Array) -> Pairing:
    """Pair the first row of each key on the left with the first on the right.

    Keys of different byte lengths are never equal, so the rows of both sides are split into
    groups of neighbouring key lengths, one per core, and each group is paired on its own
    thread (one group when the work is small). Within a group, one hash pass over both sides
    gives every distinct key a code, and the first row of each code on each side comes from an
    unbuffered ``np.minimum.at``.
    """
    if lkey.type != rkey.type:
        rkey = rkey.cast(lkey.type)
    groups = min(columns.MAX_WORKERS, os.cpu_count() or 1)
    if len(lkey) + len(rkey) < columns.PARALLEL_CELLS or groups < 2:
        parts = [_pair_group(lkey, rkey, None, None)]
    else:
        llen = _lengths(lkey)
        rlen = _lengths(rkey)
        per_length = np.bincount(np.concatenate([llen, rlen]))
        cumulative = np.cumsum(per_length)
        cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, groups) / groups)
        lgroup, rgroup = np.searchsorted(cuts, llen), np.searchsorted(cuts, rlen)
        tasks = []
        for group in range(groups):
            lrows, rrows = np.flatnonzero(lgroup == group), np.flatnonzero(rgroup == group)
            tasks.append(lambda lr=lrows, rr=rrows: _pair_group(lkey, rkey, lr, rr))
        parts = columns.run_all(tasks, [i == 0 for i in range(groups)], len(lkey) + len(rkey))
    lrep = np.zeros(len(lkey), dtype=bool)
    rrep = np.zeros(len(rkey), dtype=bool)
    lempty = np.asarray(lkey.is_null(), dtype=bool)
    rempty = np.asarray(rkey.is_null(), dtype=bool)
    for part in parts:
        lrep[part.left_repeat] = True
        rrep[part.right_repeat] = True
    return Pairing(
        left=np.concatenate([p.left for p in parts]),
        right=np.concatenate([p.right for p in parts]),
        left_empty=lempty,
        left_repeat=lrep & ~lempty,
        right_empty=rempty,
        right_repeat=rrep & ~rempty,
    )


def _lengths(key: pa.Array) -> np.ndarray:
    # Byte length per row, nulls as 0 (the empty key is null, so no real key has length 0).
    return np.asarray(pc.fill_null(pc.binary_length(key), 0), dtype=np.int64)


def _pair_group(
    lkey: pa.Array, rkey: pa.Array, lrows: np.ndarray | None, rrows: np.ndarray | None
) -> Pairing:
    # Pair the rows ``lrows`` x ``rrows`` (all when None); positions in the result are global,
    # and ``*_repeat`` hold the positions of repeated rows (not masks).
    lsub = lkey if lrows is None else lkey.take(pa.array(lrows))
    rsub = rkey if rrows is None else rkey.take(pa.array(rrows))
    codes, distinct = codes_of(pa.concat_arrays([lsub, rsub]))
    lcodes, rcodes = codes[: len(lsub)], codes[len(lsub) :]
    _, lrep = _firsts(lcodes, distinct)
    rfirst, rrep = _firsts(rcodes, distinct)
    lnull, rnull = lcodes == distinct, rcodes == distinct  # nulls have the extra code
    rows = np.flatnonzero(~lnull & ~lrep)
    partner = rfirst[lcodes[rows]]
    found = partner < len(rsub)
    lglobal = (lambda x: x) if lrows is None else (lambda x: lrows[x])
    rglobal = (lambda x: x) if rrows is None else (lambda x: rrows[x])
    none = np.zeros(0, dtype=bool)
    return Pairing(
        left=lglobal(rows[found]),
        right=rglobal(partner[found]),
        left_empty=none,
        left_repeat=lglobal(np.flatnonzero(lrep & ~lnull)),
        right_empty=none,
        right_repeat=rglobal(np.flatnonzero(rrep & ~rnull)),
    )


def _firsts(codes: np.ndarray, distinct: int) -> tuple[np.ndarray, np.ndarray]:
    # The first row holding each code (len(codes) where none does), and which rows repeat.
    order = np.arange(len(codes), dtype=np.int64)
    first = np.full(distinct + 1, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, order)
    return first, first[codes] != order


def pair_by_rows(lrow: pa.Array, rrow: pa.Array) -> Pairing:
    """Pair identical rows: the n-th copy of a row on the left with the n-th on the right."""
    left, right = columns.pair_copies(lrow, rrow)
    none = np.zeros(len(lrow), dtype=bool)
    return Pairing(
        left=left,
        right=right,
        left_empty=none,
        left_repeat=none,
        right_empty=np.zeros(len(rrow), dtype=bool),
        right_repeat=np.zeros(len(rrow), dtype=bool),
    )


@dataclass(frozen=True)
class CellDiffs:
    """For one compared column: positions (into the pairing) that changed or were hidden."""

    changed: np.ndarray
    hidden: np.ndarray


def compare_column(
    left: Side,
    right: Side,
    pair: tuple[str, str],
    pairing: Pairing,
    how: Normalize,
) -> CellDiffs:
    """Compare one column over the matched pairs.

    Values equal as written are equal; normalization runs only on the pairs that differ as
    written (usually few), so its cost follows the differences, not the column.
    """
    lname, rname = pair
    lidx, ridx = pa.array(pairing.left), pa.array(pairing.right)
    lraw, rraw = left.raw[lname].take(lidx), right.raw[rname].take(ridx)
    differ = np.flatnonzero(~same(lraw, rraw))
    if not how.active or not len(differ):
        return CellDiffs(differ, np.zeros(0, dtype=np.int64))
    take = pa.array(differ)
    lnorm = normalized(lraw.take(take), rname, how)
    rnorm = normalized(rraw.take(take), rname, how)
    norm_same = same(lnorm, rnorm)
    if how.tolerance is not None:
        still = np.flatnonzero(~norm_same)
        if len(still):
            pick = pa.array(still)
            close = within(lnorm.take(pick), rnorm.take(pick), how.tolerance)
            norm_same[still[close]] = True
    return CellDiffs(differ[~norm_same], differ[norm_same])


def hidden_by(lval: pa.Array, rval: pa.Array, column: str, how: Normalize) -> list[str]:
    """Which normalization made each pair of different values equal: the first of the steps,
    in the order they apply, after which the two agree."""
    hidden = np.arange(len(lval))
    by = np.full(len(hidden), "tolerance", dtype=object)
    undecided = np.ones(len(hidden), dtype=bool)
    steps: list[tuple[str, Normalize]] = []
    if column in how.columns:
        steps.append((f"columns[{column!r}]", Normalize(columns={column: how.columns[column]})))
    if how.trim:
        steps.append(("trim", Normalize(columns=how.columns, trim=True)))
    if how.ignore_case:
        steps.append(
            ("ignore_case", Normalize(columns=how.columns, trim=how.trim, ignore_case=True))
        )
    for label, step in steps:
        agree = same(normalized(lval, column, step), normalized(rval, column, step))
        by[undecided & agree] = label
        undecided &= ~agree
    return [str(b) for b in by]


def check_key(key: str | Sequence[str] | None, aligned: Aligned) -> tuple[str, ...] | None:
    """The key as a tuple of right-side column names; a clear error for unknown columns."""
    if key is None:
        return None
    names = (key,) if isinstance(key, str) else tuple(key)
    if not names:
        raise UsageError("key must name at least one column, or be None to match whole rows")
    by_either = {a: b for a, b in aligned.pairs} | {b: b for _, b in aligned.pairs}
    unknown = [k for k in names if k not in by_either]
    if unknown:
        shared = [b for _, b in aligned.pairs]
        raise UsageError(
            f"key column(s) {unknown} are not in both frames; columns in both: {shared}"
        )
    return tuple(by_either[k] for k in names)
