"""Shared fixtures: a real sandbox over HTTP on loopback, and small helpers to drive it.

The session sandbox runs fast steps (``step_seconds=0.01``) and a high rate limit so tests do
not trip it by accident; tests about rate limits or faults start their own sandbox.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import migkit.sandbox
from migkit.sandbox import Sandbox

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
TERMINAL = ("completed", "failed", "canceled", "needs_attention")


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


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the session: fast steps, generous rate limit, two accounts."""
    keys = [f"sk_test_{uuid.uuid4().hex}", f"sk_test_{uuid.uuid4().hex}"]
    with migkit.sandbox.start(api_key=keys, step_seconds=0.01, rate_limit=100_000) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    """The first account of the session sandbox."""
    return Api(sandbox.base_url, sandbox.api_keys[0])


@pytest.fixture
def other_api(sandbox: Sandbox) -> Api:
    """A second, isolated account of the same sandbox."""
    return Api(sandbox.base_url, sandbox.api_keys[1])


@pytest.fixture
def samples() -> Path:
    return SAMPLES
