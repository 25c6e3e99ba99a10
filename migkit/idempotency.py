"""Idempotency keys derived from content: the same import sent twice is one import.

``client.imports.create`` gives every import a key; unless the caller passes one, it is derived
from the company and the content (file digests, or the canonical JSON of the rows), so a
re-run notebook cell or a crashed script re-sends the very same key and the server returns the
run it already made.

>>> content = content_hash({"rows": [{"Name": "Acme"}]})
>>> derived_key("c1", content)
('migkit-2a174ab0fed07be6da3f428e3b4c84908ce2608a', True)
>>> derived_key("c1", content, "my-key")
('my-key', False)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    """The hex SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(body: Any) -> str:
    """What an import sends, as the hash the ledger keeps with it."""
    return sha256(canonical(body))


def derived_key(company_id: str, content: str, given: str | None = None) -> tuple[str, bool]:
    """The idempotency key to use, and whether migkit derived it (``given`` wins)."""
    if given:
        return given, False
    return f"migkit-{sha256(company_id + content)[:40]}", True
