"""Reconciliation semantics where datacompy users have expectations (issue 17): each test
spells out the two frames it compares."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import migkit
from migkit import Normalize


def frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def cells(report: migkit.ReconcileReport, *key: object) -> list[list[object]]:
    """The changed cells as [key..., column, source, export] rows."""
    return report.changed[[*key, "column", "source", "export"]].values.tolist()


def accounted(report: migkit.ReconcileReport) -> None:
    assert report.rows[0] == report.matched + len(report.missing)
    assert report.rows[1] == report.matched + len(report.extra)


# -- 1. tolerances apply to numbers meant as numbers ------------------------------------------


@pytest.mark.parametrize(
    "how",
    [Normalize(tolerance=0.01), Normalize(tolerance=0), Normalize(abs_tol=1), Normalize(rel_tol=1)],
    ids=["tolerance=0.01", "tolerance=0", "abs_tol=1", "rel_tol=1"],
)
def test_a_tolerance_never_hides_lost_leading_zeros_in_text(how: Normalize) -> None:
    source = frame(K=["a", "b"], Zip=["02139", "007"], Amount=[2.5, 10.0])
    export = frame(K=["a", "b"], Zip=["2139", "7"], Amount=["2.50", "10"])
    report = migkit.reconcile(source, export, key="K", normalize=how)
    assert cells(report, "K") == [["a", "Zip", "02139", "2139"], ["b", "Zip", "007", "7"]]
    # Amount is float64 in the source: a number, so "2.50" is within any tolerance of 2.5
    assert report.hidden[["K", "column"]].values.tolist() == [["a", "Amount"]]


def test_naming_a_column_in_a_tolerance_compares_its_text_as_numbers() -> None:
    source = frame(K=["a", "b", "c"], Zip=["02139", "007", "0100"])
    export = frame(K=["a", "b", "c"], Zip=["2139", "7", "101"])
    report = migkit.reconcile(source, export, key="K", normalize=Normalize(abs_tol={"Zip": 0}))
    assert cells(report, "K") == [["c", "Zip", "0100", "101"]]
    assert report.hidden["by"].tolist() == ["abs_tol['Zip']", "abs_tol['Zip']"]


def test_a_tolerance_that_applies_nowhere_says_so() -> None:
    source = frame(K=["a"], Amount=["2.5"])
    export = frame(K=["a"], Amount=["2.50"])
    report = migkit.reconcile(source, export, key="K", normalize=Normalize(abs_tol=0.1))
    assert len(report.changed) == 1
    assert any("applied to no column" in note for note in report.notes)


# -- 2. column labels of any hashable type ----------------------------------------------------


def test_integer_labels_from_header_none_work_and_are_shown_as_they_are() -> None:
    source = pd.DataFrame([["a@x.io", "Ann", "1"], ["b@x.io", "Bob", "2"]])  # labels 0, 1, 2
    export = pd.DataFrame([["b@x.io", "Robert", "2"], ["a@x.io", "Ann", "1"]])
    for key in (0, [0]):
        report = migkit.reconcile(source, export, key=key)
        accounted(report)
        assert report.matched == 2 and report.key == (0,)
        assert cells(report, 0) == [["b@x.io", 1, "Bob", "Robert"]]
        assert report.by_column.index.tolist() == [1, 2]
    assert migkit.reconcile(source, export, key=1).matched == 1  # "Ann" pairs, Bob≠Robert
    assert migkit.reconcile(source, export).matched == 1  # whole rows
    with pytest.raises(migkit.UsageError, match=r"\['1'\] are not in both frames.*\[0, 1, 2\]"):
        migkit.reconcile(source, export, key="1")


def test_tuple_and_mixed_labels_are_never_renamed() -> None:
    labels = [("id", ""), ("name", "first"), 7]
    source = pd.DataFrame([["1", "Ann", "x"], ["2", "Bob", "y"]], columns=labels)
    export = pd.DataFrame([["1", "Anne", "x"], ["2", "Bob", "y"]], columns=labels)
    report = migkit.reconcile(source, export, key=("id", ""))
    assert report.key == (("id", ""),)
    assert cells(report, ("id", "")) == [["1", ("name", "first"), "Ann", "Anne"]]
    assert report.by_column.index.tolist() == [("name", "first"), 7]


def test_the_reports_own_columns_move_aside_for_the_callers_labels() -> None:
    source = frame(column=["a", "b"], reason=["late", "early"], V=["1", "2"])
    export = frame(column=["a"], reason=["late"], V=["9"])
    report = migkit.reconcile(source, export, key="column")
    assert report.missing["reason"].tolist() == ["early"]  # the caller's data, untouched
    assert report.missing["_reason"].tolist() == ["unknown"]
    assert report.changed[["column", "_column", "source", "export"]].values.tolist() == [
        ["a", "V", "1", "9"]
    ]
    assert report.field_name("reason") == "_reason"
    assert report.summary().loc["missing: unknown", "count"] == 1
    assert any("reason → _reason" in note for note in report.notes)


# -- 3. decimals compare by numeric value -----------------------------------------------------


def test_decimals_compare_by_value_with_floats_and_ints() -> None:
    source = frame(
        K=["a", "b", "c", "d"],
        Price=[Decimal("12.50"), Decimal("1.0"), Decimal("3.10"), Decimal("1E+2")],
    )
    export = frame(K=["a", "b", "c", "d"], Price=[12.5, 1.0, 3.2, 100.0])
    report = migkit.reconcile(source, export, key="K")
    assert cells(report, "K") == [["c", "Price", "3.1", "3.2"]]
    assert report.hidden.empty  # equal values, not formatting hidden by an option
    ints = migkit.reconcile(frame(K=["a"], N=[Decimal("7.00")]), frame(K=["a"], N=[7]), key="K")
    assert ints.ok


def test_numbers_on_both_sides_are_equal_however_written() -> None:
    source = frame(K=["a", "b"], X=[1e-07, 2.0**60])
    export = frame(K=["a", "b"], X=[Decimal("0.0000001"), 2**60])
    assert migkit.reconcile(source, export, key="K").ok


def test_a_decimal_against_export_text_keeps_the_text_rule() -> None:
    source = frame(K=["a", "b"], Price=[Decimal("12.50"), Decimal("2")])
    export = frame(K=["a", "b"], Price=["12.50", "2"])  # an export is text: "12.50" as written
    assert cells(migkit.reconcile(source, export, key="K"), "K") == [
        ["a", "Price", "12.5", "12.50"]
    ]
    by_value = migkit.reconcile(source, export, key="K", normalize=Normalize(abs_tol=0))
    assert by_value.ok and by_value.hidden["by"].tolist() == ["abs_tol"]


# -- 4. a key of several columns with an empty part --------------------------------------------


def test_empty_key_parts_pair_with_empty_parts_when_the_rest_matches() -> None:
    source = frame(acct=["1", "1", "2", None], name=["Ann", None, "", None], v=["x", "y", "z", "w"])
    export = frame(
        acct=["1", "1", "2", None], name=[None, "Ann", None, None], v=["Y", "x", "z", "w"]
    )
    report = migkit.reconcile(source, export, key=["acct", "name"])
    accounted(report)
    assert report.matched == 3  # (1, Ann), (1, empty), (2, empty: "" and null alike)
    assert cells(report, "acct", "name") == [["1", None, "v", "y", "Y"]]
    assert report.missing["reason"].tolist() == ["empty key"]  # empty as a whole
    assert report.extra["reason"].tolist() == ["empty key"]


# -- 5. absolute and relative tolerances per column ------------------------------------------


def test_per_column_tolerances_with_a_default_say_which_one_hid_each_cell() -> None:
    source = frame(
        K=["a", "b", "c", "d"],
        Amount=[100.0, 5.0, 1.0, 1.0],
        Fee=[2.0, 3.0, 1.0, 1.0],
        Rate=[1000.0, 1.0, 1.0, 10.0],
    )
    export = frame(
        K=["a", "b", "c", "d"],
        Amount=["100.4", "5.6", "1", "1"],
        Fee=["2.005", "3.02", "1", "1"],
        Rate=["1005", "1", "1", "10.5"],
    )
    how = Normalize(abs_tol={"default": 0.01, "Amount": 0.5}, rel_tol={"Rate": 0.01})
    report = migkit.reconcile(source, export, key="K", normalize=how)
    assert cells(report, "K") == [
        ["b", "Amount", "5", "5.6"],
        ["b", "Fee", "3", "3.02"],
        ["d", "Rate", "10", "10.5"],
    ]
    assert report.hidden[["K", "column", "by"]].values.tolist() == [
        ["a", "Amount", "abs_tol['Amount']"],
        ["a", "Fee", "abs_tol"],
        ["a", "Rate", "rel_tol['Rate']"],
    ]


def test_relative_tolerance_is_symmetric_like_math_isclose() -> None:
    source = frame(K=["a", "b"], X=[100.0, 110.0])
    export = frame(K=["a", "b"], X=[110.0, 100.0])
    report = migkit.reconcile(source, export, key="K", normalize=Normalize(rel_tol=0.095))
    assert report.ok  # |10| <= 0.095 * max(100, 110) both ways


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"abs_tol": -1}, r"abs_tol must be a number >= 0, not -1"),
        ({"rel_tol": {"Amount": "x"}}, r"rel_tol\['Amount'\] must be a number"),
        ({"abs_tol": 1, "tolerance": 1}, "pass abs_tol or tolerance"),
        ({"dates": {"Joined": 1}}, r"dates\['Joined'\] must be a strptime format"),
        ({"booleans": 1}, "booleans must be True, False or a list of columns"),
    ],
)
def test_bad_normalize_options_say_what_to_pass(options: dict[str, object], message: str) -> None:
    with pytest.raises(migkit.UsageError, match=message):
        Normalize(**options)  # type: ignore[arg-type]


def test_a_per_column_option_naming_an_unknown_column_is_an_error() -> None:
    source = frame(K=["a"], Amount=[1.0])
    with pytest.raises(migkit.UsageError, match=r"abs_tol names column\(s\) \['Amout'\]"):
        migkit.reconcile(source, source, key="K", normalize=Normalize(abs_tol={"Amout": 1}))


# -- 6. dates and times by value --------------------------------------------------------------


def test_dates_by_value_iso_by_default_with_or_without_a_time() -> None:
    source = frame(
        K=["a", "b", "c", "d"],
        Joined=pd.to_datetime(
            ["2024-01-05", "2024-01-05 10:30", "2024-03-01", "2024-01-05 10:30"], format="ISO8601"
        ),
    )
    export = frame(
        K=["a", "b", "c", "d"],
        Joined=["2024-01-05T00:00:00", "2024-01-05T10:30", "2024-03-02", "2024-01-05"],
    )
    strict = migkit.reconcile(source, export, key="K")
    assert strict.by_column.loc["Joined", "changed"] == 4  # as text, "T" and all
    report = migkit.reconcile(source, export, key="K", normalize=Normalize(dates=["Joined"]))
    assert cells(report, "K") == [
        ["c", "Joined", "2024-03-01", "2024-03-02"],
        ["d", "Joined", "2024-01-05 10:30:00", "2024-01-05"],  # a time is not midnight
    ]
    assert report.hidden["by"].tolist() == ["dates['Joined']"] * 2
    every = migkit.reconcile(source, export, key="K", normalize=Normalize(dates=True))
    pd.testing.assert_frame_equal(every.changed, report.changed)


def test_dates_in_a_caller_given_format_on_both_sides_or_against_datetimes() -> None:
    source = frame(
        K=["a", "b", "c"], Signed=["05/01/2024", "31/12/2023", "n/a"], Due=["2024-02-01"] * 3
    )
    export = frame(
        K=["a", "b", "c"],
        Signed=["2024-01-05", "31/12/2023 ", "n/a"],
        Due=pd.to_datetime(["2024-02-01", "2024-02-02", "2024-02-01"]),
    )
    how = Normalize(dates={"Signed": "%d/%m/%Y", "Due": None}, trim=True)
    report = migkit.reconcile(source, export, key="K", normalize=how)
    assert cells(report, "K") == [["b", "Due", "2024-02-01", "2024-02-02"]]
    assert report.hidden[["K", "column", "by"]].values.tolist() == [
        ["a", "Signed", "dates['Signed']"],
        ["b", "Signed", "trim"],
    ]


# -- 7. repeated keys ------------------------------------------------------------------------


def test_a_frame_compared_with_itself_is_ok_when_keys_repeat_and_the_report_says_so() -> None:
    source = frame(K=["a", "a", "b", "a"], V=["1", "2", "3", "4"])
    report = migkit.reconcile(source, source.copy(), key="K")
    assert report.ok and report.matched == 4 and report.keys_repeat
    assert any(note.startswith("Keys repeat") for note in report.notes)
    assert report.duplicates["matched"].all() and len(report.duplicates) == 6


def test_repeated_keys_pair_by_occurrence_or_only_the_first() -> None:
    source = frame(K=["a", "a", "b"], V=["1", "2", "3"])
    export = frame(K=["a", "a", "a", "b"], V=["1", "9", "3", "3"])
    report = migkit.reconcile(source, export, key="K")
    accounted(report)
    assert report.duplicates_mode == "occurrence" and report.matched == 3
    assert cells(report, "K") == [["a", "V", "2", "9"]]  # the second a with the second a
    assert report.extra.index.tolist() == [2] and report.extra["reason"].tolist() == [
        "duplicate key"
    ]
    first = migkit.reconcile(source, export, key="K", duplicates="first")
    accounted(first)
    assert first.matched == 2 and first.changed.empty
    assert first.missing["reason"].tolist() == ["duplicate key"]
    assert first.extra.index.tolist() == [1, 2]
    with pytest.raises(migkit.UsageError, match="duplicates='all' is not an option"):
        migkit.reconcile(source, export, key="K", duplicates="all")


# -- 8. joining on the index ------------------------------------------------------------------


def test_rows_join_on_the_index_without_resetting_it() -> None:
    ids = pd.Index(["A1", "B2", "C3"], name="id")
    source = pd.DataFrame({"Name": ["Ann", "Bob", "Cy"]}, index=ids)
    export = pd.DataFrame(
        {"Name": ["Bobby", "Ann", "Dee"]}, index=pd.Index(["B2", "A1", "D4"], name="id")
    )
    for report in (
        migkit.reconcile(source, export, key="index"),
        migkit.reconcile(source, export, on_index=True),
    ):
        accounted(report)
        assert report.matched_by == "index" and report.matched == 2
        shown = report.changed[["column", "source", "export", "source_row", "export_row"]]
        assert shown.values.tolist() == [["Name", "Bob", "Bobby", "B2", "B2"]]
        assert report.missing.index.tolist() == ["C3"] and report.extra.index.tolist() == ["D4"]
    with pytest.raises(migkit.UsageError, match="pass key='Name' or on_index=True, not both"):
        migkit.reconcile(source, export, key="Name", on_index=True)


def test_a_column_labelled_index_wins_over_the_index() -> None:
    source = frame(index=["x", "y"], V=["1", "2"])
    export = frame(index=["y", "x"], V=["2", "1"])
    assert migkit.reconcile(source, export, key="index").ok  # the column, not 0, 1
    assert not migkit.reconcile(source, export, on_index=True).ok


def test_a_multi_level_index_joins_level_by_level() -> None:
    index = pd.MultiIndex.from_tuples([("acme", 1), ("acme", 2)], names=["co", "n"])
    source = pd.DataFrame({"V": ["a", "b"]}, index=index)
    export = pd.DataFrame({"V": ["b", "a"]}, index=index[::-1])
    assert migkit.reconcile(source, export, on_index=True).ok
    with pytest.raises(migkit.UsageError, match="index has 2 level"):
        migkit.reconcile(source, export.reset_index(level=0), on_index=True)


# -- 9. booleans ------------------------------------------------------------------------------


def test_booleans_match_one_zero_and_true_false_text_as_one_option() -> None:
    source = frame(K=["a", "b", "c", "d", "e"], Active=[True, False, True, False, True])
    export = frame(K=["a", "b", "c", "d", "e"], Active=["1", "false", "TRUE ", "0", "no"])
    assert migkit.reconcile(source, export, key="K").by_column.loc["Active", "changed"] == 5
    for how in ("booleans", Normalize(booleans=["Active"]), Normalize(booleans=True)):
        report = migkit.reconcile(source, export, key="K", normalize=how)
        assert cells(report, "K") == [["e", "Active", "True", "no"]]
        assert set(report.hidden["by"]) == {"booleans"}


# -- 10. header healing can be turned off ------------------------------------------------------


def test_header_healing_can_be_turned_off() -> None:
    source = frame(**{"E-mail": ["a@x.io"], "Name": ["Ann"]})
    export = frame(Email=["a@x.io"], Name=["Ann"])
    healed = migkit.reconcile(source, export, key="Name")
    assert healed.columns == {"E-mail": "Email"}
    exact = migkit.reconcile(source, export, key="Name", heal_headers=False)
    assert exact.columns == {} and exact.only_in == (("E-mail",), ("Email",))
    assert exact.ok and exact.by_column.empty
    with pytest.raises(migkit.UsageError, match=r"\['E-mail'\] are not in both frames"):
        migkit.reconcile(source, export, key="E-mail", heal_headers=False)


def test_caller_frames_are_never_modified() -> None:
    source = frame(K=["a", "a"], V=[Decimal("1.0"), Decimal("2")])
    export = frame(K=["a", "a"], V=["1", "3"])
    before = (source.copy(deep=True), export.copy(deep=True))
    migkit.reconcile(source, export, key="K", normalize=Normalize(abs_tol=0, trim=True))
    pd.testing.assert_frame_equal(source, before[0])
    pd.testing.assert_frame_equal(export, before[1])
    assert np.asarray(source.columns).tolist() == ["K", "V"]


def test_date_objects_in_mixed_time_zones_are_never_lost() -> None:
    stamps = [
        pd.Timestamp("2024-01-05 10:00", tz="UTC"),
        pd.Timestamp("2024-01-05 10:00", tz="CET"),
    ]
    source = frame(K=["a", "b"], When=pd.Series(stamps, dtype=object))
    export = frame(K=["a", "b"], When=["2024-01-05 10:00:00+00:00", "x"])
    report = migkit.reconcile(source, export, key="K")
    assert cells(report, "K") == [["b", "When", "2024-01-05 10:00:00+01:00", "x"]]


def test_a_flagged_frame_without_every_column_is_matched_by_key_only() -> None:
    source = frame(K=["a", "b", None], V=["1", "2", "3"])
    export = frame(K=["a"], V=["1"])
    partial = migkit.reconcile(source, export, key="K", flagged=frame(V=["2", "3"]))
    assert partial.missing["reason"].tolist() == ["unknown", "empty key"]  # V alone proves nothing
    whole = migkit.reconcile(source, export, key="K", flagged=frame(K=["b", None], V=["2", "3"]))
    assert whole.missing["reason"].tolist() == ["flagged by the server"] * 2


def test_numbers_as_text_are_read_correctly_rounded() -> None:
    # pandas 3.0's to_numeric read 2**60 written out, beside a decimal, one unit in the last
    # place low; the comparison must not depend on the pandas release.
    from migkit.reconcile.canonical import numbers

    texts = ["0.0000001", "1152921504606846976", "9007199254740993", "2.2250738585072014e-308"]
    texts += ["1e400", "-0", " 7 ", "abc", None]
    expected = [float(t) if t not in ("abc", None) else float("nan") for t in texts]
    got = numbers(pa.array(texts, pa.large_string()))
    assert [repr(float(v)) for v in got] == [repr(v) for v in expected]
