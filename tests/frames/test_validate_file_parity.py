"""``validate_file`` reads a file by ``migkit.read``'s rules, streamed, and gives the answer
``validate(read(path))`` gives, on the files that used to break it and on generated ones."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import migkit
from migkit.rules import Template
from tests.helpers import SAMPLES, new_company

CATALOG = json.loads((SAMPLES / "templates.json").read_text("utf-8"))
CONTACTS = Template.from_api(next(t for t in CATALOG["templates"] if t["name"] == "Contacts"))


def both(path: Path, **options: object) -> tuple[migkit.ValidationReport, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", migkit.MigkitWarning)
        whole = migkit.validate(migkit.read(path), CONTACTS)
        streamed = migkit.validate_file(path, CONTACTS, **options)  # type: ignore[arg-type]
    return whole, streamed


def assert_same(whole: migkit.ValidationReport, streamed: migkit.FileValidationReport) -> None:
    assert streamed.rows == len(whole.frame)
    assert streamed.predicted_flagged_rows == whole.predicted_flagged_rows
    assert streamed.headers == whole.headers
    pd.testing.assert_frame_equal(
        streamed.errors.reset_index(drop=True), whole.errors.reset_index(drop=True)
    )


def workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    for row in (["Email", "First Name"], ["ann@x.io", "Ann"], ["not an email", None]):
        book.active.append(row)
    book.save(path)
    return path


CASES = {
    "cp1252": (
        "contacts.csv",
        "Email;First Name\r\nzoë@x.io;Zoë\r\nbad;Renée\r\n".encode("cp1252"),
    ),
    "cr only": ("contacts.csv", b'Email,First Name\r"a@x.io","multi\nline"\rbad,B\r'),
    "duplicate header": ("contacts.csv", b"Email,Email,First Name\na@x.io,x,A\nbad,a@x.io,B\n"),
    "utf-16 bom": ("contacts.csv", "Email\tFirst Name\nann@x.io\tAnn\nbad\tBob\n".encode("utf-16")),
    "no column matches": ("contacts.csv", b"Foo,Bar\n1,2\n3,4\n"),
    "short rows and empty rows": ("contacts.csv", b"Email,First Name,Phone\na@x.io\n,,\nbad,B,1\n"),
}


@pytest.mark.parametrize("case", CASES)
def test_validate_file_agrees_with_validate_of_read(case: str, tmp_path: Path) -> None:
    name, data = CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    whole, streamed = both(path, batch_rows=1, block_bytes=1 << 10)
    assert_same(whole, streamed)  # type: ignore[arg-type]


def test_headers_that_match_no_column_still_count_every_row(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(CASES["no column matches"][1])
    report = migkit.validate_file(path, CONTACTS)
    assert report.rows == 2 and report.predicted_flagged_rows == 2  # Email is required
    assert report.missing_required


def test_workbooks_are_validated_like_their_frame(tmp_path: Path) -> None:
    whole, streamed = both(workbook(tmp_path / "contacts.xlsx"))
    assert_same(whole, streamed)  # type: ignore[arg-type]
    assert len(whole.frame) == 2 and whole.predicted_flagged_rows >= 1


def test_a_file_read_refuses_is_refused_alike(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes("Email\nzoë@x.io\n".encode() + "renée@x.io\n".encode("cp1252"))
    with pytest.raises(migkit.ReadError) as by_read:
        migkit.read(path)
    with pytest.raises(migkit.ReadError) as by_file:
        migkit.validate_file(path, CONTACTS)
    assert str(by_file.value) == str(by_read.value)
    assert "mixes text encodings: line 3" in str(by_read.value)


NAMES = st.sampled_from(["Email", "E-mail", "First Name", "first_name", "Phone", "Notes", "Email"])
CELLS = st.sampled_from(
    ["", "ann@x.io", "bob@x.io", "ann@x.io", "not an email", " x ", "Zoë", 'say "hi"', "a,b",
     "line\nbreak", "Active", "555-0100", "=1+1"]
)  # fmt: skip


@st.composite
def delimited_files(draw: st.DrawFn) -> tuple[bytes, dict[str, object]]:
    header = draw(st.lists(NAMES, min_size=1, max_size=4))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header)), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    options = {
        "batch_rows": draw(st.integers(1, 5)),
        "block_bytes": draw(st.sampled_from([1 << 10, 1 << 16])),
    }
    return text.getvalue().encode(encoding), options


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(delimited_files())
def test_property_validate_file_is_validate_of_read(
    tmp_path: Path, generated: tuple[bytes, dict[str, object]]
) -> None:
    data, options = generated
    path = tmp_path / "contacts.csv"
    path.write_bytes(data)
    try:
        whole, streamed = both(path, **options)
    except migkit.ReadError as refused:
        with pytest.raises(migkit.ReadError, match="^" + str(refused)[:40]):
            migkit.validate_file(path, CONTACTS, **options)  # type: ignore[arg-type]
        return
    assert_same(whole, streamed)  # type: ignore[arg-type]


ACCOUNTS_WITH_GAPS = (
    b"Company Name,Website,tier\nAcme,acme.com,Gold\n,,\n"
    b"Globex,globex.com\n,,\nInitech,i.com,Silver\n"
)


def test_the_sandbox_imports_the_rows_read_counts(client: migkit.Client, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(ACCOUNTS_WITH_GAPS)
    with pytest.warns(migkit.MigkitWarning, match="fewer cells than the header"):
        frame = migkit.read(path)
    assert len(frame) == 3 and frame.attrs["migkit"]["empty_rows"] == 2
    company = new_company(client, "Accounts")
    run = client.imports.create(company, files=[path]).wait(raise_on_failure=False)
    assert run.report is not None and run.report.inserted == len(frame)
