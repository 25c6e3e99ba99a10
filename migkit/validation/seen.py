"""The distinct values a unique column held in earlier batches of a streamed file, so
:func:`migkit.validate_file` flags a repeat across batches exactly as :func:`migkit.validate`
flags it in one frame, with work per batch that does not grow with the batches before it.

Each distinct value (trimmed, as the ``unique`` rule compares) is kept once, as UTF-8 in the
Arrow array of the batch that first held it (about its length plus 4 bytes; a Python ``set``
of ``str`` takes over 100 bytes a value). Beside it: a 64-bit hash and the value's position
(12 bytes), in runs sorted by hash that merge as they double, so there are at most
``log2(values) + 1`` runs and a value moves about ``log2(batches)`` times in all. A batch is looked
up with a binary search per run, and a hash hit counts only when the kept value equals the
batch's value exactly: a hash collision never flags a row.

>>> seen = SeenValues()
>>> seen.update(pa.array(["a", " b", None, "a"])).tolist()
[False, False, False, False]
>>> seen.update(pa.array(["b\\t", "c", "a", "  "])).tolist()
[True, False, True, False]
>>> len(seen)
3
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migkit.column_kernels import blank, repeated

SMALL = 2**31  # offsets and positions below this fit in 32 bits


def text_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each value of a string array without nulls: Python's own ``hash`` of
    ``str`` (equal texts, equal hashes within this process; distinct texts may collide).

    >>> a, b, c = text_hashes(pa.array(["x", "y", "x"])).tolist()
    >>> a == c
    True
    """
    texts = values.to_numpy(zero_copy_only=False)
    return np.fromiter(map(hash, texts), dtype=np.int64, count=len(texts))


@dataclass(frozen=True)
class _Run:
    hashes: np.ndarray  # int64, sorted
    positions: np.ndarray  # where each hash's value is kept (int32 while they fit), same order

    def __len__(self) -> int:
        return len(self.hashes)


def _merge(older: _Run, newer: _Run) -> _Run:
    """One run from two sorted ones, without sorting again: ``newer``'s hashes go where a
    binary search in ``older`` puts them, ``older``'s fill the other places in order."""
    size = len(older) + len(newer)
    at = np.searchsorted(older.hashes, newer.hashes, side="right") + np.arange(len(newer))
    from_newer = np.zeros(size, dtype=bool)
    from_newer[at] = True
    hashes = np.empty(size, dtype=np.int64)
    positions = np.empty(size, dtype=np.result_type(older.positions, newer.positions))
    hashes[at], positions[at] = newer.hashes, newer.positions
    hashes[~from_newer], positions[~from_newer] = older.hashes, older.positions
    return _Run(hashes, positions)


class SeenValues:
    """The distinct non-blank trimmed values of one column over the batches given to
    :meth:`update` so far (see the module's docstring for how they are kept)."""

    def __init__(self) -> None:
        self._chunks: list[pa.Array] = []  # new distinct values of each batch, first-seen order
        self._starts: list[int] = [0]  # each chunk's first position, then the count
        self._runs: list[_Run] = []  # sorted by hash; each of a larger size class than the next

    def __len__(self) -> int:
        return self._starts[-1]

    @property
    def nbytes(self) -> int:
        """Bytes held: the kept values and the hash runs."""
        runs = sum(int(r.hashes.nbytes + r.positions.nbytes) for r in self._runs)
        return runs + sum(int(chunk.nbytes) for chunk in self._chunks)

    def update(self, column: pa.Array) -> np.ndarray:
        """A mask over ``column`` (a string array): True where the row's value, trimmed of
        whitespace, was in an earlier batch. Blank values (null, empty, whitespace) are never
        seen. Then this batch's new values join the seen ones."""
        filled = np.flatnonzero(~blank(column))
        kept = column.take(pa.array(filled)).cast(pa.large_string())
        values = pc.utf8_trim_whitespace(kept)
        hashes = text_hashes(values)
        # The rows in hash order: each binary search then starts where the last one ended,
        # which keeps a long run's memory cache-friendly (6x faster on a run of 19M hashes).
        order = np.argsort(hashes)
        found = self._find(values, hashes, order)
        earlier = np.zeros(len(column), dtype=bool)
        earlier[filled[found]] = True
        self._add(values, hashes, _one_of_each(values, hashes, order[~found[order]]))
        return earlier

    def _find(self, values: pa.Array, hashes: np.ndarray, order: np.ndarray) -> np.ndarray:
        """True where the value is kept: a run holding its hash, then the kept value equal."""
        found = np.zeros(len(values), dtype=bool)
        for run in self._runs:
            rows = order[~found[order]]
            at = np.searchsorted(run.hashes, hashes[rows])
            while len(rows):  # each pass looks at the next kept value with the same hash
                inside = at < len(run)
                rows, at = rows[inside], at[inside]
                same = run.hashes[at] == hashes[rows]
                rows, at = rows[same], at[same]
                if not len(rows):
                    break
                kept = self._values_at(run.positions[at])
                equal = np.asarray(pc.equal(kept, values.take(pa.array(rows))), dtype=bool)
                found[rows[equal]] = True
                rows, at = rows[~equal], at[~equal] + 1
        return found

    def _values_at(self, positions: np.ndarray) -> pa.Array:
        """The kept values at ``positions``, in that order, read from the chunks holding them
        (only those)."""
        chunk = np.searchsorted(self._starts, positions, side="right") - 1
        order = np.argsort(chunk, kind="stable")
        edges = np.flatnonzero(np.diff(chunk[order])) + 1
        parts = []
        for group in np.split(order, edges):
            c = int(chunk[group[0]])
            found = self._chunks[c].take(pa.array(positions[group] - self._starts[c]))
            parts.append(found.cast(pa.large_string()))  # chunks may differ in offset width
        gathered = pa.concat_arrays(parts)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        return gathered.take(pa.array(back))

    def _add(self, values: pa.Array, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Keep ``values`` at ``rows`` (new to this set, distinct, in hash order)."""
        if not len(rows):
            return
        start = self._starts[-1]
        chunk = values.take(pa.array(rows))  # a compact copy, in hash order
        if chunk.nbytes < SMALL:
            chunk = chunk.cast(pa.string())  # 32-bit offsets: 4 bytes a value less
        self._chunks.append(chunk)
        self._starts.append(start + len(rows))
        wide = np.int32 if start + len(rows) < SMALL else np.int64
        positions = np.arange(start, start + len(rows), dtype=wide)
        self._runs.append(_Run(hashes[rows], positions))
        # Runs of the same power-of-two size class merge (and a smaller one before a larger
        # one), so each run is of a smaller class than the one before, whatever the batches
        # hold: log2(values) + 1 runs at most.
        while len(self._runs) > 1 and _size_class(self._runs[-2]) <= _size_class(self._runs[-1]):
            newer = self._runs.pop()
            self._runs[-1] = _merge(self._runs[-1], newer)


def _one_of_each(values: pa.Array, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` (in hash order) without the repeats of a value: copies of a value share a
    hash, so only rows whose hash another row has are compared, exactly."""
    same = hashes[rows[1:]] == hashes[rows[:-1]]
    twins = np.zeros(len(rows), dtype=bool)
    twins[1:] = same
    twins[:-1] |= same
    shared = np.flatnonzero(twins)
    keep = np.ones(len(rows), dtype=bool)
    if len(shared):
        keep[shared[repeated(values.take(pa.array(rows[shared])))]] = False
    out: np.ndarray = rows[keep]
    return out


def _size_class(run: _Run) -> int:
    return len(run).bit_length()
