"""The Generation-2 agent story of ``sample_data/README.md`` with ``agent_workbook.xlsx``:
generate blocks on questions, the answers give a preview, an update fixes something visible,
execute flags some rows; and the thread shows every event type along the way."""

from __future__ import annotations

from typing import Any

import pytest

from migkit.sandbox import Sandbox
from tests.helpers import ACCOUNTS, CONTACTS, DEALS, SAMPLES
from tests.helpers_gen2 import Gen2, column_of, invalid, rows_of

EVERY_TYPE_BUT_ERROR = {
    "message",
    "thinking",
    "status",
    "tool_call",
    "tool_result",
    "task",
    "request_input",
    "prepared",
    "preview",
    "completed",
}


@pytest.fixture(scope="module")
def story(sandbox: Sandbox) -> dict[str, Any]:
    """Runs the story once for the module; what each step returned."""
    gen2 = Gen2(sandbox.base_url, sandbox.api_key)
    workbook = (SAMPLES / "agent_workbook.xlsx").read_bytes()
    migration = gen2.migration_with_files([("agent_workbook.xlsx", workbook)])
    blocked = gen2.run_to_rest(migration, "generate")
    asked = {q["question"].split()[1]: q["id"] for q in blocked.get("questions", [])}
    answers = [
        {"id": asked["Tier"], "value": "Map them all to 'Gold'"},
        {"id": asked["Status"], "value": "open"},
        {"id": asked["Stage"], "value": "Keep them flagged"},
    ]
    answered = gen2.answer_and_wait(migration, blocked["run_id"], answers)
    before_update = gen2.sheet(migration, "contacts")
    updated = gen2.run_to_rest(migration, "update", "use Work Email for missing Email")
    after_update = gen2.sheet(migration, "contacts")
    executed = gen2.run_to_rest(migration, "execute")
    return {
        "migration": migration,
        "blocked": blocked,
        "answered": answered,
        "before_update": before_update,
        "updated": updated,
        "after_update": after_update,
        "executed": executed,
    }


def test_generate_blocks_on_tier_status_and_stage(story: dict[str, Any]) -> None:
    blocked = story["blocked"]
    assert blocked["status"] == "blocked"
    texts = [q["question"] for q in blocked["questions"]]
    assert [t.split()[1] for t in texts] == ["Tier", "Status", "Stage"]
    assert "'Platinum', 'Enterprise'" in texts[0]
    assert "'in progress', 'Done'" in texts[1]
    assert "'Closed Won'" in texts[2]


def test_the_answers_give_a_preview(gen2: Gen2, story: dict[str, Any]) -> None:
    assert story["answered"]["status"] == "awaiting_approval"
    accounts = gen2.sheet(story["migration"], "accounts")
    assert accounts["rows"][0] == ACCOUNTS
    assert column_of(accounts, "Tier") == ["Gold", "Silver", "Gold", "Bronze", "Gold", "Gold"]
    statuses = column_of(story["before_update"], "Status")
    assert "Done" not in statuses
    assert statuses.count("Open") == 9


def test_the_update_fills_the_missing_emails_in_the_preview(story: dict[str, Any]) -> None:
    before, after = story["before_update"], story["after_update"]
    assert story["updated"]["status"] == "awaiting_approval"
    emails_before = column_of(before, "Email")
    emails_after = column_of(after, "Email")
    filled = [i for i, (b, a) in enumerate(zip(emails_before, emails_after, strict=True)) if b != a]
    assert [emails_after[i] for i in filled] == [
        "janet.leverling@contoso.com",
        "michael.suyama@fabrikam.com",
        "ines.garcia@adventure-works.com",
    ]
    assert {(i, "Email") for i in filled} <= invalid(before)
    assert not {(i, "Email") for i in filled} & invalid(after)


def test_execute_flags_the_rows_still_invalid(gen2: Gen2, story: dict[str, Any]) -> None:
    report = story["executed"]["report"]
    assert report["inserted"] == 6 + 14 + 6
    assert report["invalidCellCount"] == 5
    migration = story["migration"]
    flagged_contacts = gen2.exported(migration, "contacts", "invalid")
    assert flagged_contacts[0] == CONTACTS
    assert [(r[1], r[3], r[5]) for r in flagged_contacts[1:]] == [
        ("Steven", "call me", "Fabrikam Inc"),
        ("Pat", "", "Litware Inc"),
        ("Oliver", "+1 312 555 0112", "Umbrella Corp"),
    ]
    flagged_deals = gen2.exported(migration, "deals", "invalid")
    assert flagged_deals[0] == DEALS
    assert [r[0] for r in flagged_deals[1:]] == ["Contoso expansion", "Tailspin holiday order"]
    assert len(gen2.exported(migration, "accounts", "valid")) == 7
    preview_rows = rows_of(gen2.sheet(migration, "contacts"))
    assert len(gen2.exported(migration, "contacts", "all")) == len(preview_rows) + 1


def test_the_notes_sheet_is_reported_and_left_out(gen2: Gen2, story: dict[str, Any]) -> None:
    texts = [e["data"].get("text") for e in gen2.thread(story["migration"], "user")]
    assert "agent_workbook.xlsx (sheet Notes) matches no template; I left it out." in texts


def test_the_story_shows_every_event_type_but_error(gen2: Gen2, story: dict[str, Any]) -> None:
    types = {e["type"] for e in gen2.thread(story["migration"], "all")}
    assert types == EVERY_TYPE_BUT_ERROR
