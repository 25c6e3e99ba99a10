"""``migkit migrate`` and ``migkit thread`` against the sandbox: the agent's questions stop a
script with exit code 3 (answered with ``--answer`` on the next run, which finds the same
migration and run), a terminal is asked them, nothing is imported without ``--approve``, and
the thread is printed (live with ``--follow``).

The story runs as a real process whose output is read through a pipe (a script's view);
the terminal path runs under a pseudo-terminal (pexpect).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from migkit.cli import build_parser, main
from migkit.sandbox import Sandbox
from tests.helpers import SAMPLES

WORKBOOK = str(SAMPLES / "agent_workbook.xlsx")
ANSWERS = ["--answer", "q1=Map them all to 'Gold'", "--answer", "q2=open"]
ANSWERS += ["--answer", "q3=Keep them flagged"]
UPDATE = "use Work Email for missing Email"


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a script sets: key, URL, a ledger of its own, no progress bars."""
    values = {
        "VERN_API_KEY": sandbox.api_key,
        "VERN_BASE_URL": sandbox.base_url,
        "MIGKIT_LEDGER": str(tmp_path / "ledger.db"),
        "MIGKIT_PROGRESS": "0",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return {**os.environ, **values}


def migkit(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``migkit ARGS`` as a process, stdin from /dev/null, output through pipes."""
    return subprocess.run(
        [sys.executable, "-m", "migkit", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ext() -> str:
    return f"acme-{uuid.uuid4().hex[:10]}"


def test_help_of_migrate_and_thread_has_an_example() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("migrate", "thread"):
        text = sub.choices[name].format_help().replace("\n", " ")  # type: ignore[index]
        assert f"example: migkit {name}" in text and "--json" in text
    migrate = sub.choices["migrate"].format_help()  # type: ignore[index]
    for option in ("--name", "--external-id", "--source", "--instruction", "--approve"):
        assert option in migrate


def test_a_script_gets_exit_3_and_the_questions_then_answers_them_on_the_next_run(
    env: dict[str, str],
) -> None:
    external = ext()
    first = migkit(env, "migrate", WORKBOOK, "--name", "Acme", "--external-id", external, "--json")
    assert first.returncode == 3, first.stderr
    asked = json.loads(first.stdout)
    assert asked["status"] == "waiting"
    assert [q["id"] for q in asked["questions"]] == ["q1", "q2", "q3"]
    assert "Keep them flagged" in asked["questions"][0]["options"]
    assert "the agent asks 3 questions" in first.stderr
    (generate,) = asked["runs"]
    assert generate["kind"] == "generate" and generate["status"] == "blocked"

    second = migkit(
        env, "migrate", WORKBOOK, "--name", "Acme", "--external-id", external, "--json",
        *ANSWERS, "--instruction", UPDATE, "--approve",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    done = json.loads(second.stdout)
    assert done["migration"]["id"] == asked["migration"]["id"]  # the same migration
    assert done["already_uploaded"] == ["agent_workbook.xlsx"] and done["files"] == []
    assert done["runs"][0]["run_id"] == generate["run_id"]  # the same run, answered
    assert [r["kind"] for r in done["runs"]] == ["generate", "generate", "update", "execute"]
    assert done["status"] == "completed"
    assert done["report"]["inserted"] == 26 and done["report"]["invalidCellCount"] == 5
    contacts = done["preview"]["templates"]["contacts"]
    assert contacts["rows"] == 14 and contacts["flagged_rows"] == 3  # after the update


def test_without_approve_nothing_is_imported(env: dict[str, str], capsys: Any) -> None:
    external = ext()
    code = main(["migrate", WORKBOOK, "--name", "Acme", "--external-id", external, *ANSWERS])
    out = capsys.readouterr().out
    assert code == 0
    assert "Preview: 3 templates, 26 rows, 18 valid, 8 flagged" in out
    assert "Contacts: 14 rows, 6 flagged (invalid cells: Email 4, Phone 1, Account 1)" in out
    assert "Not imported: run again with --approve" in out
    import migkit as mk

    client = mk.Client()
    migration = client.migrations.find(external)
    assert migration is not None
    assert [r.kind for r in client.migrations.runs(migration) if r.kind == "execute"] == []
    assert client.migrations.export_frame(migration, "contacts", filter="all").empty


def test_a_terminal_is_asked_the_questions(env: dict[str, str]) -> None:
    pexpect = pytest.importorskip("pexpect")
    external = ext()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "migkit", "migrate", WORKBOOK, "--name", "Acme", "--external-id", external],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    try:
        child.expect("Tier values")
        child.expect(r"answer \(1-5, or type a value; Enter to skip\): ")
        child.sendline("1")  # Map them all to 'Gold'
        child.expect("Status values")
        child.expect("answer ")
        child.sendline("open")  # typed: an allowed value
        child.expect("Stage values")
        child.expect("answer ")
        child.sendline("9")  # not an option: asked again
        child.expect("pick a number from 1 to 6")
        child.expect("answer ")
        child.sendline("Keep them flagged")
        child.expect("Preview: 3 templates, 26 rows, 18 valid, 8 flagged")
        child.expect("Not imported")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before


def test_bad_answers_and_missing_files_are_usage_errors(env: dict[str, str], capsys: Any) -> None:
    code = main(["migrate", WORKBOOK, "--name", "Acme", "--answer", "q1"])
    assert code == 2 and "ID=VALUE" in capsys.readouterr().err
    code = main(["migrate", "nope.csv", "--name", "Acme"])
    assert code == 2 and "no such file: nope.csv" in capsys.readouterr().err


def test_thread_prints_the_events_with_tools_folded_into_one_line_each(
    env: dict[str, str], capsys: Any
) -> None:
    external = ext()
    assert main(["migrate", WORKBOOK, "--name", "Acme", "--external-id", external, *ANSWERS]) == 0
    capsys.readouterr()
    assert main(["thread", external]) == 0
    user = capsys.readouterr().out.splitlines()
    assert any("generate  · Reading your files" in line for line in user)
    assert any("asks 3 questions" in line for line in user)
    assert any("you: answered q1 = Map them all to 'Gold'" in line for line in user)
    assert not any("→ read_file" in line for line in user)  # tools only with --include tools
    assert main(["thread", external, "--include", "tools"]) == 0
    tools = capsys.readouterr().out.splitlines()
    assert any("→ read_file" in line for line in tools) and len(tools) > len(user)
    assert main(["thread", external, "--json", "--after", "3"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["sequence"] for e in events] == sorted(e["sequence"] for e in events)
    assert events and events[0]["sequence"] > 3
    assert main(["thread", "no-such-migration"]) == 2


def test_thread_follow_prints_events_as_they_arrive(env: dict[str, str], capsys: Any) -> None:
    external = ext()
    assert main(["migrate", WORKBOOK, "--name", "Acme", "--external-id", external, *ANSWERS]) == 0
    capsys.readouterr()
    follow = subprocess.Popen(
        [sys.executable, "-m", "migkit", "thread", external, "--follow"],
        env={**env, "PYTHONFAULTHANDLER": "1"},  # a stuck follow shows where it is, below
        # Ctrl-C as on a terminal, even when this suite runs where SIGINT is ignored (a
        # background job of a script ignores it, and an exec'd child inherits that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None
        while "Preview ready" not in (line := follow.stdout.readline()):
            assert line, follow.stderr.read() if follow.stderr else ""
        # a change made now shows up in the running --follow
        started = time.monotonic()
        assert main(["migrate", WORKBOOK, "--name", "Acme", "--external-id", external,
                     "--instruction", UPDATE]) == 0  # fmt: skip
        while "you: " + UPDATE not in (line := follow.stdout.readline()):
            assert line and time.monotonic() - started < 60
        follow.send_signal(signal.SIGINT)
        try:  # Ctrl-C ends a follow cleanly; its pipes are read meanwhile, so no write blocks
            follow.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            follow.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            _, stuck = follow.communicate(timeout=30)
            raise AssertionError(f"--follow did not end on Ctrl-C:\n{stuck[-6000:]}") from None
        assert follow.returncode == 0
    finally:
        follow.kill()


def test_the_generation_2_demo_tells_the_agent_story_and_exits_0() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "migkit", "demo", "--generation", "2", "--step-seconds", "0"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "1. Read agent_workbook.xlsx",
        "2. Create a migration and upload the workbook",
        "3. Generate: the agent reads the files, maps them, and asks",
        "4. Ask about the preview, then change it in plain words",
        "5. What the recipe changed, and why (source vs preview)",
        "6. Approve and execute, export, reconcile (preview vs export)",
        "Summary: every source row accounted for",
    ):
        assert f"== {step}" in out
    assert "asks 3 questions" in out and "-> answering q1 (Tier): Map them all to 'Gold'" in out
    assert "Contacts: 3 cells changed" in out
    assert "value fix: use Work Email for missing Email (update run" in out
    assert "execute: completed: 21 valid + 5 flagged = 26 inserted" in out
    assert "missing: flagged by the server      3" in out
    assert "Every row is accounted for." in out
    summary = out.split("== Summary")[1].splitlines()[1:8]
    assert len({len(line) for line in summary}) == 1, summary  # the counts line up
    assert "generate · run" in result.stderr  # progress on stderr, a line per status change
    assert result.stderr.count("generate · run") <= 6


def _credential_blocked(external: str) -> None:
    """A migration under ``external`` with a live source that has no credentials yet."""
    import migkit as mk

    client = mk.Client()
    migration = client.migrations.create("Acme", "Spreadsheet", external_id=external)
    client.migrations.connect_source(migration, "sandbox_crm")


def test_a_script_gets_exit_3_and_the_fields_when_the_agent_needs_credentials(
    env: dict[str, str],
) -> None:
    external = ext()
    _credential_blocked(external)
    result = migkit(
        env, "migrate", WORKBOOK, "--name", "Acme", "--source", "Spreadsheet",
        "--external-id", external, "--json",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["credentials"]["fields"] == ["api_token"]
    assert document["credentials"]["secret_fields"] == ["api_token"]
    assert "needs credentials" in result.stderr


def test_a_terminal_types_the_secret_without_echo_and_it_is_never_printed(
    env: dict[str, str],
) -> None:
    pexpect = pytest.importorskip("pexpect")
    external = ext()
    _credential_blocked(external)
    secret = "tok-CLI-SECRET-9911"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "migkit", "migrate", WORKBOOK, "--name", "Acme", "--source", "Spreadsheet",
         "--external-id", external, *ANSWERS],
        env=env,
        encoding="utf-8",
        timeout=60,
    )  # fmt: skip
    child.logfile_read = transcript = io.StringIO()
    try:
        child.expect("api_token: ")
        child.sendline(secret)  # getpass: not echoed back
        child.expect("Preview: ")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, transcript.getvalue()
    assert secret not in transcript.getvalue()
