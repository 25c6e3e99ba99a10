"""The API key stays secret: never in a repr, str, exception, log line, progress output, signed
upload request or the ledger file. Plain http is refused except to loopback, and the key is
found in the argument, ``VERN_API_KEY`` or a ``.env`` file, in that order."""

from __future__ import annotations

import logging
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import migkit
import migkit.sandbox
from migkit.sandbox import Sandbox
from tests.helpers import Api, new_company

MakeClient = Callable[..., migkit.Client]
TINY_RETRY = migkit.RetryPolicy(attempts=1, backoff_start=0.01, backoff_cap=0.02, jitter=0)
PAUSING_ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme", "Status": "open"},
]


def assert_hidden(key: str, *things: Any) -> None:
    for thing in things:
        assert key not in str(thing), thing
        assert key not in repr(thing), thing


def assert_exception_hides(key: str, exc: BaseException) -> None:
    """Neither the message, the repr, the attributes nor the formatted traceback has the key."""
    assert_hidden(key, exc)
    assert key not in repr(vars(exc))
    assert key not in "".join(traceback.format_exception(exc))


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def caught(action: Callable[[], Any]) -> migkit.MigkitError:
    with pytest.raises(migkit.MigkitError) as info:
        action()
    return info.value


@pytest.fixture(scope="module")
def broken() -> Iterator[Sandbox]:
    """A sandbox answering every API request with 500, so the client retries and fails."""
    with migkit.sandbox.start(faults="error_before=1", rate_limit=100_000) as sb:
        yield sb


# -- repr and str ----------------------------------------------------------------------------
def test_client_repr_and_str_hide_the_key(client: migkit.Client, sandbox: Sandbox) -> None:
    assert_hidden(sandbox.api_key, client)
    assert "api_key=<hidden>" in repr(client)


def test_transport_repr_and_str_hide_the_key(client: migkit.Client, sandbox: Sandbox) -> None:
    assert_hidden(sandbox.api_key, client._transport)
    assert "api_key=<hidden>" in repr(client._transport)


def test_models_never_show_the_key(client: migkit.Client, sandbox: Sandbox) -> None:
    company = new_company(client, "Contacts")
    upload = client.uploads.upload(company, b"Email\nann@example.com\n", name="contacts.csv")
    run = client.imports.wait(client.imports.create(company, rows=PAUSING_ROWS))
    assert run.needs_attention is not None
    assert_hidden(
        sandbox.api_key,
        client.sources.list(),
        client.templates.list(),
        company,
        upload,
        run,
        run.report,
        run.needs_attention,
        client.imports.list(company),
        client.ledger,
    )


# -- exceptions ------------------------------------------------------------------------------
def test_api_errors_never_carry_the_key(
    client: migkit.Client, make_client: MakeClient, sandbox: Sandbox
) -> None:
    company = new_company(client, "Accounts")
    stranger = make_client(ledger=None)
    errors = [
        caught(lambda: client.companies.get(str(uuid.uuid4()))),
        caught(lambda: client.imports.create(company, rows=[{"Name": ["nested"]}])),
        caught(lambda: client.exports.to_destination(company)),
        caught(
            lambda: stranger.companies.create("X", "Spreadsheet", external_id=company.external_id)
        ),
    ]
    assert [type(e) for e in errors] == [
        migkit.NotFound,
        migkit.ValidationFailed,  # refused before sending: a nested object is no cell value
        migkit.BadRequest,
        migkit.ExternalIdConflict,
    ]
    for exc in errors:
        assert_exception_hides(sandbox.api_key, exc)


def test_an_authentication_error_does_not_echo_the_wrong_key(
    make_client: MakeClient,
) -> None:
    wrong = f"sk_test_{uuid.uuid4().hex}"
    exc = caught(make_client(wrong, ledger=None).sources.list)
    assert isinstance(exc, migkit.AuthenticationError)
    assert_exception_hides(wrong, exc)


def test_server_and_transport_errors_never_carry_the_key(
    make_client: MakeClient, broken: Sandbox
) -> None:
    failing = make_client(broken.api_key, broken.base_url, ledger=None, retry=TINY_RETRY)
    server_error = caught(failing.sources.list)
    unsafe_error = caught(lambda: failing.companies.create("X", str(uuid.uuid4())))
    offline = make_client(
        broken.api_key, f"http://127.0.0.1:{closed_port()}/api/v1", ledger=None, retry=TINY_RETRY
    )
    transport_error = caught(offline.sources.list)
    assert isinstance(server_error, migkit.ServerError)
    assert isinstance(unsafe_error, migkit.ServerError)
    assert isinstance(transport_error, migkit.TransportError)
    for exc in (server_error, unsafe_error, transport_error):
        assert_exception_hides(broken.api_key, exc)


def test_run_failed_and_wait_timeout_never_carry_the_key(
    client: migkit.Client, make_client: MakeClient, sandbox: Sandbox, slow_api: Api
) -> None:
    company = new_company(client, "Contacts")
    failed = caught(
        lambda: client.imports.wait(client.imports.create(company, rows=[{"Name": "Ann"}]))
    )
    slow = make_client(slow_api.api_key, slow_api.base_url, ledger=None)
    run = slow.imports.create(new_company(slow, "Accounts"), rows=[{"Name": "Acme"}])
    timed_out = caught(lambda: slow.imports.wait(run, timeout=0.05))
    assert isinstance(failed, migkit.RunFailed)
    assert isinstance(timed_out, migkit.WaitTimeout)
    assert_exception_hides(sandbox.api_key, failed)
    assert_exception_hides(slow_api.api_key, timed_out)


def test_configuration_errors_never_carry_the_key(sandbox: Sandbox) -> None:
    exc = caught(lambda: migkit.Client(sandbox.api_key, "http://example.com/api/v1", ledger=None))
    assert isinstance(exc, migkit.ConfigurationError)
    assert_exception_hides(sandbox.api_key, exc)


# -- logs and output -------------------------------------------------------------------------
def test_debug_logs_never_show_the_key(
    make_client: MakeClient,
    sandbox: Sandbox,
    broken: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    company = new_company(client, "Contacts")
    client.imports.wait(client.imports.create(company, rows=PAUSING_ROWS))
    caught(lambda: client.companies.get(str(uuid.uuid4())))
    caught(make_client(broken.api_key, broken.base_url, ledger=None, retry=TINY_RETRY).sources.list)
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("/api/v1/companies" in line for line in urllib3_lines)  # the calls were logged
    # and so were the retries, one line per decision of migkit's own retry loop (issue 13)
    decisions = [r.getMessage() for r in caplog.records if r.name == "migkit.transport"]
    assert any("retry in" in line for line in decisions)
    for key in (sandbox.api_key, broken.api_key):
        assert key not in caplog.text
        assert not any(key in r.getMessage() for r in caplog.records)


def test_progress_output_never_shows_the_key(
    make_client: MakeClient, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(progress=True)
    run = client.imports.create(new_company(client, "Contacts"), rows=PAUSING_ROWS)
    client.imports.wait(run)
    out, err = capsys.readouterr()
    assert f"run {run.id[:8]}" in out + err  # the progress bar did print
    assert sandbox.api_key not in out + err


# -- signed uploads --------------------------------------------------------------------------
def test_the_signed_upload_session_carries_no_api_key(
    client: migkit.Client, sandbox: Sandbox
) -> None:
    headers = client._transport._signed.headers
    assert "x-api-key" not in {name.lower() for name in headers}
    assert sandbox.api_key not in repr(dict(headers))
    assert client._transport._api.headers["x-api-key"] == sandbox.api_key  # API calls have it


class Storage:
    """A loopback stand-in for object storage that records each PUT it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        self.received.append(
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "body": request.get_data(),
            }
        )
        return Response("{}", status=200, mimetype="application/json")(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def storage() -> Iterator[Storage]:
    server = Storage()
    yield server
    server.stop()


def test_a_signed_put_sends_the_bytes_without_the_key(
    client: migkit.Client, sandbox: Sandbox, storage: Storage
) -> None:
    client._transport.put_signed(f"{storage.url}/upload/tok123", b"Name\nAcme\n", "text/csv")
    (put,) = storage.received
    assert (put["method"], put["body"]) == ("PUT", b"Name\nAcme\n")
    assert put["headers"]["Content-Type"] == "text/csv"
    assert "x-api-key" not in {name.lower() for name in put["headers"]}
    assert sandbox.api_key not in repr(put)


def test_a_real_upload_through_the_signed_url_succeeds(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    upload = client.uploads.upload(company, b"Name\nAcme\n", name="accounts.csv")
    run = client.imports.wait(client.imports.create(company, files=[upload]))
    assert run.status == "completed"
    assert run.report is not None and run.report.inserted == 1


# -- transport security ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "base_url",
    [
        "http://app.vern.so/api/v1",
        "http://10.0.0.5:8787/api/v1",
        "http://localhost.example.com/api/v1",
        "http://0.0.0.0:8787/api/v1",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused(base_url: str) -> None:
    with pytest.raises(migkit.ConfigurationError, match="use https"):
        migkit.Client("sk_test_x", base_url, ledger=None)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://app.vern.so/api/v1",
        "http://127.0.0.1:8787/api/v1",
        "http://127.0.0.2:8787/api/v1",
        "http://localhost:8787/api/v1",
        "http://[::1]:8787/api/v1",
    ],
)
def test_https_and_loopback_http_are_accepted(base_url: str) -> None:
    client = migkit.Client("sk_test_x", base_url, ledger=None)
    assert client.base_url == base_url


def test_default_base_url_is_the_https_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERN_BASE_URL", raising=False)
    assert migkit.Client("sk_test_x", ledger=None).base_url == "https://app.vern.so/api/v1"


def test_tls_verification_stays_on(client: migkit.Client) -> None:
    transport = client._transport
    assert [s.verify for s in (transport._api, transport._signed)] == [True] * 2  # one API session


# -- where the key comes from ----------------------------------------------------------------
@pytest.fixture
def no_key_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VERN_API_KEY in the environment and an empty working directory (no .env)."""
    monkeypatch.delenv("VERN_API_KEY", raising=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def test_a_missing_key_says_where_to_put_it(no_key_around: Path, sandbox: Sandbox) -> None:
    with pytest.raises(migkit.ConfigurationError) as info:
        migkit.Client(base_url=sandbox.base_url, ledger=None)
    message = str(info.value)
    assert "VERN_API_KEY" in message
    assert str(no_key_around / ".env") in message
    assert "api_key=" in message


def test_the_key_comes_from_vern_api_key(
    no_key_around: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.setenv("VERN_API_KEY", sandbox.api_key)
    with migkit.Client(base_url=sandbox.base_url, ledger=None) as client:
        assert [s.name for s in client.sources.list()] == ["Legacy CRM", "Spreadsheet"]


def test_the_key_comes_from_a_dotenv_file_in_the_working_directory(
    no_key_around: Path, sandbox: Sandbox
) -> None:
    (no_key_around / ".env").write_text(
        f'# local settings\nOTHER=1\nexport VERN_API_KEY="{sandbox.api_key}"\n', encoding="utf-8"
    )
    with migkit.Client(base_url=sandbox.base_url, ledger=None) as client:
        assert [s.name for s in client.sources.list()] == ["Legacy CRM", "Spreadsheet"]


def test_the_argument_wins_over_the_environment_and_dotenv(
    no_key_around: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.setenv("VERN_API_KEY", "sk_test_wrong_env")
    (no_key_around / ".env").write_text("VERN_API_KEY=sk_test_wrong_file\n", encoding="utf-8")
    with migkit.Client(sandbox.api_key, sandbox.base_url, ledger=None) as client:
        assert len(client.sources.list()) == 2


def test_the_environment_wins_over_dotenv(
    no_key_around: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.setenv("VERN_API_KEY", sandbox.api_key)
    (no_key_around / ".env").write_text("VERN_API_KEY=sk_test_wrong_file\n", encoding="utf-8")
    with migkit.Client(base_url=sandbox.base_url, ledger=None) as client:
        assert len(client.sources.list()) == 2


# -- the ledger ------------------------------------------------------------------------------
def test_the_ledger_file_never_contains_the_key(
    make_client: MakeClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    ledger_dir = tmp_path / "ledger"
    client = make_client(ledger=ledger_dir / "runs.db")
    company = new_company(client, "Contacts")
    run = client.imports.wait(client.imports.create(company, rows=PAUSING_ROWS))
    assert [r.id for r in client.imports.recover()] == [run.id]  # the ledger holds the run
    client.imports.decide(run, accept=True)
    client.imports.wait(run)
    client.close()
    files = sorted(p for p in ledger_dir.iterdir() if p.is_file())
    assert ledger_dir / "runs.db" in files
    assert run.id.encode() in (ledger_dir / "runs.db").read_bytes()  # it did record the run
    for path in files:
        assert sandbox.api_key.encode() not in path.read_bytes(), path
