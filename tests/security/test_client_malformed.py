"""A 2xx answer that is not what the API documents (HTML, cut-off JSON, the wrong shape, a null
id) raises one :class:`migkit.UnexpectedResponse` naming the request, with a redacted excerpt;
nothing from it is returned or recorded in the ledger, and the CLI prints no traceback.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
from migkit.cli import main
from tests.conftest import HOSTILE_KEY
from tests.hostile import HostileServer, body_answer, json_answer

MakeClient = Callable[..., migkit.Client]
COMPANY = str(uuid.uuid4())
RUN = str(uuid.uuid4())
IMPORTS = f"/api/v1/companies/{COMPANY}/imports"
HTML = b"<!doctype html><html><body><h1>Sign in</h1></body></html>"

BROKEN_SOURCES = {
    "html": (HTML, "HTML"),
    "truncated": (b'{"sources": [{"id": "a", "na', "cut off"),
    "a list": (b"[]", "a list, not an object"),
    "null": (b"null", "a null, not an object"),
    "not json": (b"sources: none", "not JSON"),
    "wrong type": (b'{"sources": "all of them"}', "wrong shape"),
    "null id": (b'{"sources": [{"id": null, "name": "CRM"}]}', "id is None"),
    "no id": (b'{"sources": [{"name": "CRM"}]}', "no id field"),
    "nested": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "absurd number": (b'{"sources": [], "n": ' + b"9" * 5000 + b"}", "not JSON"),
}


@pytest.mark.parametrize("case", list(BROKEN_SOURCES))
def test_a_broken_200_is_unexpected_response_naming_the_request(
    case: str, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    body, problem = BROKEN_SOURCES[case]
    hostile.on("GET", "/api/v1/sources", body_answer(body, headers={"Content-Type": "text/x"}))
    with pytest.raises(migkit.UnexpectedResponse, match=problem) as info:
        hostile_client().sources.list()
    error = info.value
    assert (error.method, error.path, error.status) == ("GET", "/sources", 200)
    assert error.excerpt and error.excerpt in str(error)
    assert len(error.excerpt) <= 201


@pytest.mark.parametrize("padding", [20, 170], ids=["whole", "cut inside the key"])
def test_the_excerpt_redacts_the_api_key_even_where_it_is_cut(
    padding: int, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    page = b"<html>" + b"x" * padding + b"your key is " + HOSTILE_KEY.encode() + b"</html>"
    hostile.on("GET", "/api/v1/sources", body_answer(page))
    with pytest.raises(migkit.UnexpectedResponse) as info:
        hostile_client().sources.list()
    assert HOSTILE_KEY[:8] not in str(info.value)
    assert HOSTILE_KEY[:8] not in info.value.excerpt
    assert "<api key>" in info.value.excerpt


def test_an_undecodable_gzip_body_is_unexpected_response(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    hostile.on("GET", "/api/v1/sources", body_answer(b'{"sources": []}', headers=headers))
    with pytest.raises(migkit.UnexpectedResponse, match="Content-Encoding"):
        hostile_client().sources.list()


@pytest.mark.parametrize(
    "answer",
    [{"run_id": None}, {"run_id": ""}, {}, {"run_id": RUN, "status": None}, {"run_id": ["x"]}],
)
def test_a_created_run_without_a_usable_id_is_never_recorded(
    answer: dict[str, object], hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("POST", IMPORTS, json_answer(answer, 201))
    client = hostile_client()
    with pytest.raises(migkit.UnexpectedResponse) as info:
        client.imports.create(COMPANY, rows=[{"Email": "ann@example.com"}])
    assert (info.value.method, info.value.path) == ("POST", "/companies/{id}/imports")
    assert client.ledger is not None
    entries = client.ledger.unfinished(client._core.account, client.base_url)
    assert [(e.run_id, e.status) for e in entries] == [(None, "pending")]


def test_a_poll_for_another_run_is_not_taken_for_this_one(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("POST", IMPORTS, json_answer({"run_id": RUN, "status": "queued"}, 201))
    other = {"run_id": str(uuid.uuid4()), "status": "completed"}
    hostile.on("GET", f"{IMPORTS}/{RUN}", json_answer(other))
    client = hostile_client()
    run = client.imports.create(COMPANY, rows=[{"Email": "ann@example.com"}])
    with pytest.raises(migkit.UnexpectedResponse, match="is not"):
        client.imports.get(run)
    assert client.ledger is not None
    entry = client.ledger.run_key(client._core.account, client.base_url, RUN)
    assert entry is not None and entry.status == "queued"  # not "completed"


def test_a_created_company_without_an_id_is_never_recorded(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("POST", "/api/v1/companies", json_answer({"company": {"id": None}}, 201))
    client = hostile_client()
    with pytest.raises(migkit.UnexpectedResponse):
        client.companies.create("Acme", str(uuid.uuid4()), external_id="acme-001")
    assert client.ledger is not None
    entry = client.ledger.company(client._core.account, client.base_url, "acme-001")
    assert entry is not None and entry.company_id is None and entry.body is None


def test_an_upload_grant_to_a_plain_http_host_is_refused(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    grant = {"upload_url": "http://storage.example/put/tok", "upload_ref": "files/c.csv"}
    hostile.on("POST", f"/api/v1/companies/{COMPANY}/uploads", json_answer(grant, 201))
    with pytest.raises(migkit.UnexpectedResponse, match="plain http"):
        hostile_client().uploads.upload(COMPANY, b"Email\na@x.io\n", name="c.csv")


def test_the_cli_prints_a_broken_answer_without_a_traceback(
    hostile: HostileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.on("GET", "/api/v1/templates", body_answer(HTML, headers={"Content-Type": "text/html"}))
    monkeypatch.setenv("VERN_API_KEY", HOSTILE_KEY)
    monkeypatch.setenv("MIGKIT_LEDGER", str(tmp_path / "ledger.db"))
    code = main(["templates", "--base-url", hostile.base_url, "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 3
    assert "Traceback" not in err and "GET /templates answered 200 with HTML" in err
    assert out == ""


def test_the_cli_json_output_of_a_broken_answer_is_an_error_not_data(
    hostile: HostileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.on("GET", "/api/v1/templates", json_answer({"templates": [{"name": None}]}))
    hostile.on("GET", "/api/v1/templates", json_answer({"templates": "none"}))
    monkeypatch.setenv("VERN_API_KEY", HOSTILE_KEY)
    monkeypatch.setenv("MIGKIT_LEDGER", str(tmp_path / "ledger.db"))
    code = main(["templates", "--base-url", hostile.base_url, "--json"])
    out, err = capsys.readouterr()
    assert code == 3 and out == "" and "Traceback" not in err
    assert "wrong shape" in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err)
