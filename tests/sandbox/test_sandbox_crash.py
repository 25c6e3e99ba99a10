"""A run cannot take the sandbox down with it: whatever a run raises fails that run and the
worker keeps serving; a run in flight when the process died hard is resumed on restart, but
a run that kills the sandbox every time is failed after a bounded number of resumes instead
of killing it at every start.

The hard deaths are real: a ``migkit sandbox`` subprocess on a ``--db``, aborted (SIGABRT) by
the test-only ``run_crash`` fault, or killed with SIGKILL."""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import migkit.sandbox
from migkit.sandbox import import_pass
from migkit.sandbox.worker import MAX_RESUMES
from tests.helpers import Api, company_with

KEY = "sk_test_crash"
ROWS = [{"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme"}]


def _no_core_dumps() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Process:
    """``migkit sandbox`` in a subprocess on ``db``; ``url`` once it listens (None if it died
    first)."""

    def __init__(self, db: Path, *options: str) -> None:
        cmd = [sys.executable, "-m", "migkit", "sandbox", "--db", str(db), "--port", "0"]
        cmd += ["--api-key", KEY, "--rate-limit", "100000", *options]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=_no_core_dumps,
        )
        self.url: str | None = None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends when the process does
            if "listening on" in line:
                self.url = line.rsplit(" ", 1)[1].strip()
                break

    def api(self) -> Api:
        assert self.url is not None, "the sandbox died before it listened"
        return Api(self.url, KEY)

    def died_of(self, timeout: float = 120.0) -> int:
        """Wait for the process to end; its return code (a signal is negative)."""
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def start_import(api: Api) -> str:
    """A Contacts company and an inline-rows import; returns the company id. The POST may lose
    its answer when the sandbox dies right after committing the run."""
    cid = company_with(api, "Contacts")["company"]["id"]
    with contextlib.suppress(requests.ConnectionError):
        api.post(f"/companies/{cid}/imports", json={"rows": ROWS})
    return str(cid)


def only_run(api: Api, company_id: str) -> dict[str, Any]:
    runs = api.get(f"/companies/{company_id}/imports").json()["imports"]
    assert len(runs) == 1, runs
    poll = api.get(f"/companies/{company_id}/imports/{runs[0]['run_id']}").json()
    return {"run_id": runs[0]["run_id"], **poll}


@pytest.mark.timeout(600)
def test_a_run_that_kills_the_sandbox_every_time_is_failed_after_bounded_resumes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    first = Process(db, "--faults", "run_crash=1", "--step-seconds", "0.2")
    cid = start_import(first.api())
    assert first.died_of() == -signal.SIGABRT
    for _ in range(MAX_RESUMES):  # each start resumes the run, which aborts the process again
        assert Process(db).died_of() == -signal.SIGABRT
    last = Process(db)
    try:
        api = last.api()
        run = only_run(api, cid)
        assert run["status"] == "failed", run
        assert "sandbox crashed while running this import" in run["error"]
        assert f"each of the {MAX_RESUMES} times it resumed it" in run["error"]
        # ... and the sandbox keeps serving: the company takes a new import that completes.
        again = api.post(f"/companies/{cid}/imports", json={"rows": ROWS})
        assert again.status_code == 201, again.text
        assert api.wait(again.json()["poll_url"])["status"] == "completed"
        assert last.proc.poll() is None
    finally:
        assert last.stop() == 0


@pytest.mark.timeout(300)
def test_a_run_in_flight_when_the_sandbox_is_killed_completes_after_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    first = Process(db, "--step-seconds", "30")  # the run sits in its first step
    api = first.api()
    cid = start_import(api)
    run_id = only_run(api, cid)["run_id"]
    poll_url = f"/companies/{cid}/imports/{run_id}"
    api.wait(poll_url, until=("running",))
    first.proc.kill()
    assert first.died_of() == -signal.SIGKILL
    second = Process(db, "--step-seconds", "0")
    try:
        body = second.api().wait(poll_url)
        assert body["status"] == "completed", body
        assert body["report"]["inserted"] == 1
    finally:
        assert second.stop() == 0


# -- exceptions inside a run (in-process sandbox, one worker) ---------------------------------
@pytest.fixture
def one_worker() -> Iterator[Api]:
    with migkit.sandbox.start(step_seconds=0, workers=1, rate_limit=100_000) as sb:
        yield Api(sb.base_url, sb.api_key)


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (MemoryError(), "The sandbox ran out of memory while running this import"),
        (RecursionError("maximum recursion depth exceeded"), "RecursionError"),
        (SystemExit(3), "internal error"),
        (KeyError("boom"), "internal error while running this import (KeyError: 'boom')"),
    ],
    ids=["MemoryError", "RecursionError", "SystemExit", "KeyError"],
)
def test_a_run_that_raises_fails_and_the_worker_keeps_serving(
    one_worker: Api, monkeypatch: pytest.MonkeyPatch, exc: BaseException, says: str
) -> None:
    real = import_pass.run_import_pass
    calls: list[str] = []

    def raise_once(store: Any, run: dict[str, Any], step: Any) -> None:
        calls.append(run["id"])
        if len(calls) == 1:
            raise exc
        real(store, run, step)

    monkeypatch.setattr(import_pass, "run_import_pass", raise_once)
    cid = company_with(one_worker, "Contacts")["company"]["id"]
    response = one_worker.post(f"/companies/{cid}/imports", json={"rows": ROWS})
    failed = one_worker.wait(response.json()["poll_url"])
    assert failed == {"status": "failed", "error": failed["error"]}
    assert says in failed["error"]
    # The only worker survived: the next import runs to completion.
    response = one_worker.post(f"/companies/{cid}/imports", json={"rows": ROWS})
    done = one_worker.wait(response.json()["poll_url"])
    assert done["status"] == "completed", done
    assert len(calls) == 2


def test_a_run_stopped_cleanly_is_not_counted_as_a_crash(tmp_path: Path) -> None:
    # A clean stop hands in-flight runs back: stopping mid-run more often than MAX_RESUMES
    # times still lets the run complete.
    db = tmp_path / "s.db"
    with migkit.sandbox.start(db=str(db), api_key=KEY, step_seconds=5) as sb:
        api = Api(sb.base_url, KEY)
        cid = company_with(api, "Contacts")["company"]["id"]
        poll_url = api.post(f"/companies/{cid}/imports", json={"rows": ROWS}).json()["poll_url"]
        api.wait(poll_url, until=("running",))
    for _ in range(MAX_RESUMES + 1):
        with migkit.sandbox.start(db=str(db), api_key=KEY, step_seconds=5) as sb:
            Api(sb.base_url, KEY).wait(poll_url, until=("running",))  # then stop, mid-step
    with migkit.sandbox.start(db=str(db), api_key=KEY, step_seconds=0) as sb:
        body = Api(sb.base_url, KEY).wait(poll_url)
        assert body["status"] == "completed", body
