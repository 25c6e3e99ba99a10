"""Helpers shared by the test modules: the ``Api`` client of a sandbox account and small
functions to build uploads, read exports, poll runs and check error bodies.

Test modules import from here (never from ``conftest``); ``conftest`` holds only fixtures.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path
from typing import Any

import requests

import migkit
import migkit.sandbox
from migkit import statuses
from migkit.sandbox import Sandbox

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
# Where the tests' polls stop, from the one definition (migkit.statuses): a finished run, or
# one waiting at needs_attention; a test that waits for `blocked` says so (until=...).
TERMINAL = (*sorted(statuses.TERMINAL), "needs_attention")
ACCOUNTS = ["Name", "Domain", "Tier"]
CONTACTS = ["Email", "First Name", "Last Name", "Phone", "Status", "Account"]
DEALS = ["Title", "Amount", "Stage", "Contact Email"]


class Api:
    """A thin requests wrapper bound to one sandbox account (base URL + key)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.session = requests.Session()
        self.session.headers["x-api-key"] = api_key

    def url(self, path: str) -> str:
        path = path.removeprefix("/api/v1")
        return self.base_url + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=30, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.session.post(self.url(path), json=json, timeout=30, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.session.patch(self.url(path), json=json, timeout=30, **kw)

    # -- helpers -----------------------------------------------------------------------------
    def source_id(self) -> str:
        return str(self.get("/sources").json()["sources"][0]["id"])

    def templates(self) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.get("/templates").json()["templates"]}

    def company(self, **body: Any) -> dict[str, Any]:
        """Create a company (all templates by default) and return the 201 body."""
        body.setdefault("name", "Test Co")
        body.setdefault("source", self.source_id())
        response = self.post("/companies", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def sheet_id(self, company: dict[str, Any], name: str) -> str:
        return next(s["id"] for s in company["sheets"] if s["name"] == name)

    def upload(
        self, company_id: str, data: bytes, name: str, content_type: str = "text/csv"
    ) -> str:
        """Signed-upload handshake; returns the upload_ref."""
        grant = self.post(
            f"/companies/{company_id}/uploads",
            json={"name": name, "content_type": content_type, "size": len(data)},
        )
        assert grant.status_code == 201, grant.text
        put = requests.put(
            grant.json()["upload_url"],
            data=data,
            headers={"Content-Type": content_type},
            timeout=30,
        )
        assert put.status_code == 200, put.text
        return str(grant.json()["upload_ref"])

    def import_files(
        self, company_id: str, files: list[tuple[str, bytes]], **extra: Any
    ) -> requests.Response:
        refs = []
        for name, data in files:
            ctype = (
                "text/tab-separated-values"
                if name.endswith(".tsv")
                else (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    if name.endswith(".xlsx")
                    else "text/csv"
                )
            )
            refs.append({"name": name, "upload_ref": self.upload(company_id, data, name, ctype)})
        return self.post(f"/companies/{company_id}/imports", json={"files": refs, **extra})

    def wait(
        self, poll_url: str, timeout: float = 30.0, until: tuple[str, ...] = TERMINAL
    ) -> dict[str, Any]:
        """Poll until the run's status is in ``until``; returns the poll body."""
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.get(poll_url).json())
            if body["status"] in until:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"run still {body} after {timeout}s")
            time.sleep(0.02)

    def export(self, company_id: str, sheet_id: str, filter: str = "valid") -> requests.Response:
        return self.get(
            f"/companies/{company_id}/export.csv", params={"sheet_id": sheet_id, "filter": filter}
        )


def start_sandbox(
    db: Path,
    api_key: str | list[str],
    faults: str | None = None,
    step_seconds: float = 0,
) -> Sandbox:
    """A sandbox on the SQLite file ``db`` for ``api_key``, with ``faults`` if given and a high
    rate limit, since the tests poll fast."""
    return migkit.sandbox.start(
        db=str(db), api_key=api_key, faults=faults, step_seconds=step_seconds, rate_limit=100_000
    )


def company_with(api: Api, *template_names: str, **body: Any) -> dict[str, Any]:
    """A company whose sheets are the named templates (all of them when none are named);
    ``body`` adds fields to the create request. Returns the 201 body."""
    if not template_names:
        return api.company(**body)
    templates = api.templates()
    return api.company(template_ids=[templates[name]["id"] for name in template_names], **body)


def is_uuid4(value: object) -> bool:
    """True for a canonical (lower-case, hyphenated) UUID4 string."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def assert_error(response: requests.Response, status: int, *, run_id: bool = False) -> str:
    """The response is ``status``, JSON, with a body of exactly ``{"error": "<text>"}``; returns
    the text.

    With ``run_id``, the body may also carry the active run's ``run_id`` (the in-progress 409).
    """
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"
    body = response.json()
    assert isinstance(body, dict), body
    allowed = [["error"], ["error", "run_id"]] if run_id else [["error"]]
    assert sorted(body) in allowed, body
    assert isinstance(body["error"], str)
    assert body["error"]
    return str(body["error"])


def csv_bytes(rows: list[list[str]], delimiter: str = ",") -> bytes:
    """``rows`` as UTF-8 CSV (or another ``delimiter``) with CRLF line ends."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def records(data: bytes) -> list[list[str]]:
    """UTF-8 CSV bytes parsed into records with the csv module."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def exported(
    api: Api,
    company_id: str,
    sheet_id: str,
    filter: str = "valid",
    *,
    header: list[str] | None = None,
) -> list[list[str]]:
    """The records of the sheet's export.csv, header first.

    With ``header``, the first record must equal it and only the data records are returned.
    """
    response = api.export(company_id, sheet_id, filter)
    assert response.status_code == 200, response.text
    rows = records(response.content)
    if header is None:
        return rows
    assert rows[0] == header
    return rows[1:]


def observe(
    api: Api,
    poll_url: str,
    timeout: float = 30.0,
    *,
    distinct: bool = True,
    interval: float = 0.01,
) -> list[dict[str, Any]]:
    """Poll every ``interval`` seconds until the run is terminal; returns the poll bodies in the
    order seen: each body that differs from the one before, or with ``distinct=False`` every
    body."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        body = dict(api.get(poll_url).json())
        if not distinct or not seen or body != seen[-1]:
            seen.append(body)
        if body["status"] in TERMINAL:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"run still {body} after {timeout}s")
        time.sleep(interval)


def unique(prefix: str) -> str:
    """``prefix`` plus a random suffix: names that never collide between tests."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_company(client: migkit.Client, *templates: str, **options: Any) -> migkit.Company:
    """A fresh company (unique name) with the named templates, all of them when none."""
    return client.companies.create(
        unique("Co"), "Spreadsheet", templates=list(templates) or None, **options
    )
