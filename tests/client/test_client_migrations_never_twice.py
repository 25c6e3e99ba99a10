"""Never twice without a run-level key: a Generation-2 run whose ``POST …/runs`` answer was
lost is found again (thread events, the in-flight 409), never started a second time; a crash
between sending and recording is recovered from the ledger (both generations).

Each test starts its own sandbox with :class:`~tests.helpers_client_gen2.Tamper` in front of
its app: the handler runs and commits, and the client gets a 500 instead of the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import migkit
import migkit.sandbox
from migkit.ledger import MigrationRunEntry, fingerprint
from migkit.sandbox import Sandbox
from tests.conftest import TINY_POLL
from tests.helpers import SAMPLES
from tests.helpers_client_gen2 import Tamper, clean_contacts
from tests.helpers_gen2 import Gen2

KEY = "sk_test_nevertwice_0123456789"
RETRY = migkit.RetryPolicy(attempts=3, backoff_start=0.01, backoff_cap=0.05, jitter=0)
RUNS_POST = r"^/api/v1/migrations/[^/]+/runs$"


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, Tamper, Gen2]]:
    with migkit.sandbox.start(api_key=KEY, step_seconds=0.05, rate_limit=100_000) as sb:
        yield sb, Tamper.attach(sb), Gen2(sb.base_url, KEY)


def client_of(sb: Sandbox, ledger: Path | None) -> migkit.Client:
    return migkit.Client(
        KEY, sb.base_url, ledger=ledger, progress=False, poll=TINY_POLL, retry=RETRY
    )


def runs_of(gen2: Gen2, migration: str) -> list[dict[str, str]]:
    return list(gen2.get(f"/migrations/{migration}/runs").json()["runs"])


@pytest.mark.parametrize("kind", ["generate", "execute"])
def test_a_lost_answer_finds_the_run_in_the_thread_instead_of_starting_another(
    served: tuple[Sandbox, Tamper, Gen2], tmp_path: Path, kind: str
) -> None:
    sb, tamper, gen2 = served
    with client_of(sb, tmp_path / "l.db") as client:
        m = client.migrations.create("Lost", external_id=f"lost-{kind}")
        client.migrations.upload(m, {"c.csv": clean_contacts("lost")})
        if kind == "execute":
            client.migrations.generate(m).wait()
        tamper.lose("POST", RUNS_POST)
        run = getattr(client.migrations, kind)(m)
        assert run.kind == kind
        done = run.wait()
    assert done.status in ("awaiting_approval", "completed")
    mine = [r for r in runs_of(gen2, m.id) if r["kind"] == kind]
    assert [r["run_id"] for r in mine] == [run.id]  # exactly one run of that kind
    assert tamper.count("POST", RUNS_POST) == (2 if kind == "execute" else 1), tamper.seen


def test_a_lost_answer_without_the_thread_uses_the_in_flight_409(tmp_path: Path) -> None:
    # Slow steps keep the run in flight. The thread fails and the server has no run list:
    # only the re-sent POST's 409 (naming the active run, of the same kind) can tell.
    with migkit.sandbox.start(api_key=KEY, step_seconds=0.5, workers=1, rate_limit=100_000) as sb:
        tamper = Tamper.attach(sb)
        gen2 = Gen2(sb.base_url, KEY)
        with client_of(sb, None) as client:
            m = client.migrations.create("Flight", external_id="flight")
            client.migrations.upload(m, {"c.csv": clean_contacts("flight")})
            tamper.lose("POST", RUNS_POST)
            tamper.refuse("GET", r"/thread$", status=503)
            tamper.refuse("GET", r"/runs$", status=404, times=1)
            run = client.migrations.generate(m)
            assert run.kind == "generate" and run.status in ("queued", "running")
        assert [r["run_id"] for r in runs_of(gen2, m.id)] == [run.id]
        assert tamper.count("POST", RUNS_POST) == 2


def test_a_rerun_cell_while_the_run_is_in_flight_returns_it(tmp_path: Path) -> None:
    with migkit.sandbox.start(api_key=KEY, step_seconds=0.5, workers=1, rate_limit=100_000) as sb:
        gen2 = Gen2(sb.base_url, KEY)
        with client_of(sb, None) as client:
            m = client.migrations.create("Rerun", external_id="rerun")
            client.migrations.upload(m, {"c.csv": clean_contacts("rerun")})
            first = client.migrations.generate(m)
            second = client.migrations.generate(m)  # no ledger: the server's 409 tells
            assert second.id == first.id
            client.migrations.cancel(first)
        assert [r["run_id"] for r in runs_of(gen2, m.id)] == [first.id]


def test_a_crash_after_sending_is_recovered_from_the_ledger(
    served: tuple[Sandbox, Tamper, Gen2], tmp_path: Path
) -> None:
    sb, _, gen2 = served
    ledger = tmp_path / "crash.db"
    with client_of(sb, ledger) as client:
        m = client.migrations.create("Crash", external_id="crash")
        client.migrations.upload(m, SAMPLES / "agent_workbook.xlsx")
        after = client.migrations._thread.tail(m)
        assert client.ledger is not None
        # The ledger noted the start, the POST went out, and the process died.
        client.ledger.record_migration_run(
            fingerprint(KEY),
            client.base_url,
            MigrationRunEntry("local-1", m.id, "generate", None, None, after, None, "pending", ""),
        )
        sent = gen2.start(m.id, "generate").json()["run_id"]
        gen2.wait_run(m.id, sent)
        # A start noted but never sent is found to be not started.
        client.ledger.record_migration_run(
            fingerprint(KEY),
            client.base_url,
            MigrationRunEntry("local-2", m.id, "update", "x", None, 10**6, None, "pending", ""),
        )
    with client_of(sb, ledger) as restarted:
        recovered = restarted.recover()
        assert [(r.id, r.status, r.kind) for r in recovered] == [(sent, "blocked", "generate")]
        assert restarted.migrations.recover()[0].id == sent  # recorded: no second look
        statuses = {
            e.local_id: e.status
            for e in restarted.ledger.migration_runs(  # type: ignore[union-attr]
                fingerprint(KEY), restarted.base_url
            )
        }
        assert statuses["local-2"] == "not_started"
    assert [r["run_id"] for r in runs_of(gen2, m.id)] == [sent]


def test_recover_returns_unfinished_runs_of_both_generations(tmp_path: Path) -> None:
    with migkit.sandbox.start(api_key=KEY, step_seconds=0.01, rate_limit=100_000) as sb:
        ledger = tmp_path / "both.db"
        with client_of(sb, ledger) as client:
            company = client.companies.create("Both", "Spreadsheet", templates=["Contacts"])
            paused = client.imports.create(
                company,
                rows=[
                    {
                        "Email": "ann@example.com",
                        "First Name": "Ann",
                        "Account": "Acme",
                        "Status": "open",
                    }
                ],
            ).wait()
            assert paused.status == "needs_attention"
            m = client.migrations.create("Both")
            client.migrations.upload(m, SAMPLES / "agent_workbook.xlsx")
            blocked = client.migrations.generate(m).wait()
        with client_of(sb, ledger) as restarted:
            found = restarted.recover()
        assert [(r.id, r.status) for r in found] == [
            (paused.id, "needs_attention"),
            (blocked.id, "blocked"),
        ]


@pytest.mark.parametrize("route", ["messages", "credentials"])
def test_a_lost_answer_or_credentials_post_is_not_sent_twice(
    served: tuple[Sandbox, Tamper, Gen2], tmp_path: Path, route: str
) -> None:
    sb, tamper, _ = served
    with client_of(sb, tmp_path / "l.db") as client:
        m = client.migrations.create("Reply", external_id=f"reply-{route}")
        if route == "messages":
            client.migrations.upload(m, SAMPLES / "agent_workbook.xlsx")
        else:
            client.migrations.connect_source(m, "sandbox_crm")
        blocked = client.migrations.generate(m).wait()
        assert blocked.status == "blocked"
        tamper.lose("POST", rf"/{route}$")
        if route == "messages":
            resumed = blocked.answer({q.id: "Keep them flagged" for q in blocked.questions})
        else:
            resumed = blocked.submit_credentials({"api_token": "tok-123"})
        assert resumed.status != "blocked" or not resumed.needs_credentials
        done = resumed.wait()
    assert done.status in ("awaiting_approval", "blocked")
    # The answer landed with the lost response: the run no longer waited, so it was not re-sent.
    assert tamper.count("POST", rf"/{route}$") == 1


def test_a_lost_answer_the_agent_asked_again_about_is_not_sent_twice(
    served: tuple[Sandbox, Tamper, Gen2], tmp_path: Path
) -> None:
    # Free text that is no allowed value makes the agent ask again under a new id: the run
    # waits again, but on another question, so the lost answer is known to have landed.
    sb, tamper, _ = served
    with client_of(sb, tmp_path / "l.db") as client:
        m = client.migrations.create("Reask", external_id="reask")
        client.migrations.upload(m, SAMPLES / "agent_workbook.xlsx")
        blocked = client.migrations.generate(m).wait()
        first, *others = blocked.questions
        tamper.lose("POST", r"/messages$")
        answers = {first.id: "Purple", **{q.id: "Keep them flagged" for q in others}}
        again = blocked.answer(answers).wait()
    assert again.status == "blocked" and [q.id for q in again.questions] != [first.id]
    assert first.id not in {q.id for q in again.questions}
    assert tamper.count("POST", r"/messages$") == 1
