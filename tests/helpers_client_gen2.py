"""Helpers for the Generation-2 client tests: a WSGI wrapper that makes a real sandbox lose
answers on chosen routes (the handler runs and commits, the client gets a 500), or answer a
route with an error of its own, and small builders of files.

The wrapper goes in front of the sandbox's app in process (as ``tests.fleet.RequestLog``); the
sandbox itself is unchanged and still reached over HTTP on loopback.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from migkit.sandbox import Sandbox
from tests.helpers import CONTACTS, csv_bytes


def clean_contacts(tag: str, count: int = 3) -> bytes:
    """A contacts CSV that the agent maps without a question (every value allowed)."""
    rows = [
        [f"{tag}-{n}@g2.example", "Ada", tag, "+1 555 0100", "Open", "Acme"] for n in range(count)
    ]
    return csv_bytes([CONTACTS, *rows])


class Tamper:
    """In front of a sandbox's app: ``lose(method, pattern, times)`` lets the handler run (and
    commit) and answers 500 instead; ``refuse(method, pattern, status)`` answers an error
    without running the handler. ``seen`` counts every request per ``METHOD path``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._rules: list[tuple[str, re.Pattern[str], str, int, list[int]]] = []
        self._lock = threading.Lock()
        self.seen: list[str] = []

    @classmethod
    def attach(cls, sandbox: Sandbox) -> Tamper:
        server = sandbox._server
        tamper = cls(server.app)
        server.app = tamper
        return tamper

    def lose(self, method: str, pattern: str, times: int = 1) -> None:
        self._rules.append((method, re.compile(pattern), "lose", 500, [times, 0]))

    def refuse(
        self, method: str, pattern: str, status: int = 404, times: int = 10**9, after: int = 0
    ) -> None:
        """Answer ``status`` to the matching requests after the first ``after`` of them."""
        self._rules.append((method, re.compile(pattern), "refuse", status, [times, after]))

    def count(self, method: str, pattern: str) -> int:
        rx = re.compile(pattern)
        with self._lock:
            paths = [s.partition(" ")[2] for s in self.seen if s.startswith(method + " ")]
        return sum(1 for path in paths if rx.search(path))

    def _rule(self, method: str, path: str) -> tuple[str, int] | None:
        with self._lock:
            self.seen.append(f"{method} {path}")
            for want, rx, action, status, left in self._rules:
                if want == method and rx.search(path) and left[0] > 0:
                    if left[1] > 0:
                        left[1] -= 1
                        continue
                    left[0] -= 1
                    return action, status
        return None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        rule = self._rule(method, environ.get("PATH_INFO", ""))
        if rule is None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        action, status = rule
        if action == "lose":
            body = b"".join(self.app(environ, lambda *a, **k: None))  # the handler commits
            del body
        start_response(f"{status} Tampered", [("Content-Type", "application/json")])
        return [b'{"error": "tampered by the test"}']
