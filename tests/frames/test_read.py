"""``migkit.read`` on what customers really send, and uploads that fix what the server cannot
read."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import json
import re
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import migkit
from migkit.read import ReadLimits, detect_encoding, sniff_delimiter
from tests.helpers import SAMPLES, new_company


def read_bytes(data: bytes, name: str = "file.csv", **options: object) -> pd.DataFrame:
    return migkit.read(io.BytesIO(data), name=name, **options)  # type: ignore[arg-type]


def test_quotes_newlines_escaped_quotes_and_crlf() -> None:
    body = b'Name,Notes\r\n"Acme, Inc.","say ""hi""\r\nsecond line"\r\nPlain,\r\n'
    frame = read_bytes(body)
    assert frame["Name"].tolist() == ["Acme, Inc.", "Plain"]
    assert frame.loc[0, "Notes"] == 'say "hi"\r\nsecond line'
    assert pd.isna(frame.loc[1, "Notes"])


def test_every_cell_stays_text_as_written() -> None:
    frame = read_bytes(b"Id,Zip,When,Amount,Big\n007,02134,2024-01-05,1.50,12345678901234567890\n")
    assert frame.iloc[0].tolist() == ["007", "02134", "2024-01-05", "1.50", "12345678901234567890"]
    assert all(str(t) == "str" for t in frame.dtypes)


def test_a_quoted_empty_cell_is_an_empty_string_and_an_empty_cell_is_null() -> None:
    frame = read_bytes(b'A,B\n"",\n')
    assert frame.loc[0, "A"] == "" and pd.isna(frame.loc[0, "B"])


@pytest.mark.parametrize(
    ("data", "encoding", "bom"),
    [
        ("Name\nZoë\n".encode(), "utf-8", False),
        (codecs.BOM_UTF8 + "Name\nZoë\n".encode(), "utf-8-sig", True),
        ("Name\nZoë\n".encode("utf-16"), "utf-16", True),
        ("Name\nZoë\n".encode("utf-16-le"), "utf-16-le", False),
        ("Name\nZoë €\n".encode("cp1252"), "cp1252", False),
        (b"Name\nZo\xeb \x81\n", "latin-1", False),
    ],
    ids=["utf-8", "utf-8 bom", "utf-16 bom", "utf-16 no bom", "cp1252", "latin-1"],
)
def test_encodings_are_detected_and_reported(data: bytes, encoding: str, bom: bool) -> None:
    frame = read_bytes(data)
    assert frame.loc[0, "Name"].startswith("Zo")
    assert frame.columns.tolist() == ["Name"]  # no BOM left in the header
    info = frame.attrs["migkit"]
    assert (info["encoding"], info["bom"]) == (encoding, bom)
    if encoding != "latin-1":
        assert frame.loc[0, "Name"].startswith("Zoë")


def test_binary_or_unknown_encodings_are_refused_naming_the_offset() -> None:
    with pytest.raises(
        migkit.ReadError,
        match=r"byte 0xff at offset 8 is not UTF-8, and the rest looks like binary",
    ):
        read_bytes(b"Name\n\x00\x01\x02\xff\xfe\x00binary\x03\x04")
    sjis = "名前\n山田太郎\n東京都\n".encode("shift_jis") * 5
    with pytest.raises(migkit.ReadError, match="multi-byte encoding"):
        read_bytes(sjis)
    with pytest.raises(migkit.ReadError, match="cannot be decoded as utf-8 at offset 2"):
        read_bytes(b"A\n\xe9\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "delimiter"),
    [
        (b"a;b;c\n1;2,5;3\n", ";"),
        (b"a\tb\n1\t2\n", "\t"),
        (b"a|b\n1|2\n", "|"),
        (b"a,b\n1,2\n", ","),
    ],
)
def test_delimiters_are_sniffed(body: bytes, delimiter: str) -> None:
    frame = read_bytes(body)
    assert frame.attrs["migkit"]["delimiter"] == delimiter
    assert frame.columns.tolist()[:2] == ["a", "b"]


def test_sniffing_ignores_a_cut_last_line_and_keeps_single_columns() -> None:
    assert sniff_delimiter("a;b\n1;2\n3;") == ";"
    assert sniff_delimiter("name\nAnn\n") == ","


def test_empty_and_header_only_files() -> None:
    assert read_bytes(b"").empty
    header_only = read_bytes(b"Email,Name\r\n")
    assert header_only.empty and header_only.columns.tolist() == ["Email", "Name"]


def test_repeated_headers_are_kept_distinguishable_and_reported() -> None:
    frame = read_bytes(b"Email,Email,Name\na,b,c\n")
    assert frame.columns.tolist() == ["Email", "Email (2)", "Name"]
    assert frame.iloc[0].tolist() == ["a", "b", "c"]
    assert frame.attrs["migkit"]["repeated_headers"] == {"Email (2)": "Email"}


def test_a_malformed_file_says_what_to_do() -> None:
    with pytest.raises(migkit.ReadError, match="Quote cells that contain the delimiter"):
        read_bytes(b"a,b\n1,2,3\n")
    with pytest.raises(migkit.ReadError, match="cannot tell the format"):
        read_bytes(b"a", name="notes.docx")
    with pytest.raises(migkit.ReadError, match="no file at"):
        migkit.read("/nonexistent/contacts.csv")


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    sheet.append(["Customer contacts, exported 2024-02-01"])
    sheet.merge_cells("A1:D1")  # a merged banner row above the header
    sheet.append(["Email", "Joined", "Account Id", "Zip"])
    sheet.append(["ann@x.io", dt.datetime(2024, 1, 5), 123456789012345, "02134"])
    sheet.append(["bob@x.io", dt.datetime(2024, 1, 5, 9, 30), 42.0, "10001"])
    sheet.append([None, None, None, None])
    other = book.create_sheet("Accounts")
    other.append(["Name", "Active"])
    other.append(["Acme", True])
    path = tmp_path / "customer.xlsx"
    book.save(path)
    return path


def test_workbooks_give_a_frame_per_sheet_with_dates_ids_and_banners_handled(
    workbook: Path,
) -> None:
    sheets = migkit.read(workbook)
    assert list(sheets) == ["Contacts", "Accounts"]
    contacts = sheets["Contacts"]
    assert contacts.columns.tolist() == ["Email", "Joined", "Account Id", "Zip"]
    assert contacts.attrs["migkit"]["header_row"] == 1  # the merged banner was skipped
    assert contacts.values.tolist() == [
        ["ann@x.io", "2024-01-05", "123456789012345", "02134"],
        ["bob@x.io", "2024-01-05 09:30:00", "42", "10001"],
    ]
    assert sheets["Accounts"].values.tolist() == [["Acme", "true"]]
    one = migkit.read(workbook, sheet="Accounts")
    assert one.attrs["migkit"]["sheet"] == "Accounts"
    with pytest.raises(
        migkit.ReadError, match=r"no sheet 'Deals'; sheets: \['Contacts', 'Accounts'\]"
    ):
        migkit.read(workbook, sheet="Deals")


def test_the_sample_workbook_keeps_the_leading_zero_phone() -> None:
    contacts = migkit.read(SAMPLES / "customer_workbook.xlsx", sheet="Contacts")
    assert "00441632960958" in contacts["Phone Number"].tolist()
    assert len(contacts) == 200


def test_json_lines_and_arrays_keep_numbers_as_written(tmp_path: Path) -> None:
    lines = tmp_path / "rows.jsonl"
    lines.write_text(
        '{"Id": 7, "Amount": 1.50, "Tags": ["a"]}\n{"Id": 8, "Name": "Zoë"}\n', "utf-8"
    )
    frame = migkit.read(lines)
    assert frame.columns.tolist() == ["Id", "Amount", "Tags", "Name"]
    assert frame.iloc[0].tolist()[:3] == ["7", "1.50", json.dumps(["a"])]
    array = tmp_path / "rows.json"
    array.write_text('[{"Id": "007"}]', "utf-8")
    assert migkit.read(array)["Id"].tolist() == ["007"]
    (tmp_path / "bad.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(migkit.ReadError, match="holds a list of plain values"):
        migkit.read(tmp_path / "bad.json")


def test_detect_encoding_prefers_utf8() -> None:
    assert detect_encoding(b"plain ascii").utf8
    assert detect_encoding("Zoë".encode()).name == "utf-8"


# -- uploads: original bytes when acceptable, a clean UTF-8 CSV otherwise -----------------------
def test_an_acceptable_file_is_uploaded_byte_for_byte(client: migkit.Client) -> None:
    company = new_company(client, "Contacts")
    data = (SAMPLES / "contacts_clean.csv").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", migkit.MigkitWarning)
        upload = client.uploads.upload(company, SAMPLES / "contacts_clean.csv")
    assert upload.sha256 == hashlib.sha256(data).hexdigest()


def test_a_cp1252_file_is_re_encoded_and_the_user_is_told(client: migkit.Client) -> None:
    company = new_company(client, "Accounts", "Contacts")
    accounts = client.imports.create(company, files=[SAMPLES / "accounts.csv"]).wait()
    if accounts.waiting:  # keep its flagged rows flagged
        accounts.decide(reject=True).wait()
    with pytest.warns(
        migkit.MigkitWarning,
        match=r"contacts_cp1252.csv: sent as a clean UTF-8 CSV .*re-encoded from cp1252",
    ):
        run = client.imports.create(company, files=[SAMPLES / "contacts_cp1252.csv"])
    run = run.wait()
    assert run.status == "completed" and run.report is not None
    assert run.report.inserted == 10 and run.report.flagged_rows == 0
    exported = client.exports.frame(company, "Contacts")
    original = migkit.read(SAMPLES / "contacts_cp1252.csv")
    assert migkit.reconcile(original, exported, key="Email").ok


def test_a_semicolon_file_is_rewritten_with_commas(client: migkit.Client, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("Name;Domain\nAcme, Inc.;acme.com\nGlobex;globex.com\n", "utf-8")
    company = new_company(client, "Accounts")
    with pytest.warns(migkit.MigkitWarning, match="delimiter ';' replaced by ','"):
        run = client.imports.create(company, files=[path]).wait()
    assert run.report is not None and run.report.inserted == 2
    assert client.exports.frame(company, "Accounts")["Name"].tolist() == ["Acme, Inc.", "Globex"]


# -- real files' shapes (issue 18) ------------------------------------------------------------
def test_a_workbook_with_two_phone_columns_keeps_both_distinguishable(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Contacts"
    for row in (["Name", "Phone", "Phone"], ["Ann", "555-1", "555-2"]):
        book.active.append(row)
    stray = book.create_sheet("Notes")
    stray["A1"], stray["XFD1048576"] = "note", "far away"  # never built when not asked for
    book.save(tmp_path / "book.xlsx")
    frame = migkit.read(tmp_path / "book.xlsx", sheet="Contacts")
    assert frame.columns.tolist() == ["Name", "Phone", "Phone (2)"]
    assert frame.iloc[0].tolist() == ["Ann", "555-1", "555-2"]
    assert frame.attrs["migkit"]["repeated_headers"] == {"Phone (2)": "Phone"}
    with pytest.raises(migkit.ReadError, match="sheet 'Notes' spans"):
        migkit.read(tmp_path / "book.xlsx")


def test_blank_lines_above_a_csv_header_are_skipped_as_in_workbooks() -> None:
    frame = read_bytes(b"\n\r\n\na,b,c\n1,2,3\n")
    assert frame.columns.tolist() == ["a", "b", "c"] and frame.values.tolist() == [["1", "2", "3"]]
    assert frame.attrs["migkit"]["header_row"] == 3


def test_a_quoted_header_cell_with_a_line_break_is_parsed_like_the_body() -> None:
    frame = read_bytes(b'"Full\r\nName",Email\r\nAnn,a@b\r\n')
    assert frame.columns.tolist() == ["Full\r\nName", "Email"]
    assert frame.values.tolist() == [["Ann", "a@b"]]  # no invented row from the header's tail


@pytest.mark.parametrize("data", [b"Email,Name", codecs.BOM_UTF8 + b"Email,Name", b"Email"])
def test_a_header_alone_without_a_final_newline_is_an_empty_frame(data: bytes) -> None:
    frame = read_bytes(data)
    assert frame.empty and frame.columns.tolist() == data.removeprefix(
        codecs.BOM_UTF8
    ).decode().split(",")


def test_short_rows_are_read_with_nulls_counted_and_warned() -> None:
    with pytest.warns(migkit.MigkitWarning, match=r"2 row\(s\) had fewer cells than the header"):
        frame = read_bytes(b"Email,Name,Phone\na@b,Ann\nc@d,Cy,555\ne@f\n")
    cells = [[None if pd.isna(v) else v for v in row] for row in frame.values.tolist()]
    assert cells == [["a@b", "Ann", None], ["c@d", "Cy", "555"], ["e@f", None, None]]
    assert frame.attrs["migkit"]["short_rows"] == 2


def test_short_rows_keep_their_place_across_parser_blocks() -> None:
    lines = [b"Id,Name"] + [b"%d,n%d" % (i, i) if i % 3 else b"%d" % i for i in range(3000)]
    with pytest.warns(migkit.MigkitWarning):
        data = io.BytesIO(b"\n".join(lines) + b"\n")
        frame = migkit.read(data, name="ids.csv", limits=ReadLimits(max_row_bytes=1 << 10))
    assert frame["Id"].tolist() == [str(i) for i in range(3000)]
    assert frame["Name"].isna().tolist() == [i % 3 == 0 for i in range(3000)]


def test_a_row_longer_than_the_header_is_refused_naming_its_line() -> None:
    body = b'Name,Notes\nAnn,"two\nlines"\nBob,x,extra\n'
    with pytest.raises(migkit.ReadError, match=r"line 4 has 3 fields but the header has 2"):
        read_bytes(body)
    trailing = read_bytes(b"Name,Notes\nAnn,x,,\n")  # extra cells that are all empty are fine
    assert trailing.values.tolist() == [["Ann", "x"]]


def test_banner_lines_above_a_csv_header_are_skipped_and_reported() -> None:
    body = b"Customer export,,\nGenerated 2024-02-01,,\nEmail,Name,Phone\na@b,Ann,1\nc@d,Cy,2\n"
    with pytest.warns(migkit.MigkitWarning, match=r"skipped 2 line\(s\) above the header"):
        frame = read_bytes(body)
    assert frame.columns.tolist() == ["Email", "Name", "Phone"] and len(frame) == 2
    info = frame.attrs["migkit"]
    assert info["header_row"] == 2
    assert info["skipped_above_header"] == ["Customer export,,", "Generated 2024-02-01,,"]


def test_all_empty_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    frame = read_bytes(b"Email,Name\na@b,Ann\n,\n\n,\nc@d,Cy\n")
    assert frame["Email"].tolist() == ["a@b", "c@d"] and frame.attrs["migkit"]["empty_rows"] == 2
    book = openpyxl.Workbook()
    for row in (["Email"], ["a@b"], [None], [None], ["c@d"]):
        book.active.append(row)
    book.active["B3"] = ""  # a cell holding nothing still leaves the row empty
    book.save(tmp_path / "book.xlsx")
    sheet = migkit.read(tmp_path / "book.xlsx")
    assert sheet["Email"].tolist() == ["a@b", "c@d"] and sheet.attrs["migkit"]["empty_rows"] == 2


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ('[{"Id": "1"}, {"Id": "2"}]', [["1"], ["2"]]),
        ('{"Id": "1"}\n{"Id": "2"}\n', [["1"], ["2"]]),
        ('{"Id": ["1", "2"]}', [["1"], ["2"]]),
        ('{"r1": {"Id": "1"}, "r2": {"Id": "2"}}', [["1"], ["2"]]),
    ],
    ids=["list of objects", "json lines", "object of columns", "object of records"],
)
def test_the_json_shapes_that_are_tables_are_read(text: str, rows: list[list[str]]) -> None:
    frame = read_bytes(text.encode(), name="rows.json")
    assert frame.columns.tolist() == ["Id"] and frame.values.tolist() == rows


def test_records_keep_their_keys_as_the_index() -> None:
    frame = read_bytes(b'{"r1": {"Id": 1}, "r2": {"Id": 2}}', name="rows.json")
    assert frame.index.tolist() == ["r1", "r2"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            '{\n  "type": "FeatureCollection",\n  "features": []\n}',
            "one object (keys type, features)",
        ),
        ('{"Id": 1, "Name": "Ann"}', "one object (keys Id, Name)"),
        ('[["Id", "Name"], [1, "Ann"]]', "a list of lists"),
        ("[1, 2, 3]", "a list of plain values"),
        ('"just text"', "a single str value"),
    ],
)
def test_other_json_shapes_are_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(
        migkit.ReadError, match=re.escape(named) + ".*migkit reads a list of objects"
    ):
        read_bytes(text.encode(), name="data.json")


def test_a_re_encoded_upload_keeps_a_cell_holding_a_bare_carriage_return(
    client: migkit.Client, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes('Name;Domain\n"Acme\rWest";acme.com\nGlobex;globex.com\n'.encode("cp1252"))
    company = new_company(client, "Accounts")
    with pytest.warns(migkit.MigkitWarning, match="sent as a clean UTF-8 CSV"):
        run = client.imports.create(company, files=[path]).wait()
    assert run.report is not None and run.report.inserted == 2
    assert client.exports.frame(company, "Accounts")["Name"].tolist() == ["Acme\rWest", "Globex"]


def test_a_quote_that_never_closes_is_an_error_naming_its_line(tmp_path: Path) -> None:
    catalog = json.loads((SAMPLES / "templates.json").read_text("utf-8"))
    contacts = migkit.Template.from_api(
        next(t for t in catalog["templates"] if t["name"] == "Contacts")
    )

    path = tmp_path / "unclosed.csv"
    path.write_bytes(b'Email,Notes\r\nann@x.io,fine\r\nbob@x.io,"open quote\r\ncy@x.io,lost\r\n')
    with pytest.raises(migkit.ReadError, match="opens on line 3: its closing quote is missing"):
        migkit.read(path)
    with pytest.raises(migkit.ReadError, match="opens on line 3"):
        migkit.validate_file(path, contacts)  # streamed too


def test_a_literal_quote_inside_a_cell_is_not_an_unclosed_one(tmp_path: Path) -> None:
    path = tmp_path / "inches.csv"
    path.write_bytes(b'Size,Item\r\n5" TV,a\r\n"quoted, fine",b\r\n')
    frame = migkit.read(path)
    assert frame["Size"].tolist() == ['5" TV', "quoted, fine"] and len(frame) == 2
