"""What migkit accepts from a server: the caps of :class:`ResponseLimits`, and JSON answers
decoded and checked before anything reads them.

An API answer is read into memory only up to ``json_bytes`` (counted after gzip is undone, so
a small compressed body cannot expand past it), decoded, and must be a JSON object. Resources
build their typed results through :meth:`Answer.parse`, which turns a body of the wrong shape
(a missing or null id, a list where an object belongs) into one
:class:`~migkit.errors.UnexpectedResponse` naming the request, instead of a ``KeyError``
escaping from deep inside, or a ``Run(id='None')`` reaching the ledger.

>>> answer = Answer("GET", "/sources", 200, {"sources": []})
>>> answer.parse(lambda body: len(body["sources"]))
0
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from migkit.errors import MigkitError, UnexpectedResponse
from migkit.printable import printable

T = TypeVar("T")
EXCERPT_CHARS = 200
ERROR_BODY_BYTES = 64 << 10  # an error status's body: the message is in the first few bytes


@dataclass(frozen=True)
class ResponseLimits:
    """Caps on what one answer from a server may cost. Pass to ``Client(limits=...)``.

    - ``deadline``: seconds one attempt of an API call may take, from sending the request to
      the last byte of the answer (each retry gets its own). ``None``: the connect timeout plus
      the read timeout of ``Client(timeout=...)`` (130 s by default).
    - ``json_bytes``: the largest API answer read, after decompression (32 MiB).
    - ``download_bytes``: the largest export download, after decompression, and the most a
      ZIP export may declare it inflates to (16 GiB).
    - ``stall_seconds`` / ``stall_bytes``: a download or a signed upload goes on while at
      least ``stall_bytes`` move in every ``stall_seconds`` (16 KiB in 30 s), however long it
      takes in all.
    - ``zip_ratio``: the most a ZIP export member over 1 MiB may inflate relative to its
      compressed size (200; CSV rarely passes 20, a ZIP bomb passes 1000).

    >>> ResponseLimits().deadline_for((10.0, 120.0))
    130.0
    >>> ResponseLimits(deadline=600).deadline_for(5.0)
    600.0
    """

    deadline: float | None = None
    json_bytes: int = 32 << 20
    download_bytes: int = 16 << 30
    stall_seconds: float = 30.0
    stall_bytes: int = 16 << 10
    zip_ratio: float = 200.0

    def deadline_for(self, timeout: float | tuple[float, float]) -> float:
        """The deadline of one attempt, given ``Client(timeout=...)``."""
        if self.deadline is not None:
            return float(self.deadline)
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        return float(connect + read)


@dataclass(frozen=True)
class Answer:
    """A decoded 2xx JSON answer and what is needed to blame it if its shape is wrong."""

    method: str
    path: str
    status: int
    body: dict[str, Any]
    excerpt: str = field(default="", repr=False)

    def parse(self, build: Callable[[dict[str, Any]], T]) -> T:
        """``build(body)``; a body it cannot read raises
        :class:`~migkit.errors.UnexpectedResponse`."""
        try:
            return build(self.body)
        except MigkitError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise UnexpectedResponse(
                self.method,
                self.path,
                self.status,
                f"a body of the wrong shape ({_what(exc)})",
                self.excerpt,
            ) from exc


def _what(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {printable(exc.args[0] if exc.args else '?', limit=80)!s} field"
    return printable(exc, limit=200)


def excerpt(data: bytes, secret: str | None) -> str:
    """The start of a body for a message: the ``secret`` (the API key) redacted, even where
    the cut falls inside it, and control characters escaped."""
    text = data[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    if secret:
        text = text.replace(secret, "<api key>")
        for size in range(min(len(secret), len(text)), 3, -1):  # a key the cut fell inside
            if text.endswith(secret[:size]):
                text = text[:-size] + "<api key>"
                break
    return printable(text.strip(), limit=EXCERPT_CHARS)


def decode_json(data: bytes, method: str, path: str, status: int, shown: str) -> dict[str, Any]:
    """The JSON object in ``data`` (``{}`` for an empty body), else
    :class:`~migkit.errors.UnexpectedResponse` saying what came instead."""
    if not data.strip():
        return {}
    # Neither cause is chained. A JSONDecodeError keeps the whole body in ``.doc``, where a
    # server that echoes the request would have put the API key (the excerpt is redacted);
    # a RecursionError's traceback is a thousand frames of the decoder.
    try:
        body = json.loads(data)
    except RecursionError:
        raise UnexpectedResponse(method, path, status, "JSON nested too deeply", shown) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an absurd integer
        raise UnexpectedResponse(method, path, status, _not_json(data, exc), shown) from None
    if not isinstance(body, dict):
        kind = type(body).__name__.replace("NoneType", "null")
        raise UnexpectedResponse(
            method, path, status, f"JSON that is a {kind}, not an object", shown
        )
    return body


def _not_json(data: bytes, exc: ValueError) -> str:
    start = data.lstrip()[:1]
    if start == b"<":
        return "HTML (or XML), not JSON"
    position = getattr(exc, "pos", None)
    message = str(getattr(exc, "msg", ""))
    at_end = position is not None and position >= len(data.rstrip())
    if start in (b"{", b"[") and (at_end or message.startswith("Unterminated string")):
        return "JSON that is cut off"
    return "a body that is not JSON"
