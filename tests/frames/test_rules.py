"""The shared rules engine: each rule, its edge cases, and the shape of the violations table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from migkit import column_kernels
from migkit.rules import Template, check, closest_allowed, flagged_positions

CONTACTS = Template.from_api(
    {
        "name": "Contacts",
        "columns": [
            {
                "name": "Email",
                "required": True,
                "unique": True,
                "desiredRule": "strict",
                "strictRule": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            },
            {"name": "Status", "desiredRule": "strict", "strictRule": ["Open", "Closed"]},
            {
                "name": "Account",
                "required": True,
                "desiredRule": "link",
                "linkRule": [{"templateId": "t-accounts", "columnName": "Name"}],
            },
            {"name": "Notes", "desiredRule": "ai"},
        ],
    }
)


def rules_hit(frame: pd.DataFrame, **kw: object) -> list[tuple[object, str, str]]:
    v = check(frame, CONTACTS, **kw)  # type: ignore[arg-type]
    return list(zip(v["row"], v["column"], v["rule"], strict=True))


def test_clean_frame_has_no_violations() -> None:
    frame = pd.DataFrame({"Email": ["a@b.co"], "Status": ["Open"], "Account": ["Acme"]})
    assert check(frame, CONTACTS).empty


def test_required_flags_null_empty_and_whitespace_only() -> None:
    frame = pd.DataFrame({"Email": [None, "", "  \t", "a@b.co"], "Account": ["A"] * 4})
    assert [r for r in rules_hit(frame) if r[2] == "required"] == [
        (0, "Email", "required"),
        (1, "Email", "required"),
        (2, "Email", "required"),
    ]


def test_unique_flags_repeats_after_the_first_compared_trimmed() -> None:
    frame = pd.DataFrame(
        {"Email": ["a@b.co", " a@b.co ", "a@b.co", "c@d.co"], "Account": ["A"] * 4}
    )
    hits = [r for r in rules_hit(frame) if r[2] == "unique"]
    assert [r[0] for r in hits] == [1, 2]


def test_unique_counts_existing_values_as_earlier() -> None:
    frame = pd.DataFrame({"Email": ["old@b.co", "new@b.co"], "Account": ["A", "A"]})
    hits = rules_hit(frame, existing={"Email": ["old@b.co"]})
    assert hits == [(0, "Email", "unique")]


def test_blank_values_are_never_duplicates_or_pattern_misses() -> None:
    frame = pd.DataFrame({"Email": ["", ""], "Status": ["", None], "Account": ["A", "A"]})
    assert {r[2] for r in rules_hit(frame)} == {"required"}


def test_regex_must_match_in_full() -> None:
    frame = pd.DataFrame({"Email": ["a@b.co", "x a@b.co", "a@b"], "Account": ["A"] * 3})
    assert [r[0] for r in rules_hit(frame) if r[2] == "regex"] == [1, 2]


def test_allowed_list_is_exact_and_case_sensitive() -> None:
    frame = pd.DataFrame(
        {
            "Email": ["a@b.co", "b@b.co", "c@b.co"],
            "Status": ["Open", "open", "Open "],
            "Account": ["A"] * 3,
        }
    )
    hits = check(frame, CONTACTS)
    assert hits["row"].tolist() == [1, 2]
    assert set(hits["message"]) == {"Does not match allowed values: Open, Closed"}


def test_link_checked_only_when_targets_given() -> None:
    frame = pd.DataFrame({"Email": ["a@b.co", "b@b.co"], "Account": ["Acme", "Nope"]})
    assert rules_hit(frame) == []
    assert rules_hit(frame, links={"Account": ["Acme"]}) == [(1, "Account", "link")]


def test_original_index_is_kept_and_input_not_modified() -> None:
    frame = pd.DataFrame({"Email": ["bad", "a@b.co"], "Account": ["A", "A"]}, index=[10, 20])
    before = frame.copy()
    v = check(frame, CONTACTS)
    assert v["row"].tolist() == [10]
    pd.testing.assert_frame_equal(frame, before)
    assert flagged_positions(v, frame).tolist() == [True, False]


def test_numbers_in_text_columns_are_checked_as_text() -> None:
    frame = pd.DataFrame({"Email": [12345, "a@b.co"], "Account": ["A", "A"]})
    hits = check(frame, CONTACTS)
    assert hits[["row", "rule", "value"]].values.tolist() == [[0, "regex", "12345"]]


def test_unicode_values_pass_the_email_pattern() -> None:
    frame = pd.DataFrame({"Email": ["zoë@exämple.de"], "Account": ["Société"]})
    assert check(frame, CONTACTS, links={"Account": ["Société"]}).empty


def test_missing_template_column_counts_as_empty() -> None:
    frame = pd.DataFrame({"Email": ["a@b.co"]})
    assert rules_hit(frame) == [(0, "Account", "required")]


def test_empty_frame_gives_empty_table_with_the_columns() -> None:
    v = check(pd.DataFrame({"Email": pd.Series([], dtype=object)}), CONTACTS)
    assert v.empty and list(v.columns) == ["row", "column", "rule", "value", "message"]


def test_one_row_can_break_several_rules_in_column_order() -> None:
    frame = pd.DataFrame({"Email": ["bad"], "Status": ["x"], "Account": [None]})
    assert [r[1:] for r in rules_hit(frame)] == [
        ("Email", "regex"),
        ("Status", "allowed"),
        ("Account", "required"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("open", "Open"), (" CLOSED ", "Closed"), ("Clsoed", "Closed"), ("", "Open")],
)
def test_closest_allowed(value: str, expected: str) -> None:
    assert closest_allowed(value, ["Open", "Closed"]) == expected


def test_closest_allowed_needs_values() -> None:
    with pytest.raises(ValueError, match="at least one"):
        closest_allowed("x", [])


def _messy_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pool = ["a@b.co", " a@b.co", "a@b.co\u00a0", "zoë@exämple.com", "bad", "", "  ", None]
    pool += [f"u{i}@x.io" for i in range(40)]
    pick = rng.integers(0, len(pool), rows)
    frame = pd.DataFrame(
        {
            "Email": pd.Series([pool[i] for i in pick], dtype="str"),
            "Status": pd.Series(rng.choice(["Open", "open", "Closed", ""], rows), dtype="str"),
            "Account": pd.Series(rng.choice(["Acme", "Globex", "Nope", " "], rows), dtype="str"),
        }
    )
    frame.index = pd.RangeIndex(rows) * 3 + 7
    return frame


def test_parallel_evaluation_gives_the_serial_table(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _messy_frame(5_000, 1)
    links = {"Account": ["Acme", "Globex"]}
    serial = check(frame, CONTACTS, links=links)
    monkeypatch.setattr(column_kernels, "PARALLEL_CELLS", 1)
    monkeypatch.setattr(column_kernels.os, "cpu_count", lambda: 4)
    parallel = check(frame, CONTACTS, links=links)
    assert len(serial) > 1_000
    pd.testing.assert_frame_equal(parallel, serial)


def test_unique_matches_pandas_duplicated_on_trimmed_values() -> None:
    frame = _messy_frame(3_000, 2)
    violations = check(frame, CONTACTS)
    key = frame["Email"].str.strip()
    expected = frame.index[key.duplicated() & key.fillna("").ne("")].tolist()
    assert len(expected) > 2_000
    assert violations.loc[violations["rule"] == "unique", "row"].tolist() == expected


def test_several_arrow_chunks_are_read_as_one_column() -> None:
    chunks = pa.chunked_array([["a@b.co", "x"], ["a@b.co"], []], pa.large_string())
    frame = pd.DataFrame(
        {"Email": pd.Series(pd.arrays.ArrowStringArray(chunks)), "Account": ["A"] * 3}
    )
    assert rules_hit(frame) == [(1, "Email", "regex"), (2, "Email", "unique")]


@pytest.mark.parametrize("group_rows, long_value", [(100, 4_096), (500, 8), (1, 1)])
def test_uniqueness_hashed_in_length_groups_gives_the_same_rows(
    monkeypatch: pytest.MonkeyPatch, group_rows: int, long_value: int
) -> None:
    frame = _messy_frame(4_000, 3)
    whole = check(frame, CONTACTS)
    monkeypatch.setattr(column_kernels, "HASH_GROUP_ROWS", group_rows)
    monkeypatch.setattr(column_kernels, "LONG_VALUE", long_value)
    grouped = check(frame, CONTACTS)
    assert (whole["rule"] == "unique").sum() > 3_000
    pd.testing.assert_frame_equal(grouped, whole)
