"""The thread live: ``client.migrations.stream`` over SSE (``sseclient-py`` on the transport's
streamed body), resuming with ``Last-Event-ID`` after a drop with nothing lost or repeated,
falling back to polling the snapshot when there is no stream; ``wait`` driven by the stream.

A hostile loopback server scripts the drops exactly (a stream cut in the middle of an event,
a server that resends what was given); the sandbox serves the real thing.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

import migkit
import migkit.sandbox
from migkit.migration_models import ThreadEvent
from migkit.polling import PollEvent
from tests.conftest import TINY_POLL
from tests.helpers_client_gen2 import Tamper, clean_contacts
from tests.helpers_gen2 import Gen2
from tests.hostile import Exchange, HostileServer, json_answer

Make = Callable[..., migkit.Client]
KEY = "sk_test_stream_0123456789abcdef"


def frame(seq: int, type_: str = "status", text: str = "") -> bytes:
    event = {
        "sequence": seq,
        "type": type_,
        "created_at": "2026-01-01T00:00:00Z",
        "data": {"run_id": "r1", "kind": "generate", "message": text or f"step {seq}"},
    }
    return f"id: {seq}\nevent: {type_}\ndata: {json.dumps(event)}\n\n".encode()


def sse(exchange: Exchange, body: bytes) -> None:
    exchange.head(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    exchange.write(body)  # then the connection closes: a drop


def take(iterator: Any, n: int) -> list[ThreadEvent]:
    return list(itertools.islice(iterator, n))


def test_a_dropped_stream_resumes_with_last_event_id_nothing_lost_or_repeated(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client]
) -> None:
    path = "/api/v1/migrations/m1/thread/stream"
    # 1st connection: events 1-3, then half of event 4 and a cut. 2nd: the server resends 3
    # (a sloppy server), then 4-5 and a clean close. 3rd: 6, then the test stops reading.
    hostile.on("GET", path, lambda ex: sse(ex, frame(6) + b": heartbeat\n\n"))
    hostile.on("GET", path, lambda ex: sse(ex, frame(3) + frame(4) + frame(5)), times=1)
    hostile.on(
        "GET", path, lambda ex: sse(ex, frame(1) + frame(2) + frame(3) + frame(4)[:30]), times=1
    )
    client = hostile_client()
    events = take(client.migrations.stream("m1"), 6)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[3].text == "step 4" and events[3].run_id == "r1"
    asked = hostile.requests("GET", path)
    assert [s.headers.get("Last-Event-ID") for s in asked] == [None, "3", "5"]
    assert all(s.headers.get("x-api-key") for s in asked)
    assert "after=3" in asked[1].query


@pytest.mark.parametrize(
    "answer",
    [
        json_answer({"error": "Not Found"}, 404),
        json_answer({"error": "Not Implemented"}, 501),
        json_answer({"events": []}, 200),  # not text/event-stream
    ],
    ids=["404", "501", "json"],
)
def test_without_a_stream_the_snapshot_is_polled(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client], answer: Any
) -> None:
    hostile.on("GET", "/api/v1/migrations/m1/thread/stream", answer)
    pages = [
        {
            "events": [
                json.loads(frame(1).split(b"data: ")[1]),
                json.loads(frame(2).split(b"data: ")[1]),
            ],
            "last_sequence": 2,
        },
        {"events": [], "last_sequence": 2},
        {"events": [json.loads(frame(3).split(b"data: ")[1])], "last_sequence": 3},
    ]
    hostile.on("GET", "/api/v1/migrations/m1/thread", json_answer(pages[1] | {"last_sequence": 3}))
    for page in reversed(pages):
        hostile.on("GET", "/api/v1/migrations/m1/thread", json_answer(page), times=1)
    client = hostile_client()
    events = take(client.migrations.stream("m1"), 3)
    assert [e.sequence for e in events] == [1, 2, 3]
    afters = [s.query for s in hostile.requests("GET", "/api/v1/migrations/m1/thread")]
    assert [q.split("&")[0] for q in afters] == ["after=0", "after=2", "after=2", "after=3"]


def test_the_sandbox_stream_gives_a_runs_events_in_order_as_the_snapshot(
    make_client: Make, gen2: Gen2
) -> None:
    client = make_client()
    m = client.migrations.create("Live", external_id="g2c-live")
    client.migrations.upload(m, {"c.csv": clean_contacts("live")})
    seen: list[ThreadEvent] = []
    done = threading.Event()

    def follow() -> None:
        for event in client.migrations.stream(m, include="all"):
            seen.append(event)
            if event.type == "completed":
                done.set()
                return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    run = client.migrations.generate(m)
    assert done.wait(30), [e.type for e in seen]
    snapshot = client.migrations.events(m, include="all")
    upto = [e for e in snapshot if e.sequence <= seen[-1].sequence]
    assert [e.sequence for e in seen] == [e.sequence for e in upto]
    assert [e.raw for e in seen] == [e.raw for e in upto]
    assert seen[-1].run_id == run.id


def test_a_stream_cut_by_the_sandbox_is_resumed_without_loss(tmp_path: Any) -> None:
    # The sandbox's cut_stream fault drops streamed bodies partway through.
    with (
        migkit.sandbox.start(
            api_key=KEY, step_seconds=0.01, rate_limit=100_000, faults="cut_stream=0.5,seed=7"
        ) as sb,
        migkit.Client(KEY, sb.base_url, ledger=None, progress=False, poll=TINY_POLL) as client,
    ):
        m = client.migrations.create("Cut")
        client.migrations.upload(m, {"c.csv": clean_contacts("cut")})
        client.migrations.generate(m).wait(stream=False)
        snapshot = client.migrations.events(m, include="all")
        streamed = take(client.migrations.stream(m, include="all"), len(snapshot))
    assert [e.raw for e in streamed] == [e.raw for e in snapshot]


def test_wait_follows_the_stream_with_few_requests_and_moves_progress(
    slow_gen2: Gen2, tmp_path: Any
) -> None:
    base = slow_gen2.base_url
    progress: list[PollEvent[Any]] = []
    quarter = migkit.PollSchedule(first=0.25, growth=0, cap=0.25, jitter=0)  # a fixed poller
    with migkit.Client(
        slow_gen2.api_key, base, ledger=None, progress=False, poll=quarter
    ) as client:
        m = client.migrations.create("Slow")
        client.migrations.upload(m, {"c.csv": clean_contacts("slow")})
        run = client.migrations.generate(m)
        before = client.requests_sent
        done = client.migrations.wait(run, on_progress=progress.append)
        streamed = client.requests_sent - before
        polled_run = client.migrations.update(m, "trim Email")
        before = client.requests_sent
        client.migrations.wait(polled_run, stream=False)
        polled = client.requests_sent - before
    assert done.status == "awaiting_approval"
    messages = [p.run.message for p in progress if p.run.message]
    assert len(set(messages)) >= 3  # the agent's steps, as they were written
    assert streamed <= 8 and streamed * 3 < polled, (streamed, polled)


def test_a_sandbox_without_the_stream_still_waits(tmp_path: Any) -> None:
    with migkit.sandbox.start(api_key=KEY, step_seconds=0.01, rate_limit=100_000) as sb:
        tamper = Tamper.attach(sb)
        tamper.refuse("GET", r"/thread/stream$", status=404)
        with migkit.Client(KEY, sb.base_url, ledger=None, progress=False, poll=TINY_POLL) as client:
            m = client.migrations.create("NoStream")
            client.migrations.upload(m, {"c.csv": clean_contacts("nostream")})
            assert client.migrations.generate(m).wait(timeout=30).status == "awaiting_approval"
        assert tamper.count("GET", r"/thread/stream$") >= 1


def test_a_redirected_stream_is_refused_at_once(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client]
) -> None:
    from tests.hostile import redirect

    hostile.on("GET", "/api/v1/migrations/m1/thread/stream", redirect(307, "http://evil.example/"))
    with pytest.raises(migkit.errors.UnexpectedRedirect):
        next(iter(hostile_client().migrations.stream("m1")))
    assert len(hostile.requests("GET", "/api/v1/migrations/m1/thread/stream")) == 1
