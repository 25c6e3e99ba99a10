"""What the resource tests share: rows that pause a run, and small look-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import migkit
from tests.helpers import Api, new_company, records

MakeClient = Callable[..., migkit.Client]

# Two contacts; Ann's Status "open" is not an allowed value, so the run pauses at
# needs_attention (a Contacts-only company has no Accounts sheet, so Account is not checked).
PAUSING_ROWS = [
    {"Email": "ann@example.com", "First Name": "Ann", "Account": "Acme", "Status": "open"},
    {"Email": "bob@example.com", "First Name": "Bob", "Account": "Acme", "Status": "Closed"},
]
CLEAN_ACCOUNTS = [{"Name": "Acme", "Domain": "acme.com"}, {"Name": "Globex", "Tier": "Gold"}]


def paused(client: migkit.Client) -> migkit.Run:
    """A run in a fresh Contacts company, waiting at needs_attention."""
    company = new_company(client, "Contacts")
    run = client.imports.wait(client.imports.create(company, rows=PAUSING_ROWS))
    assert run.status == "needs_attention", run
    return run


def exported(
    client: migkit.Client, company: migkit.Company, sheet: str, filter: str = "valid"
) -> list[list[str]]:
    """The sheet's export.csv records through the client, header first."""
    with client.exports.csv(company, sheet, filter=filter) as stream:
        return records(b"".join(stream.iter_bytes()))


def ext_companies(api: Api, external_id: str) -> list[dict[str, Any]]:
    """The account's companies with this external_id, through the sandbox's EXT lookup."""
    response = api.get("/companies", params={"external_id": external_id})
    assert response.status_code == 200, response.text
    return list(response.json()["companies"])
