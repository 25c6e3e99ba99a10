"""What the engine tests share: comparing two reports part by part."""

from __future__ import annotations

from typing import Any

import pandas as pd

from migkit.reconcile.report import ReconcileReport

PARTS = ("missing", "extra", "changed", "hidden", "duplicates", "by_column")


def table(value: Any) -> pd.DataFrame:
    """A report part as a DataFrame (a lazy table is brought over)."""
    return value if isinstance(value, pd.DataFrame) else value.to_pandas()


def assert_same_report(expected: ReconcileReport, actual: ReconcileReport) -> None:
    """Every count, table, label and note of ``actual`` equals ``expected``'s."""
    assert actual.rows == expected.rows
    assert actual.matched == expected.matched
    assert actual.key == expected.key
    assert actual.columns == expected.columns
    assert actual.only_in == expected.only_in
    for part in PARTS:
        want, got = table(getattr(expected, part)), table(getattr(actual, part))
        pd.testing.assert_frame_equal(
            got.astype(object), want.astype(object), check_dtype=False, obj=part,
            check_index_type=False, check_column_type=False,
        )
    notes = [n for n in expected.notes]
    assert list(actual.notes) == notes
    assert actual.summary().equals(expected.summary())
