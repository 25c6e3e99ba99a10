"""Keeping credentials out of errors: a server (or a proxy) may echo what it was sent, and an
error carries the server's words. :func:`scrubbed` blanks every secret value out of an error's
message, body and excerpt, and drops its chained causes, before it reaches the caller.

>>> from migkit.errors import BadRequest
>>> exc = scrubbed(BadRequest(400, "bad token hunter2"), ["hunter2"])
>>> "hunter2" in str(exc), exc.server_message
(False, 'bad token <secret>')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from migkit.errors import MigkitError

HIDDEN = "<secret>"


def _blank(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, HIDDEN)
    return text


def _blank_any(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _blank(value, secrets)
    try:
        return json.loads(_blank(json.dumps(value), secrets))
    except (TypeError, ValueError):
        return None


def scrubbed(exc: MigkitError, values: Iterable[Any]) -> MigkitError:
    """``exc`` with every value of ``values`` (as text, also JSON-escaped) replaced by
    ``<secret>`` in its message and evidence, and its causes dropped."""
    secrets: list[str] = []
    for value in values:
        text = str(value)
        if text:
            secrets += [text, json.dumps(text)[1:-1]]
    secrets = sorted(set(secrets), key=len, reverse=True)
    for name in ("server_message", "body_excerpt", "excerpt", "problem"):
        if isinstance(getattr(exc, name, None), str):
            setattr(exc, name, _blank(getattr(exc, name), secrets))
    if hasattr(exc, "body"):
        exc.body = _blank_any(exc.body, secrets)
    exc.args = tuple(_blank(str(a), secrets) for a in exc.args)
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True
    return exc
