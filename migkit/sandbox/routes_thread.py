"""Routes for what a migration shows: the thread (snapshot and SSE stream), the preview and the
per-template CSV export (``valid``/``all``/``invalid``, gzip when asked)."""

from __future__ import annotations

import json
import socket
import zlib
from collections.abc import Iterable, Iterator
from typing import cast

from flask import Flask, Response, jsonify, request

from migkit.sandbox import exporter, sse
from migkit.sandbox.http import account_id, attachment, fail, state
from migkit.sandbox.migrations import migration_or_404, sheets_of
from migkit.sandbox.rowstore import RowFilter
from migkit.sandbox.thread import TYPES_BY_INCLUDE, page

FILTERS = ("valid", "all", "invalid")


def _after(value: str | None, name: str) -> int:
    if value is None or value == "":
        return 0
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        fail(400, f"{name} must be a non-negative integer: the last sequence you saw")
    return int(value)


def _include() -> str:
    include = request.args.get("include", "user")
    if include not in TYPES_BY_INCLUDE:
        fail(400, "include must be one of: " + ", ".join(TYPES_BY_INCLUDE))
    return include


def get_thread(migration_id: str) -> Response:
    migration_or_404(migration_id)
    after = _after(request.args.get("after"), "after")
    events = page(state().store, migration_id, after, _include())
    last = events[-1]["sequence"] if events else after
    return jsonify({"events": events, "last_sequence": last})


def stream_thread(migration_id: str) -> Response:
    migration_or_404(migration_id)
    after = _after(request.args.get("after"), "after")
    resume = request.headers.get("Last-Event-ID")
    if resume is not None and resume.strip():
        after = _after(resume.strip(), "Last-Event-ID")  # the reconnecting client's, newer
    include = _include()
    st = state()
    sock = request.environ.get("werkzeug.socket")
    body = sse.follow(
        st.store,
        st.hub,
        migration_id,
        after,
        include,
        st.config.heartbeat_seconds,
        sock if isinstance(sock, socket.socket) else None,
    )
    response = Response(body, content_type="text/event-stream; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # proxies: do not buffer the stream
    return response


def get_preview(migration_id: str) -> Response:
    migration = migration_or_404(migration_id)
    if not migration["preview_json"]:
        fail(404, "No preview yet; run generate first")
    return jsonify(json.loads(migration["preview_json"])["body"])


def _gzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # Level 1: exports are big and usually cross loopback or a LAN; speed beats ratio here.
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    for chunk in chunks:
        if packed := packer.compress(chunk):
            yield packed
    yield packer.flush()


def export_template_csv(migration_id: str, name: str) -> Response:
    migration_or_404(migration_id)
    if not name.endswith(".csv"):
        fail(400, f"The export path must end in .csv, e.g. {name.split('.')[0] or 'contacts'}.csv")
    filter_ = request.args.get("filter", "valid")
    if filter_ not in FILTERS:
        fail(400, "filter must be one of: " + ", ".join(FILTERS))
    slug = name.removesuffix(".csv")
    store = state().store
    known = {
        exporter.slug(r["name"])
        for r in store.all("SELECT name FROM templates WHERE account_id = ?", account_id())
    }
    if slug not in known:
        fail(404, f"No template with slug {slug!r}; GET /templates lists each template's slug")
    sheet = next(
        (s for s in sheets_of(store, migration_id) if exporter.slug(s.template.name) == slug), None
    )
    if sheet is None:
        fail(404, f"This migration has no sheet for {slug}; it was created without that template")
    row_filter = cast(RowFilter, filter_)
    total = exporter.export_count(store, [sheet], row_filter)
    chunks = exporter.csv_chunks(store, sheet, row_filter)
    gzipped = request.accept_encodings["gzip"] > 0
    response = Response(
        _gzip(chunks) if gzipped else chunks, content_type="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = attachment(f"{slug}.csv")
    response.headers["X-Total-Records"] = str(total)
    response.headers["Vary"] = "Accept-Encoding"
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return response


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    base = f"{prefix}/migrations/<migration_id>"
    app.add_url_rule(f"{base}/thread", view_func=get_thread, methods=["GET"])
    app.add_url_rule(f"{base}/thread/stream", view_func=stream_thread, methods=["GET"])
    app.add_url_rule(f"{base}/preview", view_func=get_preview, methods=["GET"])
    app.add_url_rule(f"{base}/exports/<name>", view_func=export_template_csv, methods=["GET"])
