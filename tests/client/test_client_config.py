"""Client configuration: the ledger (customers' emails) is private to its owner, the base URL
comes from ``.env`` like the key, and a key that cannot be a header value is refused without
being shown.
"""

from __future__ import annotations

import os
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

import migkit
from migkit.ledger import Ledger
from migkit.sandbox import Sandbox


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common 022 umask, under which files are created world-readable by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the ledger's permissions ------------------------------------------------------------------
@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_new_ledger_is_0600_in_0700_folders(loose_umask: None, tmp_path: Path) -> None:
    path = tmp_path / "data" / "migkit" / "ledger.db"
    ledger = Ledger(path)
    ledger.record_import("acct", "https://x", "c1", "k1", "h", {"rows": [{"Email": "a@x.io"}]})
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_an_existing_folder_keeps_its_mode(loose_umask: None, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    Ledger(tmp_path / "ledger.db")
    assert mode(tmp_path) == 0o755  # e.g. a project folder given as ledger=./ledger.db
    assert mode(tmp_path / "ledger.db") == 0o600


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_ledger_left_readable_by_an_older_version_is_tightened(
    loose_umask: None, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path)
    path.chmod(0o644)
    Ledger(path)
    assert mode(path) == 0o600


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_the_clients_default_ledger_is_private(
    loose_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.delenv("MIGKIT_LEDGER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    with migkit.Client(sandbox.api_key, sandbox.base_url, progress=False) as client:
        assert client.ledger is not None
        path = client.ledger.path
        assert path == tmp_path / "share" / "migkit" / "ledger.db"
        assert mode(path) == 0o600 and mode(path.parent) == 0o700


# -- VERN_BASE_URL from .env -------------------------------------------------------------------
@pytest.fixture
def in_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VERN_BASE_URL", raising=False)
    monkeypatch.delenv("VERN_API_KEY", raising=False)
    return tmp_path


def test_the_base_url_comes_from_dotenv_after_the_argument_and_the_environment(
    in_folder: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    (in_folder / ".env").write_text(
        f"VERN_API_KEY={sandbox.api_key}\nVERN_BASE_URL={sandbox.base_url}\n", encoding="utf-8"
    )
    with migkit.Client(ledger=None, progress=False) as client:
        assert client.base_url == sandbox.base_url
        assert client.sources.list()  # and it is used
    with migkit.Client(base_url="http://127.0.0.1:3/api/v1", ledger=None) as client:
        assert client.base_url == "http://127.0.0.1:3/api/v1"
    monkeypatch.setenv("VERN_BASE_URL", "http://127.0.0.1:2/api/v1")
    with migkit.Client(ledger=None) as client:
        assert client.base_url == "http://127.0.0.1:2/api/v1"


def test_an_unsafe_base_url_from_dotenv_is_refused_like_any_other(in_folder: Path) -> None:
    (in_folder / ".env").write_text("VERN_BASE_URL=http://vern.example/api/v1\n", encoding="utf-8")
    with pytest.raises(migkit.ConfigurationError, match="plain http"):
        migkit.Client("sk_test_x", ledger=None)


# -- keys that cannot be a header value ----------------------------------------------------------
BAD_KEYS = {
    "euro sign": "sk_test_0123€456789abcdef",
    "line break": "sk_test_0123\n456789abcdef",
    "space inside": "sk_test_0123 456789abcdef",
    "NUL": "sk_test_0123\x00456789abcdef",
    "non-breaking space": "sk_test_0123\u00a0456789abcdef",
}


def carries(exc: BaseException | None, key: str) -> bool:
    """True when the exception, its args, attributes, cause or context shows the key."""
    while exc is not None:
        text = "".join(traceback.format_exception(exc)) + repr(exc.args) + repr(vars(exc))
        if key in text or any(part in text for part in key.split() if len(part) > 8):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@pytest.mark.parametrize("case", list(BAD_KEYS))
def test_a_key_that_cannot_be_a_header_is_a_configuration_error_hiding_it(
    case: str, sandbox: Sandbox
) -> None:
    key = BAD_KEYS[case]
    with pytest.raises(migkit.ConfigurationError, match="position 13") as info:
        client = migkit.Client(key, sandbox.base_url, ledger=None)
        client.sources.list()  # before the fix the key only failed here
    assert not carries(info.value, key)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_a_bad_key_from_the_environment_is_refused_the_same_way(
    in_folder: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.setenv("VERN_API_KEY", BAD_KEYS["euro sign"])
    with pytest.raises(migkit.ConfigurationError, match="non-ASCII") as info:
        migkit.Client(base_url=sandbox.base_url, ledger=None).sources.list()
    assert not carries(info.value, BAD_KEYS["euro sign"])
