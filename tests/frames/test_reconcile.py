"""``migkit.reconcile`` and ``migkit.diff_exports``: pairing, changes, normalization, reasons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import migkit
from migkit import column_kernels
from migkit.models import ProposedPatch


def frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def accounted(report: migkit.ReconcileReport) -> None:
    """Every row of each side is matched, missing or extra exactly once."""
    assert report.rows[0] == report.matched + len(report.missing)
    assert report.rows[1] == report.matched + len(report.extra)


SOURCE = frame(
    Email=["a@x.io", "b@x.io", "c@x.io", "d@x.io"],
    Name=["Ann", "Bob", "Cy", "Di"],
    Status=["Open", "Closed", "Open", "Open"],
)


def test_identical_frames_match_completely() -> None:
    report = migkit.reconcile(SOURCE, SOURCE.copy(), key="Email")
    assert report.ok and report.matched == 4
    assert report.changed.empty and report.missing.empty and report.extra.empty
    assert report.by_column["match rate"].tolist() == [1.0, 1.0]
    accounted(report)


def test_missing_extra_and_changed_cells_are_reported_with_both_values() -> None:
    export = frame(
        Email=["a@x.io", "b@x.io", "d@x.io", "e@x.io"],
        Name=["Ann", "Robert", "Di", "Eve"],
        Status=["Open", "Closed", "Closed", "Open"],
    )
    report = migkit.reconcile(SOURCE, export, key="Email")
    accounted(report)
    assert report.matched == 3
    assert report.missing["Email"].tolist() == ["c@x.io"]
    assert report.missing.index.tolist() == [2]  # the source's own row label
    assert report.extra["Email"].tolist() == ["e@x.io"]
    assert report.extra["reason"].tolist() == ["not in the source"]
    changed = report.changed[["Email", "column", "source", "export", "source_row", "export_row"]]
    assert changed.values.tolist() == [
        ["b@x.io", "Name", "Bob", "Robert", 1, 1],
        ["d@x.io", "Status", "Open", "Closed", 3, 2],
    ]
    assert report.changed_rows == 2
    assert report.by_column.loc["Name", "changed"] == 1
    assert report.by_column.loc["Status", "match rate"] == pytest.approx(2 / 3)


def test_the_export_order_does_not_matter() -> None:
    shuffled = SOURCE.sample(frac=1, random_state=3).reset_index(drop=True)
    report = migkit.reconcile(SOURCE, shuffled, key="Email")
    assert report.ok and report.matched == 4


def test_normalization_hides_formatting_and_says_what_it_hid() -> None:
    export = SOURCE.assign(
        Status=["open ", "CLOSED", "Open", " Open"], Name=["Ann", "Bob", "Cy", "Dee"]
    )
    strict = migkit.reconcile(SOURCE, export, key="Email")
    assert strict.by_column.loc["Status", "changed"] == 3
    loose = migkit.reconcile(SOURCE, export, key="Email", normalize=["trim", "case"])
    assert loose.changed["column"].tolist() == ["Name"]  # a real change stays a change
    hidden = loose.hidden
    assert hidden["source_row"].tolist() == [0, 1, 3]
    assert hidden["by"].tolist() == ["ignore_case", "ignore_case", "trim"]
    assert loose.hidden_cells == 3 == loose.summary().loc["hidden by normalization", "count"]


def test_per_column_callables_and_numeric_tolerance() -> None:
    source = frame(
        Id=["1", "2", "3"], Phone=["+1 555 0100", "555-0101", "555 0102"], Amount=[10.0, 2.5, 3.0]
    )
    export = frame(
        Id=["1", "2", "3"], Phone=["15550100", "5550101", "5550199"], Amount=["10", "2.50", "3.2"]
    )
    digits = migkit.Normalize(
        columns={"Phone": lambda s: s.str.replace(r"\D", "", regex=True)}, tolerance=0.001
    )
    report = migkit.reconcile(source, export, key="Id", normalize=digits)
    assert report.changed[["Id", "column"]].values.tolist() == [["3", "Phone"], ["3", "Amount"]]
    assert sorted(report.hidden["by"]) == ["columns['Phone']", "columns['Phone']", "tolerance"]


def test_types_are_compared_as_text_explicitly() -> None:
    source = frame(
        Id=[1, 2, 3],
        Score=[1.0, 2.5, np.nan],
        Joined=pd.to_datetime(["2024-01-05", "2024-02-29", None]),
        Active=[True, False, True],
    )
    export = frame(
        Id=["1", "2", "3"],
        Score=["1", "2.5", ""],
        Joined=["2024-01-05", "2024-02-29", None],
        Active=["True", "False", "True"],
    )
    report = migkit.reconcile(source, export, key="Id")
    assert report.ok, report.changed
    notes = " ".join(report.notes)
    assert "source Id: int64 compared as text" in notes
    assert "whole numbers without '.0'" in notes and "ISO text (dates)" in notes


def test_an_empty_string_equals_a_missing_value() -> None:
    report = migkit.reconcile(
        frame(K=["a", "b"], V=["", None]), frame(K=["a", "b"], V=[None, ""]), key="K"
    )
    assert report.ok


def test_duplicate_keys_are_their_own_group_and_every_row_is_accounted_for() -> None:
    source = frame(K=["a", "b", "a", "c", "a"], V=["1", "2", "3", "4", "5"])
    export = frame(K=["a", "b", "b", "c"], V=["1", "2", "2b", "4"])
    report = migkit.reconcile(source, export, key="K")
    accounted(report)
    assert report.matched == 3 and report.changed.empty  # first a, first b, c
    assert report.missing.index.tolist() == [2, 4]
    assert report.missing["reason"].tolist() == ["duplicate key", "duplicate key"]
    assert report.extra["reason"].tolist() == ["duplicate key"]
    dups = report.duplicates
    assert dups[["side", "key", "row", "matched"]].values.tolist() == [
        ["export", "b", 1, True],
        ["export", "b", 2, False],
        ["source", "a", 0, True],
        ["source", "a", 2, False],
        ["source", "a", 4, False],
    ]


def test_null_keys_never_match_and_say_so() -> None:
    report = migkit.reconcile(
        frame(K=["a", None, " "], V=["1", "2", "3"]),
        frame(K=["a", None], V=["1", "2"]),
        key="K",
        normalize="trim",
    )
    accounted(report)
    assert report.missing["reason"].tolist() == ["empty key", "empty key"]
    assert report.extra["reason"].tolist() == ["empty key"]


def test_several_key_columns() -> None:
    source = frame(First=["Ann", "Ann", "Bob"], Last=["Lee", "Ray", "Lee"], Tier=["1", "2", "3"])
    export = frame(First=["Ann", "Bob", "Ann"], Last=["Ray", "Lee", "Lee"], Tier=["2", "9", "1"])
    report = migkit.reconcile(source, export, key=["First", "Last"])
    assert report.matched == 3
    assert report.changed[["First", "Last", "column", "source", "export"]].values.tolist() == [
        ["Bob", "Lee", "Tier", "3", "9"]
    ]


def test_without_a_key_whole_rows_are_paired_and_the_report_says_so() -> None:
    source = frame(A=["1", "1", "2", "3"], B=["x", "x", "y", "z"])
    export = frame(A=["1", "2", "3", "3"], B=["x", "y", "Z", "z"])
    report = migkit.reconcile(source, export)
    accounted(report)
    assert report.matched_by == "full-row hash"
    assert report.matched == 3 and report.changed.empty
    assert report.missing.index.tolist() == [1]  # the second copy of (1, x)
    assert report.extra.index.tolist() == [2]  # (3, Z)
    assert "full-row hash" in " ".join(report.notes)
    assert migkit.reconcile(source, export, normalize="case").matched == 3  # Z~z, but z used


def test_drifted_source_headers_are_healed_like_the_server() -> None:
    source = frame(**{"E-mail": ["a@x.io"], "first_name": ["Ann"], "Notes": ["n"]})
    export = frame(Email=["a@x.io"], **{"First Name": ["Ann"], "Phone": [None]})
    report = migkit.reconcile(source, export, key="Email")
    assert report.ok and report.matched == 1
    assert report.columns == {"E-mail": "Email", "first_name": "First Name"}
    assert report.only_in == (("Notes",), ("Phone",))
    assert migkit.reconcile(source, export, key="E-mail").matched == 1  # either name works


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "Nope"}, r"key column\(s\) \['Nope'\] are not in both frames; columns in both"),
        ({"key": []}, "at least one column"),
        ({"key": "Email", "normalize": "squash"}, "'squash' is not an option"),
        ({"key": "Email", "normalize": {"trimm": True}}, r"unknown option\(s\) \['trimm'\]"),
        ({"key": "Email", "normalize": migkit.Normalize.of({"tolerance": 1})}, None),
    ],
)
def test_bad_arguments_say_what_to_pass(kwargs: dict[str, object], message: str | None) -> None:
    if message is None:
        assert migkit.reconcile(SOURCE, SOURCE, **kwargs).ok  # type: ignore[arg-type]
        return
    with pytest.raises(migkit.UsageError, match=message):
        migkit.reconcile(SOURCE, SOURCE, **kwargs)  # type: ignore[arg-type]


def test_bad_inputs_are_usage_errors() -> None:
    with pytest.raises(migkit.UsageError, match="source must be a pandas DataFrame, not list"):
        migkit.reconcile([1], SOURCE)  # type: ignore[arg-type]
    with pytest.raises(migkit.UsageError, match="tolerance must be a number"):
        migkit.Normalize(tolerance=-1)
    with pytest.raises(migkit.UsageError, match="repeats column"):
        migkit.reconcile(pd.DataFrame([[1, 2]], columns=["A", "A"]), SOURCE)


@pytest.mark.parametrize(
    ("source", "export", "matched", "missing", "extra", "changed"),
    [
        (frame(K=[], V=[]), frame(K=[], V=[]), 0, 0, 0, 0),
        (SOURCE, SOURCE.iloc[:0], 0, 4, 0, 0),
        (SOURCE.iloc[:0], SOURCE, 0, 0, 4, 0),
        (frame(K=["a", "b"], V=["1", "2"]), frame(K=["c", "d"], V=["1", "2"]), 0, 2, 2, 0),
        (frame(K=["a", "b"], V=["1", "2"]), frame(K=["a", "b"], V=["3", "4"]), 2, 0, 0, 2),
    ],
    ids=["both empty", "empty export", "empty source", "no overlap", "all changed"],
)
def test_edge_shapes(
    source: pd.DataFrame, export: pd.DataFrame, matched: int, missing: int, extra: int, changed: int
) -> None:
    key = "K" if "K" in source.columns else "Email"
    report = migkit.reconcile(source, export, key=key)
    accounted(report)
    assert (report.matched, len(report.missing), len(report.extra), len(report.changed)) == (
        matched,
        missing,
        extra,
        changed,
    )


def test_unicode_quotes_newlines_and_wide_frames() -> None:
    values = ["Zürich", 'say "hi", ok', "two\nlines", "東京", "emoji 🙂", "\u00a0nbsp"]
    wide = {f"c{i}": [f"{v}-{i}" for v in values] for i in range(150)}
    source = pd.DataFrame({"K": values, **wide})
    export = source.copy()
    export.loc[3, "c149"] = "changed"
    report = migkit.reconcile(source, export, key="K")
    assert report.changed[["K", "column", "export"]].values.tolist() == [
        ["東京", "c149", "changed"]
    ]
    assert len(report.by_column) == 150


def test_diff_exports_names_added_removed_and_changed() -> None:
    old = frame(Email=["a@x.io", "b@x.io", "c@x.io"], Tier=["Gold", "Silver", "Gold"])
    new = frame(Email=["b@x.io", "c@x.io", "d@x.io"], Tier=["Silver", "Bronze", "Gold"])
    diff = migkit.diff_exports(old, new, key="Email")
    assert diff.names == ("old", "new")
    assert diff.added["Email"].tolist() == ["d@x.io"] and diff.added["reason"].tolist() == [
        "not in the old"
    ]
    assert diff.removed["Email"].tolist() == ["a@x.io"]
    assert diff.changed[["Email", "old", "new"]].values.tolist() == [["c@x.io", "Gold", "Bronze"]]
    assert "old 3 rows" in repr(diff) or "old 3" in repr(diff)


def test_a_diff_says_removed_and_added_in_every_rendering() -> None:
    old = frame(Email=["a@x.io", "b@x.io", "", "e@x.io"], Tier=["Gold", "Silver", "x", "y"])
    new = frame(Email=["b@x.io", "d@x.io", "e@x.io"], Tier=["Silver", "Gold", "y"])
    diff = migkit.diff_exports(old, new, key="Email")
    counts = diff.summary()["count"].to_dict()
    assert counts["in both"] == 2 and counts["removed"] == 2 and counts["added"] == 1
    assert counts["removed: empty key"] == 1  # a reason that tells more than "removed"
    assert diff.removed["reason"].tolist() == ["not in the new", "empty key"]
    assert set(diff.removed["detail"]) == {""}  # no "pass flagged=" hint: a diff needs none
    assert not any(k.startswith(("missing", "extra", "matched")) for k in counts)
    assert not any("unknown" in k or "not in the" in k for k in counts)
    text = repr(diff)
    assert "2 in both, 2 removed, 1 added" in text and "missing" not in text
    html = diff._repr_html_()
    assert "2 removed" in html and "1 added" in html and "missing" not in html.lower()
    report = migkit.reconcile(old, new, key="Email")  # source vs export keeps its words
    assert {"matched", "missing", "extra"} <= set(report.summary().index)
    assert "missing" in repr(report)


def test_reasons_from_flagged_validation_and_an_accepted_patch() -> None:
    template = migkit.Template.from_api(
        {
            "name": "T",
            "columns": [
                {"name": "Email", "required": True, "unique": True},
                {"name": "Status", "desiredRule": "strict", "strictRule": ["Open", "Closed"]},
                {"name": "Phone", "required": True},
            ],
        }
    )
    source = frame(
        Email=["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"],
        Status=["Open", "open", "Closed", "Pending", "Open"],
        Phone=["1", "2", None, "4", "5"],
    )
    validation = migkit.validate(source, template)
    export = frame(Email=["a@x.io", "b@x.io"], Status=["Open", "Open"], Phone=["1", "2"])
    flagged = frame(Email=["d@x.io"], Status=["Pending"], Phone=["4"])
    patch = ProposedPatch(
        summary="Map 'open' to 'Open'; drop rows missing Phone.",
        actions=(
            {"action": "set_value", "column": "Status", "value": "Open", "values": ["open"]},
            {"action": "delete_invalid_rows", "column": "Phone"},
        ),
    )
    report = migkit.reconcile(
        source, export, key="Email", flagged=flagged, validation=validation, patch=patch
    )
    accounted(report)
    reasons = dict(zip(report.missing["Email"], report.missing["reason"], strict=True))
    assert reasons == {
        "c@x.io": "deleted by an accepted patch",
        "d@x.io": "flagged by the server",
        "e@x.io": "unknown",
    }
    details = dict(zip(report.missing["Email"], report.missing["detail"], strict=True))
    assert details["d@x.io"].startswith("Status: Does not match allowed values")
    assert details["c@x.io"] == "Phone: Phone is required but empty"
    assert report.changed[["Email", "reason"]].values.tolist() == [
        ["b@x.io", "set by the accepted patch"]
    ]
    bare = migkit.reconcile(source, export, key="Email")
    assert set(bare.missing["reason"]) == {"unknown"}
    assert set(bare.missing["detail"]) == {
        "pass flagged=, validation= or patch= to explain missing rows"
    }
    local = migkit.reconcile(source, export, key="Email", validation=validation)
    assert local.missing["reason"].tolist() == [
        "predicted invalid locally",
        "predicted invalid locally",
        "unknown",
    ]


def test_summary_html_and_repr_lead_with_the_headline_numbers() -> None:
    export = SOURCE.assign(Name=["Ann", "Bobby", "Cy", "Di"]).iloc[:3]
    report = migkit.reconcile(SOURCE, export, key="Email")
    html = report._repr_html_()
    assert html.index("3 matched") < html.index("<table>")
    assert "1 missing" in html and "1 changed cells in 1 row" in html and "Bobby" in html
    assert repr(report).startswith("<ReconcileReport by key Email: source 4 rows, export 3 rows")
    summary = report.summary()["count"]
    assert (
        summary["matched"] == 3
        and summary["missing: unknown"] == 1
        and summary["changed rows"] == 1
    )
    empty = migkit.reconcile(SOURCE.iloc[:0], SOURCE.iloc[:0], key="Email")
    assert "0 matched" in empty._repr_html_()


def test_to_excel_writes_a_sheet_per_table(tmp_path: Path) -> None:
    export = SOURCE.assign(Name=["Ann", "Bobby", "Cy", "Di"]).iloc[:3]
    report = migkit.reconcile(SOURCE, export, key="Email", normalize="trim")
    path = report.to_excel(tmp_path / "rec.xlsx")
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
    assert list(sheets) == [
        "Summary",
        "By column",
        "Missing",
        "Extra",
        "Changed",
        "Hidden by normalization",
        "Duplicate keys",
    ]
    assert sheets["Changed"]["export"].tolist() == ["Bobby"]
    assert sheets["Missing"]["Email"].tolist() == ["d@x.io"]
    assert int(sheets["Summary"].set_index("what").loc["matched", "count"]) == 3


def test_dates_with_times_are_compared_with_their_time() -> None:
    source = frame(K=["a"], When=pd.to_datetime(["2024-01-05 10:30:00"]))
    assert migkit.reconcile(source, frame(K=["a"], When=["2024-01-05 10:30:00"]), key="K").ok
    assert not migkit.reconcile(source, frame(K=["a"], When=[str(date(2024, 1, 5))]), key="K").ok


def test_pairing_split_by_key_length_across_threads_gives_the_same_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    keys = [f"{'x' * int(n)}{i}" for i, n in enumerate(rng.integers(0, 30, 3_000))]
    source = frame(K=keys + keys[:50] + [None, ""], V=[str(v) for v in range(3_052)])
    export = frame(
        K=[*keys[100:], "new-1", "new-2"], V=[*(str(v) for v in range(100, 3_000)), "a", "b"]
    )
    export.loc[10, "V"] = "changed"
    single = migkit.reconcile(source, export, key="K")
    monkeypatch.setattr(column_kernels, "PARALLEL_CELLS", 1)
    monkeypatch.setattr(column_kernels.os, "cpu_count", lambda: 4)
    split = migkit.reconcile(source, export, key="K")
    accounted(split)
    assert (split.matched, len(split.missing), len(split.extra)) == (2_900, 152, 2)
    pd.testing.assert_frame_equal(split.missing, single.missing)
    pd.testing.assert_frame_equal(split.extra, single.extra)
    pd.testing.assert_frame_equal(split.changed, single.changed)
    pd.testing.assert_frame_equal(split.duplicates, single.duplicates)
    assert split.changed["source_row"].tolist() == [110]
