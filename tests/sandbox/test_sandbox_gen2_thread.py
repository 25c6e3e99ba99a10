"""The Generation-2 thread on the sandbox: durable numbered events, ``include`` levels, the
snapshot's paging, and the Server-Sent Events stream (framing, heartbeats, resuming after a
dropped connection with nothing lost or repeated, many listeners, a slow client, a client that
leaves, and a sandbox that stops with streams open)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from migkit.sandbox import Sandbox
from tests.helpers import CONTACTS, assert_error, csv_bytes
from tests.helpers_gen2 import Gen2, open_stream, raw_stream_socket, sse_messages, start_gen2

ROWS = [
    CONTACTS,
    ["ann@example.com", "Ann", "", "", "Open", "Acme"],
    ["bob@example.com", "Bob", "", "", "Done", "Acme"],
]
USER = {"message", "status", "preview", "request_input", "completed", "error"}
TOOLS = USER | {"tool_call", "tool_result", "task"}


def story(gen2: Gen2) -> str:
    """A migration whose thread holds a generate → blocked → answer → update → execute story."""
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(ROWS))], templates=["contacts"]
    )
    run = gen2.run_to_rest(migration, "generate")
    gen2.answer_and_wait(migration, run["run_id"], [{"id": "q1", "value": "Keep them flagged"}])
    gen2.run_to_rest(migration, "update", "trim Email")
    gen2.run_to_rest(migration, "execute")
    return migration


@pytest.fixture
def told(gen2: Gen2) -> str:
    return story(gen2)


# -- the snapshot ------------------------------------------------------------------------------
def test_sequences_count_from_1_without_gaps(gen2: Gen2, told: str) -> None:
    events = gen2.thread(told, "all")
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) == {"sequence", "type", "data", "created_at"} for e in events)


@pytest.mark.parametrize(("include", "types"), [("user", USER), ("tools", TOOLS)])
def test_include_levels_show_their_types_only(
    gen2: Gen2, told: str, include: str, types: set[str]
) -> None:
    everything = gen2.thread(told, "all")
    shown = gen2.thread(told, include)
    assert shown == [e for e in everything if e["type"] in types]
    assert {e["type"] for e in everything} - types  # "all" shows more


def test_the_default_include_is_user(gen2: Gen2, told: str) -> None:
    default = gen2.get(f"/migrations/{told}/thread").json()
    assert default == gen2.get(f"/migrations/{told}/thread", params={"include": "user"}).json()


def test_every_event_of_a_run_carries_its_run_id_and_kind(gen2: Gen2, told: str) -> None:
    runs = {r["run_id"]: r["kind"] for r in gen2.get(f"/migrations/{told}/runs").json()["runs"]}
    events = gen2.thread(told, "all")
    tied = [e for e in events if "run_id" in e["data"]]
    assert {e["data"]["run_id"] for e in tied} == set(runs)
    assert all(e["data"]["kind"] == runs[e["data"]["run_id"]] for e in tied)
    untied = [e for e in events if "run_id" not in e["data"]]
    assert [e["data"]["message"] for e in untied] == [
        f"contacts.csv uploaded ({len(csv_bytes(ROWS))} bytes)"
    ]


def test_an_event_written_while_a_run_is_active_carries_that_run(gen2: Gen2) -> None:
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(ROWS))], templates=["contacts"]
    )
    run = gen2.run_to_rest(migration, "generate")
    assert run["status"] == "blocked"
    gen2.upload(migration, "more.csv", csv_bytes(ROWS))
    upload = gen2.thread(migration, "user")[-1]
    assert upload["data"]["message"].startswith("more.csv uploaded")
    assert (upload["data"]["run_id"], upload["data"]["kind"]) == (run["run_id"], "generate")


def test_pages_hold_200_events_and_last_sequence_is_the_next_after(gen2: Gen2) -> None:
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(ROWS[:2]))], templates=["contacts"]
    )
    gen2.run_to_rest(migration, "generate")
    while (
        gen2.get(f"/migrations/{migration}/thread", params={"include": "all"}).json()[
            "last_sequence"
        ]
        < 200
    ):
        gen2.run_to_rest(migration, "clarify", "How many rows?")
    first = gen2.get(f"/migrations/{migration}/thread", params={"include": "all"}).json()
    assert len(first["events"]) == 200
    assert first["last_sequence"] == first["events"][-1]["sequence"] == 200
    second = gen2.get(
        f"/migrations/{migration}/thread",
        params={"include": "all", "after": first["last_sequence"]},
    ).json()
    assert second["events"][0]["sequence"] == 201
    end = gen2.get(f"/migrations/{migration}/thread", params={"after": 10_000}).json()
    assert end == {"events": [], "last_sequence": 10_000}


def test_an_empty_thread_has_last_sequence_0(gen2: Gen2) -> None:
    body = gen2.get(f"/migrations/{gen2.migration()}/thread").json()
    assert body == {"events": [], "last_sequence": 0}


@pytest.mark.parametrize("suffix", ["thread", "thread/stream"])
@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"after": "-1"}, "after must be a non-negative integer"),
        ({"after": "1.5"}, "after must be a non-negative integer"),
        ({"include": "everything"}, "include must be one of: user, tools, all"),
    ],
)
def test_bad_thread_parameters_are_400(
    gen2: Gen2, suffix: str, params: dict[str, str], needle: str
) -> None:
    response = gen2.get(f"/migrations/{gen2.migration()}/{suffix}", params=params)
    assert needle in assert_error(response, 400)


def test_a_bad_last_event_id_is_400(gen2: Gen2) -> None:
    response = gen2.get(
        f"/migrations/{gen2.migration()}/thread/stream", headers={"Last-Event-ID": "abc"}
    )
    assert "Last-Event-ID must be a non-negative integer" in assert_error(response, 400)


# -- the stream ---------------------------------------------------------------------------------
def read_events(
    response: requests.Response, until: int | None = None, count: int | None = None
) -> Iterator[dict[str, Any]]:
    """The stream's messages (not comments), up to sequence ``until`` or ``count`` of them."""
    seen = 0
    for message in sse_messages(response):
        if "data" not in message:
            continue
        yield message
        seen += 1
        if (until is not None and message["data"]["sequence"] >= until) or seen == count:
            return


def test_stream_frames_each_event_with_id_event_and_data(gen2: Gen2, told: str) -> None:
    snapshot = gen2.thread(told, "all")
    with open_stream(gen2, told, params={"include": "all"}) as response:
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-cache"
        messages = list(read_events(response, until=snapshot[-1]["sequence"]))
    assert [m["data"] for m in messages] == snapshot
    assert [m["id"] for m in messages] == [str(e["sequence"]) for e in snapshot]
    assert [m["event"] for m in messages] == [e["type"] for e in snapshot]


def test_stream_opens_with_a_retry_hint(gen2: Gen2) -> None:
    with open_stream(gen2, gen2.migration()) as response:
        assert next(response.iter_lines(decode_unicode=True)) == "retry: 2000"


def test_stream_honours_include(gen2: Gen2, told: str) -> None:
    snapshot = gen2.thread(told, "user")
    with open_stream(gen2, told) as response:
        messages = list(read_events(response, until=snapshot[-1]["sequence"]))
    assert [m["data"] for m in messages] == snapshot


@pytest.fixture(scope="module")
def beating() -> Iterator[Sandbox]:
    """A sandbox whose idle streams send a heartbeat every 0.2 s."""
    with start_gen2(heartbeat_seconds=0.2) as sb:
        yield sb


def test_an_idle_stream_sends_heartbeat_comments(beating: Sandbox) -> None:
    gen2 = Gen2(beating.base_url, beating.api_key)
    with open_stream(gen2, gen2.migration()) as response:
        comments = []
        for message in sse_messages(response):
            if "comment" in message:
                comments.append(message["comment"])
            if len(comments) == 3:
                break
    assert comments == ["heartbeat"] * 3


def test_stream_delivers_events_written_after_it_opened(beating: Sandbox) -> None:
    gen2 = Gen2(beating.base_url, beating.api_key)
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(ROWS[:2]))], templates=["contacts"]
    )
    with open_stream(gen2, migration, params={"after": "1"}) as response:
        run_id = gen2.start(migration, "generate").json()["run_id"]
        messages = []
        for message in read_events(response):
            messages.append(message)
            if message["event"] == "completed":
                break
    assert {m["data"]["data"]["run_id"] for m in messages} == {run_id}
    assert messages[-1]["data"]["data"]["status"] == "awaiting_approval"


@pytest.mark.parametrize("how", ["Last-Event-ID", "after"])
def test_a_dropped_stream_resumes_with_nothing_lost_or_repeated(
    gen2: Gen2, told: str, how: str
) -> None:
    snapshot = gen2.thread(told, "all")
    with open_stream(gen2, told, params={"include": "all"}) as response:
        first = list(read_events(response, count=7))
    last = first[-1]["id"]  # the connection is dropped here, mid-stream
    resume: dict[str, Any] = (
        {"headers": {"Last-Event-ID": last}, "params": {"include": "all"}}
        if how == "Last-Event-ID"
        else {"params": {"include": "all", "after": last}}
    )
    with open_stream(gen2, told, **resume) as response:
        rest = list(read_events(response, until=snapshot[-1]["sequence"]))
    assert [m["data"] for m in first + rest] == snapshot


def test_last_event_id_wins_over_after(gen2: Gen2, told: str) -> None:
    with open_stream(
        gen2, told, params={"after": "1", "include": "all"}, headers={"Last-Event-ID": "5"}
    ) as response:
        [message] = list(read_events(response, count=1))
    assert message["id"] == "6"


def test_many_listeners_each_get_every_event_in_order(beating: Sandbox) -> None:
    gen2 = Gen2(beating.base_url, beating.api_key)
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(ROWS[:2]))], templates=["contacts"]
    )
    received: list[list[int]] = [[] for _ in range(20)]
    ready = threading.Barrier(21)

    def listen(into: list[int]) -> None:
        with open_stream(gen2, migration, params={"include": "all"}) as response:
            ready.wait(timeout=30)
            for message in read_events(response):
                into.append(message["data"]["sequence"])
                if message["event"] == "completed":
                    return

    listeners = [threading.Thread(target=listen, args=(r,)) for r in received]
    for listener in listeners:
        listener.start()
    ready.wait(timeout=30)
    gen2.start(migration, "generate")
    for listener in listeners:
        listener.join(timeout=60)
    expected = [e["sequence"] for e in gen2.thread(migration, "all")]
    assert all(r == expected for r in received), received


def test_a_client_that_never_reads_does_not_hold_up_runs_or_other_listeners(samples: Any) -> None:
    with start_gen2(step_seconds=0.01) as sb:
        gen2 = Gen2(sb.base_url, sb.api_key)
        workbook = (samples / "agent_workbook.xlsx").read_bytes()
        migration = gen2.migration_with_files([("agent_workbook.xlsx", workbook)])
        slow = raw_stream_socket(gen2, migration)
        try:
            with open_stream(gen2, migration, params={"include": "all"}) as fast:
                run = gen2.run_to_rest(migration, "generate")
                answers = [{"id": q["id"], "value": "Keep them flagged"} for q in run["questions"]]
                gen2.answer_and_wait(migration, run["run_id"], answers)
                for _ in range(5):
                    assert gen2.run_to_rest(migration, "update", "trim Email")["status"] == (
                        "awaiting_approval"
                    )
                assert gen2.run_to_rest(migration, "execute")["status"] == "completed"
                expected = gen2.thread(migration, "all")
                got = list(read_events(fast, until=expected[-1]["sequence"]))
                assert [m["data"] for m in got] == expected
            # Only now does the slow client read: everything is there, once, in order.
            slow.settimeout(10)
            data = b""
            wanted = f"id: {expected[-1]['sequence']}\n".encode()
            while wanted not in data:
                data += slow.recv(65536)
            ids = [int(line[4:]) for line in data.split(b"\n") if line.startswith(b"id: ")]
            assert ids == [e["sequence"] for e in expected]
        finally:
            slow.close()


def stream_threads() -> int:
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def request_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def test_a_client_that_leaves_frees_its_server_thread_before_any_heartbeat() -> None:
    with start_gen2() as sb:  # heartbeats every 15 s: leaving must be noticed without them
        gen2 = Gen2(sb.base_url, sb.api_key)
        migration = gen2.migration()
        # The threads present now may end at any time (a loaded machine finishes earlier
        # requests late): follow the new ones, not a count.
        before = request_threads()
        sockets = [raw_stream_socket(gen2, migration) for _ in range(5)]
        assert wait_for(lambda: len(request_threads() - before) >= 5)
        streams = request_threads() - before
        for sock in sockets:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        assert wait_for(lambda: not (request_threads() & streams), timeout=5)


def test_stopping_the_sandbox_ends_open_streams() -> None:
    baseline = stream_threads()
    sb = start_gen2()
    gen2 = Gen2(sb.base_url, sb.api_key)
    migration = gen2.migration()
    responses = [open_stream(gen2, migration) for _ in range(3)]
    stopper = threading.Thread(target=sb.stop)
    stopper.start()
    stopper.join(timeout=20)
    assert not stopper.is_alive()
    for response in responses:
        assert b"".join(response.iter_content(1024)).startswith(b"retry:")  # then it ends
        response.close()
    assert wait_for(lambda: stream_threads() <= baseline, timeout=5)
