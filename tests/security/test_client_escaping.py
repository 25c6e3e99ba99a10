"""Server text reaches messages and the terminal with its control characters escaped: an ANSI
escape in a server's ``error``, ``progress_message`` or question cannot recolour, clear or move
the terminal, and a newline in it cannot forge a line of output. The data keeps the server's
text as sent (``server_message``, ``run.error``, ``run.raw``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
from migkit.cli import main
from tests.conftest import HOSTILE_KEY
from tests.hostile import HostileServer, json_answer

MakeClient = Callable[..., migkit.Client]
COMPANY = str(uuid.uuid4())
RUN = str(uuid.uuid4())
RUN_PATH = f"/api/v1/companies/{COMPANY}/imports/{RUN}"
EVIL = "\x1b[2J\x1b[31mALL GOOD\x1b[0m\nmigkit: import succeeded\r\u202edesrever\x9b1m"
CONTROLS = ("\x1b", "\r", "\u202e", "\x9b")


def assert_inert(text: str, controls: tuple[str, ...] = CONTROLS) -> None:
    """No control character of EVIL survives, and its newline forged no line."""
    for char in controls:
        assert char not in text, repr(text)
    assert "\nmigkit: import succeeded" not in text


def failed_run() -> dict[str, object]:
    return {"run_id": RUN, "status": "failed", "error": EVIL, "progress_message": EVIL}


def blocked_run() -> dict[str, object]:
    question = {
        "id": "q1",
        "question": EVIL,
        "options": [{"id": "a", "label": EVIL}],
        "allowCustom": True,
    }
    return {"run_id": RUN, "status": "blocked", "progress_message": EVIL, "questions": [question]}


def test_an_api_errors_message_escapes_the_servers_text(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", json_answer({"error": EVIL}, 400))
    with pytest.raises(migkit.BadRequest) as info:
        hostile_client().sources.list()
    assert_inert(str(info.value))
    assert "\\x1b[31mALL GOOD" in str(info.value)  # shown, visibly
    assert info.value.server_message == EVIL  # the data is the server's, unchanged


def test_a_non_json_error_body_is_escaped_too(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", lambda ex: ex.send(502, EVIL.encode()))
    with pytest.raises(migkit.APIError) as info:
        hostile_client(retry=migkit.RetryPolicy(attempts=0)).sources.list()
    assert_inert(str(info.value))


def test_run_failed_escapes_the_runs_error(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(failed_run()))
    run = migkit.Run(id=RUN, company_id=COMPANY, status="queued")
    with pytest.raises(migkit.RunFailed) as info:
        hostile_client().imports.wait(run)
    assert_inert(str(info.value))
    assert info.value.error == EVIL


def test_a_runs_text_escapes_messages_questions_and_options(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(blocked_run()))
    run = hostile_client().imports.get(RUN, COMPANY)
    text = str(run)
    assert_inert(text)
    assert text.count("ALL GOOD") == 3  # message, question and option, each on its own line
    assert run.questions[0].prompt == EVIL


def test_a_wait_timeout_escapes_the_servers_status() -> None:
    assert_inert(str(migkit.WaitTimeout(RUN, EVIL, 3.0)))


def test_the_progress_bar_escapes_the_progress_message(
    hostile: HostileServer, hostile_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(failed_run()))
    client = hostile_client(progress=True)
    run = migkit.Run(id=RUN, company_id=COMPANY, status="queued")
    client.imports.wait(run, raise_on_failure=False)
    out, err = capsys.readouterr()
    assert "ALL GOOD" in out + err
    assert_inert(out + err, ("\x1b", "\u202e", "\x9b"))  # tqdm's own \r redraws the bar


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: HostileServer) -> None:
    monkeypatch.setenv("VERN_API_KEY", HOSTILE_KEY)
    monkeypatch.setenv("VERN_BASE_URL", hostile.base_url)
    monkeypatch.setenv("MIGKIT_LEDGER", str(tmp_path / "ledger.db"))
    company = {"company": {"id": COMPANY, "name": "Acme"}, "sheets": []}
    hostile.on("GET", f"/api/v1/companies/{COMPANY}", json_answer(company))


def test_the_cli_watch_output_is_escaped(
    hostile: HostileServer, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(failed_run()))
    code = main(["watch", RUN, "--company", COMPANY, "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "ALL GOOD" in out
    assert_inert(out + err)


def test_the_cli_error_message_is_escaped(
    hostile: HostileServer, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.on("GET", "/api/v1/templates", json_answer({"error": EVIL}, 401))
    assert main(["templates"]) == 3
    out, err = capsys.readouterr()
    assert "ALL GOOD" in err
    assert_inert(out + err)


def test_the_cli_templates_listing_is_escaped(
    hostile: HostileServer, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    template = {
        "id": str(uuid.uuid4()),
        "name": EVIL,
        "columns": [{"name": EVIL, "desiredRule": "strict", "strictRule": [EVIL]}],
    }
    hostile.on("GET", "/api/v1/templates", json_answer({"templates": [template]}))
    assert main(["templates"]) == 0
    out, err = capsys.readouterr()
    assert out.count("ALL GOOD") == 3
    assert_inert(out + err)


def test_the_cli_json_output_escapes_what_json_leaves_raw(
    hostile: HostileServer, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(failed_run()))
    main(["watch", RUN, "--company", COMPANY, "--json", "--no-progress"])
    out, _ = capsys.readouterr()
    assert_inert(out)
    assert json.loads(out)["error"] == EVIL  # the same value, written safely
