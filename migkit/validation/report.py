"""The result of :func:`migkit.validate`: which rows the server will flag, and why."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from migkit.header_healing import HeaderMatch
from migkit.rules import Template, flagged_positions


def summarize(errors: pd.DataFrame) -> pd.DataFrame:
    """Counts of invalid cells and rows per column and rule in an errors table."""
    if errors.empty:
        return pd.DataFrame({"column": [], "rule": [], "cells": [], "rows": []})
    grouped = errors.groupby(["column", "rule"], sort=False)
    out = grouped.agg(cells=("row", "size"), rows=("row", "nunique")).reset_index()
    return out.sort_values("cells", ascending=False, kind="stable").reset_index(drop=True)


class Prediction:
    """What both reports derive from their errors table, template and header match."""

    template: Template
    headers: HeaderMatch
    errors: pd.DataFrame

    @property
    def predicted_flagged_rows(self) -> int:
        """What the server's ``invalidCellCount`` (a row count) should say."""
        return int(self.errors["row"].nunique())

    @property
    def missing_required(self) -> list[str]:
        """Required template columns no header matched: the run would fail."""
        return self.headers.missing_required(self.template.required_columns)

    @property
    def ok(self) -> bool:
        """True when nothing would be flagged and no required column is missing."""
        return self.errors.empty and not self.missing_required

    def summary(self) -> pd.DataFrame:
        """Counts of invalid cells and rows per column and rule, biggest first.

        >>> report.summary()  # doctest: +SKIP
        """
        return summarize(self.errors)


@dataclass(frozen=True)
class ValidationReport(Prediction):
    """What the server is predicted to do with a frame, row by row.

    Every input row is in exactly one of :attr:`valid_rows` and :attr:`flagged_rows`, both
    with the caller's original index and columns. :attr:`errors` is the long table (``row``,
    ``column``, ``rule``, ``value``, ``message``) with template column names.
    """

    frame: pd.DataFrame = field(repr=False)
    template: Template = field(repr=False)
    headers: HeaderMatch
    errors: pd.DataFrame = field(repr=False)
    unchecked: tuple[tuple[str, str], ...] = ()

    @property
    def flagged_mask(self) -> pd.Series:
        """True for each input row with at least one invalid cell (index kept)."""
        return flagged_positions(self.errors, self.frame)

    @property
    def valid_rows(self) -> pd.DataFrame:
        """Rows with no invalid cell (they reach ``export.csv?filter=valid``)."""
        return self.frame.loc[~self.flagged_mask.to_numpy()]

    @property
    def flagged_rows(self) -> pd.DataFrame:
        """Rows with at least one invalid cell (imported, but flagged)."""
        return self.frame.loc[self.flagged_mask.to_numpy()]

    def suggest_fixes(self) -> pd.DataFrame:
        """Proposed changes, as the server would propose them: closest allowed value,
        trimming or lower case for pattern misses, and removal of rows missing a required
        value. Review it, filter it, then :meth:`apply` it.

        >>> fixes = report.suggest_fixes()  # doctest: +SKIP
        >>> fixed = report.apply(fixes[fixes["action"] == "set"])  # doctest: +SKIP
        """
        from migkit.validation.fixes import suggest

        return suggest(self)

    def apply(self, fixes: pd.DataFrame) -> pd.DataFrame:
        """A new frame with ``fixes`` applied (``frame`` itself is never changed)."""
        from migkit.validation.fixes import apply_fixes

        return apply_fixes(self.frame, fixes)

    def __repr__(self) -> str:
        lines = [
            f"ValidationReport({self.template.name}: {len(self.frame):,} rows, "
            f"{len(self.valid_rows):,} valid, {self.predicted_flagged_rows:,} flagged)"
        ]
        if self.missing_required:
            lines.append(f"  run would FAIL: required columns not found: {self.missing_required}")
        for row in self.summary().itertuples(index=False):
            lines.append(f"  {row.column:<20} {row.rule:<9} {row.rows:>8,} rows")
        for column, rule in self.unchecked:
            lines.append(f"  {column:<20} {rule:<9} not checked locally")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from migkit.notebook.html import validation_html

        return validation_html(self)
