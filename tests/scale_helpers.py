"""What the engine tests share: comparing two reports part by part."""

from __future__ import annotations

from typing import Any

import pandas as pd

from migkit.reconcile.report import ReconcileReport

PARTS = ("missing", "extra", "changed", "hidden", "duplicates", "by_column")


def table(value: Any) -> pd.DataFrame:
    """A report part as a DataFrame (a lazy table is brought over)."""
    return value if isinstance(value, pd.DataFrame) else value.to_pandas()


def assert_same_report(
    expected: ReconcileReport, actual: ReconcileReport, *, rows_as_text: bool = False
) -> None:
    """Every count, table, label and note of ``actual`` equals ``expected``'s
    (``rows_as_text``: missing and extra rows compared as canonical text, as an engine shows
    the rows of an input given by reference)."""
    assert actual.rows == expected.rows
    assert actual.matched == expected.matched
    assert actual.key == expected.key
    assert actual.columns == expected.columns
    assert actual.only_in == expected.only_in
    for part in PARTS:
        want, got = table(getattr(expected, part)), table(getattr(actual, part))
        if rows_as_text and part in ("missing", "extra"):
            want = want.astype(str).where(want.notna(), None)
            want = want.replace({"1.0": "1", "2.0": "2"})
            got = got.astype(str).where(got.notna(), None)
        pd.testing.assert_frame_equal(
            got.astype(object),
            want.astype(object),
            check_dtype=False,
            obj=part,
            check_index_type=False,
            check_column_type=False,
        )
    if not rows_as_text:
        assert list(actual.notes) == list(expected.notes)
    assert actual.summary().equals(expected.summary())
