"""A scripted HTTP server on loopback, for tests of a hostile or broken API server.

Each test says what a route answers (``server.on("GET", "/api/v1/sources", answer)``); an
answer is a small function of the :class:`Exchange` that writes whatever it likes to the
socket: JSON, HTML, a redirect, a body that drips or never ends, a lying ``Content-Length``.
Every request is recorded (``server.seen``), so a test can also check what did *not* arrive
(the API key at another host, a re-sent POST).

>>> with HostileServer() as server:
...     server.on("GET", "/api/v1/sources", json_answer({"sources": []}))
...     server.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError)
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 429: "Too Many Requests"}


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class Exchange:
    """One request being answered; the answer writes to ``write``."""

    def __init__(self, handler: BaseHTTPRequestHandler, seen: Seen, stop: threading.Event):
        self._handler = handler
        self.seen = seen
        self.stop = stop

    def write(self, data: bytes) -> bool:
        """Write raw bytes; False once the client has gone."""
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except GONE:
            return False
        return True

    def head(self, status: int, headers: dict[str, str] | None = None) -> bool:
        """The status line and headers (the connection closes after the answer)."""
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Whatever')}"]
        lines += [f"{k}: {v}" for k, v in {"Connection": "close", **(headers or {})}.items()]
        return self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """A complete answer with a true ``Content-Length``."""
        if self.head(status, {"Content-Length": str(len(body)), **(headers or {})}):
            self.write(body)

    def drip(self, data: bytes, interval: float) -> None:
        """Write ``data`` one byte at a time, ``interval`` seconds apart."""
        for i in range(len(data)):
            if self.stop.wait(interval) or not self.write(data[i : i + 1]):
                return

    def stream(self, chunk: bytes, limit: int = 8 << 30) -> None:
        """Write ``chunk`` again and again until the client goes (or ``limit`` bytes)."""
        sent = 0
        while sent < limit and not self.stop.is_set() and self.write(chunk):
            sent += len(chunk)


Answer = Callable[[Exchange], None]


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """A JSON answer (``data`` as is when it is already ``bytes``)."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
    return lambda ex: ex.send(status, body, {"Content-Type": "application/json", **(headers or {})})


def body_answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """Any body, with the given headers."""
    return lambda ex: ex.send(status, body, headers)


def gzip_answer(body: bytes, status: int = 200) -> Answer:
    """``body`` gzip-compressed, as ``Content-Encoding: gzip`` JSON."""
    packed = gzip.compress(body, compresslevel=6)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return lambda ex: ex.send(status, packed, headers)


def redirect(status: int, location: str) -> Answer:
    """A redirect to ``location``."""
    return lambda ex: ex.send(status, b"", {"Location": location})


class HostileServer:
    """A threaded HTTP server answering each route as scripted (404 JSON otherwise)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._routes: list[tuple[str, str, Answer, list[int]]] = []
        self._lock = threading.Lock()
        self.stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except GONE:
                    self.close_connection = True

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):
                    return self._answer
                raise AttributeError(name)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(self.command, parts.path, parts.query, dict(self.headers), body)
                owner._record(seen)
                self.close_connection = True
                owner._route(seen)(Exchange(self, seen, owner.stop))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The API base URL this server pretends to be."""
        return self.base + "/api/v1"

    def on(self, method: str, pattern: str, answer: Answer, *, times: int | None = None) -> None:
        """Answer ``method`` requests whose path matches ``pattern`` (``fnmatch``) with
        ``answer``; the newest matching rule wins, and one with ``times`` stops answering
        after that many requests (the older rules answer again)."""
        with self._lock:
            self._routes.append((method, pattern, answer, [times if times is not None else -1]))

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _route(self, seen: Seen) -> Answer:
        with self._lock:
            for method, pattern, answer, left in reversed(self._routes):
                if method == seen.method and fnmatch.fnmatchcase(seen.path, pattern) and left[0]:
                    left[0] -= 1
                    return answer
        return json_answer({"error": f"nothing scripted for {seen.method} {seen.path}"}, 404)

    def requests(self, method: str | None = None, pattern: str = "*") -> list[Seen]:
        """The requests received, optionally only one method and paths matching ``pattern``."""
        with self._lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and fnmatch.fnmatchcase(s.path, pattern)
            ]

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
