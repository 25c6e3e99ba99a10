"""A migration's files: ``POST …/files`` (signed upload URLs), the ``PUT`` of the bytes, and
``GET …/files``.

What is sent is prepared by :mod:`migkit.upload_files` (content type, re-encoding), as for
Generation 1. Each signed URL is single-use and gets no API key (the transport's signed
session); a ``PUT`` whose outcome is unknown is sent again to a fresh URL.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from migkit._urls import check_base_url
from migkit.errors import ConfigurationError, Forbidden, UsageError
from migkit.fields import object_list
from migkit.migration_models import MigrationFile
from migkit.preflight import check_or_raise, upload_problems
from migkit.resources._base import Resource, outcome_unknown
from migkit.resources.thread import migration_id
from migkit.upload_files import Prepared, prepare_upload

FILES = "/migrations/{id}/files"
FileSource = str | Path | pd.DataFrame | bytes


def _signed(raw: Mapping[str, Any]) -> tuple[str, MigrationFile]:
    # The signed URL gets the customer's bytes: https (or http to loopback), like the API.
    url = raw.get("signed_url")
    if not isinstance(url, str):
        raise TypeError("signed_url is not a string")
    try:
        check_base_url(url, what="signed_url")
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from exc
    return url, MigrationFile.from_api(raw)


def _first(items: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    if not items:
        raise ValueError("files is empty")
    return items[0]


def files_hash(files: Sequence[MigrationFile]) -> str:
    """A fingerprint of a migration's uploaded files (names, storage paths, sizes): what a
    generate read.

    >>> files_hash([]) == files_hash([])
    True
    """
    items = sorted(
        [f.name, f.storage_path, f.size] for f in files if f.status in (None, "uploaded")
    )
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:32]


def prepared_files(
    files: FileSource | Sequence[FileSource] | Mapping[str, FileSource],
) -> list[Prepared]:
    """What to upload: one path, DataFrame or bytes, a list of them, or ``{name: source}``
    (the way to name a DataFrame or bytes)."""
    if isinstance(files, Mapping):
        return [prepare_upload(source, name) for name, source in files.items()]
    if isinstance(files, str | Path | pd.DataFrame | bytes):
        files = [files]
    items = list(files)
    if not items:
        raise UsageError("no files to upload; pass a path, a DataFrame, bytes or a list")
    return [prepare_upload(item) for item in items]


class MigrationFiles(Resource):
    """``client.migrations.upload`` / ``.files`` use this."""

    def upload(self, migration: Any, prepared: Sequence[Prepared]) -> builtins.list[MigrationFile]:
        """Upload each prepared file through its own signed URL; the files as the server
        named them (``storage_path``)."""
        mid = migration_id(migration)
        return [self._send_one(mid, p) for p in prepared]

    def _send_one(self, mid: str, prepared: Prepared) -> MigrationFile:
        check_or_raise(upload_problems(prepared.name, prepared.content_type, len(prepared.data)))
        putting = False

        def put() -> MigrationFile:
            nonlocal putting
            putting = False
            request = {"files": [{"name": prepared.name, "content_type": prepared.content_type}]}
            # Minting a URL does nothing until it is used: safe to send again.
            answer = self._send("POST", FILES, request, idempotent=True, id=mid)
            url, entry = answer.parse(lambda body: _signed(_first(object_list(body, "files"))))
            putting = True
            ctype = entry.content_type or prepared.content_type
            self._core.transport.put_signed(url, prepared.data, ctype)
            return MigrationFile(
                name=entry.name or prepared.name,
                storage_path=entry.storage_path,
                content_type=entry.content_type or prepared.content_type,
                size=len(prepared.data),
                status="uploaded",
                uploaded_at=None,
                raw=dict(entry.raw),
            )

        def lost(exc: Exception) -> bool:
            return putting and (outcome_unknown(exc) or isinstance(exc, Forbidden))

        return self._act_once(put, lambda: None, unknown=lost)

    def list(self, migration: Any) -> builtins.list[MigrationFile]:
        """The migration's files (``GET …/files``)."""
        answer = self._get(FILES, id=migration_id(migration))
        return answer.parse(
            lambda body: [MigrationFile.from_api(f) for f in object_list(body, "files")]
        )
