"""Pairing the rows of two frames: by key (first or n-th occurrence) or by whole row.

Keys are Arrow text arrays, one value per row (:func:`row_key` joins the parts of a key of
several columns). Pairing is one hash pass plus numpy index arithmetic; no per-row Python.

>>> import pyarrow as pa
>>> p = pair_by_key(pa.array(["a", "b", "a"]), pa.array(["a", "a", "c"]), "occurrence")
>>> p.left.tolist(), p.right.tolist()
([0, 2], [0, 1])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migkit import column_kernels
from migkit.column_kernels import NULL_PART, SEPARATOR, codes_of, occurrences, row_text

Duplicates = Literal["occurrence", "first"]
DUPLICATES: tuple[Duplicates, ...] = ("occurrence", "first")


@dataclass(frozen=True)
class Pairing:
    """Which row positions matched, and why the others did not.

    ``left``/``right`` are paired positions, pairwise. The masks cover
    each frame: ``*_empty`` (no key), ``*_repeat`` (an earlier row has the same key) and
    ``*_shared`` (the key occurs on the other side).
    """

    left: np.ndarray
    right: np.ndarray
    left_empty: np.ndarray
    left_repeat: np.ndarray
    left_shared: np.ndarray
    right_empty: np.ndarray
    right_repeat: np.ndarray
    right_shared: np.ndarray


def row_key(parts: Sequence[pa.Array]) -> pa.Array:
    """One text key per row: the (normalized) key column, or its parts joined.

    A null part stands in as ``\\x00``, so a part that is empty on both sides pairs when the
    rest of the key matches (as datacompy pairs null key parts); the key is null, empty as a
    whole, only when every part is.
    """
    if len(parts) == 1:
        return parts[0]
    joined = pc.binary_join_element_wise(
        *parts, SEPARATOR, null_handling="replace", null_replacement=NULL_PART
    )
    # The joined text has no null (nulls were replaced), so emptiness comes from the parts.
    empty = np.logical_and.reduce([np.asarray(p.is_null(), dtype=bool) for p in parts])
    if not empty.any():
        return joined
    return pc.if_else(pa.array(empty), pa.scalar(None, joined.type), joined)


def pair_by_key(lkey: pa.Array, rkey: pa.Array, duplicates: Duplicates) -> Pairing:
    """Pair rows with equal keys; null keys never pair.

    With ``duplicates="occurrence"`` the n-th row of a key on the left pairs with the n-th on
    the right; with ``"first"`` only the first rows of a key pair.

    Keys of different byte lengths are never equal, so the rows of both sides are split into
    groups of neighbouring key lengths, one per core, and each group is paired on its own
    thread (one group when the work is small).
    """
    if lkey.type != rkey.type:  # string vs large_string: one hash table needs one type
        rkey = rkey.cast(lkey.type)
    groups = min(column_kernels.MAX_WORKERS, os.cpu_count() or 1)
    if len(lkey) + len(rkey) < column_kernels.PARALLEL_CELLS or groups < 2:
        parts = [_pair_group(lkey, rkey, None, None, duplicates)]
    else:
        llen, rlen = _lengths(lkey), _lengths(rkey)
        # Cut the lengths where the running row count crosses 1/groups of all rows, so each
        # group hashes about as many rows (equal keys share a length, hence a group).
        cumulative = np.cumsum(np.bincount(np.concatenate([llen, rlen])))
        cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, groups) / groups)
        lgroup, rgroup = np.searchsorted(cuts, llen), np.searchsorted(cuts, rlen)
        tasks = []
        for group in range(groups):
            lrows, rrows = np.flatnonzero(lgroup == group), np.flatnonzero(rgroup == group)
            tasks.append(lambda lr=lrows, rr=rrows: _pair_group(lkey, rkey, lr, rr, duplicates))
        # The first group stays on the calling thread (its large allocations stay there too).
        heavy = [i == 0 for i in range(groups)]
        parts = column_kernels.run_all(tasks, heavy, len(lkey) + len(rkey))
    masks = {name: np.zeros(n, dtype=bool) for name, n in _mask_sizes(len(lkey), len(rkey))}
    for part in parts:  # a group returns positions; the report wants masks over each frame
        for name in masks:
            masks[name][getattr(part, name)] = True
    return Pairing(
        left=np.concatenate([p.left for p in parts]),
        right=np.concatenate([p.right for p in parts]),
        left_empty=np.asarray(lkey.is_null(), dtype=bool),
        right_empty=np.asarray(rkey.is_null(), dtype=bool),
        **masks,
    )


def _mask_sizes(left: int, right: int) -> list[tuple[str, int]]:
    return [
        ("left_repeat", left),
        ("left_shared", left),
        ("right_repeat", right),
        ("right_shared", right),
    ]


def _lengths(key: pa.Array) -> np.ndarray:
    # Byte length per row, nulls as 0 (the empty key is null, so no real key has length 0).
    return np.asarray(pc.fill_null(pc.binary_length(key), 0), dtype=np.int64)


def _pair_group(
    lkey: pa.Array,
    rkey: pa.Array,
    lrows: np.ndarray | None,
    rrows: np.ndarray | None,
    duplicates: Duplicates,
) -> Pairing:
    # Pair the rows ``lrows`` x ``rrows`` (all when None). Positions in the result are global;
    # the mask fields hold positions too (pair_by_key turns them into masks).
    lsub = lkey if lrows is None else lkey.take(pa.array(lrows))
    rsub = rkey if rrows is None else rkey.take(pa.array(rrows))
    codes, distinct = codes_of(pa.concat_arrays([lsub, rsub]))
    lcodes, rcodes = codes[: len(lsub)], codes[len(lsub) :]
    lcount = np.bincount(lcodes, minlength=distinct + 1)
    rcount = np.bincount(rcodes, minlength=distinct + 1)
    lcount[distinct] = rcount[distinct] = 0  # nulls (the extra code) never pair or repeat
    lshared, rshared = rcount[lcodes] > 0, lcount[rcodes] > 0
    if max(lcount.max(initial=0), rcount.max(initial=0)) <= 1:
        # Unique keys on both sides, the usual case: scatter right rows by code, then read
        # each left row's partner. No sort needed.
        where = np.empty(distinct + 1, dtype=np.int64)
        where[rcodes] = np.arange(len(rcodes))
        lpos = np.flatnonzero(lshared)
        rpos = where[lcodes[lpos]]
        lrep, rrep = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    else:
        locc, rocc = occurrences(lcodes), occurrences(rcodes)
        if duplicates == "first":
            lpick, rpick = lshared & (locc == 0), rshared & (rocc == 0)
        else:  # the n-th copy pairs when the other side has at least n copies
            lpick, rpick = locc < rcount[lcodes], rocc < lcount[rcodes]
        lpos, rpos = np.flatnonzero(lpick), np.flatnonzero(rpick)
        # Both sides ordered by (key, occurrence): the i-th left row pairs with the i-th right.
        lpos = lpos[np.lexsort((locc[lpos], lcodes[lpos]))]
        rpos = rpos[np.lexsort((rocc[rpos], rcodes[rpos]))]
        lrep = np.flatnonzero((locc > 0) & (lcodes != distinct))
        rrep = np.flatnonzero((rocc > 0) & (rcodes != distinct))
    lglobal = (lambda x: x) if lrows is None else (lambda x: lrows[x])
    rglobal = (lambda x: x) if rrows is None else (lambda x: rrows[x])
    none = np.zeros(0, dtype=bool)
    return Pairing(
        left=lglobal(lpos),
        right=rglobal(rpos),
        left_empty=none,
        left_repeat=lglobal(lrep),
        left_shared=lglobal(np.flatnonzero(lshared)),
        right_empty=none,
        right_repeat=rglobal(rrep),
        right_shared=rglobal(np.flatnonzero(rshared)),
    )


def pair_by_rows(lrow: pa.Array, rrow: pa.Array) -> Pairing:
    """Pair identical rows: the n-th copy of a row on the left with the n-th on the right."""
    left, right = column_kernels.pair_copies(lrow, rrow)
    lnone, rnone = np.zeros(len(lrow), dtype=bool), np.zeros(len(rrow), dtype=bool)
    return Pairing(
        left=left,
        right=right,
        left_empty=lnone,
        left_repeat=lnone,
        left_shared=lnone,
        right_empty=rnone,
        right_repeat=rnone,
        right_shared=rnone,
    )


def full_row_key(parts: Sequence[pa.Array], rows: int) -> pa.Array:
    """One text per row joining every compared column (nulls stand in as ``\\x00``)."""
    return row_text(parts, rows)
