"""Helpers for the Generation-2 sandbox tests: a ``Gen2`` client of one account (migrations,
signed files, runs, answers, the thread) and small readers for SSE streams.

Test modules import from here and from ``helpers``; fixtures stay in ``conftest``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

import migkit.sandbox
from migkit import statuses
from migkit.sandbox import Sandbox
from tests.helpers import Api, records

# Where a Generation-2 run comes to rest (migkit.statuses): waiting for a person, or finished.
REST = (*sorted(statuses.RUN_WAITING), *sorted(statuses.RUN_TERMINAL))
CONTENT_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


class Gen2(Api):
    """An ``Api`` with the Generation-2 calls; absolute URLs (``poll_url``) work too."""

    def url(self, path: str) -> str:
        return path if path.startswith("http") else super().url(path)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.url(path), timeout=30, **kw)

    # -- migrations and files ----------------------------------------------------------------
    def migration(self, **body: Any) -> str:
        """Create a migration (all templates unless ``templates`` is given); its id."""
        body.setdefault("name", "Acme")
        response = self.post("/migrations", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["migration"]["id"])

    def signed(self, migration: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.post(f"/migrations/{migration}/files", json={"files": files})
        assert response.status_code == 201, response.text
        return list(response.json()["files"])

    def upload(self, migration: str, name: str, data: bytes) -> dict[str, Any]:
        """Mint a signed URL for ``name`` and PUT ``data`` to it; the signed entry."""
        entry = self.signed(migration, [{"name": name}])[0]
        put = requests.put(
            entry["signed_url"],
            data=data,
            headers={"Content-Type": entry["content_type"]},
            timeout=30,
        )
        assert put.status_code == 200, put.text
        return entry

    def migration_with_files(self, files: list[tuple[str, bytes]], **body: Any) -> str:
        migration = self.migration(**body)
        for name, data in files:
            self.upload(migration, name, data)
        return migration

    # -- runs --------------------------------------------------------------------------------
    def start(self, migration: str, kind: str, message: str | None = None) -> requests.Response:
        body: dict[str, Any] = {"kind": kind}
        if message is not None:
            body["message"] = message
        return self.post(f"/migrations/{migration}/runs", json=body)

    def run_url(self, migration: str, run_id: str) -> str:
        return f"/migrations/{migration}/runs/{run_id}"

    def wait_run(
        self, migration: str, run_id: str, until: tuple[str, ...] = REST, timeout: float = 30
    ) -> dict[str, Any]:
        """Poll until the run's status is in ``until``; the poll body."""
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.get(self.run_url(migration, run_id)).json())
            if body["status"] in until:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"run still {body} after {timeout}s")
            time.sleep(0.01)

    def run_to_rest(self, migration: str, kind: str, message: str | None = None) -> dict[str, Any]:
        """Start a run and wait until it rests (blocked, awaiting approval or finished)."""
        response = self.start(migration, kind, message)
        assert response.status_code == 201, response.text
        return self.wait_run(migration, response.json()["run_id"])

    def answer(self, migration: str, run_id: str, answers: Any) -> requests.Response:
        return self.post(f"{self.run_url(migration, run_id)}/messages", json={"answers": answers})

    def answer_and_wait(self, migration: str, run_id: str, answers: Any) -> dict[str, Any]:
        response = self.answer(migration, run_id, answers)
        assert response.status_code == 200, response.text
        return self.wait_run(migration, run_id)

    def cancel(self, migration: str, run_id: str, body: Any = None) -> requests.Response:
        body = {"status": "cancel_requested"} if body is None else body
        return self.patch(self.run_url(migration, run_id), json=body)

    # -- what a migration shows -----------------------------------------------------------------
    def preview(self, migration: str) -> dict[str, Any]:
        response = self.get(f"/migrations/{migration}/preview")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def sheet(self, migration: str, slug: str) -> dict[str, Any]:
        """One template's sheet of the preview."""
        sheets = self.preview(migration)["sheets"]
        return dict(next(s for s in sheets if s["template"]["slug"] == slug))

    def thread(self, migration: str, include: str = "all", after: int = 0) -> list[dict[str, Any]]:
        """Every event after ``after``, page by page."""
        events: list[dict[str, Any]] = []
        while True:
            page = self.get(
                f"/migrations/{migration}/thread", params={"after": after, "include": include}
            ).json()
            events.extend(page["events"])
            if not page["events"]:
                return events
            after = page["last_sequence"]

    def export(
        self, migration: str, slug: str, filter: str = "valid", *, gzip: bool = False
    ) -> requests.Response:
        encoding = "gzip" if gzip else "identity"
        return self.get(
            f"/migrations/{migration}/exports/{slug}.csv",
            params={"filter": filter},
            headers={"Accept-Encoding": encoding},
        )

    def exported(self, migration: str, slug: str, filter: str = "valid") -> list[list[str]]:
        response = self.export(migration, slug, filter)
        assert response.status_code == 200, response.text
        return records(response.content)


def rows_of(sheet: dict[str, Any]) -> list[list[Any]]:
    """A preview sheet's data rows (its header left out)."""
    return [list(r) for r in sheet["rows"][1:]]


def column_of(sheet: dict[str, Any], name: str) -> list[Any]:
    """One column of a preview sheet, by header name."""
    index = sheet["rows"][0].index(name)
    return [r[index] for r in sheet["rows"][1:]]


def invalid(sheet: dict[str, Any]) -> set[tuple[int, str]]:
    """The (row, column) pairs the preview marks invalid."""
    return {(c["row"], c["column"]) for c in sheet["invalid_cells"]}


def start_gen2(db: Path | None = None, keys: list[str] | str = "k1", **options: Any) -> Sandbox:
    """A sandbox with a high rate limit (tests poll fast) and instant steps unless given."""
    options.setdefault("step_seconds", 0)
    options.setdefault("rate_limit", 100_000)
    return migkit.sandbox.start(db=str(db) if db else None, api_key=keys, **options)


# -- Server-Sent Events ------------------------------------------------------------------------
def sse_messages(response: requests.Response) -> Iterator[dict[str, Any]]:
    """Parse a ``text/event-stream`` body into messages ``{id, event, data}`` (data parsed as
    JSON) and comments ``{comment}`` and ``{retry}``, as they arrive."""
    fields: dict[str, Any] = {}
    for raw in response.iter_lines(chunk_size=1, decode_unicode=True):
        line = raw if isinstance(raw, str) else raw.decode("utf-8")
        if line == "":
            if fields:
                yield fields
            fields = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = json.loads(value) if name == "data" else value


def open_stream(gen2: Gen2, migration: str, **kw: Any) -> requests.Response:
    """Open the thread stream (the caller closes it)."""
    response = gen2.session.get(
        gen2.url(f"/migrations/{migration}/thread/stream"), stream=True, timeout=30, **kw
    )
    assert response.status_code == 200, response.text
    return response


def raw_stream_socket(gen2: Gen2, migration: str, receive_buffer: int = 4096) -> socket.socket:
    """A bare socket that asked for the stream and will not read it (a slow client)."""
    parts = urlsplit(gen2.url(f"/migrations/{migration}/thread/stream"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((parts.hostname, parts.port))
    request = (
        f"GET {parts.path}?include=all HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"x-api-key: {gen2.api_key}\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock
