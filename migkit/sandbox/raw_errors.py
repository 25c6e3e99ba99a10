"""``{"error"}`` bodies for the answers Flask never writes.

Flask's error handlers cover whatever a view raises. Two kinds of answer escape them, and would
otherwise go out as HTML pages:

- what the HTTP server refuses before any app runs (``http.server``'s ``send_error``): a
  request line over 64 KiB (414), a header line over 64 KiB or more than 100 headers (431), a
  malformed request line (400), an unsupported HTTP version (505);
- a streamed body (an export) that fails before its first chunk, which Werkzeug would answer
  with its HTML 500 page. :class:`JsonErrorsMiddleware` turns that into the JSON 500 (after the
  first chunk the status is sent: the body is cut, and the client sees a broken stream).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger("migkit.sandbox")

SERVER_MESSAGES: dict[int, str] = {
    HTTPStatus.REQUEST_URI_TOO_LONG: (
        "The request line (method, path and query string) is longer than 64 KiB; "
        "send fewer or shorter query parameters"
    ),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        "The request headers are too large (a header line over 64 KiB, or more than 100 "
        "headers); send fewer or shorter headers"
    ),
    HTTPStatus.BAD_REQUEST: "The request line or headers are malformed; send valid HTTP/1.1",
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: "Only HTTP/1.0 and HTTP/1.1 are served here",
}


def error_body(message: str) -> bytes:
    """The JSON bytes of ``{"error": message}``.

    >>> error_body("No such endpoint")
    b'{"error":"No such endpoint"}'
    """
    return json.dumps({"error": message}, separators=(",", ":")).encode("utf-8")


SERVER_ERROR = error_body("Server error")


class JsonErrorHandler(WSGIRequestHandler):
    """Werkzeug's request handler, quiet per request, answering its own errors in JSON."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
        text = SERVER_MESSAGES.get(code) or message or reason
        self.log_error("code %d, message %s", code, message or reason)
        if self.request_version == "HTTP/0.9":  # a line too broken to parse: http.server would
            self.request_version = "HTTP/1.0"  # answer with a bare body; send a status line
        self.send_response(code, reason)
        self.send_header("Connection", "close")
        self.close_connection = True
        body = b""
        if code >= 200 and code not in (204, 205, 304):
            body = error_body(text)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class JsonErrorsMiddleware:
    """Wraps the WSGI app: a body that raises before its first chunk becomes a JSON 500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = self.app(environ, start_response)
        iterator = iter(body)
        try:
            first = next(iterator, None)
        except Exception:
            log.exception("sandbox response body failed before its first byte")
            _close(body)
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(SERVER_ERROR))),
            ]
            start_response("500 INTERNAL SERVER ERROR", headers, sys.exc_info())
            return [SERVER_ERROR]
        return _rest(first, iterator, body)


def _rest(first: bytes | None, iterator: Iterator[bytes], body: Iterable[bytes]) -> Iterator[bytes]:
    try:
        if first is not None:
            yield first
        yield from iterator
    finally:
        _close(body)


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
