"""Run statuses: ``blocked`` waits like ``needs_attention`` and is answered through
``POST …/imports/{run_id}/messages`` (migration-api.md §3.9); a status migkit does not know ends
the wait with the run and a warning instead of polling forever.

The sandbox does not build the Generation-1 ``/messages`` endpoint (404, per the gen-2
contract), so these tests script a server on loopback that answers as §3.9 documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
from migkit.cli import main
from tests.conftest import HOSTILE_KEY
from tests.hostile import HostileServer, json_answer

pytestmark = pytest.mark.timeout(60)

MakeClient = Callable[..., migkit.Client]
COMPANY = str(uuid.uuid4())
RUN = str(uuid.uuid4())
IMPORTS = f"/api/v1/companies/{COMPANY}/imports"
RUN_PATH = f"{IMPORTS}/{RUN}"
QUESTION = {
    "id": "q1",
    "question": "Some Status values aren't one of the allowed options. How should I handle them?",
    "options": [
        {"id": "a", "label": "Map them all to 'Open'"},
        {"id": "b", "label": "Drop those rows"},
    ],
    "allowCustom": True,
}
BLOCKED = {"run_id": RUN, "status": "blocked", "questions": [QUESTION]}
RUNNING = {"run_id": RUN, "status": "running"}
COMPLETED = {"run_id": RUN, "status": "completed", "report": {"inserted": 3}}


def queued() -> migkit.Run:
    return migkit.Run(id=RUN, company_id=COMPANY, status="queued")


def test_the_waiting_statuses_are_one_typed_set() -> None:
    from migkit.statuses import IMPORT_STATUSES, TERMINAL, WAITING

    assert sorted(WAITING) == ["blocked", "needs_attention"]
    assert WAITING <= IMPORT_STATUSES and not WAITING & TERMINAL


def test_each_generations_run_statuses_split_into_active_waiting_and_terminal() -> None:
    from migkit import statuses as s

    for active, waiting, terminal, every in (
        (s.ACTIVE, s.WAITING, s.TERMINAL, s.IMPORT_STATUSES),
        (s.RUN_ACTIVE, s.RUN_WAITING, s.RUN_TERMINAL, s.RUN_STATUSES),
    ):
        assert active | waiting | terminal == every
        assert not active & waiting and not active & terminal and not waiting & terminal
    assert s.UNFINISHED == s.ACTIVE | s.WAITING
    assert "awaiting_approval" in s.RUN_TERMINAL  # a generate run ends with a preview
    assert {"in_progress", "ready"} <= s.MIGRATION_STATUSES


def test_wait_stops_at_blocked_with_its_questions_parsed(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    hostile.on("GET", RUN_PATH, json_answer(RUNNING), times=2)
    run = hostile_client().imports.wait(queued())
    assert run.status == "blocked" and run.waiting and not run.done
    assert len(hostile.requests("GET")) == 3
    (question,) = run.questions
    assert question.id == "q1" and question.prompt == QUESTION["question"]
    assert [o.label for o in question.options] == ["Map them all to 'Open'", "Drop those rows"]
    assert question.allow_custom is True
    assert "[q1]" in str(run) and "run.answer(" in str(run)


@pytest.mark.parametrize(
    ("answers", "sent"),
    [
        ({"q1": "Map them all to 'Open'"}, [{"id": "q1", "value": "Map them all to 'Open'"}]),
        ("Treat 'Prospect' as 'Open'", "Treat 'Prospect' as 'Open'"),
    ],
    ids=["structured", "free text"],
)
def test_run_answer_posts_to_messages_and_the_run_goes_on(
    answers: object, sent: object, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    hostile.on("POST", f"{RUN_PATH}/messages", json_answer(RUNNING))
    client = hostile_client()
    run = client.imports.wait(queued())
    hostile.on("GET", RUN_PATH, json_answer(COMPLETED))
    answered = run.answer(answers)  # type: ignore[arg-type]
    assert answered.status == "running"
    (post,) = hostile.requests("POST")
    assert post.json() == {"answers": sent}
    assert post.headers.get("x-api-key") == HOSTILE_KEY
    assert answered.wait().status == "completed"


def test_an_option_answers_with_its_label(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    hostile.on("POST", f"{RUN_PATH}/messages", json_answer(RUNNING))
    client = hostile_client()
    run = client.imports.get(RUN, COMPANY)
    client.imports.answer(run, answers={"q1": run.questions[0].options[1]})
    assert hostile.requests("POST")[0].json() == {
        "answers": [{"id": "q1", "value": "Drop those rows"}]
    }


def test_an_answer_to_a_run_no_longer_blocked_is_the_servers_409(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    hostile.on(
        "POST",
        f"{RUN_PATH}/messages",
        json_answer({"error": "Run is not waiting for an answer"}, 409),
    )
    run = hostile_client().imports.get(RUN, COMPANY)
    with pytest.raises(migkit.Conflict, match="not waiting"):
        run.answer({"q1": "Drop those rows"})


def test_an_empty_answer_is_refused_before_sending(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    run = hostile_client().imports.get(RUN, COMPANY)
    with pytest.raises(migkit.UsageError):
        run.answer({})
    with pytest.raises(migkit.UsageError):
        run.answer("  ")
    assert hostile.requests("POST") == []


def test_on_attention_is_called_for_a_blocked_run_and_waiting_goes_on(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    hostile.on("POST", f"{RUN_PATH}/messages", json_answer(RUNNING))
    seen: list[str] = []

    def answer(run: migkit.Run) -> None:
        seen.append(run.status)
        hostile.on("GET", RUN_PATH, json_answer(COMPLETED))
        run.answer({"q1": "Drop those rows"})

    done = hostile_client().imports.wait(queued(), on_attention=answer)
    assert seen == ["blocked"] and done.status == "completed"


def test_an_unknown_status_ends_the_wait_with_the_run_and_a_warning(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer({"run_id": RUN, "status": "paused_for_review"}))
    with pytest.warns(migkit.MigkitWarning, match="paused_for_review"):
        run = hostile_client().imports.wait(queued(), timeout=20)
    assert run.status == "paused_for_review" and not run.known
    assert len(hostile.requests("GET")) == 1


def test_an_unknown_status_ends_wait_all_too(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", RUN_PATH, json_answer({"run_id": RUN, "status": "archived"}))
    with pytest.warns(migkit.MigkitWarning, match="archived"):
        (run,) = hostile_client().imports.wait_all([queued()], timeout=20)
    assert run.status == "archived"


def test_recover_lists_blocked_and_unknown_runs_as_unfinished(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("POST", IMPORTS, json_answer({"run_id": RUN, "status": "queued"}, 201))
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    client = hostile_client()
    client.imports.wait(client.imports.create(COMPANY, rows=[{"Email": "ann@example.com"}]))
    assert [r.status for r in client.imports.recover()] == ["blocked"]
    hostile.on("GET", RUN_PATH, json_answer({"run_id": RUN, "status": "archived"}))
    assert [r.status for r in client.imports.recover()] == ["archived"]


def test_the_cli_watch_of_a_blocked_run_exits_1_saying_how_to_answer(
    hostile: HostileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.on("GET", RUN_PATH, json_answer(BLOCKED))
    hostile.on(
        "GET",
        f"/api/v1/companies/{COMPANY}",
        json_answer({"company": {"id": COMPANY, "name": "Acme"}, "sheets": []}),
    )
    monkeypatch.setenv("VERN_API_KEY", HOSTILE_KEY)
    monkeypatch.setenv("MIGKIT_LEDGER", str(tmp_path / "ledger.db"))
    code = main(["watch", RUN, "--company", COMPANY, "--base-url", hostile.base_url])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "blocked" in out and "client.imports.answer(" in out and "[q1]" in out
