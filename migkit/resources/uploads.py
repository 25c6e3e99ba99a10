"""Signed uploads: ``POST /companies/{id}/uploads``, then ``PUT`` the bytes (no API key).

What is sent is prepared by :mod:`migkit.upload_files` (content type, re-encoding).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from migkit._urls import check_base_url
from migkit.errors import ConfigurationError, Forbidden
from migkit.models import Company, Upload
from migkit.preflight import check_or_raise, upload_problems
from migkit.resources._base import Resource, company_id, outcome_unknown
from migkit.upload_files import CONTENT_TYPES as CONTENT_TYPES
from migkit.upload_files import Prepared, prepare_upload


def _grant(raw: dict[str, object]) -> tuple[str, str]:
    # The signed URL gets the customer's bytes: https (or plain http to loopback, the local
    # sandbox), like the API itself; anything else is a broken or hostile answer.
    url = raw["upload_url"]
    if not isinstance(url, str):
        raise TypeError("upload_url is not a string")
    try:
        check_base_url(url, what="upload_url")
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from exc
    ref = raw["upload_ref"]
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError("upload_ref is not a string")
    return url, ref


class Uploads(Resource):
    """``client.uploads``: put files where an import can read them."""

    def upload(
        self,
        company: Company | str,
        source: str | Path | pd.DataFrame | bytes,
        *,
        name: str | None = None,
        content_type: str | None = None,
    ) -> Upload:
        """Upload a file (path, DataFrame as CSV, or bytes) through a signed URL.

        Signed URLs are single-use: when a PUT's outcome is unknown, a fresh URL is requested
        and the bytes sent again. The API key is never sent to the upload URL.

        >>> up = client.uploads.upload(acme, "sample_data/contacts.csv")  # doctest: +SKIP
        >>> up.upload_ref  # doctest: +SKIP
        'workbook-files/.../contacts.csv'
        """
        prepared = prepare_upload(source, name, content_type)
        return self.send(company, prepared)

    def send(self, company: Company | str, prepared: Prepared) -> Upload:
        """Upload what :func:`~migkit.upload_files.prepare_upload` made."""
        check_or_raise(upload_problems(prepared.name, prepared.content_type, len(prepared.data)))
        cid = company_id(company)
        grant = {"name": prepared.name, "content_type": prepared.content_type}

        putting = False  # whether the grant is in and the PUT under way

        def put() -> Upload:
            nonlocal putting
            putting = False
            answer = self._send(
                "POST",
                "/companies/{id}/uploads",
                {**grant, "size": len(prepared.data)},
                idempotent=True,  # a grant does nothing until its URL is used
                id=cid,
            )
            upload_url, upload_ref = answer.parse(_grant)
            putting = True
            self._core.transport.put_signed(upload_url, prepared.data, prepared.content_type)
            return Upload(
                name=prepared.name,
                upload_ref=upload_ref,
                content_type=prepared.content_type,
                size=len(prepared.data),
                sha256=prepared.sha256,
            )

        def lost(exc: Exception) -> bool:
            # A PUT with no answer, a 5xx, or a 403 (the URL used or expired) is tried again
            # with a fresh URL; a failed grant is raised as it is (the transport retried it).
            return putting and (outcome_unknown(exc) or isinstance(exc, Forbidden))

        # Nothing needs looking up: an upload that is never imported does nothing.
        return self._act_once(put, lambda: None, unknown=lost)
