"""Progress on the command line, as a person or a log sees it.

Piped to a file, progress prints one line per status change and one summary line per run (no
carriage-return floods); on a terminal a bar per run, replaced by the same one end line; a
terminal without a width (``script -c`` with no terminal of its own) gets the plain lines;
``--no-progress`` and ``MIGKIT_PROGRESS=0`` turn it off. The demo runs as a subprocess, under
``script`` for a real pseudo-terminal; the commands that wait run in-process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from migkit.cli import main
from migkit.sandbox import Sandbox
from tests.helpers import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
MIGKIT = [sys.executable, "-m", "migkit"]
LINE = re.compile(r"run ([0-9a-f]{8}): (\w+)")
SUMMARY = re.compile(r"run ([0-9a-f]{8}): .* \[[0-9.ms]+, \d+ polls?\]$")


def _demo(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [*MIGKIT, "demo", "--step-seconds", "0.05", *args],
        capture_output=True,  # bytes: text mode would hide carriage returns
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        cwd=ROOT,
    )
    out = (result.stdout + result.stderr).decode("utf-8", errors="replace")
    assert result.returncode == 0, out
    return out


def _script(command: str) -> str:
    """``command`` run in a pseudo-terminal by ``script``; what the terminal received."""
    if shutil.which("script") is None:
        pytest.skip("script (util-linux) is not installed")
    result = subprocess.run(
        ["script", "-q", "-e", "-c", command, "/dev/null"],
        capture_output=True,  # bytes: text mode would turn every carriage return into \n
        timeout=300,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    screen = result.stdout.decode("utf-8", errors="replace")
    assert result.returncode == 0, screen + result.stderr.decode(errors="replace")
    return screen


def _progress_lines(out: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        found = LINE.search(line)
        if found:
            lines[found.group(1)].append(line)
    return lines


def test_piped_progress_prints_a_line_per_status_change_and_one_summary_per_run() -> None:
    out = _demo()
    assert "\r" not in out  # no carriage-return updates in a log
    runs = _progress_lines(out)
    assert len(runs) == 2  # Accounts, then Contacts (paused, decided, run again)
    for lines in runs.values():
        statuses = [LINE.search(line).group(2) for line in lines]  # type: ignore[union-attr]
        assert all(a != b for a, b in pairwise(statuses)), lines  # a change each
        summaries = [line for line in lines if SUMMARY.search(line)]
        assert summaries and summaries[-1] == lines[-1], lines
    contacts = next(lines for lines in runs.values() if "Contacts" in lines[0])
    summaries = [line for line in contacts if SUMMARY.search(line)]
    assert len(summaries) == 2  # one per wait: the pause, then the end
    assert "needs_attention: 176 clean rows inserted so far" in summaries[0]
    assert "completed: 184 valid + 12 flagged = 196 inserted" in summaries[1]


def test_a_terminal_without_a_width_gets_plain_lines() -> None:
    screen = _script(f"{' '.join(MIGKIT)} demo --step-seconds 0.05")
    assert re.search(r"\r(?!\n)", screen) is None  # only the terminal's CRLF line ends
    section = screen.split("== 4.")[1].split("== 5.")[0].strip()
    assert all(line.strip() for line in section.splitlines()[1:]), section  # no blank lines
    assert "completed: 184 valid + 12 flagged = 196 inserted" in section


def test_a_terminal_gets_a_bar_and_one_end_line_per_run() -> None:
    screen = _script(f"stty cols 120 rows 40; {' '.join(MIGKIT)} demo --step-seconds 0.2")
    assert re.search(r"\r(?!\n)", screen)  # a live bar, redrawn in place
    # what stays on the screen: the last state of each line
    shown = [line.split("\r")[-1] for line in screen.split("\r\n")]
    ends = [line for line in shown if SUMMARY.search(line)]
    assert len([e for e in ends if "· Accounts ·" in e]) == 1, ends
    assert len([e for e in ends if "· Contacts ·" in e]) == 2, ends  # paused, then completed
    assert not [line for line in shown if re.search(r"completed \[\d\d:\d\d\]", line)]


def test_no_progress_leaves_one_line_per_run_from_the_demo() -> None:
    quiet = _demo("--no-progress")
    env_off = _demo(env={"MIGKIT_PROGRESS": "0"})
    for out in (quiet, env_off):
        assert not SUMMARY.search(out) and "step 2 of 7" not in out
        assert out.count("· Accounts · run ") == 1
        assert "completed: 184 valid + 12 flagged = 196 inserted" in out


@pytest.fixture
def api_env(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERN_API_KEY", sandbox.api_key)
    monkeypatch.setenv("VERN_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("MIGKIT_LEDGER", str(tmp_path / "ledger.db"))
    monkeypatch.chdir(tmp_path)


def _import(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    company = f"cli-{uuid.uuid4().hex[:8]}"
    code = main(
        [
            "import", str(SAMPLES / "accounts_clean.csv"), "--company", company,
            "--create", "Spreadsheet", "--wait", "--json", *extra,
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def test_a_command_that_waits_logs_its_progress_on_stderr_only(
    api_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _import(capsys)
    assert code == 0 and json.loads(out)["status"] == "completed"  # stdout stays JSON
    assert "\r" not in err
    assert SUMMARY.search(err.splitlines()[-1]), err
    assert "completed: 5 valid + 0 flagged = 5 inserted" in err


def test_no_progress_and_migkit_progress_0_silence_a_command(
    api_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _import(capsys, "--no-progress")
    assert code == 0 and json.loads(out)["status"] == "completed" and err == ""
    monkeypatch.setenv("MIGKIT_PROGRESS", "0")
    code, out, err = _import(capsys)
    assert code == 0 and json.loads(out)["status"] == "completed" and err == ""


def test_every_command_that_waits_takes_no_progress() -> None:
    from migkit.cli import build_parser

    parser = build_parser()
    for command in ("demo", "import", "watch", "decide", "export"):
        assert parser.parse_args([*_args(command), "--no-progress"]).no_progress


def _args(command: str) -> list[str]:
    return {
        "demo": ["demo"],
        "import": ["import", "x.csv", "--company", "c"],
        "watch": ["watch", "r"],
        "decide": ["decide", "r", "--accept"],
        "export": ["export", "--company", "c", "--sheet", "s", "-o", "-"],
    }[command]


def test_migkit_progress_0_also_silences_the_download_counter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tqdm.auto

    from migkit.progress.transfer import byte_progress

    seen: list[object] = []

    class Recording(tqdm.auto.tqdm):  # type: ignore[misc,name-defined]
        def __init__(self, *args: object, **kwargs: object) -> None:
            seen.append(kwargs["disable"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    with byte_progress("export.csv", enabled=True) as advance:
        advance(10)
    monkeypatch.setenv("MIGKIT_PROGRESS", "0")
    with byte_progress("export.csv", enabled=True) as advance:
        advance(10)
    assert seen == [None, True]  # on where a terminal shows it; off once the variable says so
