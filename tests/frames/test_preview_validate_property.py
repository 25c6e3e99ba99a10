"""Property: ``migkit.validate`` against a template predicts a Generation-2 preview's invalid
cells, row for row (issue 15). Hypothesis writes small Accounts and Contacts files full of
awkward values, the sandbox's agent generates a preview over HTTP (every question answered
"Keep them flagged"), and local validation of the preview's rows must name exactly the cells
and messages the preview marks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import migkit
import migkit.sandbox
from migkit.preview import Preview
from tests.helpers import ACCOUNTS, CONTACTS, csv_bytes
from tests.helpers_gen2 import Gen2

# Values a customer's file really holds: blanks, padding, case variants of allowed values,
# near-miss emails and domains, formulas, quotes, separators, line breaks, non-Latin text,
# leading zeros and the words pandas likes to read as missing.
NASTY = [
    "",
    " ",
    "  \t",
    "Gold",
    "gold",
    " GOLD ",
    "Goldd",
    "Silver",
    "bronze ",
    "Platinum",
    "Open",
    "open",
    "CLOSED ",
    "Pending",
    "Done",
    "acme.com",
    "ACME.COM",
    "acme",
    "a.b-c.io",
    "ann@example.com",
    "Ann@Example.com",
    "ann@",
    "@x.io",
    "b @x.io",
    "=1+1",
    '=HYPERLINK("x")',
    '"quoted"',
    "a,b",
    "line\nbreak",
    "Σίσυφος",
    "ß",
    "e\u0301",
    "😀",
    "007",
    "+44 20 7946 0000",
    "12",
    "NULL",
    "nan",
    "None",
    "N/A",
    "Acme",
    "acme",
    "Beta",
]
value = st.sampled_from(NASTY)
accounts = st.lists(st.tuples(value, value, value), min_size=1, max_size=6)
contacts = st.lists(st.tuples(value, value, value, value, value, value), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def gen2() -> Iterator[Gen2]:
    with migkit.sandbox.start(step_seconds=0, rate_limit=100_000) as sb:
        yield Gen2(sb.base_url, sb.api_key)


@pytest.fixture(scope="module")
def templates(gen2: Gen2) -> dict[str, Any]:
    return {t["slug"]: t for t in gen2.get("/templates").json()["templates"]}


def generate(gen2: Gen2, files: list[tuple[str, bytes]]) -> dict[str, Any] | None:
    """A migration of ``files`` generated to a preview (questions kept flagged); its body,
    or None when the agent found nothing to read (a file of blank rows only)."""
    migration = gen2.migration_with_files(files, templates=["accounts", "contacts"])
    body = gen2.run_to_rest(migration, "generate")
    for _ in range(5):
        if body["status"] != "blocked":
            break
        answers = [{"id": q["id"], "value": "Keep them flagged"} for q in body["questions"]]
        body = gen2.answer_and_wait(migration, body["run_id"], answers)
    if body["status"] == "failed":
        return None
    assert body["status"] == "awaiting_approval", body
    return gen2.preview(migration)


def cells(table: pd.DataFrame, message: str) -> set[tuple[int, str, str]]:
    return {
        (int(r), str(c), str(m))
        for r, c, m in table[["row", "column", message]].itertuples(index=False)
    }


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    # No shrinking: each step is a migration over HTTP, and the examples are small already.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(accounts=accounts, contacts=contacts)
def test_local_validation_predicts_the_previews_invalid_cells(
    gen2: Gen2,
    templates: dict[str, Any],
    accounts: list[tuple[str, ...]],
    contacts: list[tuple[str, ...]],
) -> None:
    body = generate(
        gen2,
        [
            ("accounts.csv", csv_bytes([ACCOUNTS, *map(list, accounts)])),
            ("contacts.csv", csv_bytes([CONTACTS, *map(list, contacts)])),
        ],
    )
    if body is None:
        return
    preview = Preview.from_payload(body)
    links = {"accounts": {}, "contacts": {"Account": preview["accounts"]["Name"]}}
    for slug in ("accounts", "contacts"):
        sheet = preview.sheet(slug)
        report = migkit.validate(sheet.frame, templates[slug], links=links[slug])
        assert cells(report.errors, "message") == cells(sheet.invalid_cells, "error"), slug
        assert set(report.valid_rows.index) == set(sheet.valid.index), slug
