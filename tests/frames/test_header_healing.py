"""Header-drift healing, shared by the sandbox and local validation."""

from __future__ import annotations

import pytest

from migkit.header_healing import file_stem_matches, match_headers, normalize_header

CONTACTS = ["Email", "First Name", "Last Name", "Phone", "Status", "Account"]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("email", "Email"),
        ("E-mail", "Email"),
        ("EMAIL ADDRESS", "Email"),
        ("first_name", "First Name"),
        ("FirstName", "First Name"),
        ("Surname", "Last Name"),
        ("Phone Number", "Phone"),
        ("tel.", "Phone"),
        ("status", "Status"),
        ("Company", "Account"),
        ("Accounts", "Account"),
    ],
)
def test_drifted_header_maps_to_template_column(header: str, column: str) -> None:
    assert match_headers([header], CONTACTS).mapping == {header: column}


def test_reordered_and_extra_columns_are_fine() -> None:
    m = match_headers(["Notes", "Account", "Email", "First Name"], CONTACTS)
    assert m.mapping == {"Account": "Account", "Email": "Email", "First Name": "First Name"}
    assert m.extra == ["Notes"]
    assert m.missing == ["Last Name", "Phone", "Status"]


def test_exact_match_wins_over_a_synonym_seen_first() -> None:
    m = match_headers(["Company", "Account"], CONTACTS)
    assert m.mapping == {"Account": "Account"}
    assert m.extra == ["Company"]


def test_a_column_is_matched_once() -> None:
    m = match_headers(["Email", "email"], CONTACTS)
    assert m.mapping == {"Email": "Email"} and m.extra == ["email"]


def test_missing_required_reported_in_template_order() -> None:
    m = match_headers(["Name", "Phone"], CONTACTS)
    assert m.missing_required(["Email", "First Name", "Account"]) == [
        "Email",
        "First Name",
        "Account",
    ]


def test_normalize_strips_accents_case_and_punctuation() -> None:
    assert normalize_header(" Prénom-Élève_2 ") == "prenomeleve2"


@pytest.mark.parametrize(
    ("file", "template", "expected"),
    [
        ("contacts.csv", "Contacts", True),
        ("Contact.XLSX", "Contacts", True),
        ("deals.tsv", "Deals", True),
        ("people.csv", "Contacts", False),
    ],
)
def test_file_stem_matches(file: str, template: str, expected: bool) -> None:
    assert file_stem_matches(file, template) is expected
