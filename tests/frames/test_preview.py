"""``migkit.Preview``: a Generation-2 preview body as DataFrames (real sandbox payloads fetched
over HTTP, and hostile or malformed payloads), and how it renders."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

import migkit
from migkit.preview import Preview
from tests.helpers import ACCOUNTS, CONTACTS, csv_bytes
from tests.helpers_gen2 import Gen2

ROWS = [
    CONTACTS,
    ["ann@example.com", "Ann", "", "", "Open", "Acme"],
    ["not an email", "Bob", "", "", "Open", "Acme"],
    ["", "Cy", "", "", "Closed", "Acme"],
    ["007@example.com", '=HYPERLINK("x")', "<b>bold</b>", "00442079460000", "Open", "Acme"],
]


def payload() -> dict[str, Any]:
    """A small body in the documented shape (with the sandbox's EXT fields)."""
    return {
        "status": "awaiting_approval",
        "templates": [{"slug": "contacts", "name": "Contacts"}, {"slug": "deals", "name": "Deals"}],
        "sheets": [
            {
                "template": {"slug": "contacts", "name": "Contacts"},
                "rows": [["Email", "Status"], ["a@x.io", "Open"], [None, "open?"]],
                "invalid_cells": [
                    {"row": 1, "column": "Email", "error": "Required"},
                    {"row": 1, "column": "Status", "error": "Must be one of Open, Closed"},
                ],
            },
            {
                "template": {"slug": "deals", "name": "Deals"},
                "rows": [["Title"]],
                "invalid_cells": [],
            },
        ],
    }


@pytest.fixture
def generated(gen2: Gen2) -> tuple[str, dict[str, Any]]:
    accounts = csv_bytes([ACCOUNTS, ["Acme", "acme.com", "Gold"]])
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(ROWS)), ("accounts.csv", accounts)]
    )
    body = gen2.run_to_rest(migration, "generate")
    assert body["status"] == "awaiting_approval", body
    return migration, gen2.preview(migration)


# -- real payloads -------------------------------------------------------------------------------
def test_a_sandbox_preview_becomes_one_text_frame_per_template(
    generated: tuple[str, dict[str, Any]],
) -> None:
    _, body = generated
    preview = Preview.from_payload(body)
    assert list(preview) == ["accounts", "contacts", "deals"]
    contacts = preview["contacts"]
    assert list(contacts.columns) == CONTACTS
    assert contacts.index.name == "row"
    assert contacts.index.tolist() == [0, 1, 2, 3]
    # text stays text: leading zeros, formulas and markup are values, not interpreted
    assert contacts.loc[3, "Phone"] == "00442079460000"
    assert contacts.loc[3, "First Name"] == '=HYPERLINK("x")'
    assert contacts["Email"].tolist()[:2] == ["ann@example.com", "not an email"]
    assert contacts["Email"].isna().tolist() == [
        False,
        False,
        True,
        False,
    ]  # an empty cell is missing (null in the payload)
    assert all(pd.api.types.is_string_dtype(contacts[c]) for c in contacts.columns)
    # the header-only sheets of templates with no data are empty frames with their columns
    assert len(preview["deals"]) == 0
    assert list(preview["deals"].columns) == ["Title", "Amount", "Stage", "Contact Email"]
    assert preview["accounts"].to_dict("records") == [
        {"Name": "Acme", "Domain": "acme.com", "Tier": "Gold"}
    ]
    assert preview.sheet("contacts").name == "Contacts"
    assert preview["Contacts"] is contacts  # by template name too


def test_invalid_cells_are_the_payloads_with_the_template(
    generated: tuple[str, dict[str, Any]],
) -> None:
    _, body = generated
    preview = Preview.from_payload(body)
    shown = {
        (c["row"], c["column"], c["error"]) for s in body["sheets"] for c in s["invalid_cells"]
    }
    table = preview.invalid_cells
    assert list(table.columns) == ["template", "row", "column", "error"]
    assert set(table["template"]) == {"contacts"}
    assert set(zip(table["row"], table["column"], table["error"], strict=True)) == shown
    assert {(r, c) for r, c, _ in shown} == {(1, "Email"), (2, "Email")}
    sheet = preview.sheet("contacts")
    assert sheet.flagged.index.tolist() == [1, 2]
    assert sheet.valid.index.tolist() == [0, 3]
    assert (preview.rows, preview.flagged_rows, preview.truncated) == (5, 2, False)


def test_a_truncated_sheet_says_so_with_its_total(gen2: Gen2) -> None:
    rows = [CONTACTS] + [[f"p{i}@example.com", "P", "", "", "Open", "Acme"] for i in range(10_002)]
    rows[5][0] = "broken"
    migration = gen2.migration_with_files([("c.csv", csv_bytes(rows))], templates=["contacts"])
    gen2.run_to_rest(migration, "generate")
    preview = Preview.from_payload(gen2.preview(migration))
    sheet = preview.sheet("contacts")
    assert (sheet.truncated, sheet.rows, sheet.total_rows) == (True, 10_000, 10_002)
    assert preview.truncated and preview.total_rows == 10_002
    assert preview.invalid_cells["row"].tolist() == [4]
    assert "TRUNCATED" in repr(preview)
    assert "first 10,000 of 10,002 rows" in repr(preview)
    assert "A sample" in preview._repr_html_()


def test_the_summary_counts_per_template(generated: tuple[str, dict[str, Any]]) -> None:
    summary = Preview.from_payload(generated[1]).summary()
    assert summary.loc["contacts"].to_dict() == {
        "name": "Contacts",
        "rows": 4,
        "total_rows": 4,
        "flagged_rows": 2,
        "invalid_cells": 2,
        "truncated": False,
    }
    assert summary.loc["deals", "rows"] == 0


# -- rendering -----------------------------------------------------------------------------------
def test_repr_is_plain_text_with_counts_and_rules() -> None:
    text = repr(Preview.from_payload(payload()))
    lines = text.splitlines()
    assert lines[0] == "Preview (awaiting_approval): 2 templates, 2 rows shown, 1 flagged"
    assert lines[1] == "  contacts (Contacts): 2 rows, 1 flagged, 2 invalid cells"
    assert lines[2].split() == ["Email", "1", "Required"]
    assert lines[4] == "  deals (Deals): 0 rows, 0 flagged, 0 invalid cells"


def test_html_marks_invalid_cells_with_their_error_and_escapes_values() -> None:
    body = payload()
    body["sheets"][0]["rows"][1][0] = "<script>alert(1)</script>"
    body["sheets"][0]["invalid_cells"][0]["error"] = "it's <bad>"
    html = Preview.from_payload(body)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "title='it&#x27;s &lt;bad&gt;'" in html
    assert html.count("title=") == 2  # the two invalid cells of row 1, nothing else


def test_control_characters_in_names_are_shown_escaped_in_text() -> None:
    body = payload()
    body["sheets"][0]["template"]["name"] = "Con\x1b[31mtacts"
    assert "\x1b" not in repr(Preview.from_payload(body))


def test_an_unknown_template_lists_the_ones_there_are() -> None:
    preview = Preview.from_payload(payload())
    with pytest.raises(migkit.UnknownName, match=r"'leads'.*contacts \(Contacts\), deals"):
        preview["leads"]


def test_unknown_fields_pass_through_in_raw() -> None:
    body = payload()
    body["extra"] = {"anything": 1}
    body["sheets"][0]["row_ids"] = ["r1", "r2"]
    preview = Preview.from_payload(body)
    assert preview.raw["extra"] == {"anything": 1}
    assert preview.sheet("contacts").raw["row_ids"] == ["r1", "r2"]


def test_numbers_and_booleans_from_a_server_become_text() -> None:
    body = payload()
    body["sheets"][0]["rows"][1] = [12, True]
    body["sheets"][0]["rows"][2] = [1.5, None]
    frame = Preview.from_payload(body)["contacts"]
    assert frame["Email"].tolist() == ["12", "1.5"]
    assert frame["Status"].tolist()[0] == "true"
    assert frame["Status"].isna().tolist() == [False, True]


def test_the_callers_payload_is_not_modified() -> None:
    body = payload()
    before = copy.deepcopy(body)
    frame = Preview.from_payload(body)["contacts"]
    frame.loc[0, "Email"] = "changed"
    assert body == before


# -- malformed payloads --------------------------------------------------------------------------
def broken(path: list[Any], value: Any) -> dict[str, Any]:
    body = payload()
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


MALFORMED = [
    (["sheets"], KeyError, r"sheets is a null where the sheets \(an array\)"),
    (["sheets"], {"a": 1}, r"sheets is a dict where the sheets"),
    (["sheets", 0], "text", r"sheets\[0\] is a str where a sheet"),
    (["sheets", 0, "template"], KeyError, r"sheets\[0\]\.template is a null"),
    (["sheets", 0, "template", "slug"], "", r"sheets\[0\]\.template\.slug is ''"),
    (["sheets", 0, "template", "name"], 5, r"sheets\[0\]\.template\.name is 5"),
    (["sheets", 0, "rows"], [], r"sheets\[0\]\.rows is empty: the header row is missing"),
    (["sheets", 0, "rows"], None, r"sheets\[0\]\.rows is a null"),
    (["sheets", 0, "rows", 0], "Email,Status", r"sheets\[0\]\.rows\[0\] is a str"),
    (["sheets", 0, "rows", 0, 1], None, r"sheets\[0\]\.rows\[0\]\[1\] is None, not a column"),
    (["sheets", 0, "rows", 0, 1], "Email", r"names column 'Email' twice"),
    (["sheets", 0, "rows", 2], ["x"], r"rows\[2\] has 1 cells where the header has 2"),
    (["sheets", 0, "rows", 2, 0], {"$f": 1}, r"rows\[2\]\[0\] is a dict where a cell"),
    (["sheets", 0, "rows", 2, 0], ["a"], r"rows\[2\]\[0\] is a list where a cell"),
    (["sheets", 0, "invalid_cells"], {}, r"invalid_cells is a dict"),
    (["sheets", 0, "invalid_cells", 0], 3, r"invalid_cells\[0\] is a int where an invalid"),
    (["sheets", 0, "invalid_cells", 0, "row"], 2, r"invalid_cells\[0\]\.row is 2: not one"),
    (["sheets", 0, "invalid_cells", 0, "row"], -1, r"\.row is -1"),
    (["sheets", 0, "invalid_cells", 0, "row"], "1", r"\.row is '1'"),
    (["sheets", 0, "invalid_cells", 0, "row"], True, r"\.row is True"),
    (["sheets", 0, "invalid_cells", 0, "column"], "Phone", r"\.column is 'Phone': not one"),
    (["sheets", 0, "invalid_cells", 0, "error"], 7, r"\.error is a int, not a message"),
    (["sheets", 0, "truncated"], "yes", r"truncated is 'yes', not true or false"),
    (["sheets", 0, "total_rows"], 1, r"total_rows is 1: not a count of at least the 2"),
    (["sheets", 0, "total_rows"], 2.5, r"total_rows is 2.5"),
    (["sheets", 1, "template", "slug"], "contacts", r"'contacts' has a sheet already"),
    (["status"], 3, r"status is 3, not a status"),
]


@pytest.mark.parametrize(("path", "value", "message"), MALFORMED)
def test_a_malformed_payload_names_what_is_wrong(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(migkit.MalformedPreview, match=message) as caught:
        Preview.from_payload(broken(path, value))
    assert isinstance(caught.value, migkit.UnexpectedResponse)
    assert "Fetch it again" in str(caught.value)


@pytest.mark.parametrize("body", [None, [], "preview", 3])
def test_a_body_that_is_no_object_is_malformed(body: Any) -> None:
    with pytest.raises(migkit.MalformedPreview, match="the preview is a"):
        Preview.from_payload(body)


def test_a_total_above_the_shown_rows_means_truncated_even_without_the_flag() -> None:
    sheet = Preview.from_payload(broken(["sheets", 0, "total_rows"], 50)).sheet("contacts")
    assert (sheet.truncated, sheet.total_rows, sheet.rows) == (True, 50, 2)


def test_null_truncated_and_missing_invalid_cells_read_as_absent() -> None:
    body = broken(["sheets", 0, "truncated"], None)
    del body["sheets"][1]["invalid_cells"]
    preview = Preview.from_payload(body)
    assert not preview.truncated and len(preview.sheet("deals").invalid_cells) == 0
