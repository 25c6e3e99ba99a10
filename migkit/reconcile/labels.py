"""Which columns two frames share, and which of them (or the index) is the key.

Column labels may be any hashable (``0, 1, 2`` from ``header=None``, tuples, strings) and are
kept and shown exactly as they are. Only string labels are healed like the server heals
headers (``E-mail`` meets ``Email``); other labels pair with an equal label or not at all.

>>> import pandas as pd
>>> a = align(pd.DataFrame(columns=[0, "E-mail"]), pd.DataFrame(columns=["Email", 0]))
>>> a.pairs, a.only_left, a.only_right
([('E-mail', 'Email'), (0, 0)], (), ())
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from migkit.errors import UsageError
from migkit.header_healing import match_headers

Label = Hashable


@dataclass(frozen=True)
class IndexLevel:
    """Stands for level ``number`` of a frame's index when rows are joined on the index.
    A class of its own, so it can never be mistaken for a column label."""

    number: int


@dataclass(frozen=True)
class Aligned:
    """The columns two frames share: ``pairs`` of (left label, right label), in right order."""

    pairs: list[tuple[Label, Label]]
    only_left: tuple[Label, ...]
    only_right: tuple[Label, ...]


def align(left: pd.DataFrame, right: pd.DataFrame, heal: bool = True) -> Aligned:
    """Pair columns by equal label, then (``heal``) string labels as the server heals headers."""
    lcols: list[Label] = list(left.columns)
    rcols: list[Label] = list(right.columns)
    for side, frame in (("first", left), ("second", right)):
        repeats = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
        if repeats:
            raise UsageError(f"the {side} frame repeats column(s) {repeats}; rename them first")
    # Equal labels first, by hash: 0 meets 0, never "0" (labels are shown as they are).
    rset = set(rcols)
    pairs = [(c, c) for c in lcols if c in rset]
    if heal:
        exact = {c for c, _ in pairs}
        # Healing is for header text; a number or tuple label is never renamed into another.
        lrest = [c for c in lcols if c not in exact and isinstance(c, str)]
        rrest = [c for c in rcols if c not in exact and isinstance(c, str)]
        pairs += list(match_headers(lrest, rrest).mapping.items())
    position: dict[Label, int] = {c: i for i, c in enumerate(rcols)}
    paired_left = {a for a, _ in pairs}
    paired_right = {b for _, b in pairs}
    return Aligned(
        pairs=sorted(pairs, key=lambda p: position[p[1]]),
        only_left=tuple(c for c in lcols if c not in paired_left),
        only_right=tuple(c for c in rcols if c not in paired_right),
    )


def key_labels(
    key: Any, aligned: Aligned, on_index: bool, levels: tuple[int, int]
) -> tuple[Label, ...] | None:
    """The key as a tuple of right-side labels (or :class:`IndexLevel` s), ``None`` for
    whole-row pairing; a clear error for a key that is not in both frames.

    A list names several columns; a tuple does too, unless it is itself a column label (as
    in frames with MultiIndex columns). ``key="index"`` joins on the index unless both frames
    have a column labelled ``"index"`` (what ``reset_index()`` makes), which then wins.
    """
    by_either = {a: b for a, b in aligned.pairs} | {b: b for _, b in aligned.pairs}
    if on_index or (isinstance(key, str) and key == "index" and key not in by_either):
        if key is not None and key != "index":
            raise UsageError(f"pass key={key!r} or on_index=True, not both")
        if levels[0] != levels[1]:
            raise UsageError(
                f"cannot join on the index: the first frame's index has {levels[0]} level(s),"
                f" the second's {levels[1]}"
            )
        return tuple(IndexLevel(n) for n in range(levels[0]))
    if key is None:
        return None
    names = _names(key, by_either)
    if not names:
        raise UsageError(
            "key must name at least one column, or be None to match whole rows"
            " (key='index' or on_index=True joins on the index)"
        )
    unknown = [k for k in names if _is_label(k, by_either) is not True]
    if unknown:
        shared = [b for _, b in aligned.pairs]
        raise UsageError(
            f"key column(s) {unknown} are not in both frames; columns in both: {shared}"
        )
    return tuple(by_either[k] for k in names)


def _is_label(key: Any, labels: dict[Label, Label]) -> bool | None:
    # True/False whether ``key`` is a shared label; None when it cannot be one (unhashable).
    try:
        return key in labels
    except TypeError:
        return None


def _names(key: Any, labels: dict[Label, Label]) -> tuple[Label, ...]:
    if isinstance(key, str) or (isinstance(key, tuple) and _is_label(key, labels)):
        return (key,)
    # A list, an Index or an array names several columns; any other hashable is one label.
    if isinstance(key, Sequence | pd.Index) or hasattr(key, "__array__"):
        return tuple(key)
    if _is_label(key, labels) is None:
        raise UsageError(f"key must be a column label or a list of them, not {key!r}")
    return (key,)


def free_name(name: str, taken: Sequence[Label]) -> str:
    """``name``, or ``name`` with leading underscores until no column of ``taken`` has it:
    a column the report adds never overwrites one of the caller's."""
    used = set(_hashable(taken))
    while name in used:
        name = "_" + name
    return name


def _hashable(labels: Sequence[Label]) -> list[Label]:
    return [label for label in labels if _is_label(label, {}) is not None]
