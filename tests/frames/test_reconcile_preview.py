"""``migkit.reconcile`` with a Generation-2 preview as one side: source vs preview (what the
agent's recipe changed and why, from the thread) and preview vs export (every previewed row
landed, or why not). The stories run through the sandbox over HTTP."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

import migkit
from migkit.preview import Preview
from migkit.sandbox import Sandbox
from tests.helpers import ACCOUNTS, csv_bytes
from tests.helpers_gen2 import Gen2

HEADER = ["E-mail", "First Name", "Last Name", "Work Mail", "Status", "Account", "Direct Line"]
ROWS = [
    ["ann@example.com", "Ann", "", "", "open", "Acme", ""],  # folded by the agent itself
    ["", "Bob", "", "bob@work.io", " CLOSED ", "Acme", "555 0100 22"],  # filled; folded
    ["cy@example.com", "Cy", "", "", "Done", "Acme", ""],  # answered: Closed
    ["dee@example.com", "Dee", " Lee ", "", "in progress", "Acme", ""],  # answered; trimmed
    ["eve@example.com", "", "", "", "Open", "Acme", ""],  # dropped: First Name empty
    ["", "Fay", "", "", "Open", "Acme", ""],  # stays flagged: Email required
]
UPDATE = (
    "use Work Mail for missing Email; trim Last Name; drop rows where First Name is empty; "
    'map column "Direct Line" to Phone'
)


class Story:
    """A migration through generate (answered), update, and optionally execute."""

    def __init__(self, gen2: Gen2, answer: str = "Map them all to 'Closed'") -> None:
        self.gen2 = gen2
        self.source = pd.DataFrame(ROWS, columns=HEADER)
        accounts = csv_bytes([ACCOUNTS, ["Acme", "acme.com", "Gold"]])
        self.migration = gen2.migration_with_files(
            [("contacts.csv", csv_bytes([HEADER, *ROWS])), ("accounts.csv", accounts)]
        )
        body = gen2.run_to_rest(self.migration, "generate")
        self.generate = body["run_id"]
        answers = [{"id": q["id"], "value": answer} for q in body["questions"]]
        gen2.answer_and_wait(self.migration, self.generate, answers)
        body = gen2.run_to_rest(self.migration, "update", UPDATE)
        assert body["status"] == "awaiting_approval", body
        self.update = body["run_id"]

    def preview(self) -> Preview:
        return Preview.from_payload(self.gen2.preview(self.migration))

    def thread(self, include: str = "tools") -> list[dict[str, Any]]:
        return self.gen2.thread(self.migration, include=include)

    def export(self, filter: str) -> pd.DataFrame:
        text = self.gen2.export(self.migration, "contacts", filter).text
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def story(sandbox: Sandbox) -> Story:
    return Story(Gen2(sandbox.base_url, sandbox.api_keys[0]))


def reasons(report: migkit.ReconcileReport) -> dict[tuple[str, str], str]:
    changed = report.changed
    return dict(
        zip(
            zip(changed["First Name"], changed["column"], strict=True),
            changed["reason"],
            strict=True,
        )
    )


# -- source vs preview ---------------------------------------------------------------------------
def test_each_changed_cell_has_the_instruction_or_answer_behind_it(story: Story) -> None:
    report = migkit.reconcile(
        story.source, story.preview(), key="First Name", thread=story.thread(), template="contacts"
    )
    update, generate = f"update run {story.update[:8]}", f"generate run {story.generate[:8]}"
    assert reasons(report) == {
        ("Ann", "Status"): "value fix: case and spacing (the agent's own fix)",
        ("Bob", "Email"): f"value fix: use Work Mail for missing Email ({update})",
        ("Bob", "Status"): "value fix: case and spacing (the agent's own fix)",
        ("Cy", "Status"): f"value fix: answer to q1: Map them all to 'Closed' ({generate})",
        ("Dee", "Last Name"): f"value fix: trim Last Name ({update})",
        ("Dee", "Status"): f"value fix: answer to q1: Map them all to 'Closed' ({generate})",
    }


def test_a_row_the_recipe_dropped_names_the_instruction_and_run(story: Story) -> None:
    report = migkit.reconcile(
        story.source, story.preview(), key="Last Name", thread=story.thread(), template="contacts"
    )
    dropped = report.missing[report.missing["reason"] == "dropped by the recipe"]
    assert dropped["E-mail"].tolist() == ["eve@example.com"]
    assert dropped["detail"].tolist() == [
        f"drop rows where First Name is empty (update run {story.update[:8]})"
    ]


def test_columns_the_recipe_mapped_are_compared_under_the_template_column(story: Story) -> None:
    source = story.source.copy()
    report = migkit.reconcile(
        source, story.preview(), key="First Name", thread=story.thread(), template="contacts"
    )
    assert report.columns == {"Direct Line": "Phone", "E-mail": "Email"}
    assert "Phone" not in report.changed["column"].tolist()  # the mapped values are equal
    assert any(
        n.startswith("Columns the recipe mapped: Direct Line → Phone (mapped by map column")
        for n in report.notes
    )
    pd.testing.assert_frame_equal(source, story.source)  # the caller's frame is untouched


def test_every_source_row_is_accounted_for(story: Story) -> None:
    report = migkit.reconcile(
        story.source, story.preview(), key="First Name", thread=story.thread(), template="contacts"
    )
    assert report.rows == (6, 5)
    assert report.matched + len(report.missing) == 6
    assert report.matched + len(report.extra) == 5
    # Eve's key (First Name) is empty: the empty key is why she cannot pair, but the recipe's
    # drop is why she is gone, and it comes first
    assert report.missing["reason"].tolist() == ["dropped by the recipe"]


def test_the_user_level_thread_explains_as_much_without_tool_calls(story: Story) -> None:
    tools = migkit.reconcile(
        story.source, story.preview(), key="First Name", thread=story.thread(), template="contacts"
    )
    user = migkit.reconcile(
        story.source,
        story.preview(),
        key="First Name",
        thread=story.thread("user"),
        template="contacts",
    )
    assert reasons(user) == reasons(tools)
    assert user.missing["detail"].tolist() == tools.missing["detail"].tolist()


def test_a_thread_frame_works_as_the_list_does(story: Story) -> None:
    events = story.thread()
    frame = pd.DataFrame(events)
    as_list = migkit.reconcile(
        story.source, story.preview(), key="First Name", thread=events, template="contacts"
    )
    as_frame = migkit.reconcile(
        story.source, story.preview(), key="First Name", thread=frame, template="contacts"
    )
    pd.testing.assert_frame_equal(as_list.changed, as_frame.changed)


def test_without_a_thread_changes_have_no_instruction_and_a_note_says_what_to_pass(
    story: Story,
) -> None:
    report = migkit.reconcile(story.source, story.preview(), key="First Name", template="contacts")
    assert set(report.changed["reason"]) == {"value fix: case and spacing", "value differs"}
    assert any("pass thread=" in n for n in report.notes)
    assert report.columns == {"E-mail": "Email"}  # only what header healing pairs


def test_dropped_by_an_answer(gen2: Gen2) -> None:
    story = Story(gen2, answer="Drop those rows")
    report = migkit.reconcile(
        story.source, story.preview(), key="Last Name", thread=story.thread(), template="contacts"
    )
    dropped = report.missing.set_index("First Name")
    assert dropped.loc["Cy", "reason"] == "dropped by the recipe"
    assert dropped.loc["Cy", "detail"] == (
        f"answer to q1: Drop those rows (generate run {story.generate[:8]})"
    )
    assert dropped.loc["Dee", "reason"] == "dropped by the recipe"


# -- preview vs export ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def executed(story: Story) -> Story:
    body = story.gen2.run_to_rest(story.migration, "execute")
    assert body["status"] == "completed", body
    return story


def test_every_previewed_row_landed_in_the_export_of_all_rows(executed: Story) -> None:
    report = migkit.reconcile(executed.preview(), executed.export("all"), key="First Name")
    assert report.ok and report.rows == (5, 5)


def test_a_row_missing_from_the_valid_export_is_flagged_by_the_server(executed: Story) -> None:
    report = migkit.reconcile(
        executed.preview(),
        executed.export("valid"),
        key="First Name",
        flagged=executed.export("invalid"),
    )
    assert report.missing["First Name"].tolist() == ["Fay"]
    assert report.missing["reason"].tolist() == ["flagged by the server"]
    assert report.missing["detail"].tolist() == ["Email: Email is required but empty"]


def test_without_the_invalid_export_the_preview_says_it_is_flagged(executed: Story) -> None:
    report = migkit.reconcile(executed.preview(), executed.export("valid"), key="First Name")
    assert report.missing["reason"].tolist() == ["flagged in the preview"]
    assert report.missing.index.tolist() == [4]  # the preview's row identity


def test_a_row_missing_from_the_export_for_no_reason_is_unknown(executed: Story) -> None:
    export = executed.export("all")
    export = export[export["First Name"] != "Cy"]
    report = migkit.reconcile(executed.preview(), export, key="First Name")
    assert report.missing.set_index("First Name")["reason"].to_dict() == {"Cy": "unknown"}


# -- synthetic previews and threads ---------------------------------------------------------------
def payload(rows: list[list[Any]], **sheet: Any) -> dict[str, Any]:
    return {
        "status": "awaiting_approval",
        "sheets": [
            {
                "template": {"slug": "contacts", "name": "Contacts"},
                "rows": rows,
                "invalid_cells": [],
                **sheet,
            },
            {"template": {"slug": "accounts", "name": "Accounts"}, "rows": [["Name"], ["Acme"]]},
        ],
    }


def event(seq: int, type_: str, run: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"sequence": seq, "type": type_, "data": {"run_id": run, "kind": kind, **data}}


SOURCE = pd.DataFrame({"Name": ["a", "b"], "Last": [" Lee ", "Ray"]})
PREVIEW = Preview.from_payload(payload([["Name", "Last"], ["a", "Lee"], ["b", "Ray"]]))


def test_instructions_of_an_earlier_generate_are_not_credited() -> None:
    thread = [
        event(
            1, "tool_call", "g1", "generate", tool="edit_recipe", input={"instruction": "trim Last"}
        ),
        event(2, "status", "g2", "generate", message="Reading your files"),
    ]
    report = migkit.reconcile(SOURCE, PREVIEW, key="Name", thread=thread, template="contacts")
    assert report.changed["reason"].tolist() == [
        "value fix: case and spacing (the agent's own fix)"
    ]


def test_a_column_inside_a_longer_column_name_is_not_named_by_it() -> None:
    preview = Preview.from_payload(
        {
            "sheets": [
                {"template": {"slug": "accounts"}, "rows": [["Name"], ["Acme"]]},
                {"template": {"slug": "contacts"}, "rows": [["First Name"], ["Ann"]]},
            ]
        }
    )
    thread = [
        event(
            1,
            "tool_call",
            "u",
            "update",
            tool="edit_recipe",
            input={"instruction": "trim First Name"},
        )
    ]
    source = pd.DataFrame({"Name": [" Acme "]})
    report = migkit.reconcile(source, preview, key="index", thread=thread, template="accounts")
    assert report.changed["reason"].tolist() == [
        "value fix: case and spacing (the agent's own fix)"
    ]
    source = pd.DataFrame({"First Name": [" Ann "]})
    report = migkit.reconcile(source, preview, key="index", thread=thread, template="contacts")
    assert report.changed["reason"].tolist() == ["value fix: trim First Name (update run u)"]


def test_a_rejected_answer_is_not_credited() -> None:
    source = pd.DataFrame({"Name": ["a"], "Last": ["Done"]})
    preview = Preview.from_payload(payload([["Name", "Last"], ["a", "Closed"]]))
    question = {"id": "q1", "question": "Last has 'Done'", "options": [], "allowCustom": True}
    thread = [
        event(1, "request_input", "g", "generate", questions=[question]),
        event(
            2,
            "tool_call",
            "g",
            "generate",
            tool="apply_answer",
            input={"question": "q1", "value": "Shut"},
        ),
        event(3, "status", "g", "generate", message="Checking values"),  # between call and result
        event(4, "tool_result", "g", "generate", tool="apply_answer", error="not allowed"),
        event(
            5,
            "tool_call",
            "g",
            "generate",
            tool="apply_answer",
            input={"question": "q1", "value": "Closed"},
        ),
        event(6, "tool_result", "g", "generate", tool="apply_answer", output="map_values"),
    ]
    report = migkit.reconcile(source, preview, key="Name", thread=thread, template="contacts")
    assert report.changed["reason"].tolist() == ["value fix: answer to q1: Closed (generate run g)"]
    # the rejected answer alone explains nothing, even with another event before its result
    report = migkit.reconcile(source, preview, key="Name", thread=thread[:4], template="contacts")
    assert report.changed["reason"].tolist() == ["value differs"]


def test_a_truncated_preview_explains_export_rows_past_its_sample() -> None:
    preview = Preview.from_payload(
        payload([["Name", "Last"], ["a", "Lee"]], truncated=True, total_rows=3)
    )
    export = pd.DataFrame({"Name": ["a", "b", "c"], "Last": ["Lee", "Ray", "Ode"]})
    report = migkit.reconcile(preview, export, key="Name", template="contacts")
    assert report.extra["reason"].tolist() == ["past the preview's sample"] * 2
    assert any("shows 1 of 3 rows" in n for n in report.notes)
    source = pd.DataFrame({"Name": ["a", "b"], "Last": ["Lee", "Ray"]})
    report = migkit.reconcile(source, preview, key="Name", template="contacts")
    assert report.missing["reason"].tolist() == ["past the preview's sample"]


def test_the_sheet_is_the_one_with_rows_or_the_one_named() -> None:
    several = Preview.from_payload(payload([["Name", "Last"], ["a", "Lee"], ["b", "Ray"]]))
    with pytest.raises(migkit.UsageError, match=r"template='contacts' \(templates: contacts, acc"):
        migkit.reconcile(pd.DataFrame({"x": ["1"]}), several, key="x")
    by_columns = migkit.reconcile(SOURCE, several, key="Name")  # columns say contacts
    assert by_columns.rows == (2, 2)
    assert migkit.reconcile(SOURCE, several.sheet("contacts"), key="Name").rows == (2, 2)
    with pytest.raises(migkit.UnknownName, match="'leads'"):
        migkit.reconcile(SOURCE, several, key="Name", template="leads")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: migkit.reconcile(PREVIEW, PREVIEW, key="Name"), "Both sides are previews"),
        (lambda: migkit.reconcile(SOURCE, SOURCE, thread=[]), "apply when one side is"),
        (lambda: migkit.reconcile(PREVIEW, SOURCE, key="Name", thread=[]), "needs flagged="),
        (lambda: migkit.reconcile(SOURCE, PREVIEW, key="Name", thread="x"), "thread must be"),  # type: ignore[arg-type]
        (lambda: migkit.reconcile(SOURCE, PREVIEW, key="Name", thread=[3]), "event 0 is a int"),  # type: ignore[list-item]
    ],
)
def test_misuse_is_a_usage_error_that_says_what_to_do(call: Any, message: str) -> None:
    with pytest.raises(migkit.UsageError, match=message):
        call()
