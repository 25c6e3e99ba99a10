"""Exports: the streamed ``export.csv`` and export runs that write to a destination."""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import requests
from tqdm.auto import tqdm

from migkit.errors import RunFailed, TransportError, UsageError
from migkit.export_files import ExportIncomplete, describe, read_export_csv, subtract_rows
from migkit.export_parquet import csv_to_parquet
from migkit.models import Company, ExportRun
from migkit.polling import MissedPolls, ProgressHook, wait_for
from migkit.resources._context import Context, company_id, looks_like_id, run_id
from migkit.resources.catalog import Templates
from migkit.resources.companies import Companies

FILTERS = ("valid", "all")
DOWNLOAD_ATTEMPTS = 2  # a damaged download is fetched once more before ExportIncomplete


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
        """The body in chunks, as it arrives. A body cut off in transit (the connection drops,
        HTTP framing ends early) raises :class:`~migkit.errors.TransportError`."""
        try:
            for chunk in self._response.iter_content(chunk_size):
                self.bytes_read += len(chunk)
                yield chunk
        except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
            raise TransportError(
                f"the export download was cut off after {self.bytes_read:,} bytes"
                f" ({type(exc).__name__}); download it again"
            ) from None

    def save(self, path: str | Path, *, progress: bool = False) -> Path:
        """Write the body to ``path``; returns it. ``progress`` shows a byte counter (after
        a second, so quick downloads stay quiet)."""
        target = Path(path)
        with (
            target.open("wb") as out,
            tqdm(
                unit="B",
                unit_scale=True,
                desc="export.csv",
                disable=not progress,
                delay=1.0,
                leave=False,
            ) as bar,
        ):
            for chunk in self.iter_bytes():
                out.write(chunk)
                bar.update(len(chunk))
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

    def frame(self, company: Company | str, sheet: str, *, filter: str = "valid") -> pd.DataFrame:
        """One sheet's export as a DataFrame: every cell as text in pandas ``str`` columns
        (Arrow-backed), columns in template order, empty cells null (a quoted ``""`` stays an
        empty string).

        ``filter`` is ``"valid"`` (rows with no invalid cell), ``"all"``, or ``"flagged"``
        (``all`` minus ``valid``, computed here from both exports). The body is streamed to a
        temporary file and parsed by pyarrow; a truncated or malformed download is fetched once
        more and then raised as :class:`~migkit.export_files.ExportIncomplete`, never returned
        as a short frame. ``frame.attrs["migkit"]`` records the company, sheet and filter.

        >>> contacts = client.exports.frame(acme, "Contacts")  # doctest: +SKIP
        >>> flagged = client.exports.frame(acme, "Contacts", filter="flagged")  # doctest: +SKIP
        """
        if filter == "flagged":
            everything = self.frame(company, sheet, filter="all")
            valid = self.frame(company, sheet, filter="valid")
            flagged = subtract_rows(everything, valid)
            return describe(flagged, {**everything.attrs["migkit"], "filter": "flagged"})
        self._check_filter(filter)
        info = {"company": company_id(company), "sheet": sheet, "filter": filter}
        return describe(self._download(company, sheet, filter, self._read_sheet), info)

    def frames(self, company: Company | str, *, filter: str = "valid") -> dict[str, pd.DataFrame]:
        """Every sheet's export (the ZIP ``export.csv``) as ``{sheet name: DataFrame}``, each
        read like :meth:`frame`. ``filter="flagged"`` downloads ``all`` and ``valid``.

        >>> sheets = client.exports.frames(acme)  # doctest: +SKIP
        >>> sheets["Contacts"].shape  # doctest: +SKIP
        """
        if filter == "flagged":
            everything = self.frames(company, filter="all")
            valid = self.frames(company, filter="valid")
            return {
                name: describe(
                    subtract_rows(frame, valid[name]), {**frame.attrs["migkit"], "filter": filter}
                )
                for name, frame in everything.items()
            }
        self._check_filter(filter)
        sheets: dict[str, pd.DataFrame] = self._download(company, None, filter, self._read_zip)
        for name, frame in sheets.items():
            describe(frame, {"company": company_id(company), "sheet": name, "filter": filter})
        return sheets

    def to_parquet(
        self, company: Company | str, sheet: str, path: str | Path, *, filter: str = "valid"
    ) -> Path:
        """Stream one sheet's ``export.csv`` straight to the Parquet file ``path`` in bounded
        memory (a 100M-row export never becomes a DataFrame); returns the path. Checked
        against ``X-Total-Records`` and fetched once more when damaged, like :meth:`frame`.
        ``migkit.reconcile``, ``diff_exports`` and ``validate_file`` take the path directly.

        >>> client.exports.to_parquet(acme, "Contacts", "contacts.parquet")  # doctest: +SKIP
        """
        if filter not in FILTERS:
            raise UsageError(f"filter must be 'valid' or 'all', not {filter!r}")
        target = Path(path)

        def write(body: Path, total: int | None) -> Path:
            return csv_to_parquet(body, target, expected_rows=total).path

        written: Path = self._download(company, sheet, filter, write)
        return written

    @staticmethod
    def _check_filter(filter: str) -> None:
        if filter not in (*FILTERS, "flagged"):
            raise UsageError(f"filter must be 'valid', 'all' or 'flagged', not {filter!r}")

    def _download(
        self,
        company: Company | str,
        sheet: str | None,
        filter: str,
        read: Callable[[Path, int | None], Any],
    ) -> Any:
        # Stream to a temporary file (the body is never held in memory), then parse it; a
        # damaged body is downloaded once more before the error is raised.
        with tempfile.TemporaryDirectory(prefix="migkit-export-") as tmp:
            path = Path(tmp) / "export"
            for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
                with self.csv(company, sheet, filter=filter) as stream:
                    try:
                        stream.save(path, progress=self._ctx.progress)
                        return read(path, stream.total_records)
                    except (ExportIncomplete, TransportError):
                        if attempt == DOWNLOAD_ATTEMPTS:
                            raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _read_sheet(path: Path, total: int | None) -> pd.DataFrame:
        return read_export_csv(path, expected_rows=total)

    @staticmethod
    def _read_zip(path: Path, total: int | None) -> dict[str, pd.DataFrame]:
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise ExportIncomplete(
                "the workbook export is not a readable ZIP: it was cut off; download it again"
            ) from None
        sheets: dict[str, pd.DataFrame] = {}
        with archive:
            for member in archive.namelist():
                name = member.removesuffix(".csv")
                with archive.open(member) as raw, tempfile.SpooledTemporaryFile(64 << 20) as spool:
                    while chunk := raw.read(4 << 20):  # pyarrow wants a seekable file
                        spool.write(chunk)
                    spool.seek(0)
                    sheets[name] = read_export_csv(spool, name=member)
        rows = sum(len(f) for f in sheets.values())
        if total is not None and rows != total:
            raise ExportIncomplete(
                f"the workbook export holds {rows:,} rows but the server announced {total:,}"
                " (X-Total-Records); download it again",
                rows=rows,
                expected=total,
            )
        return sheets

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
