"""Generation-2 runs on the sandbox: each kind from each starting state (the preconditions'
400s and the in-flight 409 with ``run_id``), poll bodies, the EXT run list, cancel in every
state, and the ``runs`` fault profile. Everything goes over HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import CONTACTS, assert_error, csv_bytes
from tests.helpers_gen2 import Gen2, start_gen2

CLEAN = [
    CONTACTS,
    ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"],
    ["bob@example.com", "Bob", "", "", "closed", "Acme"],
]
AMBIGUOUS = [*CLEAN, ["cy@example.com", "Cy", "", "", "Done", "Acme"]]
BASE_KEYS = {"run_id", "status", "created_at", "kind"}


def contacts_migration(gen2: Gen2, rows: list[list[str]] | None = CLEAN) -> str:
    files = [("contacts.csv", csv_bytes(rows))] if rows else []
    return gen2.migration_with_files(files, templates=["contacts"])


class State:
    """A migration brought to a named state, and the run (if any) that holds it there."""

    def __init__(self, gen2: Gen2, name: str) -> None:
        self.active: str | None = None
        self.executed: str | None = None
        if name == "awaiting_files":
            self.migration = contacts_migration(gen2, None)
        elif name == "ready":
            self.migration = contacts_migration(gen2)
        elif name == "blocked":
            self.migration = contacts_migration(gen2, AMBIGUOUS)
            self.active = self._rest(gen2, "generate", "blocked")
        else:
            self.migration = contacts_migration(gen2)
            self._rest(gen2, "generate", "awaiting_approval")
            if name == "blocked_with_preview":
                self.active = self._rest(gen2, "update", "blocked", "make it nicer")
            elif name == "completed":
                self.executed = self._rest(gen2, "execute", "completed")

    def _rest(self, gen2: Gen2, kind: str, status: str, message: str | None = None) -> str:
        body = gen2.run_to_rest(self.migration, kind, message)
        assert body["status"] == status, body
        return str(body["run_id"])


STATES = [
    "awaiting_files",
    "ready",
    "blocked",
    "awaiting_approval",
    "blocked_with_preview",
    "completed",
]
NO_INPUT = "Upload a file or connect a source before generate"
NO_PREVIEW = "No preview yet; run generate first"
NOTHING_TO_EXECUTE = "No preview to execute; run generate first"
EXPECTED: dict[str, dict[str, Any]] = {
    "generate": {
        "awaiting_files": NO_INPUT,
        "ready": 201,
        "blocked": "active",
        "awaiting_approval": 201,
        "blocked_with_preview": "active",
        "completed": 201,
    },
    "update": {
        "awaiting_files": NO_PREVIEW,
        "ready": NO_PREVIEW,
        "blocked": NO_PREVIEW,  # 400 (the preconditions) comes before 409 (the state)
        "awaiting_approval": 201,
        "blocked_with_preview": "active",
        "completed": 201,
    },
    "execute": {
        "awaiting_files": NOTHING_TO_EXECUTE,
        "ready": NOTHING_TO_EXECUTE,
        "blocked": NOTHING_TO_EXECUTE,
        "awaiting_approval": 201,
        "blocked_with_preview": "active",
        "completed": "executed",
    },
}
EXPECTED["clarify"] = EXPECTED["update"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", ["generate", "update", "clarify", "execute"])
def test_each_kind_from_each_state(gen2: Gen2, kind: str, state: str) -> None:
    setup = State(gen2, state)
    message = "trim Email" if kind == "update" else "How many rows?" if kind == "clarify" else None
    response = gen2.start(setup.migration, kind, message)
    expected = EXPECTED[kind][state]
    if expected == 201:
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"run_id", "status", "poll_url"}
        assert body["status"] == "queued"
        assert body["poll_url"] == (
            f"{gen2.base_url}/migrations/{setup.migration}/runs/{body['run_id']}"
        )
        assert gen2.wait_run(setup.migration, body["run_id"])["status"] in (
            "awaiting_approval",
            "completed",
        )
    elif expected == "active":
        assert assert_error(response, 409, run_id=True) == (
            "A run is already in progress for this migration"
        )
        assert response.json()["run_id"] == setup.active
    elif expected == "executed":
        assert "already executed" in assert_error(response, 409, run_id=True)
        assert response.json()["run_id"] == setup.executed
    else:
        assert assert_error(response, 400) == expected


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        pytest.param({}, "kind must be one of", id="no-kind"),
        pytest.param({"kind": "import"}, "kind must be one of", id="unknown-kind"),
        pytest.param({"kind": "update"}, "message is required for update", id="update-no-message"),
        pytest.param({"kind": "update", "message": "  "}, "message", id="update-blank"),
        pytest.param(
            {"kind": "clarify", "message": 3}, "message is required for clarify", id="clarify"
        ),
    ],
)
def test_bad_run_bodies_are_400(gen2: Gen2, body: dict[str, Any], needle: str) -> None:
    migration = State(gen2, "awaiting_approval").migration
    assert needle in assert_error(gen2.post(f"/migrations/{migration}/runs", json=body), 400)


def test_generate_and_execute_ignore_a_message(gen2: Gen2) -> None:
    migration = contacts_migration(gen2)
    assert gen2.run_to_rest(migration, "generate", "ignored")["status"] == "awaiting_approval"
    assert gen2.run_to_rest(migration, "execute", "ignored")["status"] == "completed"


def test_runs_of_an_unknown_migration_are_404(gen2: Gen2) -> None:
    assert_error(gen2.start(str(uuid.uuid4()), "generate"), 404)


# -- poll bodies --------------------------------------------------------------------------------
def test_poll_bodies_per_status(gen2: Gen2) -> None:
    migration = contacts_migration(gen2, AMBIGUOUS)
    blocked = gen2.run_to_rest(migration, "generate")
    assert set(blocked) == BASE_KEYS | {"questions"}
    assert blocked["kind"] == "generate"
    rested = gen2.answer_and_wait(
        migration,
        blocked["run_id"],
        [{"id": blocked["questions"][0]["id"], "value": "Keep them flagged"}],
    )
    assert set(rested) == BASE_KEYS
    assert rested["status"] == "awaiting_approval"
    clarify = gen2.run_to_rest(migration, "clarify", "What is flagged?")
    assert set(clarify) == BASE_KEYS
    assert clarify["status"] == "completed"
    executed = gen2.run_to_rest(migration, "execute")
    assert set(executed) == BASE_KEYS | {"report"}
    assert executed["report"] == {
        "inserted": 3,
        "perSheet": [
            {
                "templateName": "Contacts",
                "sheetId": executed["report"]["perSheet"][0]["sheetId"],
                "rowCount": 3,
            }
        ],
        "invalidCellCount": 1,
        "coverage": None,
    }


def test_poll_of_an_unknown_run_is_404(gen2: Gen2) -> None:
    migration = contacts_migration(gen2)
    assert_error(gen2.get(f"/migrations/{migration}/runs/{uuid.uuid4()}"), 404)
    assert_error(gen2.get(f"/migrations/{migration}/runs/nope"), 404)


def test_a_run_is_not_found_under_another_migration(gen2: Gen2) -> None:
    first, second = contacts_migration(gen2), contacts_migration(gen2)
    run = gen2.run_to_rest(first, "generate")
    assert_error(gen2.get(f"/migrations/{second}/runs/{run['run_id']}"), 404)


# -- EXT GET …/runs -----------------------------------------------------------------------------
def test_runs_are_listed_newest_first_and_active_filters(gen2: Gen2) -> None:
    setup = State(gen2, "blocked_with_preview")
    runs = gen2.get(f"/migrations/{setup.migration}/runs").json()["runs"]
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("update", "blocked"),
        ("generate", "awaiting_approval"),
    ]
    assert all(set(r) == {"run_id", "kind", "status", "created_at"} for r in runs)
    active = gen2.get(f"/migrations/{setup.migration}/runs", params={"status": "active"}).json()
    assert [r["run_id"] for r in active["runs"]] == [setup.active]


def test_runs_list_with_another_status_is_400(gen2: Gen2) -> None:
    migration = contacts_migration(gen2)
    response = gen2.get(f"/migrations/{migration}/runs", params={"status": "done"})
    assert "active" in assert_error(response, 400)


# -- cancel ------------------------------------------------------------------------------------
def canceled_body(gen2: Gen2, migration: str, run_id: str) -> dict[str, Any]:
    response = gen2.cancel(migration, run_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def occupied(slow_gen2: Gen2) -> Iterator[Callable[[], None]]:
    """Keeps the slow sandbox's one agent thread busy with a long generate; yields a function
    that cancels it."""
    rows = [CONTACTS, *[[f"p{i}@example.com", "P", "", "", "Open", "Acme"] for i in range(3)]]
    migration = contacts_migration(slow_gen2, rows)
    run_id = slow_gen2.start(migration, "generate").json()["run_id"]
    slow_gen2.wait_run(migration, run_id, until=("running",))

    def release() -> None:
        slow_gen2.cancel(migration, run_id)

    yield release
    release()


def test_cancel_a_queued_run(slow_gen2: Gen2, occupied: Callable[[], None]) -> None:
    migration = contacts_migration(slow_gen2)
    run_id = slow_gen2.start(migration, "generate").json()["run_id"]
    assert slow_gen2.get(slow_gen2.run_url(migration, run_id)).json()["status"] == "queued"
    body = canceled_body(slow_gen2, migration, run_id)
    assert body == {**body, "status": "canceled", "run_id": run_id, "kind": "generate"}
    assert set(body) == BASE_KEYS
    occupied()
    assert slow_gen2.get(slow_gen2.run_url(migration, run_id)).json()["status"] == "canceled"


def test_cancel_a_running_run(slow_gen2: Gen2) -> None:
    migration = contacts_migration(slow_gen2)
    run_id = slow_gen2.start(migration, "generate").json()["run_id"]
    slow_gen2.wait_run(migration, run_id, until=("running",))
    assert canceled_body(slow_gen2, migration, run_id)["status"] == "canceled"
    assert_error(slow_gen2.get(f"/migrations/{migration}/preview"), 404)
    # The migration is free again, and the canceled run never comes back to life.
    assert slow_gen2.get(f"/migrations/{migration}").json()["migration"]["status"] == "ready"
    active = slow_gen2.get(f"/migrations/{migration}/runs", params={"status": "active"})
    assert active.json() == {"runs": []}
    time.sleep(1.5)  # longer than a step: the worker has noticed the cancel by now
    assert slow_gen2.get(slow_gen2.run_url(migration, run_id)).json()["status"] == "canceled"
    assert [e["data"]["message"] for e in slow_gen2.thread(migration, "user")][-1] == (
        "Run canceled"
    )


def test_a_canceled_execute_inserts_nothing(slow_gen2: Gen2) -> None:
    migration = contacts_migration(slow_gen2)
    assert slow_gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
    run_id = slow_gen2.start(migration, "execute").json()["run_id"]
    slow_gen2.wait_run(migration, run_id, until=("running",))
    assert canceled_body(slow_gen2, migration, run_id)["status"] == "canceled"
    export = slow_gen2.export(migration, "contacts", "all")
    assert export.headers["X-Total-Records"] == "0"
    assert slow_gen2.exported(migration, "contacts", "all") == [CONTACTS]
    # Canceled, not executed: the same preview may still be executed.
    assert slow_gen2.run_to_rest(migration, "execute")["status"] == "completed"
    assert len(slow_gen2.exported(migration, "contacts", "all")) == 3


def test_cancel_a_blocked_run(gen2: Gen2) -> None:
    setup = State(gen2, "blocked")
    assert setup.active is not None
    assert canceled_body(gen2, setup.migration, setup.active)["status"] == "canceled"
    assert gen2.get(f"/migrations/{setup.migration}").json()["migration"]["status"] == "ready"


@pytest.mark.parametrize("state", ["awaiting_approval", "completed", "canceled", "failed"])
def test_cancel_a_finished_run_is_409(gen2: Gen2, state: str) -> None:
    if state == "failed":
        with start_gen2(faults="run_fail=1") as sb:
            faulty = Gen2(sb.base_url, sb.api_key)
            migration = contacts_migration(faulty)
            faulty.run_to_rest(migration, "generate")
            run = faulty.run_to_rest(migration, "execute")
            assert run["status"] == "failed"
            assert (
                assert_error(faulty.cancel(migration, run["run_id"]), 409) == "Run already finished"
            )
        return
    setup = State(gen2, "blocked" if state == "canceled" else state)
    runs = gen2.get(f"/migrations/{setup.migration}/runs").json()["runs"]
    run_id = runs[0]["run_id"]
    if state == "canceled":
        assert gen2.cancel(setup.migration, run_id).status_code == 200
    assert assert_error(gen2.cancel(setup.migration, run_id), 409) == "Run already finished"


@pytest.mark.parametrize("body", [{}, {"status": "canceled"}, {"status": "cancel"}])
def test_cancel_with_another_body_is_400(gen2: Gen2, body: dict[str, Any]) -> None:
    setup = State(gen2, "blocked")
    assert setup.active is not None
    assert "cancel_requested" in assert_error(gen2.cancel(setup.migration, setup.active, body), 400)


# -- execute ----------------------------------------------------------------------------------
def test_a_new_preview_after_an_execute_shows_the_inserted_rows_as_duplicates(gen2: Gen2) -> None:
    migration = contacts_migration(gen2)
    gen2.run_to_rest(migration, "generate")
    assert gen2.run_to_rest(migration, "execute")["report"]["invalidCellCount"] == 0
    gen2.run_to_rest(migration, "update", "trim Email")
    cells = gen2.sheet(migration, "contacts")["invalid_cells"]
    assert {(c["row"], c["column"], c["error"]) for c in cells} == {
        (0, "Email", "Duplicate of an earlier value"),
        (1, "Email", "Duplicate of an earlier value"),
    }
    report = gen2.run_to_rest(migration, "execute")["report"]
    assert (report["inserted"], report["invalidCellCount"]) == (2, 2)
    assert gen2.export(migration, "contacts", "invalid").headers["X-Total-Records"] == "2"


def test_the_runs_fault_profile_fails_an_execute_inserting_nothing() -> None:
    with start_gen2(faults="run_fail=1") as sb:
        gen2 = Gen2(sb.base_url, sb.api_key)
        migration = contacts_migration(gen2)
        assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
        failed = gen2.run_to_rest(migration, "execute")
        assert set(failed) == BASE_KEYS | {"error"}
        assert "run_fail" in failed["error"]
        assert gen2.exported(migration, "contacts", "all") == [CONTACTS]
        events = gen2.thread(migration, "user")
        assert events[-1]["type"] == "error"
        assert events[-1]["data"] == {
            "run_id": failed["run_id"],
            "kind": "execute",
            "error": failed["error"],
        }
        retries = [e["data"]["message"] for e in events if e["type"] == "status"]
        assert [m for m in retries if m.startswith("Retrying")] == [
            f"Retrying (attempt {n} of 5)" for n in range(2, 6)
        ]


def test_the_run_retry_fault_retries_then_completes() -> None:
    with start_gen2(faults="run_retry=1") as sb:
        gen2 = Gen2(sb.base_url, sb.api_key)
        migration = contacts_migration(gen2)
        gen2.run_to_rest(migration, "generate")
        assert gen2.run_to_rest(migration, "execute")["report"]["inserted"] == 2
        messages = [
            e["data"]["message"] for e in gen2.thread(migration, "user") if e["type"] == "status"
        ]
        assert "Retrying (attempt 3 of 5)" in messages


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"status": "cancel_requested"}),
        ("POST", "/messages", {"answers": "trim Email"}),
        ("POST", "/credentials", {"credentials": {"api_token": "t"}}),
    ],
)
def test_run_endpoints_of_an_unknown_run_are_404(
    gen2: Gen2, method: str, suffix: str, body: dict[str, Any]
) -> None:
    migration = contacts_migration(gen2)
    url = gen2.url(f"/migrations/{migration}/runs/{uuid.uuid4()}{suffix}")
    response = gen2.session.request(method, url, json=body, timeout=30)
    assert "isn't in this migration" in assert_error(response, 404)
