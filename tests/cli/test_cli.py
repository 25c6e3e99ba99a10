"""The command line: `migkit sandbox` as other tools start it, and `migkit demo` end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "migkit", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sandbox_prints_its_url_once_listening_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = start_cli(
        "--port",
        "0",
        "--api-key",
        "sk_cli",
        "--db",
        str(tmp_path / "cli.db"),
        "--step-seconds",
        "0",
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "migkit sandbox listening on "
        assert line.startswith(prefix + "http://127.0.0.1:") and line.endswith("/api/v1")
        base = line.removeprefix(prefix)
        response = requests.get(f"{base}/sources", headers={"x-api-key": "sk_cli"}, timeout=10)
        assert response.status_code == 200
        assert [s["name"] for s in response.json()["sources"]] == ["Legacy CRM", "Spreadsheet"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "migkit sandbox stopped" in out


def test_sandbox_without_a_key_prints_the_one_it_made() -> None:
    proc = start_cli("--port", "0", "--step-seconds", "0")
    try:
        assert proc.stdout is not None
        key_line = proc.stdout.readline().strip()
        url_line = proc.stdout.readline().strip()
        key = key_line.removeprefix("migkit sandbox api key: ")
        assert key.startswith("sk_sandbox_")
        base = url_line.removeprefix("migkit sandbox listening on ")
        assert (
            requests.get(f"{base}/templates", headers={"x-api-key": key}, timeout=10).status_code
            == 200
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_sandbox_rejects_an_unknown_fault_profile_with_exit_code_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "migkit", "sandbox", "--faults", "bogus"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown fault profile 'bogus'" in result.stderr


def test_sandbox_help_shows_an_example() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "migkit", "sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "example: migkit sandbox" in result.stdout and "--step-seconds" in result.stdout


def test_demo_runs_end_to_end_and_exits_0() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "migkit", "demo", "--step-seconds", "0"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr  # progress lines go to stderr
    # the story: read, validate, fix, import with progress, answer, export, reconcile, account
    for step in (
        "1. Read customer_workbook.xlsx",
        "2. Validate before upload",
        "3. Apply suggested fixes",
        "4. Import Accounts, then Contacts",
        "5. Export and reconcile",
        "Summary: every Contacts row accounted for",
    ):
        assert f"== {step}" in out
    assert "Contacts: 200 rows, 25 would be flagged" in out
    assert "[fq0] Status:" in out and "-> answering: apply the suggested fix" in out
    assert "completed: 184 valid + 12 flagged = 196 inserted" in out
    assert "set by the accepted patch" in out
    assert "exported as valid" in out and "Every row is accounted for." in out


def test_the_openapi_document_is_one_file_the_readme_links_and_the_sandbox_serves() -> None:
    assert not (ROOT / "docs" / "openapi.json").exists()  # one copy, no drift
    document = json.loads((ROOT / "migkit" / "sandbox" / "openapi.json").read_text("utf-8"))
    assert document["openapi"].startswith("3.") and "/migrations" in document["paths"]
    assert "(migkit/sandbox/openapi.json)" in (ROOT / "README.md").read_text("utf-8")
