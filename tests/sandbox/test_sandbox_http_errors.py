"""Every answer the sandbox sends carries an ``{"error"}`` JSON body, also where Flask never
sees the request (the HTTP server's own 400, 414, 431, 505) and where a streamed body fails
before its first byte; a chunked body over the limit is 413 like a declared one; and every
download's ``Content-Disposition`` follows RFC 6266, whatever the company's name."""

from __future__ import annotations

import io
import json
import re
import socket
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

import migkit
import migkit.sandbox
from migkit.sandbox import exporter
from migkit.sandbox.server import Sandbox
from tests.helpers import CONTACTS, Api, assert_error, company_with, csv_bytes, records


def raw_request(sandbox: Sandbox, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as the whole request on a fresh connection; the status, headers, body."""
    parts = urlsplit(sandbox.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> str:
    assert status == expected, (status, body[:300])
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    payload = json.loads(body)
    assert list(payload) == ["error"] and payload["error"], payload
    return str(payload["error"])


# -- the HTTP server's own refusals -----------------------------------------------------------
def test_a_100_kb_query_string_is_414_with_a_json_error(api: Api) -> None:
    response = api.get("/sources", params={"q": "x" * 100_000})
    message = assert_error(response, 414)
    assert "longer than 64 KiB" in message


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Big": "a" * 70_000}, id="one-header-line-over-64KiB"),
        pytest.param({f"X-H{i}": "a" for i in range(120)}, id="more-than-100-headers"),
    ],
)
def test_oversized_headers_are_431_with_a_json_error(api: Api, headers: dict[str, str]) -> None:
    assert_error(api.get("/sources", headers=headers), 431)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b"NONSENSE\r\n\r\n", 400, id="one-word"),
        pytest.param(b"GET /api/v1/sources HTTX/1.1\r\n\r\n", 400, id="malformed-version"),
        pytest.param(b"GET /api/v1/sources HTTP/1.1 extra\r\n\r\n", 400, id="extra-words"),
        pytest.param(b"GET /api/v1/sources HTTP/2.0\r\nHost: x\r\n\r\n", 505, id="http-2.0"),
    ],
)
def test_malformed_requests_get_a_json_error(
    sandbox: Sandbox, request_bytes: bytes, status: int
) -> None:
    assert_json_error(*raw_request(sandbox, request_bytes), status)


def keyed(api: Api, line: bytes, header: bytes, body: bytes = b"") -> bytes:
    """A raw request: ``line``, a Host header, the account's key, ``header``, then ``body``."""
    key = api.api_key.encode()
    return line + b"\r\nHost: x\r\nx-api-key: " + key + b"\r\n" + header + b"\r\n\r\n" + body


def test_an_unknown_method_is_405_json(sandbox: Sandbox, api: Api) -> None:
    request = keyed(api, b"BREW /api/v1/sources HTTP/1.1", b"Content-Length: 0")
    assert_json_error(*raw_request(sandbox, request), 405)


def test_a_malformed_chunked_body_is_400_json(sandbox: Sandbox, api: Api) -> None:
    request = keyed(
        api,
        b"POST /api/v1/companies HTTP/1.1",
        b"Transfer-Encoding: chunked",
        b"ZZ\r\nabc\r\n0\r\n\r\n",
    )
    assert "could not be read" in assert_json_error(*raw_request(sandbox, request), 400)


# -- bodies over the limit --------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny() -> Iterator[Sandbox]:
    """A sandbox of its own whose JSON body limit is 1024 bytes."""
    with migkit.sandbox.start(max_body=1024, step_seconds=0) as sb:
        yield sb


def chunked(data: bytes) -> Iterator[bytes]:
    """``data`` as a generator, which requests sends with ``Transfer-Encoding: chunked``."""
    for start in range(0, len(data), 100):
        yield data[start : start + 100]


def company_body(sandbox: Sandbox, size: int) -> bytes:
    api = Api(sandbox.base_url, sandbox.api_key)
    shell = json.dumps({"name": "", "source": api.source_id()}).encode()
    body = json.dumps({"name": "x" * (size - len(shell)), "source": api.source_id()}).encode()
    assert len(body) == size
    return body


def test_a_chunked_body_over_the_limit_is_413_not_400(tiny: Sandbox) -> None:
    api = Api(tiny.base_url, tiny.api_key)
    response = api.session.post(api.url("/companies"), data=chunked(company_body(tiny, 1025)))
    assert assert_error(response, 413).startswith("Request body is larger than the 1 KiB limit")


def test_a_chunked_body_of_exactly_the_limit_is_read(tiny: Sandbox) -> None:
    api = Api(tiny.base_url, tiny.api_key)
    response = api.session.post(api.url("/companies"), data=chunked(company_body(tiny, 1024)))
    assert response.status_code == 201, response.text


def test_a_chunked_body_over_the_limit_without_a_key_is_401(tiny: Sandbox) -> None:
    response = requests.post(
        tiny.base_url + "/companies", data=chunked(company_body(tiny, 5000)), timeout=30
    )
    assert assert_error(response, 401) == "API key missing or invalid"


# -- failures inside the app ------------------------------------------------------------------
@pytest.fixture
def contacts(api: Api) -> tuple[str, str]:
    company = company_with(api, "Contacts")
    return company["company"]["id"], api.sheet_id(company, "Contacts")


def failing(*_: Any, **__: Any) -> Iterator[bytes]:
    raise RuntimeError("disk on fire")
    yield b""  # a generator, like the real body


@pytest.mark.parametrize("target", ["csv_chunks", "zip_chunks"])
def test_a_body_that_fails_before_its_first_byte_is_a_json_500(
    api: Api, contacts: tuple[str, str], monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setattr(exporter, target, failing)
    cid, sheet = contacts
    params = {"sheet_id": sheet} if target == "csv_chunks" else {}
    response = api.get(f"/companies/{cid}/export.csv", params=params)
    assert assert_error(response, 500) == "Server error"


def test_a_view_that_raises_is_a_json_500(
    api: Api, contacts: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any) -> int:
        raise RuntimeError("count failed")

    monkeypatch.setattr(exporter, "export_count", boom)
    cid, sheet = contacts
    assert_error(api.export(cid, sheet), 500)


def test_the_sandbox_answers_normally_after_such_failures(
    api: Api, contacts: tuple[str, str]
) -> None:
    assert records(api.export(*contacts).content) == [CONTACTS]


# -- Content-Disposition (RFC 6266) -----------------------------------------------------------
DISPOSITION = re.compile(r'^attachment; filename="([ -~]*)"(?:; filename\*=UTF-8\'\'(\S+))?$')


def disposition(response: requests.Response) -> tuple[str, str]:
    """(the ASCII fallback, the UTF-8 name) of an attachment; checks the syntax."""
    value = response.headers["Content-Disposition"]
    match = DISPOSITION.match(value)
    assert match is not None, value
    fallback = match.group(1)
    assert '"' not in fallback and "\\" not in fallback
    return fallback, unquote(match.group(2), errors="strict") if match.group(2) else fallback


@pytest.mark.parametrize(
    ("name", "filename", "fallback"),
    [
        ("株式会社 Tokyo", "株式会社 Tokyo.zip", "Tokyo.zip"),
        ("€", "€.zip", "download.zip"),
        ("Café Zoë", "Café Zoë.zip", "Cafe Zoe.zip"),
        ("Acme\r\nInjected: yes", "Acme__Injected: yes.zip", "Acme__Injected: yes.zip"),
        ('Say "hi" \\ co', 'Say "hi" _ co.zip', "Say _hi_ _ co.zip"),
        ("Zip Co", "Zip Co.zip", "Zip Co.zip"),
    ],
    ids=["japanese", "euro", "accents", "crlf", "quotes-backslash", "ascii"],
)
def test_the_zip_export_is_named_per_rfc_6266_whatever_the_company_name(
    api: Api, name: str, filename: str, fallback: str
) -> None:
    company = company_with(api, "Accounts", "Contacts", name=name)
    cid = company["company"]["id"]
    rows = csv_bytes([["Name"], ["Acme"]])
    done = api.wait(api.import_files(cid, [("accounts.csv", rows)]).json()["poll_url"])
    assert done["status"] == "completed"
    response = api.get(f"/companies/{cid}/export.csv")
    assert response.status_code == 200, response.text
    assert "Injected" not in {k for k in response.headers}
    assert disposition(response) == (fallback, filename)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert records(archive.read("Accounts.csv")) == [
            ["Name", "Domain", "Tier"],
            ["Acme", "", ""],
        ]


def test_a_single_sheet_export_is_named_after_the_sheet(
    api: Api, contacts: tuple[str, str]
) -> None:
    assert disposition(api.export(*contacts)) == ("Contacts.csv", "Contacts.csv")


def test_the_client_reads_every_sheet_of_a_company_with_a_non_latin_name(
    api: Api, make_client: Callable[..., migkit.Client]
) -> None:
    company = company_with(api, "Accounts", name="株式会社 Tokyo €")
    cid = company["company"]["id"]
    rows = csv_bytes([["Name"], ["Acme"]])
    assert (
        api.wait(api.import_files(cid, [("accounts.csv", rows)]).json()["poll_url"])["status"]
        == "completed"
    )
    frames = make_client().exports.frames(cid)
    assert list(frames) == ["Accounts"]
    assert frames["Accounts"]["Name"].tolist() == ["Acme"]
