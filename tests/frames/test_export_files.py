"""``migkit.export_files`` on its own (no HTTP): export bodies into DataFrames, with every kind
of damage named, rows counted while streaming, ZIP members held to their declared sizes, and
flagged rows told apart from valid ones."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migkit.errors import ExportIncomplete, ExportTooLarge
from migkit.export_files import RecordCounter, read_export_csv, read_export_zip, subtract_rows

BODY = b'Email,Notes\r\nann@x.io,"two\nlines, one comma"\r\nbob@x.io,\r\n'


def test_a_body_becomes_text_columns_with_empty_cells_null() -> None:
    frame = read_export_csv(io.BytesIO(b"\xef\xbb\xbf" + BODY), expected_rows=2)
    assert frame.columns.tolist() == ["Email", "Notes"]
    assert frame["Notes"].tolist()[0] == "two\nlines, one comma"
    assert pd.isna(frame["Notes"].iloc[1])
    assert all(isinstance(dtype, pd.StringDtype) for dtype in frame.dtypes)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "no header row"),
        (BODY[:30], "ends inside a quoted field"),
        (b"Email,Email\r\na,b\r\n", "repeats the column"),
    ],
)
def test_damaged_bodies_are_named(body: bytes, says: str) -> None:
    with pytest.raises(ExportIncomplete, match=says):
        read_export_csv(io.BytesIO(body))


def test_a_row_count_other_than_announced_is_a_cut_off_download() -> None:
    with pytest.raises(ExportIncomplete, match="holds 2 rows but the server announced 3") as info:
        read_export_csv(io.BytesIO(BODY), expected_rows=3)
    assert (info.value.rows, info.value.expected) == (2, 3)


def test_the_record_counter_ignores_line_breaks_inside_quotes_across_chunks() -> None:
    counter = RecordCounter()
    for n in range(0, len(BODY), 5):
        counter.feed(BODY[n : n + 5])
    assert counter.rows == 2


cells = st.text(alphabet='ab,"\n\r ', max_size=6)


@given(st.lists(st.lists(cells, min_size=1, max_size=3), max_size=20), st.data())
@settings(max_examples=150, deadline=None)
def test_the_record_counter_agrees_with_the_csv_module_however_the_body_is_cut(
    rows: list[list[str]], data: st.DataObject
) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows([["h"], *rows])
    body = out.getvalue().encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=6)))
    counter = RecordCounter()
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        counter.feed(body[start:end])
    assert counter.rows == len(rows)


@given(
    st.lists(st.lists(cells, min_size=1, max_size=3), max_size=20),
    st.integers(0, 25),
    st.data(),
)
@settings(max_examples=150, deadline=None)
def test_with_the_announced_count_the_counter_is_a_lower_bound_that_still_catches_a_long_body(
    rows: list[list[str]], expected: int, data: st.DataObject
) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows([["h"], *rows])
    body = out.getvalue().encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=6)))
    counter = RecordCounter(expected)
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        counter.feed(body[start:end])
    assert counter.rows <= len(rows)  # never more than the body holds: no false alarm
    if len(rows) > 2 * expected + 1:  # far past the announced count: caught
        assert counter.rows > expected


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_workbook_zip_gives_one_frame_per_sheet(tmp_path: Path) -> None:
    path = zipped(tmp_path / "x.zip", {"Contacts.csv": BODY, "Accounts.csv": b"Name\r\nAcme\r\n"})
    sheets = read_export_zip(path, expected_rows=3)
    assert {name: len(frame) for name, frame in sheets.items()} == {"Contacts": 2, "Accounts": 1}


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = zipped(tmp_path / "bomb.zip", {"Contacts.csv": b"Email\r\n" + b"a\r\n" * 2_000_000})
    with pytest.raises(ExportTooLarge, match="ZIP bomb"):
        read_export_zip(path, max_ratio=50)
    with pytest.raises(ExportTooLarge, match="declares"):
        read_export_zip(path, max_bytes=1000)


def test_a_zip_member_with_more_rows_than_announced_stops_early(tmp_path: Path) -> None:
    path = zipped(tmp_path / "x.zip", {"Contacts.csv": BODY})
    with pytest.raises(ExportIncomplete, match="more than the 1 rows"):
        read_export_zip(path, expected_rows=1)


def test_a_cut_off_zip_is_named(tmp_path: Path) -> None:
    path = zipped(tmp_path / "x.zip", {"Contacts.csv": BODY})
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ExportIncomplete, match="not a readable ZIP"):
        read_export_zip(path)


def test_subtract_rows_keeps_the_first_copies_valid_and_the_index() -> None:
    all_rows = pd.DataFrame({"E": ["a", "b", "a", None]}, index=[10, 11, 12, 13])
    valid = pd.DataFrame({"E": ["a", None]})
    flagged = subtract_rows(all_rows, valid)
    assert flagged.index.tolist() == [11, 12]
    with pytest.raises(ValueError, match="different columns"):
        subtract_rows(all_rows, pd.DataFrame({"F": []}))
