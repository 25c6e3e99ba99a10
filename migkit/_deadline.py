"""Deadlines for whole HTTP attempts, enforced where the bytes move: at the socket.

``requests``' timeouts bound each wait for a byte, not the attempt, so a server that drips one
byte every half second keeps a call alive for as long as it likes (a 57-byte body took 28 s
with ``timeout=(2, 3)``). Here every connection migkit opens wraps its socket, and each send
or receive first asks the attempt's :class:`Deadline` how long it may block, failing at once
when no time is left. That bounds the status line, the headers, the body and a slow request
body alike, without a watchdog thread.

Which deadline applies is decided when a request goes out on a connection: inside
:func:`planned`, the current thread's :class:`Plan` starts a fresh :class:`Deadline` for it.
Each retry urllib3 makes is a new request on a connection, so each attempt gets its own
deadline. The deadline stays with the connection until its next request, so a streamed body
read after ``requests`` returned is still bounded.

A stream (an export download, a signed upload) cannot have a fixed end, since its size is the
customer's: :meth:`Deadline.streaming` switches to a progress rule, under which the attempt
lives while at least ``stall_bytes`` move in every ``stall_seconds``. Size caps bound the total.

>>> plan = Plan(seconds=5.0)
>>> deadline = plan.start()
>>> 0 < deadline.remaining() <= 5.0
True
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SEND_PIECE = 64 << 10  # a large request body is sent in pieces, each under the deadline
SLACK = 0.05  # seconds a socket timeout may run past the deadline rather than be re-set


class DeadlinePassed(TimeoutError):
    """A socket operation found its attempt's deadline already passed (or it passed while the
    operation waited). urllib3 and requests treat it as the read timeout it is."""


class Deadline:
    """When one attempt must be over (or, for a stream, the progress it must keep making)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.end = clock() + seconds
        self.reason = f"no complete answer within the {seconds:g} s deadline"
        self.expired = False  # set once an operation ran out of time
        self._stall: tuple[float, int] | None = None
        self._moved = 0

    def streaming(self, seconds: float, min_bytes: int) -> None:
        """From now on, alive while at least ``min_bytes`` move in every ``seconds``."""
        self._stall = (seconds, min_bytes)
        self._moved = 0
        self.end = self._clock() + seconds
        self.reason = f"the transfer stalled: less than {min_bytes:,} bytes in {seconds:g} s"

    def remaining(self) -> float:
        """Seconds left; raises :class:`DeadlinePassed` when there are none."""
        left = self.end - self._clock()
        if left <= 0:
            self.expired = True
            raise DeadlinePassed(self.reason)
        return left

    def passed(self) -> bool:
        """True when the deadline is over (marks it expired)."""
        if self._clock() >= self.end:
            self.expired = True
        return self.expired

    def moved(self, count: int) -> None:
        """Note ``count`` bytes sent or received; a stream earns more time with each
        ``min_bytes``."""
        if self._stall is None or count <= 0:
            return
        self._moved += count
        seconds, min_bytes = self._stall
        if self._moved >= min_bytes:
            self._moved = 0
            self.end = self._clock() + seconds


@dataclass
class Plan:
    """The deadline every attempt started under :func:`planned` gets; ``last`` is the newest
    attempt's (to switch it to streaming, or to tell a deadline from other timeouts)."""

    seconds: float
    stall: tuple[float, int] | None = None  # (seconds, bytes): a stream from the first byte
    clock: Callable[[], float] = time.monotonic
    last: Deadline | None = field(default=None, repr=False)

    def start(self) -> Deadline:
        """A fresh deadline for a request that is going out now."""
        deadline = Deadline(self.seconds, self.clock)
        if self.stall is not None:
            deadline.streaming(*self.stall)
        self.last = deadline
        return deadline


_local = threading.local()


@contextmanager
def planned(plan: Plan) -> Iterator[Plan]:
    """Give every request this thread sends inside the block a deadline from ``plan``."""
    previous = getattr(_local, "plan", None)
    _local.plan = plan
    try:
        yield plan
    finally:
        _local.plan = previous


class _TimedSocket:
    """A connection's socket whose every send and receive is bounded by the deadline of the
    request the connection is serving (``owner.deadline``); everything else is delegated."""

    def __init__(self, sock: Any, owner: Any) -> None:
        self._sock = sock
        self._owner = owner
        self._base: float | None = sock.gettimeout()  # the read timeout urllib3 asked for
        self._set: float | None = self._base  # what the socket holds now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._base = self._set = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._base

    def _limit(self, left: float) -> None:
        # The socket may block for the read timeout or the time left, whichever is shorter.
        # Re-set only when that moves by more than SLACK: a syscall per read would cost ~15%
        # of loopback throughput, and the deadline is not that exact anyway.
        wanted = left if self._base is None else min(self._base, left)
        if self._set is None or abs(self._set - wanted) > SLACK:
            self._sock.settimeout(wanted)
            self._set = wanted

    def _io(self, operation: Callable[..., Any], *args: Any) -> Any:
        deadline: Deadline | None = self._owner.deadline
        if deadline is None:
            if self._set != self._base:
                self.settimeout(self._base)
            return operation(*args)
        self._limit(deadline.remaining())
        try:
            result = operation(*args)
        except TimeoutError:
            if deadline.passed():
                raise DeadlinePassed(deadline.reason) from None
            raise
        deadline.moved(len(result) if isinstance(result, bytes) else int(result or 0))
        return result

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return int(self._io(self._sock.recv_into, buffer, nbytes, flags))

    def recv(self, size: int, flags: int = 0) -> bytes:
        return bytes(self._io(self._sock.recv, size, flags))

    def send(self, data: Any, flags: int = 0) -> int:
        return int(self._io(self._sock.send, data, flags))

    def sendall(self, data: Any, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), SEND_PIECE):
            piece = view[start : start + SEND_PIECE]
            self._io(self._sock.sendall, piece, flags)
            deadline = self._owner.deadline
            if deadline is not None:
                deadline.moved(len(piece))

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any) -> Any:
        if mode != "rb" or not isinstance(self._sock, socket.socket):
            return self._sock.makefile(mode, buffering, **kwargs)
        # What socket.makefile does, with the reads going through this wrapper; the real
        # socket counts the file as a user, so closing the connection (http.client does on
        # "Connection: close") waits until the body is read, as it does without the wrapper.
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        self._sock._io_refs += 1  # type: ignore[attr-defined]
        return io.BufferedReader(raw, buffering or io.DEFAULT_BUFFER_SIZE)


def _next_deadline() -> Deadline | None:
    plan: Plan | None = getattr(_local, "plan", None)
    return plan.start() if plan is not None else None


class _TimedConnection:
    """What a urllib3 connection gains: a wrapped socket, and a deadline per request."""

    deadline: Deadline | None = None
    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.sock = _TimedSocket(self.sock, self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        self.deadline = _next_deadline()
        super().request(*args, **kwargs)  # type: ignore[misc]


class _TimedHTTPConnection(_TimedConnection, HTTPConnection):
    pass


class _TimedHTTPSConnection(_TimedConnection, HTTPSConnection):
    pass


class _TimedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TimedHTTPConnection


class _TimedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TimedHTTPSConnection


TIMED_POOLS = {"http": _TimedHTTPPool, "https": _TimedHTTPSPool}


class TimedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose connections honour :func:`planned` deadlines."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(TIMED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools bring their own connections
            manager.pool_classes_by_scheme = dict(TIMED_POOLS)
        return manager
