"""Vectorized building blocks over Arrow string columns, shared by the rules engine and
reconciliation: conversion, blanks, repeats, set membership, and running work on several cores.

>>> import pandas as pd
>>> text = as_arrow(pd.Series(["a", " a", None, "a", 7]))
>>> blank(text).tolist(), repeated(text).tolist()
([False, False, True, False, False], [False, False, False, True, False])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

T = TypeVar("T")

PARALLEL_CELLS = 200_000  # rows x tasks below which threads cost more than they save
MAX_WORKERS = 4
HASH_GROUP_ROWS = 262_144  # rows hashed at once when looking for repeats (bounds memory)
LONG_VALUE = 4_096  # byte lengths from here up share one hashing group
SEPARATOR = pa.scalar("\x1f", pa.large_string())  # joins the parts of a row or a key
NULL_PART = "\x00"  # stands for a null part in a row's text


def as_arrow(values: pd.Series) -> pa.Array:
    """The column as one Arrow string array: zero-copy for pandas' Arrow-backed ``str``
    columns, numbers and other objects become their ``str``, nulls stay null."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        values = values.astype(pd.StringDtype("pyarrow"))
    array = pa.array(values.array)
    if isinstance(array, pa.ChunkedArray):  # several chunks: one copy, kernels want one array
        array = array.combine_chunks() if array.num_chunks else pa.array([], pa.large_string())
    return array


def blank(array: pa.Array) -> np.ndarray:
    """True where the value is null, empty, or only whitespace.

    Arrow's ``utf8_is_space`` is true for exactly the characters Python's ``str.isspace`` is,
    so this is "blank after ``str.strip()``" without materializing a trimmed copy.
    """
    empty = pc.fill_null(pc.equal(pc.binary_length(array), 0), True)
    space = pc.fill_null(pc.utf8_is_space(array), False)
    return np.asarray(pc.or_(empty, space), dtype=bool)


def codes_of(key: pa.Array) -> tuple[np.ndarray, int]:
    """One hash pass: a code per row (equal values, equal codes; nulls get the extra code
    ``distinct``) and the number of distinct values. The dictionary is not kept."""
    encoded = pc.dictionary_encode(key)
    distinct = len(encoded.dictionary)
    return np.asarray(pc.fill_null(encoded.indices, distinct)), distinct


def _repeated_within(key: pa.Array) -> np.ndarray:
    codes, distinct = codes_of(key)
    order = np.arange(len(codes), dtype=np.int32 if len(codes) < 2**31 else np.int64)
    first = np.full(distinct + 1, len(codes), dtype=order.dtype)
    np.minimum.at(first, codes, order)  # unbuffered: the first row of each code
    out: np.ndarray = first[codes] != order
    return out


def repeated(key: pa.Array) -> np.ndarray:
    """True for every row whose value already appeared in an earlier row. Nulls count as one
    value (mask them out when they should not count).

    Values of different byte lengths are never equal, so a long column is split into groups of
    neighbouring lengths (about ``HASH_GROUP_ROWS`` rows each) hashed one at a time: the hash
    table and dictionary then hold a group, not the column. Same result either way.
    """
    if len(key) <= HASH_GROUP_ROWS:
        return _repeated_within(key)
    lengths = np.minimum(np.asarray(pc.fill_null(pc.binary_length(key), -1)) + 1, LONG_VALUE)
    per_length = np.bincount(lengths, minlength=LONG_VALUE + 1)
    group_of_length = (np.cumsum(per_length) - per_length) // HASH_GROUP_ROWS
    groups = group_of_length[lengths]
    out = np.empty(len(key), dtype=bool)
    for group in np.unique(group_of_length[per_length > 0]):
        rows = np.flatnonzero(groups == group)
        out[rows] = _repeated_within(key.take(pa.array(rows)))
    return out


def occurrence(key: pa.Array) -> np.ndarray:
    """For each row, how many earlier rows hold the same value (0 for a first occurrence).

    >>> occurrence(pa.array(["a", "b", "a", "a", None])).tolist()
    [0, 0, 1, 2, 0]
    """
    return occurrences(codes_of(key)[0])


def occurrences(codes: np.ndarray) -> np.ndarray:
    """For each code, how many earlier positions hold the same code (0 for a first one)."""
    # One stable sort groups equal codes in row order; a row's rank within its run of equal
    # codes is its occurrence.
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = np.arange(len(codes)) - run_start
    return out


def pair_copies(left: pa.Array, right: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Pair equal values across two arrays: the n-th copy of a value on the left with the
    n-th copy on the right. Returns the paired positions (left, right), pairwise; the others
    have no partner. One hash pass over both arrays.

    >>> l, r = pair_copies(pa.array(["a", "b", "a", "c"]), pa.array(["c", "a", "x"]))
    >>> l.tolist(), r.tolist()
    ([0, 3], [1, 0])
    """
    if left.type != right.type:
        right = right.cast(left.type)
    codes, distinct = codes_of(pa.concat_arrays([left, right]))
    lcodes, rcodes = codes[: len(left)], codes[len(left) :]
    lcount = np.bincount(lcodes, minlength=distinct + 1)
    rcount = np.bincount(rcodes, minlength=distinct + 1)
    locc, rocc = occurrences(lcodes), occurrences(rcodes)
    lpos = np.flatnonzero(locc < rcount[lcodes])
    rpos = np.flatnonzero(rocc < lcount[rcodes])
    # the n-th copy on each side: order both by (code, occurrence)
    return (
        lpos[np.lexsort((locc[lpos], lcodes[lpos]))],
        rpos[np.lexsort((rocc[rpos], rcodes[rpos]))],
    )


def row_text(parts: Sequence[pa.Array], rows: int) -> pa.Array:
    """One text per row joining ``parts`` (string arrays of ``rows`` rows); a null part stands
    in as ``\\x00``, so rows are equal exactly when every part is."""
    if not parts:
        return pa.array([""] * rows, pa.large_string())
    return pc.binary_join_element_wise(
        *parts, SEPARATOR, null_handling="replace", null_replacement=NULL_PART
    )


def is_in(array: pa.Array, values: pa.Array) -> np.ndarray:
    """True where the value is one of ``values`` (nulls are never in)."""
    values = pc.unique(values.cast(array.type).drop_null())
    return np.asarray(pc.fill_null(pc.is_in(array, value_set=values), False), dtype=bool)


def run_all(tasks: Sequence[Callable[[], T]], heavy: Sequence[bool], cells: int) -> list[T]:
    """Run ``tasks`` and return their results in order.

    Arrow kernels release the GIL, so big work (``cells`` at least ``PARALLEL_CELLS``) runs on
    several cores: the calling thread takes the ``heavy`` tasks (hashing, whose large
    allocations then stay with its allocator heap) while worker threads take the rest. Small
    work, or work that is all heavy or all light, stays on the calling thread.
    """
    workers = min(len(tasks) - 1, (os.cpu_count() or 1) - 1, MAX_WORKERS)
    if cells < PARALLEL_CELLS or workers < 1 or all(heavy) or not any(heavy):
        return [task() for task in tasks]
    with ThreadPoolExecutor(workers, thread_name_prefix="migkit") as pool:
        light = {i: pool.submit(task) for i, task in enumerate(tasks) if not heavy[i]}
        done = {i: task() for i, task in enumerate(tasks) if heavy[i]}
        return [done[i] if heavy[i] else light[i].result() for i in range(len(tasks))]
