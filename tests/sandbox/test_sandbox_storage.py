"""What the sandbox leaves on disk: its database (with ``-wal`` and ``-shm``) and uploads are
private (``0600`` files in ``0700`` folders it creates), no file holds an API key in clear,
and a database written by an older sandbox is upgraded in place (keys hashed, rows moved)."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import migkit.sandbox
from tests.helpers import CONTACTS, Api, company_with, csv_bytes, exported, start_sandbox

KEY = "sk_test_storage_b9f1c2d3e4"
ROWS = [CONTACTS, ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def use(api: Api) -> str:
    """A company, an upload and a completed import; returns the company id."""
    cid = company_with(api, "Contacts")["company"]["id"]
    response = api.import_files(cid, [("contacts.csv", csv_bytes(ROWS))])
    assert api.wait(response.json()["poll_url"])["status"] == "completed"
    return str(cid)


def test_database_wal_shm_and_uploads_are_private(tmp_path: Path) -> None:
    db = tmp_path / "made" / "by" / "sandbox" / "s.db"
    tmp_path.chmod(0o755)
    with start_sandbox(db, KEY) as sb:
        use(Api(sb.base_url, KEY))
        files = files_under(db.parent)
        names = {p.name for p in files}
        assert {"s.db", "s.db-wal", "s.db-shm"} <= names, names
        assert any(p.parent.name == "s.db.files" for p in files), names  # the upload
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        for folder in (db.parent, db.parent.parent, db.parent.parent.parent, sb.store.files_dir):
            assert mode(folder) == 0o700, folder
    assert mode(tmp_path) == 0o755  # a folder that existed is the user's: left as it was


def test_a_temporary_database_is_private_too() -> None:
    with migkit.sandbox.start(step_seconds=0) as sb:
        assert mode(sb.db_path) == 0o600
        assert mode(sb.db_path.parent) == 0o700


def test_an_older_sandboxs_open_files_become_private(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with start_sandbox(db, KEY):
        pass
    for path in (db, db.parent / "s.db.files"):
        path.chmod(0o644 if path.is_file() else 0o755)
    with start_sandbox(db, KEY) as sb:
        assert mode(db) == 0o600
        assert mode(sb.store.files_dir) == 0o700


def test_no_file_of_the_database_holds_an_api_key_in_clear(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    other = "sk_test_storage_second_77aa"
    with start_sandbox(db, [KEY, other]) as sb:
        use(Api(sb.base_url, KEY))
        use(Api(sb.base_url, other))
        on_disk = b"".join(p.read_bytes() for p in files_under(tmp_path))  # WAL included
    with start_sandbox(db, [KEY, other]) as sb:  # ... and after a restart reads them back
        assert Api(sb.base_url, KEY).get("/sources").status_code == 200
        on_disk += b"".join(p.read_bytes() for p in files_under(tmp_path))
    assert b"sk_test_storage" not in on_disk
    assert KEY.encode("utf-16-le") not in on_disk


def test_keys_are_still_told_apart_after_hashing(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "s.db", KEY) as sb:
        assert Api(sb.base_url, KEY).get("/sources").status_code == 200
        assert Api(sb.base_url, KEY + "x").get("/sources").status_code == 401
        assert Api(sb.base_url, KEY[:-1]).get("/sources").status_code == 401


def _make_legacy(db: Path) -> tuple[str, str]:
    """Rewrite ``db`` the way an older sandbox kept it: keys in clear in ``api_keys.key`` and
    one JSON row per ``rows`` record. Returns the company and sheet ids."""
    with start_sandbox(db, KEY) as sb:
        company = company_with(Api(sb.base_url, KEY), "Contacts")
    cid = company["company"]["id"]
    sheet = company["sheets"][0]["id"]
    con = sqlite3.connect(db)
    account = con.execute("SELECT account_id FROM api_keys").fetchone()[0]
    con.executescript(
        """
        DROP TABLE api_keys;
        CREATE TABLE api_keys (key TEXT PRIMARY KEY, account_id TEXT NOT NULL);
        CREATE TABLE rows (id INTEGER PRIMARY KEY AUTOINCREMENT, sheet_id TEXT NOT NULL,
            run_id TEXT NOT NULL, data_json TEXT NOT NULL, flagged INTEGER NOT NULL);
        """
    )
    con.execute("INSERT INTO api_keys VALUES (?, ?)", (KEY, account))
    old_rows = [
        ["ann@example.com", "Ann", "Lee", None, "Open", "Acme"],
        ["bad-email", "Bob", None, None, None, "Acme"],
        ["cy@example.com", "Cy", None, None, None, "Acme"],
    ]
    con.executemany(
        "INSERT INTO rows (sheet_id, run_id, data_json, flagged) VALUES (?, 'r', ?, ?)",
        [(sheet, json.dumps(r), int(r[0] == "bad-email")) for r in old_rows],
    )
    con.commit()
    con.close()
    return cid, sheet


def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    cid, sheet = _make_legacy(db)
    assert KEY.encode() in b"".join(p.read_bytes() for p in files_under(tmp_path))
    with start_sandbox(db, KEY) as sb:
        api = Api(sb.base_url, KEY)
        assert api.get(f"/companies/{cid}").status_code == 200  # the old key still works
        assert exported(api, cid, sheet, "all", header=CONTACTS) == [
            ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"],
            ["bad-email", "Bob", "", "", "", "Acme"],
            ["cy@example.com", "Cy", "", "", "", "Acme"],
        ]
        assert [r[0] for r in exported(api, cid, sheet, "valid", header=CONTACTS)] == [
            "ann@example.com",
            "cy@example.com",
        ]
    assert KEY.encode() not in b"".join(p.read_bytes() for p in files_under(tmp_path))
