"""The result of a reconciliation: what matched, what is missing or extra and why, what
changed, and what normalization hid."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class ReconcileReport:
    """Two frames compared row by row and cell by cell.

    ``names`` are the two sides (``("source", "export")``, or ``("old", "new")`` for
    :func:`migkit.diff_exports`). Every row of each side is accounted for exactly once:
    ``rows[0] == matched + len(missing)`` and ``rows[1] == matched + len(extra)``.

    - ``missing``: rows of the first side with no partner, with ``reason`` and ``detail``;
    - ``extra``: rows of the second side with no partner, with ``reason``;
    - ``changed``: one row per changed cell of a matched pair: the key, ``column``, both values,
      both row labels and a ``reason``;
    - ``hidden``: cells that differ as written but are equal after normalization, with ``by``;
    - ``duplicates``: every row whose key occurs more than once on its side, and whether it
      was paired (``duplicates_mode``: ``"occurrence"`` pairs the n-th row of a key with the
      n-th, ``"first"`` only the first ones; unpaired repeats are missing or extra with reason
      ``duplicate key``);
    - ``by_column``: compared, changed and hidden cells per column, and the match rate.

    Column labels are the frames' own (any hashable). ``fields`` names the columns the report
    adds (``reason``, ``detail``, ``column``, ...): the usual name, or the name with leading
    underscores when one of the caller's columns already has it.

    >>> import migkit, pandas as pd
    >>> r = migkit.reconcile(pd.DataFrame({"k": ["a", "b"], "v": ["1", "2"]}),
    ...                      pd.DataFrame({"k": ["a"], "v": ["9"]}), key="k")
    >>> r.matched, len(r.missing), r.changed_rows
    (1, 1, 1)
    """

    names: tuple[str, str]
    key: tuple[Hashable, ...] | None
    rows: tuple[int, int]
    matched: int
    missing: pd.DataFrame
    extra: pd.DataFrame
    changed: pd.DataFrame
    build_hidden: Callable[[], pd.DataFrame] = field(repr=False, compare=False)
    duplicates: pd.DataFrame
    by_column: pd.DataFrame
    columns: dict[Hashable, Hashable] = field(default_factory=dict)
    only_in: tuple[tuple[Hashable, ...], tuple[Hashable, ...]] = ((), ())
    notes: tuple[str, ...] = ()
    on_index: bool = False
    duplicates_mode: str = "occurrence"
    fields: Mapping[str, str] = field(default_factory=dict)

    def field_name(self, name: str) -> str:
        """The name the report's own column ``name`` (``"reason"``, ``"detail"``, ...) has in
        its tables: ``name`` itself unless a caller's column already had that label."""
        return self.fields.get(name, name)

    @cached_property
    def hidden(self) -> pd.DataFrame:
        """Cells that differ as written but are equal after normalization, with ``by``: the
        normalization that made them equal. Built on first use (it can be large)."""
        return self.build_hidden()

    @property
    def hidden_cells(self) -> int:
        """How many cells normalization hid (without building :attr:`hidden`)."""
        return int(self.by_column["hidden by normalization"].sum()) if len(self.by_column) else 0

    @property
    def matched_by(self) -> str:
        """How rows were paired: ``"key Email"``, ``"index"`` or ``"full-row hash"``."""
        if self.on_index:
            return "index"
        return "full-row hash" if self.key is None else "key " + ", ".join(map(str, self.key))

    @property
    def keys_repeat(self) -> bool:
        """True when a key occurs more than once on either side (see :attr:`duplicates`)."""
        return len(self.duplicates) > 0

    @property
    def changed_rows(self) -> int:
        """Matched pairs with at least one changed cell."""
        if not len(self.changed):
            return 0
        return int(self.changed[self.field_name(f"{self.names[0]}_row")].nunique())

    @property
    def ok(self) -> bool:
        """True when nothing is missing, extra or changed."""
        return not (len(self.missing) or len(self.extra) or len(self.changed))

    @property
    def added(self) -> pd.DataFrame:
        """Rows only in the second side (``extra``), the natural name for two exports."""
        return self.extra

    @property
    def removed(self) -> pd.DataFrame:
        """Rows only in the first side (``missing``), the natural name for two exports."""
        return self.missing

    def summary(self) -> pd.DataFrame:
        """Headline counts: rows per side, matched, missing per reason, extra per reason,
        changed cells and rows, hidden cells."""
        first, second = self.names
        lines: list[tuple[str, int]] = [
            (f"{first} rows", self.rows[0]),
            (f"{second} rows", self.rows[1]),
            ("matched", self.matched),
        ]
        for label, table in (("missing", self.missing), ("extra", self.extra)):
            lines.append((label, len(table)))
            for reason, n in table[self.field_name("reason")].value_counts(sort=True).items():
                lines.append((f"{label}: {reason}", int(n)))
        lines += [
            ("changed cells", len(self.changed)),
            ("changed rows", self.changed_rows),
            ("hidden by normalization", self.hidden_cells),
        ]
        return pd.DataFrame(lines, columns=["what", "count"]).set_index("what")

    def to_excel(self, path: str | Path) -> Path:
        """Write the report to an ``.xlsx`` workbook (a sheet per table) for people outside
        the notebook; returns the path. Every text cell is written as text (a value such as
        ``=HYPERLINK(...)`` is never a live formula), control characters are shown as
        ``\\xNN``, and the file appears whole or not at all (see :mod:`migkit.safe_write`).

        >>> report.to_excel("reconciliation.xlsx")  # doctest: +SKIP
        """
        from migkit.safe_write import write_workbook

        def labelled(table: pd.DataFrame, label: str) -> pd.DataFrame:
            names = [
                n or (label if i == 0 else f"{label} {i + 1}")
                for i, n in enumerate(table.index.names)
            ]
            taken = set(map(str, table.columns))
            names = [n if str(n) not in taken else f"{n} (index)" for n in names]
            return table.rename_axis(names).reset_index()

        return write_workbook(
            path,
            [
                ("Summary", labelled(self.summary(), "what")),
                ("By column", labelled(self.by_column, "column")),
                ("Missing", labelled(self.missing, "row")),
                ("Extra", labelled(self.extra, "row")),
                ("Changed", self.changed),
                ("Hidden by normalization", self.hidden),
                ("Duplicate keys", self.duplicates),
            ],
        )

    def __repr__(self) -> str:
        first, second = self.names
        return (
            f"<ReconcileReport by {self.matched_by}: {first} {self.rows[0]:,} rows, "
            f"{second} {self.rows[1]:,} rows, {self.matched:,} matched, "
            f"{len(self.missing):,} missing, {len(self.extra):,} extra, "
            f"{len(self.changed):,} changed cells in {self.changed_rows:,} rows>"
        )

    def _repr_html_(self) -> str:
        from migkit.notebook.html import reconcile_html

        return reconcile_html(self)
