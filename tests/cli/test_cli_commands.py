"""The CLI's commands end to end against the sandbox: text and ``--json`` output, exit codes.

Commands run in-process through ``migkit.cli.main`` (the same code ``migkit`` and ``python -m
migkit`` run), with the key and URL in the environment as a script would set them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from migkit.cli import build_parser, main
from migkit.sandbox import Sandbox
from tests.helpers import SAMPLES

COMMANDS = [
    "sandbox", "demo", "templates", "validate", "import", "watch", "decide", "export",
    "reconcile", "diff", "recover", "migrate", "thread",
]  # fmt: skip


@pytest.fixture(autouse=True)
def environment(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERN_API_KEY", sandbox.api_key)
    monkeypatch.setenv("VERN_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("MIGKIT_LEDGER", str(tmp_path / "ledger.db"))
    monkeypatch.chdir(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code, out, _ = cli(capsys, *args, "--json")
    return code, json.loads(out)


def test_every_command_has_help_with_an_example_and_json() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)  # type: ignore[attr-defined]
    for name, command in sub.choices.items():  # type: ignore[attr-defined]
        text = command.format_help()
        assert "example: migkit " + name in text.replace("\n", " "), name
        if name not in ("sandbox", "demo"):
            assert "--json" in text, name
    assert "exit codes: 0 ok" in parser.format_help()


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "migkit", "reconcile", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--key" in done.stdout


def test_templates_lists_them_as_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "templates")
    assert code == 0 and "Contacts (" in out and "required unique" in out
    code, data = cli_json(capsys, "templates")
    assert code == 0 and [t["name"] for t in data["templates"]] == ["Accounts", "Contacts", "Deals"]


def test_validate_exits_1_when_rows_would_be_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = cli_json(
        capsys, "validate", str(SAMPLES / "contacts.csv"), "--template", "Contacts",
        "--link", f"Accounts={SAMPLES / 'accounts.csv'}",
    )  # fmt: skip
    assert code == 1
    assert (data["rows"], data["valid"], data["flagged"]) == (200, 175, 25)
    assert {"column": "Status", "rule": "allowed", "rows": 8} in [
        {k: r[k] for k in ("column", "rule", "rows")} for r in data["summary"]
    ]
    code, _, _ = cli(
        capsys, "validate", str(SAMPLES / "contacts.csv"), "--template", "Contacts",
        "--link", f"Account={SAMPLES / 'accounts.csv'}", "--max-flagged", "25",
    )  # fmt: skip
    assert code == 0  # the gate allows 25


def test_validate_offline_with_a_templates_file_and_an_errors_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VERN_API_KEY")
    code, out, _ = cli(
        capsys, "validate", str(SAMPLES / "customer_workbook.xlsx"), "--sheet", "Accounts",
        "--template", "Accounts", "--templates-file", str(SAMPLES / "templates.json"),
        "--errors", "errors.csv",
    )  # fmt: skip
    assert code == 1 and "6 flagged" in out
    errors = pd.read_csv(tmp_path / "errors.csv")
    assert set(errors["rule"]) == {"required", "unique", "regex", "allowed"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nope.csv", "--template", "Contacts"], "no file at 'nope.csv'"),
        (["validate", str(SAMPLES / "contacts.csv"), "--template", "Leads"], "no template 'Leads'"),
        (["validate", str(SAMPLES / "customer_workbook.xlsx"), "--template", "Contacts"],
         "--sheet"),
        (["validate", str(SAMPLES / "contacts.csv"), "--template", "Contacts", "--link", "x"],
         "TEMPLATE=FILE"),
        (["decide", str(uuid.uuid4()), "--answer", "nothing"], "ID=VALUE"),
        (["import", str(SAMPLES / "contacts.csv"), "--company", "no-such-company"], "--create"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_and_say_what_to_do(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2, err
    assert message in err and out == ""


def test_bad_arguments_exit_2_from_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["decide", "some-run"])  # neither --accept, --reject nor --answer
    assert caught.value.code == 2


def test_api_errors_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERN_API_KEY", "sk_wrong_key")
    code, _, err = cli(capsys, "templates")
    assert code == 3 and "401" in err and "sk_wrong_key" not in err


def test_import_watch_decide_export_reconcile_recover(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    company = f"cli-{uuid.uuid4().hex[:8]}"
    code, data = cli_json(
        capsys, "import", str(SAMPLES / "accounts_clean.csv"), "--company", company,
        "--create", "Spreadsheet", "--wait", "--no-progress",
    )  # fmt: skip
    assert code == 0 and data["status"] == "completed" and data["report"]["inserted"] == 5
    code, data = cli_json(
        capsys, "import", str(SAMPLES / "contacts.csv"), "--company", company, "--no-progress"
    )
    assert code == 0 and data["status"] in ("queued", "running")
    run_id = data["run_id"]
    code, data = cli_json(capsys, "recover", "--no-progress")
    assert run_id in [r["run_id"] for r in data["runs"]]
    code, out, _ = cli(capsys, "watch", run_id, "--no-progress")
    assert code == 1  # waits for a decision
    assert "needs_attention" in out and f"migkit decide {run_id}" in out
    code, data = cli_json(capsys, "decide", run_id, "--company", company, "--accept", "--wait",
                          "--no-progress", "--max-flagged", "0")  # fmt: skip
    assert data["status"] == "completed" and data["report"]["flagged_rows"] > 0
    assert code == 1  # flagged rows above the gate
    code, data = cli_json(capsys, "watch", run_id, "--no-progress")
    assert code == 0 and data["status"] == "completed"  # no gate: a completed run is ok
    code, data = cli_json(capsys, "export", "--company", company, "--sheet", "Contacts",
                          "-o", "valid.csv", "--no-progress")  # fmt: skip
    assert code == 0 and data["rows"] == len(pd.read_csv(tmp_path / "valid.csv"))
    code, data = cli_json(capsys, "export", "--company", company, "--sheet", "Contacts",
                          "--filter", "flagged", "-o", "flagged.csv", "--no-progress")  # fmt: skip
    flagged_rows = data["rows"]
    assert code == 0 and flagged_rows > 0
    code, data = cli_json(capsys, "reconcile", str(SAMPLES / "contacts.csv"), "valid.csv",
                          "--key", "Email", "--excel", "rec.xlsx")  # fmt: skip
    assert code == 1  # rows are missing: the ones the server flagged or the patch changed
    assert data["rows"] == {"source": 200, "export": data["matched"] + len(data["extra"])}
    assert data["matched"] + len(data["missing"]) == 200
    assert (tmp_path / "rec.xlsx").is_file()
    code, out, _ = cli(capsys, "export", "--company", company, "--sheet", "Accounts", "-o", "-")
    assert code == 0 and out.splitlines()[0] == "Name,Domain,Tier" and len(out.splitlines()) == 6


def test_diff_of_identical_exports_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SAMPLES / "contacts_clean.csv")
    code, data = cli_json(capsys, "diff", path, path, "--key", "Email")
    assert code == 0 and data["matched"] == 50 and data["added"] == [] and data["removed"] == []
    code, out, _ = cli(capsys, "diff", path, str(SAMPLES / "contacts.csv"), "--key", "Email")
    assert code == 1 and "added:" in out and "removed:" in out


def test_export_to_a_file_is_whole_or_not_at_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = f"cli-{uuid.uuid4().hex[:8]}"
    code, _ = cli_json(
        capsys, "import", str(SAMPLES / "accounts_clean.csv"), "--company", company,
        "--create", "Spreadsheet", "--wait", "--no-progress",
    )  # fmt: skip
    assert code == 0
    out = tmp_path / "out"
    out.mkdir()
    (out / "accounts.csv").write_text("the previous export\n")
    real = pd.DataFrame.to_csv

    def disk_full(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> None:
        real(self.head(2), path, *args, **kwargs)  # part of the rows reach the disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    code, _, err = cli(capsys, "export", "--company", company, "--sheet", "Accounts",
                       "-o", "out/accounts.csv")  # fmt: skip
    assert code != 0 and "could not write out/accounts.csv" in err and "No space left" in err
    assert (out / "accounts.csv").read_text() == "the previous export\n"
    assert [p.name for p in out.iterdir()] == ["accounts.csv"]  # no partial file left
