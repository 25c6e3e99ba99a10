"""The sandbox's one live-source connector, ``sandbox_crm``, and how credentials are kept.

Its data is the sample Accounts and Contacts the sandbox ships (streams ``accounts`` and
``contacts``); it needs one secret, ``api_token`` (any non-empty string). The sandbox only
has to know that credentials were given, so it keeps a salted hash of each value and never the
value: no response, thread event, log line or database page holds a secret in clear.

>>> CRM.key, sorted(CRM.streams)
('sandbox_crm', ['accounts', 'contacts'])
>>> verify_secret("tok", hash_secret("tok")), verify_secret("other", hash_secret("tok"))
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).with_name("catalog")
_REPO = Path(__file__).resolve().parents[2] / "sample_data"
PBKDF2_ROUNDS = 100_000


@dataclass(frozen=True)
class Connector:
    """A live-source connector: its key, display name, streams and credential schema."""

    key: str
    name: str
    category: str
    streams: dict[str, tuple[str, str]]  # stream -> (packaged file, repository sample file)
    schema: dict[str, dict[str, Any]] = field(default_factory=dict)
    guidance: dict[str, Any] = field(default_factory=dict)

    def stream_bytes(self, stream: str) -> bytes:
        """The CSV bytes of ``stream`` (the packaged copy, else the repository's sample)."""
        packaged, sample = self.streams[stream]
        for path in (_HERE / packaged, _REPO / sample):
            if path.is_file():
                return path.read_bytes()
        raise FileNotFoundError(f"connector data {packaged} not found; reinstall migkit")

    def credential_request(self, connection_id: str) -> dict[str, Any]:
        """The documented ``credential_request`` for a connection of this connector."""
        return {
            "connection_id": connection_id,
            "source_key": self.key,
            "source_name": self.name,
            "reason": f"I need API access to read your {' and '.join(sorted(self.streams))}.",
            "guidance": self.guidance,
            "schema": self.schema,
        }


CRM = Connector(
    key="sandbox_crm",
    name="Sandbox CRM",
    category="crm",
    streams={
        "accounts": ("crm_accounts.csv", "accounts.csv"),
        "contacts": ("crm_contacts.csv", "contacts.csv"),
    },
    schema={"api_token": {"type": "string", "secret": True}},
    guidance={
        "summary": "Create an API token in the Sandbox CRM and paste it here.",
        "steps": [
            "Open Sandbox CRM → Settings → API tokens",
            "Create a read-only token",
            "Copy the token",
        ],
        "links": [{"label": "migkit sandbox docs", "url": "https://example.invalid/sandbox-crm"}],
    },
)
CONNECTORS = {CRM.key: CRM}


def hash_secret(value: str) -> str:
    """A salted PBKDF2-SHA256 hash of one secret value (``pbkdf2_sha256$rounds$salt$hash``)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", value.encode("utf-8"), salt, PBKDF2_ROUNDS)
    encode = base64.b64encode
    return f"pbkdf2_sha256${PBKDF2_ROUNDS}${encode(salt).decode()}${encode(digest).decode()}"


def verify_secret(value: str, stored: str) -> bool:
    """True when ``value`` is the secret ``stored`` was made from."""
    _, rounds, salt, digest = stored.split("$")
    again = hashlib.pbkdf2_hmac(
        "sha256", value.encode("utf-8"), base64.b64decode(salt), int(rounds)
    )
    return hmac.compare_digest(again, base64.b64decode(digest))


def check_credentials(connector: Connector, credentials: Any, where: str) -> dict[str, str]:
    """The credentials as ``{name: value}``, or ``ValueError`` naming what is wrong.

    Messages name the fields and never repeat a value.
    """
    if not isinstance(credentials, dict) or not credentials:
        raise ValueError(
            f'{where} must be a non-empty object of secret values, e.g. {{"api_token": "..."}}'
        )
    unknown = sorted(set(credentials) - set(connector.schema))
    if unknown:
        raise ValueError(
            f"{where} has unknown field(s) {', '.join(unknown)}; {connector.key} takes "
            + ", ".join(connector.schema)
        )
    for name in connector.schema:
        value = credentials.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}.{name} must be a non-empty string")
    return {name: str(credentials[name]) for name in connector.schema}


def hashes(credentials: dict[str, str]) -> dict[str, str]:
    """Salted hashes of every credential value, keyed like the credentials."""
    return {name: hash_secret(value) for name, value in credentials.items()}
