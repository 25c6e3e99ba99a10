"""migkit.validate predicts the server: same rules, same header healing, same flagged count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import migkit
from migkit.rules import Template
from tests.helpers import SAMPLES, Api, company_with

CATALOG = json.loads((SAMPLES / "templates.json").read_text("utf-8"))
ACCOUNTS, CONTACTS = (Template.from_api(t) for t in CATALOG["templates"][:2])


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLES / name, dtype=str, keep_default_na=False).replace("", None)


def test_rows_partition_into_valid_and_flagged_with_the_index_kept() -> None:
    frame = pd.DataFrame(
        {
            "Email": ["a@b.co", "bad", None],
            "First Name": ["A", "B", "C"],
            "Account": ["X", "X", "X"],
        },
        index=[10, 20, 30],
    )
    report = migkit.validate(frame, CONTACTS)
    assert report.valid_rows.index.tolist() == [10]
    assert report.flagged_rows.index.tolist() == [20, 30]
    assert report.errors[["row", "rule"]].values.tolist() == [[20, "regex"], [30, "required"]]


def test_the_input_frame_is_not_modified() -> None:
    frame = read("contacts.csv")
    before = frame.copy()
    migkit.validate(frame, CONTACTS, links={"Accounts": read("accounts.csv")})
    pd.testing.assert_frame_equal(frame, before)


def test_drifted_headers_are_mapped_and_output_keeps_the_callers_columns() -> None:
    frame = read("contacts.csv")
    report = migkit.validate(
        frame, CONTACTS, links={"Account": read("accounts.csv")["Company Name"]}
    )
    assert report.headers.mapping["E-mail"] == "Email"
    assert report.headers.mapping["Company"] == "Account"
    assert list(report.flagged_rows.columns) == list(frame.columns)


def test_sample_contacts_summary_matches_the_documented_defects() -> None:
    report = migkit.validate(
        read("contacts.csv"), CONTACTS, links={"Accounts": read("accounts.csv")}
    )
    counts = {(r.column, r.rule): r.rows for r in report.summary().itertuples()}
    assert counts == {
        ("Status", "allowed"): 8,
        ("Email", "regex"): 4,
        ("Account", "link"): 3,
        ("Phone", "regex"): 3,
        ("Email", "required"): 3,
        ("Email", "unique"): 3,
        ("First Name", "required"): 1,
    }
    assert report.predicted_flagged_rows == 25 and not report.ok


def test_a_missing_required_column_says_the_run_would_fail() -> None:
    report = migkit.validate(read("contacts_no_email.csv"), CONTACTS)
    assert report.missing_required == ["Email", "First Name"]
    assert not report.ok
    assert "run would FAIL" in repr(report) and "would fail" in report._repr_html_()


def test_link_columns_without_values_are_reported_unchecked() -> None:
    report = migkit.validate(read("contacts_clean.csv"), CONTACTS)
    assert ("Account", "link") in report.unchecked
    assert "not checked locally" in repr(report)


def test_unknown_links_key_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="name no link column"):
        migkit.validate(read("contacts_clean.csv"), CONTACTS, links={"Acounts": []})


def test_html_puts_the_headline_numbers_first() -> None:
    report = migkit.validate(
        read("contacts.csv"), CONTACTS, links={"Accounts": read("accounts.csv")}
    )
    html = report._repr_html_()
    assert html.index("200 rows") < html.index("<table>")
    assert "175 valid" in html and "25 flagged" in html


def _import_rows(api: Api, company: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post(
        f"/companies/{company['company']['id']}/imports",
        json={"rows": rows, "sheet_id": api.sheet_id(company, "Contacts")},
    )
    assert response.status_code == 201, response.text
    return api.wait(response.json()["poll_url"])


def test_prediction_equals_the_sandboxs_invalid_cell_count_for_the_sample(api: Api) -> None:
    company = company_with(api, "Contacts")
    frame = read("contacts.csv")
    rows = [{k: v for k, v in r.items() if isinstance(v, str)} for r in frame.to_dict("records")]
    body = _import_rows(api, company, rows)
    # the company has no Accounts sheet, so the server checks no link: predict the same
    assert (
        body["report"]["invalidCellCount"]
        == migkit.validate(frame, CONTACTS).predicted_flagged_rows
    )


CELL = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "a@b.co",
            "A@B.CO",
            "a@b.co ",
            "x@y",
            "Open",
            "open",
            "Closed",
            "+1 555 0100",
            "12",
            "Zoë",
            "Acme",
            "é@ü.de",
            "a\nb",
        ]
    ),
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {"Email": CELL, "First Name": CELL, "Phone": CELL, "Status": CELL, "Account": CELL}
        ),
        min_size=1,
        max_size=12,
    )
)
def test_prediction_equals_the_sandbox_for_random_frames(
    api: Api, rows: list[dict[str, Any]]
) -> None:
    frame = pd.DataFrame(rows)
    report = migkit.validate(frame, CONTACTS)
    assert len(report.valid_rows) + len(report.flagged_rows) == len(frame)
    company = company_with(api, "Contacts")
    body = _import_rows(api, company, rows)
    assert body["status"] in ("completed", "needs_attention"), body
    assert body["report"]["invalidCellCount"] == report.predicted_flagged_rows


def test_repr_lists_counts_per_column_and_rule() -> None:
    report = migkit.validate(
        read("contacts.csv"), CONTACTS, links={"Accounts": read("accounts.csv")}
    )
    text = repr(report)
    assert text.startswith("ValidationReport(Contacts: 200 rows, 175 valid, 25 flagged)")
    assert "Status" in text and "allowed" in text


def test_suggested_fixes_are_the_servers_kinds_and_apply_returns_a_new_frame() -> None:
    frame = read("contacts.csv")
    before = frame.copy()
    report = migkit.validate(frame, CONTACTS, links={"Accounts": read("accounts.csv")})
    fixes = report.suggest_fixes()
    by_value = dict(zip(fixes["value"], fixes["fix"], strict=False))
    assert by_value["open"] == "Open" and by_value["CLOSED"] == "Closed"
    assert set(fixes.loc[fixes["action"] == "drop", "column"]) == {"E-mail", "first_name"}
    fixed = report.apply(fixes)
    pd.testing.assert_frame_equal(frame, before)
    after = migkit.validate(fixed, CONTACTS, links={"Accounts": read("accounts.csv")})
    assert len(fixed) == len(frame) - 4  # 3 rows missing Email, 1 missing First Name
    assert {r.rule for r in after.summary().itertuples()} == {"link", "regex", "unique"}
    assert after.predicted_flagged_rows < report.predicted_flagged_rows


def test_a_trailing_space_is_fixed_by_trimming() -> None:
    frame = pd.DataFrame({"Email": ["ann@ex.com "], "First Name": ["A"], "Account": ["X"]})
    fixes = migkit.validate(frame, CONTACTS).suggest_fixes()
    assert fixes[["action", "fix", "reason"]].values.tolist() == [
        ["set", "ann@ex.com", "trim spaces"]
    ]


@pytest.mark.parametrize("batch_rows", [1, 7, 1_000_000])
def test_validate_file_streams_and_agrees_with_validate(batch_rows: int) -> None:
    accounts = read("accounts.csv")["Company Name"].dropna().tolist()
    whole = migkit.validate(read("contacts.csv"), CONTACTS, links={"Account": accounts})
    streamed = migkit.validate_file(
        SAMPLES / "contacts.csv",
        CONTACTS,
        links={"Account": accounts},
        batch_rows=batch_rows,
        block_bytes=2048,
    )
    assert streamed.rows == 200
    assert streamed.predicted_flagged_rows == whole.predicted_flagged_rows == 25
    pd.testing.assert_frame_equal(streamed.summary(), whole.summary())


def test_validate_file_finds_duplicates_across_batches(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    lines = ["Email,First Name,Account"] + [f"u{i % 50}@x.co,A,X" for i in range(120)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = migkit.validate_file(path, CONTACTS, batch_rows=10, block_bytes=256)
    assert report.rows == 120
    assert set(report.errors["rule"]) == {"unique"}
    assert report.errors["row"].tolist() == list(range(50, 120))


def test_a_repeated_header_uses_its_first_column_like_the_server() -> None:
    frame = pd.DataFrame(
        [["a@b.co", "A", "X", "not an email"]], columns=["Email", "First Name", "Account", "Email"]
    )
    report = migkit.validate(frame, CONTACTS)
    assert report.ok
    assert report.headers.extra == ["Email"]


def test_an_empty_frame_is_ok_and_has_no_rows() -> None:
    report = migkit.validate(pd.DataFrame(columns=["Email", "First Name", "Account"]), CONTACTS)
    assert report.ok and report.predicted_flagged_rows == 0
    assert report.valid_rows.empty and report.flagged_rows.empty
