"""Exports: the streamed ``export.csv`` and export runs that write to a destination.

Downloads are read and parsed by the frame layer (:mod:`migkit.export_download`,
:mod:`migkit.export_files`); this module names the endpoints.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from migkit.errors import RunFailed, UsageError
from migkit.export_download import ExportStream as ExportStream
from migkit.export_download import fetch_export
from migkit.export_files import describe, read_export_csv, read_export_zip, subtract_rows
from migkit.export_parquet import csv_to_parquet
from migkit.fields import id_field
from migkit.models import Company, ExportRun
from migkit.polling import MissedPolls, ProgressHook, wait_for
from migkit.resources._base import Resource, company_id, run_id

FILTERS = ("valid", "all")


def _check_filter(filter: str) -> None:
    if filter not in (*FILTERS, "flagged"):
        raise UsageError(f"filter must be 'valid', 'all' or 'flagged', not {filter!r}")


class Exports(Resource):
    """``client.exports``: get validated rows out."""

    def csv(
        self, company: Company | str, sheet: str | None = None, *, filter: str = "valid"
    ) -> ExportStream:
        """Stream one sheet's ``export.csv`` (``sheet`` by name or id), or every sheet as a ZIP
        when ``sheet`` is ``None``. ``filter="valid"`` leaves out every flagged row.
        """
        if filter not in FILTERS:
            raise UsageError(f"filter must be 'valid' or 'all', not {filter!r}")
        params: dict[str, str] = {"filter": filter}
        if sheet is not None:
            params["sheet_id"] = self._sheet_id(company, sheet)
        body = self._stream(
            "/companies/{id}/export.csv",
            params=params,
            label="the export download",
            noun="an export",
            id=company_id(company),
        )
        return ExportStream(body)

    def frame(self, company: Company | str, sheet: str, *, filter: str = "valid") -> pd.DataFrame:
        """One sheet's export as a DataFrame: every cell as text in pandas ``str`` columns
        (Arrow-backed), columns in template order, empty cells null (a quoted ``""`` stays an
        empty string).

        ``filter`` is ``"valid"`` (rows with no invalid cell), ``"all"``, or ``"flagged"``
        (``all`` minus ``valid``, computed here from both exports). The body is streamed to a
        temporary file and parsed by pyarrow; a truncated or malformed download is fetched once
        more and then raised as :class:`~migkit.errors.ExportIncomplete`, never returned
        as a short frame. ``frame.attrs["migkit"]`` records the company, sheet and filter.

        >>> contacts = client.exports.frame(acme, "Contacts")  # doctest: +SKIP
        >>> flagged = client.exports.frame(acme, "Contacts", filter="flagged")  # doctest: +SKIP
        """
        if filter == "flagged":
            everything = self.frame(company, sheet, filter="all")
            valid = self.frame(company, sheet, filter="valid")
            flagged = subtract_rows(everything, valid)
            return describe(flagged, {**everything.attrs["migkit"], "filter": "flagged"})
        _check_filter(filter)
        frame = fetch_export(
            lambda: self.csv(company, sheet, filter=filter),
            lambda path, total: read_export_csv(path, expected_rows=total),
            progress=self._core.progress,
        )
        info = {"company": company_id(company), "sheet": sheet, "filter": filter}
        return describe(frame, info)

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
        _check_filter(filter)
        sheets = fetch_export(
            lambda: self.csv(company, None, filter=filter),
            self._read_zip,
            progress=self._core.progress,
        )
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
        return fetch_export(
            lambda: self.csv(company, sheet, filter=filter),
            lambda body, total: csv_to_parquet(body, target, expected_rows=total).path,
            progress=self._core.progress,
        )

    def _read_zip(self, path: Path, total: int | None) -> dict[str, pd.DataFrame]:
        limits = self._core.transport.limits
        return read_export_zip(
            path,
            expected_rows=total,
            max_bytes=limits.download_bytes,
            max_ratio=limits.zip_ratio,
        )

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
            body["selection"] = {"template_ids": self._template_ids(templates)}
        answer = self._send("POST", "/companies/{id}/exports", body, idempotent=True, id=cid)
        run = answer.parse(lambda raw: ExportRun.from_api(cid, id_field(raw, "run_id"), raw))
        return self.wait(run, timeout=timeout, on_progress=on_progress) if wait else run

    def get(self, run: ExportRun | str, company: Company | str | None = None) -> ExportRun:
        """An export run's current state."""
        cid = company_id(company) if company is not None else getattr(run, "company_id", None)
        if cid is None:
            raise UsageError("an export run given by id needs company=... too")
        rid = run_id(run)
        answer = self._get("/companies/{id}/exports/{run_id}", id=cid, run_id=rid)
        return answer.parse(lambda raw: ExportRun.from_api(cid, rid, raw))

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
            schedule=self._core.schedule,
            timeout=timeout,
            on_progress=on_progress,
        )
        if done.status == "failed":
            raise RunFailed(done.id, done.error)
        return done
