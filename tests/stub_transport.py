"""An in-memory network for fast tests of the transport's own logic: a ``requests`` adapter
that answers from a script, with a fake clock to sleep on.

The behaviour of the client against a server is tested over HTTP (the sandbox, or the hostile
server in ``tests/hostile.py``); this stub is for what needs neither sockets nor time: which
answer maps to which error, which is retried, what is counted and logged, how the budget
paces attempts.

>>> stub = StubAdapter([answer(503), answer(200, {"sources": []})])
>>> transport = stub_transport(stub)
>>> transport.call("GET", "/sources", route="/sources", idempotent=True).body
{'sources': []}
>>> [r.method for r in stub.sent], transport.requests_sent
(['GET', 'GET'], 2)
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
import requests.adapters
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from migkit._budget import RequestBudget
from migkit._http import Transport
from migkit._retry import RetryPolicy

KEY = "sk_test_stub_0123456789abcdef"
BASE_URL = "https://api.example.test/api/v1"


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status, a body and headers."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def answer(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Answer:
    """An answer with a JSON body (``{"error": ...}`` for an error status without one)."""
    if body is None and status >= 400:
        body = {"error": f"status {status}"}
    data = b"" if body is None else json.dumps(body).encode("utf-8")
    return Answer(status, data, {"Content-Type": "application/json", **(headers or {})})


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens (the request never left)."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


def dropped() -> requests.ConnectionError:
    """What requests raises when the server closes the connection without answering."""
    cause = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())
    return requests.ConnectionError(cause)


class StubAdapter(requests.adapters.BaseAdapter):
    """Answers each request with the next scripted answer (the last one repeats); an
    exception in the script is raised instead. ``sent`` keeps every request."""

    def __init__(self, script: Sequence[Answer | BaseException]) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[requests.PreparedRequest] = []

    def send(
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        self.sent.append(request)
        scripted = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(scripted, BaseException):
            raise scripted
        response = requests.Response()
        response.status_code = scripted.status
        response.headers = CaseInsensitiveDict(scripted.headers)
        response.raw = io.BytesIO(scripted.body)
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        return None


class FakeClock:
    """A clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def stub_transport(
    stub: StubAdapter,
    *,
    retry: RetryPolicy | None = None,
    budget: RequestBudget | None = None,
    clock: FakeClock | None = None,
) -> Transport:
    """A :class:`~migkit._http.Transport` on ``stub``, sleeping on ``clock`` (no jitter)."""
    clock = clock or FakeClock()
    return Transport(
        KEY,
        BASE_URL,
        timeout=(1.0, 5.0),
        retry=retry or RetryPolicy(attempts=3, jitter=0),
        budget=budget,
        adapter=stub,
        sleep=clock.sleep,
        rng=lambda: 0.0,
    )
