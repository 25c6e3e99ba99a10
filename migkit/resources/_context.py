"""What every resource needs from its client: the transport, the ledger and settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migkit._answers import Answer
from migkit._http import Transport
from migkit.ledger import Ledger
from migkit.polling import PollSchedule


@dataclass
class Context:
    """Shared by the resources of one client."""

    transport: Transport
    ledger: Ledger | None
    account: str  # fingerprint of the API key, for the ledger
    schedule: PollSchedule
    progress: bool = True

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def get(self, path: str, route: str, params: Mapping[str, Any] | None = None) -> Answer:
        """GET a JSON answer (safe to retry); build results with ``.parse(...)``."""
        return self.transport.call("GET", path, route=route, safe=True, params=params)

    def send(self, method: str, path: str, route: str, body: Any, *, safe: bool) -> Answer:
        """A write with a JSON body; ``safe`` when repeating it cannot do anything twice."""
        return self.transport.call(method, path, route=route, safe=safe, json=body)


def looks_like_id(value: str) -> bool:
    """True for a UUID-shaped string (ids are UUIDs; names practically never are)."""
    return len(value) == 36 and value.count("-") == 4


def company_id(company: Any) -> str:
    """The id of a :class:`~migkit.models.Company` or a company id string."""
    return str(getattr(company, "id", company))


def run_id(run: Any) -> str:
    """The id of a run object or a run id string."""
    return str(getattr(run, "id", run))
