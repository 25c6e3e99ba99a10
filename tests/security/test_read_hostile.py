"""Hostile files: each is refused with a ``ReadError`` (or a failed run with a clear error),
within a memory and time bound: every read runs in a child process under ``RLIMIT_AS`` and a
timeout, so a regression fails this test instead of killing the test run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import migkit
from migkit.read import ReadLimits
from migkit.sandbox.reader import XLSX, FileProblem, read_upload
from tests.helpers import SAMPLES, new_company
from tests.ole_files import biff8_workbook, ole_file

ROOT = Path(__file__).resolve().parents[2]
MEMORY = 2 << 30
CHILD = """
import json, resource, sys, warnings
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
warnings.simplefilter("ignore")
{code}
"""


def bounded(code: str, *args: str, timeout: float = 120) -> dict[str, Any]:
    """Run ``code`` in a child under RLIMIT_AS; it prints one JSON line about the outcome."""
    program = CHILD.format(memory=MEMORY, code=code)
    done = subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-800:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


READ = """
import migkit
try:
    migkit.read(sys.argv[1])
    print(json.dumps({"outcome": "frame"}))
except migkit.ReadError as exc:
    print(json.dumps({"outcome": "ReadError", "message": str(exc)}))
"""


def xlsx(cells: dict[str, object]) -> bytes:
    book = openpyxl.Workbook()
    for ref, value in cells.items():
        book.active[ref] = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


STRAY_CELL = {"A1": "Email", "XFD1048576": "x"}  # 1.6 KB asking for 512 GiB
DECLARED_200K = {"A1": "Email", "CV200000": "x"}  # 200k rows x 100 columns


@pytest.mark.parametrize("cells", [STRAY_CELL, DECLARED_200K], ids=["XFD1048576", "200k x 100"])
def test_a_tiny_workbook_spanning_a_huge_sheet_is_refused_not_allocated(
    cells: dict[str, object], tmp_path: Path
) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(xlsx(cells))
    result = bounded(READ, str(path))
    assert result["outcome"] == "ReadError"
    assert "contacts.xlsx: sheet 'Sheet' spans" in result["message"]
    assert "ReadLimits(" in result["message"]  # says how to raise the cap


def test_the_cap_is_a_setting(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(xlsx({"A1": "Email", "A2": "a@b", "D30": "x"}))
    assert len(migkit.read(path)) == 2
    with pytest.raises(migkit.ReadError, match="at most 100 per sheet"):
        migkit.read(path, limits=ReadLimits(max_sheet_cells=100))


def test_a_legacy_xls_spanning_its_whole_grid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xls"
    path.write_bytes(biff8_workbook([(0, 0, 1.0), (65535, 255, 2.0)]))
    result = bounded(READ, str(path))
    assert result["outcome"] == "ReadError" and "65,536 rows × 256 columns" in result["message"]
    small = tmp_path / "small.xls"
    small.write_bytes(biff8_workbook([(0, 0, 7.0), (1, 0, 8.0)]))
    assert migkit.read(small).values.tolist() == [["8"]]


def test_a_zip_bomb_sheet_is_refused_while_it_is_measured(tmp_path: Path) -> None:
    book = xlsx({"A1": "Email"})
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (64 << 20))
            out.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(migkit.ReadError, match="bytes of XML once decompressed"):
        migkit.read(path, limits=ReadLimits(max_part_bytes=32 << 20))


def test_validate_on_the_command_line_refuses_it_without_dying(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(xlsx(STRAY_CELL))
    code = f"""
from migkit.cli import main
code = main(["validate", sys.argv[1], "--template", "Contacts",
             "--templates-file", {str(SAMPLES / "templates.json")!r}])
print(json.dumps({{"code": code}}))
"""
    assert bounded(code, str(path))["code"] == 2  # a usage error, with the message on stderr


def test_the_sandbox_reader_turns_it_into_a_file_problem(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(xlsx(STRAY_CELL))
    code = """
from pathlib import Path
from migkit.sandbox.reader import XLSX, FileProblem, read_upload
try:
    read_upload(Path(sys.argv[1]), "contacts.xlsx", XLSX)
    print(json.dumps({"outcome": "read"}))
except FileProblem as exc:
    print(json.dumps({"outcome": "FileProblem", "message": str(exc)}))
"""
    result = bounded(code, str(path))
    assert result["outcome"] == "FileProblem" and "spans" in result["message"]


def test_an_import_of_it_fails_with_a_clear_error_and_the_sandbox_keeps_serving(
    client: migkit.Client, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(xlsx(STRAY_CELL))
    company = new_company(client, "Contacts")
    run = client.imports.create(company, files=[path]).wait(raise_on_failure=False)
    assert run.status == "failed" and run.error and "spans 1,048,576 rows" in run.error
    assert client.companies.get(company.id).id == company.id  # still answering


def test_encrypted_workbooks_say_so(tmp_path: Path) -> None:
    for name, data in (
        ("book.xlsx", ole_file({"EncryptionInfo": b"\x04\x00", "EncryptedPackage": b"\x00"})),
        ("book.xls", biff8_workbook([(0, 0, 1.0)], password=True)),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(migkit.ReadError, match=r"is encrypted .* remove the password"):
            migkit.read(tmp_path / name)
        with pytest.raises(FileProblem, match="is encrypted"):
            read_upload(tmp_path / name, name, XLSX)


def test_files_that_are_not_workbooks_say_what_they_are(tmp_path: Path) -> None:
    cases = {
        "report.xls": (b"<html><table><tr><td>1</td></tr></table></html>", "an HTML page"),
        "export.xlsx": (b"Email,Name\na@b,A\n", "is text, not an Excel workbook"),
        "empty.xlsx": (b"", "is empty"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(migkit.ReadError, match=message):
            migkit.read(tmp_path / name)


# -- text files ------------------------------------------------------------------------------
def test_a_huge_single_line_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b"a" * (24 << 20) + b"\n1\n")  # the 200 MB case, scaled down
    result = bounded(READ, str(path))
    assert result["outcome"] == "ReadError" and "header record is longer than" in result["message"]


def test_a_million_header_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "columns.csv"
    path.write_bytes(b",".join(b"c" for _ in range(1_000_000)) + b"\n")  # 2 MB
    result = bounded(READ, str(path))
    assert result["outcome"] == "ReadError" and "header record is longer" in result["message"]
    path.write_bytes(b",".join(b"%d" % i for i in range(20_000)) + b"\n")  # 110 KB header
    result = bounded(READ, str(path))
    assert result["message"].startswith("columns.csv has 20,000 columns in its header")


def test_an_odd_length_utf16_file_is_refused_saying_it_was_cut(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes("Name\nZoë\n".encode("utf-16") + b"\x00")
    with pytest.raises(migkit.ReadError, match="UTF-16 but has an odd number of bytes"):
        migkit.read(path)


def test_json_with_half_a_surrogate_pair_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('[{"Name": "ok"},\n {"Name": "bad \\ud800 value"}]', "utf-8")
    with pytest.raises(migkit.ReadError, match=r"line 2 holds '\\\\ud800', half of a UTF-16"):
        migkit.read(path)
    path.write_text('[{"Name": "fine \\ud83d\\ude00"}]', "utf-8")  # a whole pair is an emoji
    assert migkit.read(path)["Name"].tolist() == ["fine 😀"]


def test_deeply_nested_json_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    with pytest.raises(migkit.ReadError, match="nests JSON too deeply"):
        migkit.read(path)


def test_mixed_encodings_name_the_first_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        "Name,City\nZoë,Paris\n".encode() + "Renée,Lyon\n".encode("cp1252") + b"Ann,Nice\n"
    )
    with pytest.raises(migkit.ReadError) as refused:
        migkit.read(path)
    message = str(refused.value)
    assert "mixes text encodings: line 3 is not UTF-8 (byte 0xe9 in 'Renée,Lyon')" in message
    assert "line 2 is UTF-8 ('Zoë,Paris')" in message and "save it as CSV UTF-8" in message
    # the other way round: cp1252 first, a UTF-8 line later
    path.write_bytes("Name\nRenée\n".encode("cp1252") + "Zoë\n".encode())
    with pytest.raises(migkit.ReadError, match=r"line 2 is not UTF-8 .* line 3 is UTF-8"):
        migkit.read(path)
    # a file that is cp1252 throughout is still read as cp1252
    path.write_bytes("Name\nRenée\nZoë\n".encode("cp1252"))
    assert migkit.read(path)["Name"].tolist() == ["Renée", "Zoë"]
