"""Generation 2 across a restart on the same ``--db``: migrations, files, the recipe, the
preview and the thread survive; a blocked run is still blocked with the same questions; runs in
flight finish once; the thread's sequence continues without gaps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.helpers import CONTACTS, csv_bytes
from tests.helpers_gen2 import Gen2, column_of, start_gen2

KEY = "k1"
ROWS = [
    ["E-mail", "Work Email", "First Name", "Status", "Account"],
    ["ANN@example.com", "", "Ann", "Open", "Acme"],
    ["", "bob@example.com", "Bob", "Done", "Acme"],
]


def gen2_of(sb: Any) -> Gen2:
    return Gen2(sb.base_url, KEY)


def wait_for_message(gen2: Gen2, migration: str, run_id: str, message: str) -> None:
    """Poll until the run is running and shows ``message``."""
    deadline = time.monotonic() + 30
    while True:
        body = gen2.get(gen2.run_url(migration, run_id)).json()
        if body["status"] == "running" and body.get("message") == message:
            return
        if body["status"] not in ("queued", "running") or time.monotonic() > deadline:
            raise AssertionError(f"never saw {message!r}; last {body}")
        time.sleep(0.01)


def assert_contiguous(events: list[dict[str, Any]]) -> None:
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))


def test_migration_files_recipe_preview_and_thread_survive(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        migration = gen2.migration_with_files(
            [("contacts.csv", csv_bytes(ROWS))], templates=["contacts"], external_id="again"
        )
        run = gen2.run_to_rest(migration, "generate")
        gen2.answer_and_wait(migration, run["run_id"], [{"id": "q1", "value": "Keep them flagged"}])
        gen2.run_to_rest(migration, "update", "use Work Email for missing Email")
        before = {
            "migration": gen2.get(f"/migrations/{migration}").json(),
            "files": gen2.get(f"/migrations/{migration}/files").json(),
            "preview": gen2.preview(migration),
            "thread": gen2.thread(migration, "all"),
            "runs": gen2.get(f"/migrations/{migration}/runs").json(),
        }
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        assert gen2.get(f"/migrations/{migration}").json() == before["migration"]
        assert gen2.get(f"/migrations/{migration}/files").json() == before["files"]
        assert gen2.preview(migration) == before["preview"]
        assert gen2.thread(migration, "all") == before["thread"]
        assert gen2.get(f"/migrations/{migration}/runs").json() == before["runs"]
        found = gen2.get("/migrations", params={"external_id": "again"}).json()["migrations"]
        assert [m["id"] for m in found] == [migration]
        # The recipe survived: this update builds on the one before the restart.
        gen2.run_to_rest(migration, "update", "lowercase Email")
        assert column_of(gen2.sheet(migration, "contacts"), "Email") == [
            "ann@example.com",
            "bob@example.com",
        ]
        assert gen2.run_to_rest(migration, "execute")["report"]["inserted"] == 2
        assert_contiguous(gen2.thread(migration, "all"))


def test_a_blocked_run_is_still_blocked_with_the_same_questions(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        migration = gen2.migration_with_files([("contacts.csv", csv_bytes(ROWS))])
        blocked = gen2.run_to_rest(migration, "generate")
        assert blocked["status"] == "blocked"
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        assert gen2.get(gen2.run_url(migration, blocked["run_id"])).json() == blocked
        done = gen2.answer_and_wait(
            migration, blocked["run_id"], [{"id": "q1", "value": "Map them all to 'Closed'"}]
        )
        assert done["status"] == "awaiting_approval"
        assert column_of(gen2.sheet(migration, "contacts"), "Status") == ["Open", "Closed"]


def test_a_credential_blocked_run_takes_its_credentials_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        migration = gen2.migration()
        gen2.post(
            f"/migrations/{migration}/source-connection",
            json={"source_key": "sandbox_crm", "selected_streams": ["accounts"]},
        )
        blocked = gen2.run_to_rest(migration, "generate")
        assert blocked["blocked_reason"] == "credentials"
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        response = gen2.post(
            f"{gen2.run_url(migration, blocked['run_id'])}/credentials",
            json={"credentials": {"api_token": "t"}},
        )
        assert response.status_code == 200
        assert gen2.wait_run(migration, blocked["run_id"])["status"] == "blocked"
        assert gen2.get(f"/migrations/{migration}/source-connection").json()["source_connection"][
            "creds_configured"
        ]


def reference_preview(rows: list[list[str]]) -> dict[str, Any]:
    """The preview an uninterrupted generate gives for ``rows``."""
    with start_gen2() as sb:
        gen2 = Gen2(sb.base_url, sb.api_key)
        migration = gen2.migration_with_files(
            [("contacts.csv", csv_bytes(rows))], templates=["contacts"]
        )
        assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
        return gen2.preview(migration)


def test_a_generate_stopped_mid_run_finishes_after_the_restart(tmp_path: Path) -> None:
    rows = [CONTACTS, ["ann@example.com", "Ann", "", "", "open", "Acme"]]
    db = tmp_path / "s.db"
    with start_gen2(db, KEY, step_seconds=0.3) as sb:
        gen2 = gen2_of(sb)
        migration = gen2.migration_with_files(
            [("contacts.csv", csv_bytes(rows))], templates=["contacts"]
        )
        run_id = gen2.start(migration, "generate").json()["run_id"]
        wait_for_message(gen2, migration, run_id, "Mapping columns")
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        assert gen2.wait_run(migration, run_id)["status"] == "awaiting_approval"
        assert gen2.preview(migration) == reference_preview(rows)
        events = gen2.thread(migration, "all")
        assert_contiguous(events)
        assert [e["type"] for e in events].count("completed") == 1
        assert [e["type"] for e in events].count("preview") == 1


def test_an_execute_stopped_mid_run_inserts_its_rows_once(tmp_path: Path) -> None:
    rows = [CONTACTS, *[[f"p{i}@example.com", "P", "", "", "Open", "Acme"] for i in range(5)]]
    db = tmp_path / "s.db"
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        migration = gen2.migration_with_files(
            [("contacts.csv", csv_bytes(rows))], templates=["contacts"]
        )
        gen2.run_to_rest(migration, "generate")
    with start_gen2(db, KEY, step_seconds=0.3) as sb:
        gen2 = gen2_of(sb)
        run_id = gen2.start(migration, "execute").json()["run_id"]
        wait_for_message(gen2, migration, run_id, "Inserting rows")
    with start_gen2(db, KEY) as sb:
        gen2 = gen2_of(sb)
        body = gen2.wait_run(migration, run_id)
        assert (body["status"], body["report"]["inserted"]) == ("completed", 5)
        assert gen2.exported(migration, "contacts", "all") == rows
        assert_contiguous(gen2.thread(migration, "all"))


def readings(gen2: Gen2, migration: str) -> int:
    """How many times a run of the migration started reading its files."""
    return sum(
        e["data"].get("message") == "Reading your files" for e in gen2.thread(migration, "user")
    )


def wait_for_readings(gen2: Gen2, migration: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while readings(gen2, migration) < count:
        assert time.monotonic() < deadline, f"the run never started reading {count} times"
        time.sleep(0.01)


def test_a_run_in_flight_at_too_many_restarts_fails(tmp_path: Path) -> None:
    rows = [CONTACTS, ["ann@example.com", "Ann", "", "", "Open", "Acme"]]
    db = tmp_path / "s.db"
    with start_gen2(db, KEY, step_seconds=0.5) as sb:
        gen2 = gen2_of(sb)
        migration = gen2.migration_with_files([("contacts.csv", csv_bytes(rows))])
        run_id = gen2.start(migration, "generate").json()["run_id"]
        wait_for_readings(gen2, migration, 1)
    for life in range(2, 5):  # three restarts with the run in flight: each resumes it
        with start_gen2(db, KEY, step_seconds=0.5) as sb:
            wait_for_readings(gen2_of(sb), migration, life)
    with start_gen2(db, KEY) as sb:  # the fourth gives up instead of looping for ever
        gen2 = gen2_of(sb)
        body = gen2.get(gen2.run_url(migration, run_id)).json()
        assert body["status"] == "failed"
        assert "stopped 4 times" in body["error"]
        assert gen2.thread(migration, "user")[-1]["type"] == "error"
