"""``migkit.ledger`` on its own: what is recorded before and after a request, how accounts and
servers are kept apart, what counts as unfinished, and who may read the file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from migkit.ledger import Ledger, NullLedger, fingerprint

URL = "https://api.example.test"


def test_an_import_is_pending_before_its_answer_and_unfinished_until_it_ends(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.db").scoped("acct", URL)
    ledger.record_import("c1", "key-1", "sha", {"rows": [{"Email": "a@x.io"}]})
    entry = ledger.import_entry("c1", "key-1")
    assert entry is not None and entry.status == "pending" and entry.run_id is None
    assert entry.request == {"rows": [{"Email": "a@x.io"}]}
    ledger.set_run("c1", "key-1", "r1", "queued")
    assert [e.run_id for e in ledger.unfinished()] == ["r1"]
    ledger.set_status("r1", "needs_attention")
    assert [e.status for e in ledger.unfinished()] == ["needs_attention"]
    ledger.set_status("r1", "completed")
    assert ledger.unfinished() == []
    assert ledger.run_key("r1") is not None and ledger.run_key("r1").idempotency_key == "key-1"  # type: ignore[union-attr]


def test_recording_the_same_import_twice_keeps_the_first_record(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db").scoped("acct", URL)
    ledger.record_import("c1", "key-1", "first", {"n": 1})
    ledger.set_run("c1", "key-1", "r1", "running")
    ledger.record_import("c1", "key-1", "second", {"n": 2})
    entry = ledger.import_entry("c1", "key-1")
    assert entry is not None
    assert (entry.content_hash, entry.request, entry.run_id) == ("first", {"n": 1}, "r1")


def test_accounts_and_servers_do_not_see_each_others_records(tmp_path: Path) -> None:
    shared = Ledger(tmp_path / "ledger.db")
    mine, theirs = shared.scoped("acct-a", URL), shared.scoped("acct-b", URL)
    staging = shared.scoped("acct-a", "https://staging.example.test")
    mine.record_company("acme-1", "Acme")
    mine.record_import("c1", "k", "h", {})
    mine.set_run("c1", "k", "r1", "queued")
    assert theirs.company("acme-1") is None and staging.company("acme-1") is None
    assert theirs.unfinished() == [] and staging.unfinished() == []
    assert [e.run_id for e in mine.unfinished()] == ["r1"]


def test_a_company_is_found_by_external_id_and_then_by_its_id(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db").scoped("acct", URL)
    ledger.record_company("acme-1", "Acme")
    pending = ledger.company("acme-1")
    assert pending is not None and pending.company_id is None
    ledger.set_company("acme-1", {"company": {"id": "c-42", "name": "Acme"}, "sheets": []})
    found = ledger.company_by_id("c-42")
    assert found is not None and found.external_id == "acme-1" and found.name == "Acme"
    assert found.body == {"company": {"id": "c-42", "name": "Acme"}, "sheets": []}


def test_the_key_is_never_stored_only_its_fingerprint(tmp_path: Path) -> None:
    key = "vern_live_SECRET_0123456789"
    path = tmp_path / "ledger.db"
    ledger = Ledger(path).scoped(fingerprint(key), URL)
    ledger.record_company("acme-1", "Acme")
    assert key.encode() not in path.read_bytes()
    assert fingerprint(key) != key and fingerprint(key) == fingerprint(key)
    assert fingerprint(key) != fingerprint(key + "x")


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_the_file_and_the_folders_it_creates_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "ledger.db"
    Ledger(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_a_ledger_left_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.touch()
    path.chmod(0o644)
    Ledger(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_threads_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db").scoped("acct", URL)

    def submit(n: int) -> None:
        ledger.record_import("c1", f"key-{n}", "h", {"n": n})
        ledger.set_run("c1", f"key-{n}", f"r{n}", "running")

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.run_id or "" for e in ledger.unfinished()) == sorted(f"r{n}" for n in range(16))


def test_the_null_ledger_records_nothing_and_knows_nothing() -> None:
    ledger = NullLedger()
    assert not ledger.enabled
    ledger.record_company("acme-1", "Acme")
    ledger.record_import("c1", "k", "h", {})
    ledger.set_run("c1", "k", "r1", "queued")
    assert ledger.company("acme-1") is None and ledger.import_entry("c1", "k") is None
    assert ledger.unfinished() == []
