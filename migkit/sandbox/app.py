"""The sandbox's Flask application: hooks for faults, auth and rate limits, and error bodies."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any, cast

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from migkit.sandbox import (
    routes_companies,
    routes_exports,
    routes_imports,
    routes_migrations,
    routes_runs,
    routes_source,
    routes_thread,
)
from migkit.sandbox.http import ErrorResponse, size_text
from migkit.sandbox.state import SandboxState, current_state

API_PREFIX = "/api/v1"
STORAGE_PREFIX = "/storage/v1/"
OPEN_PATHS = {f"{API_PREFIX}/openapi.json"}
log = logging.getLogger("migkit.sandbox")


def _faulted_route() -> bool:
    path = request.path
    return (path.startswith(API_PREFIX + "/") and path not in OPEN_PATHS) or path.startswith(
        STORAGE_PREFIX
    )


def _drop_connection() -> Response:
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return Response(status=500)  # never reaches the client


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _before_faults() -> Response | None:
    # After authentication: a request without a valid key (or upload token) is answered as
    # without faults; only authenticated requests meet them.
    st = current_state()
    if not st.faults.config.active or not _faulted_route() or not _authenticated():
        return None
    if st.faults.hit("slow"):
        time.sleep(st.faults.delay())
    if st.faults.hit("drop_before"):
        return _drop_connection()
    if st.faults.hit("error_before"):
        return _error(500, "Server error")
    if st.faults.in_burst(request.headers.get("x-api-key") or request.remote_addr or "-"):
        return _error(429, "Too many requests")
    return None


def _authenticated() -> bool:
    # A valid API key (the auth hook set the account), or a signed upload URL whose token
    # exists (the URL is its own credential).
    if "account_id" in g:
        return True
    if request.path.startswith(STORAGE_PREFIX + "upload/"):
        token = request.path.removeprefix(STORAGE_PREFIX + "upload/")
        return current_state().store.one("SELECT 1 FROM uploads WHERE token = ?", token) is not None
    return False


def _read_body() -> None:
    # A body without Content-Length (chunked) is cut at the limit by Werkzeug without a word;
    # read it here and answer 413 when more was coming, as with a declared length.
    if not request.path.startswith(API_PREFIX + "/") or request.content_length is not None:
        return
    limit = request.max_content_length
    at_limit = limit is not None and len(request.get_data()) >= limit
    if at_limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def _authenticate() -> Response | None:
    if not request.path.startswith(API_PREFIX + "/") or request.path in OPEN_PATHS:
        return None
    st = current_state()
    key = request.headers.get("x-api-key", "")
    row = (
        st.store.one("SELECT account_id FROM api_keys WHERE key_hash = ?", st.store.key_hash(key))
        if key
        else None
    )
    if row is None:
        return _error(401, "API key missing or invalid")
    g.account_id = row["account_id"]
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    if not st.limiter.allow((key, f"{request.method} {rule}")):
        return _error(429, "Too many requests")
    return None


def _after_faults(response: Response) -> Response:
    st = current_state()
    if (
        not st.faults.config.active
        or not _faulted_route()
        or not _authenticated()
        or response.status_code >= 500
    ):
        return response
    if st.faults.hit("drop_after"):
        return _drop_connection()
    if st.faults.hit("error_after"):
        return _error(500, "Server error")
    if response.is_streamed:
        for name in ("cut_stream", "short_stream"):
            if st.faults.hit(name):
                body = cast(Iterable[bytes], response.response)  # export bodies are bytes
                response.response = _cut(body, drop=name == "cut_stream")
                break
    return response


def _cut(body: Iterable[bytes], *, drop: bool) -> Iterator[bytes]:
    # Half of the first chunk, then either a dropped connection (the client sees the chunked
    # body end without its terminator) or a clean end, at a line break, of a body that is
    # simply too short.
    sock = request.environ.get("werkzeug.socket")

    def chunks() -> Iterator[bytes]:
        for chunk in body:
            half = chunk[: max(1, len(chunk) // 2)]
            # A clean short body ends at a line break: it parses, only the count is wrong.
            yield half if drop or b"\n" not in half else half[: half.rindex(b"\n") + 1]
            break
        close = getattr(body, "close", None)
        if close is not None:
            close()
        if drop and isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    return chunks()


def openapi_document(public_url: str) -> dict[str, Any]:
    """The OpenAPI document with its server URLs pointing at this sandbox."""
    text = resources.files("migkit.sandbox").joinpath("openapi.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    doc["servers"] = [{"url": public_url + API_PREFIX, "description": "this sandbox"}]
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "servers" in operation:
                operation["servers"] = [{"url": public_url}]
    return doc


def create_app(state: SandboxState) -> Flask:
    """The WSGI app serving ``state``."""
    app = Flask("migkit.sandbox")
    app.extensions["migkit_sandbox"] = state
    app.config["MAX_CONTENT_LENGTH"] = state.config.max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.before_request(_authenticate)
    app.before_request(_before_faults)
    app.before_request(_read_body)
    app.after_request(_after_faults)

    @app.errorhandler(ErrorResponse)
    def api_error(exc: ErrorResponse) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        messages = {
            # A 400 that reaches here is Werkzeug's (the routes answer theirs as ErrorResponse).
            400: "The request body could not be read (malformed chunked encoding, or the "
            "connection broke off); send the request again",
            404: "No such endpoint; see GET /api/v1/openapi.json for the routes",
            405: f"Method {request.method} is not allowed on {request.path}",
            413: (
                f"Request body is larger than the {size_text(state.config.max_body)} limit; "
                "upload big data as a file through /uploads"
            ),
        }
        return _error(status, messages.get(status, exc.description or exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("sandbox request failed: %s %s", request.method, request.path)
        return _error(500, "Server error")

    @app.get(f"{API_PREFIX}/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(current_state().public_url))

    routes_companies.register(app, API_PREFIX)
    routes_imports.register(app, API_PREFIX)
    routes_exports.register(app, API_PREFIX)
    for gen2 in (routes_migrations, routes_runs, routes_source, routes_thread):
        gen2.register(app, API_PREFIX)
    return app
