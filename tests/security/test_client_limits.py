"""A server cannot make migkit read forever, wait forever, or fill memory or disk.

Each test scripts a server on loopback (``tests.hostile``) that sends an endless or oversized
body, a gzip or ZIP bomb, a body dripped a byte at a time, or an absurd ``Retry-After``; the
client stops at the cap of :class:`migkit.ResponseLimits` or its retry policy. The limits are
set small here so the tests are quick; docs/limits.md gives the defaults.
"""

from __future__ import annotations

import io
import itertools
import json
import struct
import time
import uuid
import zipfile
from collections.abc import Callable

import pytest

import migkit
from tests.hostile import Exchange, HostileServer, body_answer, gzip_answer, json_answer

pytestmark = pytest.mark.timeout(60)

MakeClient = Callable[..., migkit.Client]
COMPANY = str(uuid.uuid4())
SHEET = str(uuid.uuid4())
EXPORT = f"/api/v1/companies/{COMPANY}/export.csv"
SMALL = migkit.ResponseLimits(json_bytes=1 << 20, download_bytes=2 << 20)
SOURCES = json.dumps({"sources": [], "padding": "x" * 40}).encode()  # 57 bytes


def endless(content_type: str, chunk: bytes, headers: dict[str, str] | None = None) -> Callable:
    def answer(ex: Exchange) -> None:
        if ex.head(200, {"Content-Type": content_type, **(headers or {})}):
            ex.stream(chunk)

    return answer


def dripped(raw: bytes, interval: float) -> Callable:
    return lambda ex: ex.drip(raw, interval)


def whole_response(body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- sizes of API answers ----------------------------------------------------------------------
def test_an_endless_json_body_stops_at_the_size_cap(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", endless("application/json", b"[" * 65536))
    with pytest.raises(migkit.ResponseTooLarge) as info:
        hostile_client(limits=SMALL).sources.list()
    assert (info.value.method, info.value.path, info.value.status) == ("GET", "/sources", 200)
    assert "1,048,576" in str(info.value)


def test_a_body_announced_larger_than_the_cap_is_refused_before_reading(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    def huge(ex: Exchange) -> None:  # announces 400 MB, sends a few bytes, then waits
        if ex.head(200, {"Content-Type": "application/json", "Content-Length": "400000000"}):
            ex.write(b'{"sources": [')
            ex.stop.wait(30)

    hostile.on("GET", "/api/v1/sources", huge)
    with pytest.raises(migkit.ResponseTooLarge, match="400,000,000 bytes"):
        hostile_client(limits=SMALL).sources.list()


def test_a_gzip_bomb_is_stopped_at_the_cap_of_decoded_bytes(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    # ~64 KB on the wire that would decode to 64 MiB of valid JSON.
    bomb = b'{"sources": [], "padding": "' + b"0" * (64 << 20) + b'"}'
    hostile.on("GET", "/api/v1/sources", gzip_answer(bomb))
    with pytest.raises(migkit.ResponseTooLarge):
        hostile_client(limits=SMALL).sources.list()


def test_by_default_an_answer_stops_at_32_mib(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/templates", endless("application/json", b" " * 65536))
    with pytest.raises(migkit.ResponseTooLarge, match="33,554,432 bytes"):
        hostile_client().templates.list()


# -- sizes of downloads ------------------------------------------------------------------------
def test_an_endless_export_without_length_or_row_count_stops_at_the_download_cap(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    row = b"ann@example.com,Ann\r\n"
    hostile.on("GET", EXPORT, endless("text/csv", b"Email,Name\r\n" + row * 50_000))
    with pytest.raises(migkit.ResponseTooLarge, match="download_bytes"):
        hostile_client(limits=SMALL).exports.frame(COMPANY, SHEET)
    assert len(hostile.requests("GET")) == 1  # too large is not downloaded again


def test_an_export_with_more_rows_than_announced_stops_while_streaming(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    rows = b"Email,Name\r\n" + b'ann@example.com,"Ann\r\nSmith"\r\n' * 20_000
    hostile.on("GET", EXPORT, endless("text/csv", rows, {"X-Total-Records": "3"}))
    with pytest.raises(migkit.ExportIncomplete, match="reading stopped after") as info:
        hostile_client().exports.frame(COMPANY, SHEET)
    assert info.value.expected == 3
    assert info.value.rows is not None and info.value.rows > 3


def test_an_export_announced_larger_than_the_cap_is_refused_before_reading(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    def huge(ex: Exchange) -> None:
        if ex.head(200, {"Content-Type": "text/csv", "Content-Length": str(50 << 30)}):
            ex.write(b"Email\r\n")
            ex.stop.wait(30)

    hostile.on("GET", EXPORT, huge)
    with pytest.raises(migkit.ResponseTooLarge, match="Content-Length"):
        hostile_client().exports.frame(COMPANY, SHEET)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_answer(data: bytes, rows: int) -> Callable:
    headers = {"Content-Type": "application/zip", "X-Total-Records": str(rows)}
    return body_answer(data, headers=headers)


def test_a_zip_bomb_member_is_refused_before_it_is_inflated(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    bomb = zip_of({"Contacts.csv": b"Email\r\n" + b"a\r\n" * (3 << 20)})  # 9 MiB in ~9 KB
    hostile.on("GET", EXPORT, zip_answer(bomb, 5))
    with pytest.raises(migkit.ExportTooLarge, match="zip_ratio"):
        hostile_client().exports.frames(COMPANY)
    assert len(hostile.requests("GET")) == 1


def test_zip_members_declaring_more_than_the_download_cap_are_refused(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    rows = "".join(f"user{n:07d}@example.com\r\n" for n in range(200_000)).encode()
    data = zip_of({"Contacts.csv": b"Email\r\n" + rows})  # 5 MiB declared, under 2 MiB sent
    assert len(data) < SMALL.download_bytes < len(rows)
    hostile.on("GET", EXPORT, zip_answer(data, 200_000))
    with pytest.raises(migkit.ExportTooLarge, match="download_bytes"):
        hostile_client(limits=SMALL).exports.frames(COMPANY)


def with_declared_size(data: bytes, size: int) -> bytes:
    # Rewrite a one-member ZIP's uncompressed size in its local header and central directory.
    out = bytearray(data)
    local = out.index(b"PK\x03\x04")
    out[local + 22 : local + 26] = struct.pack("<I", size)
    central = out.index(b"PK\x01\x02")
    out[central + 24 : central + 28] = struct.pack("<I", size)
    return bytes(out)


def test_a_zip_member_longer_than_it_declares_is_damaged_not_read_past_its_size(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    rows = "".join(f"{uuid.uuid4()}@example.com\r\n" for _ in range(2_000)).encode()
    data = with_declared_size(zip_of({"Contacts.csv": b"Email\r\n" + rows}), 1_000)
    hostile.on("GET", EXPORT, zip_answer(data, 2_000))
    with pytest.raises(migkit.ExportIncomplete, match="damaged"):
        hostile_client().exports.frames(COMPANY)


def test_zip_rows_past_the_announced_count_stop_while_inflating(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    rows = "".join(f"{uuid.uuid4()}@example.com\r\n" for _ in range(200_000)).encode()
    hostile.on("GET", EXPORT, zip_answer(zip_of({"Contacts.csv": b"Email\r\n" + rows}), 10))
    with pytest.raises(migkit.ExportIncomplete, match="reading stopped after") as info:
        hostile_client().exports.frames(COMPANY)
    assert info.value.rows is not None and info.value.rows < 200_000


# -- deadlines ---------------------------------------------------------------------------------
def test_a_dripped_body_stops_at_the_attempts_deadline(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    # 57 bytes, one every 0.3 s: 17 s in all; each read waits 0.3 s, under the read timeout.
    def drip_body(ex: Exchange) -> None:
        if ex.head(200, {"Content-Type": "application/json", "Content-Length": "57"}):
            ex.drip(SOURCES, 0.3)

    hostile.on("GET", "/api/v1/sources", drip_body)
    client = hostile_client(timeout=(0.5, 1.0))  # deadline: 1.5 s per attempt
    start = time.monotonic()
    with pytest.raises(migkit.TransportError, match=r"1\.5 s deadline"):
        client.sources.list()
    assert time.monotonic() - start < 10


def test_dripped_headers_stop_at_the_deadline_of_each_attempt(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", dripped(whole_response(SOURCES), 0.2))
    client = hostile_client(limits=migkit.ResponseLimits(deadline=1.0))
    start = time.monotonic()
    with pytest.raises(migkit.TransportError, match="1 s deadline"):
        client.sources.list()
    assert len(hostile.requests("GET")) == 2  # the retry got a deadline of its own
    assert time.monotonic() - start < 10


def test_a_stalled_export_download_stops_by_the_stall_rule(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    def stall(ex: Exchange) -> None:
        if ex.head(200, {"Content-Type": "text/csv"}):
            ex.write(b"Email\r\n")
            ex.drip(b"ann@example.com\r\n" * 100, 0.2)

    hostile.on("GET", EXPORT, stall)
    limits = migkit.ResponseLimits(stall_seconds=1.0, stall_bytes=1024)
    with pytest.raises(migkit.TransportError, match="stalled"):
        hostile_client(limits=limits).exports.frame(COMPANY, SHEET)


def test_a_signed_upload_whose_answer_drips_stops_by_the_stall_rule(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    grant = {"upload_url": hostile.base + "/upload/tok", "upload_ref": "files/c.csv"}
    hostile.on("POST", f"/api/v1/companies/{COMPANY}/uploads", json_answer(grant, 201))
    hostile.on("PUT", "/upload/*", dripped(whole_response(b"{}"), 0.3))
    limits = migkit.ResponseLimits(stall_seconds=1.0, stall_bytes=1024)
    start = time.monotonic()
    with pytest.raises(migkit.TransportError, match="stalled"):
        hostile_client(limits=limits).uploads.upload(COMPANY, b"Email\na@x.io\n", name="c.csv")
    assert time.monotonic() - start < 15


# -- Retry-After -------------------------------------------------------------------------------
def rate_limited(retry_after: str) -> Callable:
    return json_answer({"error": "Too many requests"}, 429, {"Retry-After": retry_after})


@pytest.mark.parametrize("retry_after", ["999999999", "20"])
def test_retry_after_is_honoured_up_to_the_backoff_cap(
    retry_after: str, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", json_answer({"sources": []}))
    hostile.on("GET", "/api/v1/sources", rate_limited(retry_after), times=2)
    policy = migkit.RetryPolicy(attempts=3, backoff_start=0.01, backoff_cap=1.0, jitter=0)
    assert hostile_client(retry=policy).sources.list() == []
    times = [s.at for s in hostile.requests("GET")]
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(1.0 <= gap < 8 for gap in gaps), gaps  # waited the cap, not the server's ask


def test_an_unreadable_retry_after_falls_back_to_the_backoff(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", json_answer({"sources": []}))
    hostile.on(
        "GET",
        "/api/v1/sources",
        json_answer({"error": "busy"}, 503, {"Retry-After": "soon"}),
        times=1,
    )
    assert hostile_client().sources.list() == []
    assert len(hostile.requests("GET")) == 2


def test_retry_after_never_makes_a_request_retried_that_the_policy_would_not(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    # urllib3 retries a 413 that carries Retry-After; the policy does not retry 413s.
    hostile.on(
        "GET", "/api/v1/sources", json_answer({"error": "too big"}, 413, {"Retry-After": "0"})
    )
    with pytest.raises(migkit.BadRequest):
        hostile_client().sources.list()
    assert len(hostile.requests("GET")) == 1
