"""One frame prepared for comparison: canonical text and kind per column.

>>> import pandas as pd
>>> side = Side.of(pd.DataFrame({0: [1.0, 2.5]}), [0], "source", index=False)
>>> side.raw[0].to_pylist(), side.kinds[0], side.notes
(['1', '2.5'], 'number', ("source 0: float64 compared as text, whole numbers without '.0'",))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.reconcile.canonical import Kind, canonical
from migkit.reconcile.labels import IndexLevel, Label
from migkit.reconcile.steps import ColumnRules


@dataclass(frozen=True)
class Side:
    """A frame's compared columns (and index levels, when rows are joined on the index) as
    canonical text, with each column's normalized text computed once when first needed."""

    frame: pd.DataFrame
    name: str
    raw: Mapping[Label, pa.Array]
    kinds: Mapping[Label, Kind]
    notes: tuple[str, ...]
    # A cache, not state: filled by ``normalized`` (each side on its own thread at most).
    _normalized: dict[Label, pa.Array] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, frame: pd.DataFrame, labels: Sequence[Label], name: str, index: bool) -> Side:
        """Canonical text of ``labels`` (and of every index level when ``index``)."""
        raw: dict[Label, pa.Array] = {}
        kinds: dict[Label, Kind] = {}
        notes: list[str] = []
        columns: list[tuple[Label, str, pd.Series]] = []
        for label in labels:
            # by position: get_loc finds any hashable label, tuples included
            position = frame.columns.get_loc(label)
            assert isinstance(position, int)  # align() refuses repeated labels
            columns.append((label, str(label), frame.iloc[:, position]))
        if index:
            for n in range(frame.index.nlevels):
                values = pd.Series(frame.index.get_level_values(n))
                columns.append((IndexLevel(n), f"index level {n}", values))
        for label, shown, values in columns:
            found = canonical(values.reset_index(drop=True))
            raw[label], kinds[label] = found.text, found.kind
            if found.note:
                notes.append(f"{name} {shown}: {found.note}")
        return cls(frame, name, raw, kinds, tuple(notes))

    def normalized(self, label: Label, rules: ColumnRules) -> pa.Array:
        """The column after ``rules``' text steps (computed once per column)."""
        if label not in self._normalized:
            self._normalized[label] = rules.apply(self.raw[label])
        return self._normalized[label]

    def values(self, label: Label, positions: np.ndarray) -> np.ndarray:
        """The canonical text of ``label`` at row ``positions``, as an object array."""
        taken = self.raw[label].take(pa.array(positions))
        return np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object)

    def labels(self, positions: np.ndarray) -> np.ndarray:
        """The frame's own row labels at ``positions``."""
        return np.asarray(self.frame.index[positions], dtype=object)
