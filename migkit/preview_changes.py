"""What changed between two Generation-2 previews (a *Change* in the notebook, an
``update`` run): per template, the cells whose value differs (with the value they had) and
the rows added or removed, matched by the preview's row index.

>>> Change(cells={(0, "Email"): None}, added=0, removed=1).text()
'1 cell changed, 1 row fewer'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migkit.printable import counted

if TYPE_CHECKING:
    from migkit.preview import Preview, PreviewSheet


def cell_text(value: Any) -> str | None:
    """A cell as text, ``None`` when empty (``None``, NaN, ``pd.NA``).

    >>> import pandas as pd
    >>> cell_text(pd.NA), cell_text(float("nan")), cell_text("x")
    (None, None, 'x')
    """
    try:
        empty = value is None or bool(value != value)  # NaN is the one value unequal to itself
    except TypeError:  # pd.NA: its comparisons are NA, whose truth is ambiguous
        empty = True
    return None if empty else str(value)


@dataclass(frozen=True)
class Change:
    """What changed in one template between two previews: ``cells`` maps ``(row, column)``
    to the value it had (``None`` for empty), plus rows added and removed."""

    cells: Mapping[tuple[int, str], str | None] = field(default_factory=dict)
    added: int = 0
    removed: int = 0

    def __bool__(self) -> bool:
        return bool(self.cells) or bool(self.added) or bool(self.removed)

    def text(self) -> str:
        """The change in words (``""`` when nothing changed)."""
        parts = [f"{counted(len(self.cells), 'cell')} changed"] if self.cells else []
        if self.added:
            parts.append(f"{counted(self.added, 'row')} more")
        if self.removed:
            parts.append(f"{counted(self.removed, 'row')} fewer")
        return ", ".join(parts)


def sheet_change(old: PreviewSheet | None, new: PreviewSheet) -> Change:
    """The cells of ``new`` whose value differs from ``old`` (same row index and column; a
    column new to the sheet counts as changed where it holds a value)."""
    if old is None:
        return Change()
    before, after = old.frame, new.frame
    common = after.index.intersection(before.index)
    cells: dict[tuple[int, str], str | None] = {}
    for column in after.columns:
        now = after.loc[common, column]
        was = before.loc[common, column] if column in before.columns else None
        for label, value in now.items():
            old_value = cell_text(was[label]) if was is not None else None
            if cell_text(value) != old_value:
                cells[(int(label), str(column))] = old_value
    added = len(after.index.difference(before.index))
    removed = len(before.index.difference(after.index))
    return Change(cells, added, removed)


def preview_changes(old: Preview | None, new: Preview) -> dict[str, Change]:
    """Per template slug, what changed from ``old`` to ``new`` (empty without ``old``)."""
    if old is None:
        return {}
    return {slug: sheet_change(old.sheets.get(slug), sheet) for slug, sheet in new.sheets.items()}
