"""``migkit.column_kernels``: the Arrow kernels the rules and reconciliation are built on,
checked against plain Python over the same values (hypothesis) and on the edge cases that
matter (nulls, whitespace, repeated values, long columns hashed in groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migkit import column_kernels as ck

values = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "A", "", " ", "é", "a "])))


def test_as_arrow_keeps_nulls_and_turns_other_values_into_their_text() -> None:
    series = pd.Series([1, None, "x", 2.5], dtype=object)
    assert ck.as_arrow(series).to_pylist() == ["1", None, "x", "2.5"]
    text = pd.Series(["a", None], dtype=pd.StringDtype("pyarrow"))
    assert ck.as_arrow(text).to_pylist() == ["a", None]
    assert len(ck.as_arrow(pd.Series([], dtype=object))) == 0


def test_blank_is_null_empty_or_python_whitespace() -> None:
    array = pa.array([None, "", " ", "\t\n", "\u3000", "\u200b", "x", " x "])
    # U+3000 is whitespace for str.isspace; U+200B (zero width space) is not
    assert ck.blank(array).tolist() == [True, True, True, True, True, False, False, False]


@given(values)
def test_repeated_marks_every_later_copy(items: list[str | None]) -> None:
    seen: set[str | None] = set()
    expected = []
    for item in items:
        expected.append(item in seen)
        seen.add(item)
    assert ck.repeated(pa.array(items, pa.large_string())).tolist() == expected


def test_repeated_over_a_long_column_hashed_in_groups_matches_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    items = ["x" * int(n) for n in rng.integers(0, 40, 5000)] + [None, None]
    array = pa.array(items, pa.large_string())
    whole = ck.repeated(array)
    monkeypatch.setattr(ck, "HASH_GROUP_ROWS", 100)
    assert ck.repeated(array).tolist() == whole.tolist()


@given(values)
def test_occurrence_counts_earlier_copies(items: list[str | None]) -> None:
    expected = [items[:i].count(item) for i, item in enumerate(items)]
    assert ck.occurrence(pa.array(items, pa.large_string())).tolist() == expected


@given(values, values)
@settings(max_examples=60)
def test_pair_copies_pairs_the_nth_copy_with_the_nth_copy(
    left: list[str | None], right: list[str | None]
) -> None:
    text = pa.large_string()
    lpos, rpos = ck.pair_copies(pa.array(left, text), pa.array(right, text))
    pairs = list(zip(lpos.tolist(), rpos.tolist(), strict=True))
    assert all(left[i] == right[j] for i, j in pairs)
    for i, j in pairs:  # the n-th copy on the left meets the n-th on the right
        assert left[:i].count(left[i]) == right[:j].count(right[j])
    for value in set(left) | set(right):
        assert sum(left[i] == value for i, _ in pairs) == min(left.count(value), right.count(value))


def test_row_text_tells_a_null_part_from_an_empty_one() -> None:
    text = pa.large_string()
    parts = [pa.array(["a", "a", None], text), pa.array(["", None, ""], text)]
    rows = ck.row_text(parts, 3).to_pylist()
    assert len(set(rows)) == 3
    assert ck.row_text([], 2).to_pylist() == ["", ""]


def test_is_in_never_matches_null() -> None:
    found = ck.is_in(pa.array(["a", None, "b", "c"]), pa.array(["a", None, "c"]))
    assert found.tolist() == [True, False, False, True]


def test_run_all_returns_results_in_order_on_one_thread_or_several() -> None:
    tasks = [lambda n=n: n * n for n in range(6)]
    heavy = [n % 2 == 0 for n in range(6)]
    assert ck.run_all(tasks, heavy, cells=10) == [0, 1, 4, 9, 16, 25]
    assert ck.run_all(tasks, heavy, cells=ck.PARALLEL_CELLS * 10) == [0, 1, 4, 9, 16, 25]
