"""Exports: the streamed ``export.csv`` and export runs that write to a destination."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from migkit.errors import RunFailed, UsageError
from migkit.models import Company, ExportRun
from migkit.polling import MissedPolls, ProgressHook, wait_for
from migkit.resources._context import Context, company_id, looks_like_id, run_id
from migkit.resources.catalog import Templates
from migkit.resources.companies import Companies

FILTERS = ("valid", "all")


class ExportStream:
    """A streamed ``export.csv`` (or the ZIP of all sheets); read it once, then it closes.

    ``total_records`` is the server's ``X-Total-Records`` when it sends one.

    >>> with client.exports.csv(acme, "Contacts") as stream:  # doctest: +SKIP
    ...     stream.save("contacts_export.csv")
    """

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        header = response.headers.get("X-Total-Records")
        self.total_records: int | None = int(header) if header and header.isdigit() else None
        self.content_type = response.headers.get("Content-Type", "")
        self.bytes_read = 0

    def iter_bytes(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks, as it arrives."""
        for chunk in self._response.iter_content(chunk_size):
            self.bytes_read += len(chunk)
            yield chunk

    def save(self, path: str | Path) -> Path:
        """Write the body to ``path``; returns it."""
        target = Path(path)
        with target.open("wb") as out:
            for chunk in self.iter_bytes():
                out.write(chunk)
        return target

    def close(self) -> None:
        """Release the connection."""
        self._response.close()

    def __enter__(self) -> ExportStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Exports:
    """``client.exports``: get validated rows out."""

    def __init__(self, ctx: Context, companies: Companies, templates: Templates) -> None:
        self._ctx = ctx
        self._companies = companies
        self._templates = templates

    def csv(
        self, company: Company | str, sheet: str | None = None, *, filter: str = "valid"
    ) -> ExportStream:
        """Stream one sheet's ``export.csv`` (``sheet`` by name or id), or every sheet as a ZIP
        when ``sheet`` is ``None``. ``filter="valid"`` leaves out every flagged row.
        """
        if filter not in FILTERS:
            raise UsageError(f"filter must be 'valid' or 'all', not {filter!r}")
        cid = company_id(company)
        params: dict[str, str] = {"filter": filter}
        if sheet is not None:
            if not isinstance(company, Company) and not looks_like_id(sheet):
                company = self._companies.get(company)  # a sheet name needs the sheets
            params["sheet_id"] = company.sheet(sheet).id if isinstance(company, Company) else sheet
        response = self._ctx.transport.request(
            "GET",
            f"/companies/{cid}/export.csv",
            route="GET /companies/{id}/export.csv",
            safe=True,
            params=params,
            stream=True,
        )
        return ExportStream(response)

    def to_destination(
        self,
        company: Company | str,
        *,
        mode: str = "full",
        templates: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        on_progress: ProgressHook[ExportRun] | None = None,
    ) -> ExportRun:
        """Write validated rows to the company's destination (``mode`` ``full`` or ``canary``).

        The idempotency key makes the request safe to retry; pass your own to make a re-run
        cell attach to the same export instead of writing twice.

        >>> run = client.exports.to_destination(acme, mode="canary")  # doctest: +SKIP
        >>> run.report.succeeded  # doctest: +SKIP
        """
        if mode not in ("full", "canary"):
            raise UsageError(f"mode must be 'full' or 'canary', not {mode!r}")
        cid = company_id(company)
        body: dict[str, Any] = {
            "mode": mode,
            "idempotency_key": idempotency_key or f"migkit-{uuid.uuid4()}",
        }
        if templates is not None:
            ids = [t if looks_like_id(t) else str(self._templates.get(t).id) for t in templates]
            body["selection"] = {"template_ids": ids}
        answer = self._ctx.send(
            "POST", f"/companies/{cid}/exports", "POST /companies/{id}/exports", body, safe=True
        )
        run = ExportRun(
            id=str(answer["run_id"]),
            company_id=cid,
            status=str(answer.get("status", "queued")),
            raw=dict(answer),
        )
        return self.wait(run, timeout=timeout, on_progress=on_progress) if wait else run

    def get(self, run: ExportRun | str, company: Company | str | None = None) -> ExportRun:
        """An export run's current state."""
        cid = company_id(company) if company is not None else getattr(run, "company_id", None)
        if cid is None:
            raise UsageError("an export run given by id needs company=... too")
        rid = run_id(run)
        body = self._ctx.get(
            f"/companies/{cid}/exports/{rid}", "GET /companies/{id}/exports/{run_id}"
        )
        return ExportRun.from_api(cid, rid, body)

    def wait(
        self,
        run: ExportRun,
        *,
        timeout: float | None = None,
        on_progress: ProgressHook[ExportRun] | None = None,
    ) -> ExportRun:
        """Poll an export run until it ends; a ``failed`` run raises ``RunFailed``."""
        poll: MissedPolls[ExportRun] = MissedPolls(self.get)
        done = wait_for(
            poll.following(run),
            schedule=self._ctx.schedule,
            timeout=timeout,
            on_progress=on_progress,
        )
        if done.status == "failed":
            raise RunFailed(done.id, done.error)
        return done
