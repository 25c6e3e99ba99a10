"""Credentials are secrets: values given to ``submit_credentials`` or ``connect_source`` never
appear in a repr, a log record (any logger, DEBUG), the ledger file, a raised error (message,
evidence, chained causes, formatted traceback) or printed output, against the sandbox and
against a hostile server that echoes them back."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
from migkit.errors import BadRequest, Conflict, MigkitError
from tests.hostile import HostileServer, json_answer

Make = Callable[..., migkit.Client]
SECRET = 's3cr3t-TOKEN-\u00e9-"quoted"-9f2b'


def everything_about(exc: BaseException) -> str:
    """What a person or a log could ever see of an error."""
    parts = ["".join(traceback.format_exception(exc)), repr(exc), repr(vars(exc))]
    return "\n".join(parts)


def files_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_submit_credentials_resumes_the_run_and_the_secret_is_nowhere(
    make_client: Make,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(ledger=tmp_path / "ledger" / "l.db")
    m = client.migrations.create("Creds", external_id="g2c-creds")
    connection = client.migrations.connect_source(m, "sandbox_crm")
    assert connection["creds_configured"] is False
    blocked = client.migrations.generate(m).wait()
    assert blocked.needs_credentials and blocked.credential_request is not None
    assert blocked.credential_request.secret_fields == ["api_token"]
    with pytest.raises(Conflict) as wrong:  # a wrong connection guard: 409, nothing echoed
        blocked.submit_credentials({"api_token": SECRET}, connection_id="not-the-connection")
    resumed = blocked.submit_credentials({"api_token": SECRET})
    done = resumed.wait()
    assert done.status in ("awaiting_approval", "blocked") and not done.needs_credentials
    print(done, repr(done), client, client.migrations.thread(m, include="all").to_string())
    seen = capsys.readouterr().out + caplog.text + everything_about(wrong.value)
    seen += repr(resumed) + str(resumed)
    assert SECRET not in seen
    assert SECRET.encode() not in files_under(tmp_path / "ledger")
    assert b"s3cr3t" not in files_under(tmp_path / "ledger")


def test_connect_source_with_credentials_keeps_them_out_of_the_ledger_and_logs(
    make_client: Make, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(ledger=tmp_path / "ledger" / "l.db")
    m = client.migrations.create("Creds2", external_id="g2c-creds-2")
    connection = client.migrations.connect_source(
        m, "sandbox_crm", credentials={"api_token": SECRET}
    )
    assert connection["creds_configured"] is True and SECRET not in repr(connection)
    run = client.migrations.generate(m).wait()
    assert not run.needs_credentials
    with pytest.raises(BadRequest) as bad:  # a field the connector does not take
        client.migrations.connect_source(m, "sandbox_crm", credentials={"nope": SECRET})
    assert SECRET not in caplog.text + everything_about(bad.value)
    assert b"s3cr3t" not in files_under(tmp_path / "ledger")


@pytest.mark.parametrize("status", [400, 409, 500])
def test_a_server_that_echoes_the_secret_gets_it_scrubbed_from_the_error(
    hostile: HostileServer,
    hostile_client: Callable[..., migkit.Client],
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": f"invalid api_token {SECRET}", "sent": {"api_token": SECRET}}
    hostile.on("POST", "/api/v1/migrations/m1/runs/r1/credentials", json_answer(echo, status))
    hostile.on(
        "GET",
        "/api/v1/migrations/m1/runs/r1",
        json_answer(
            {
                "run_id": "r1",
                "status": "blocked",
                "blocked_reason": "credentials",
                "credential_request": {"schema": {"api_token": {"type": "string", "secret": True}}},
            }
        ),
    )
    hostile.on("POST", "/api/v1/migrations/m1/source-connection", json_answer(echo, status))
    client = hostile_client()
    with pytest.raises(MigkitError) as raised:
        client.migrations.submit_credentials("r1", {"api_token": SECRET}, migration="m1")
    with pytest.raises(MigkitError) as connecting:
        client.migrations.connect_source("m1", "crm", credentials={"api_token": SECRET})
    for exc in (raised.value, connecting.value):
        shown = everything_about(exc)
        assert SECRET not in shown and "s3cr3t" not in shown
        assert "<secret>" in str(exc)
    assert "s3cr3t" not in caplog.text
    # The secret went only where it had to: the body of the credentials requests.
    sent = [s.json()["credentials"]["api_token"] for s in hostile.requests("POST", "*/credentials")]
    assert sent and set(sent) == {SECRET}
