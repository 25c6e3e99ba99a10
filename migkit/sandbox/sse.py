"""Server-Sent Events framing and the follow loop behind ``GET …/thread/stream``.

Each event is ``id: <sequence>``, ``event: <type>``, ``data: <event JSON>`` and a blank line; a
``: heartbeat`` comment goes out when nothing was sent for the heartbeat interval. The loop runs
in the request's own thread (Werkzeug serves each connection on one): it sleeps on the thread
:class:`~migkit.sandbox.thread.Hub`, reads new events itself, and ends when the client leaves
(seen within ``poll`` seconds, also between heartbeats) or the sandbox stops.

>>> frame({"sequence": 3, "type": "status", "data": {}, "created_at": "t"})
b'id: 3\\nevent: status\\ndata: {"sequence":3,"type":"status","data":{},"created_at":"t"}\\n\\n'
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from typing import Any

from migkit.sandbox.store import Store, dumps
from migkit.sandbox.thread import Hub, page

RETRY_MS = 2000
HEARTBEAT = b": heartbeat\n\n"


def frame(event: dict[str, Any]) -> bytes:
    """One event as an SSE message (its JSON is one line: ``data`` needs no splitting)."""
    return f"id: {event['sequence']}\nevent: {event['type']}\ndata: {dumps(event)}\n\n".encode()


def client_gone(sock: socket.socket | None) -> bool:
    """True when the client closed its end (an SSE client never sends after its request)."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # reset, or already closed
        return True


def follow(
    store: Store,
    hub: Hub,
    migration_id: str,
    after: int,
    include: str,
    heartbeat: float,
    sock: socket.socket | None,
    poll: float = 0.5,
) -> Iterator[bytes]:
    """The stream's body: every event after ``after`` that ``include`` shows, then new ones
    as they are written, with heartbeats, until the client leaves or the sandbox stops."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    cursor, last_sent = after, time.monotonic()
    while not hub.closed:
        seen = hub.version  # before reading: a write after this read still wakes us
        events = page(store, migration_id, cursor, include)
        if events:
            yield b"".join(frame(e) for e in events)
            cursor, last_sent = events[-1]["sequence"], time.monotonic()
            continue
        if client_gone(sock):
            return
        quiet = time.monotonic() - last_sent
        if quiet >= heartbeat:
            yield HEARTBEAT
            last_sent = time.monotonic()
            continue
        hub.wait(seen, min(poll, heartbeat - quiet))
