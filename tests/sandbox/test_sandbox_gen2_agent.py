"""The sandbox's agent stand-in (sandbox-contract-gen2.md, docs/sandbox-agent.md): what generate
matches and fixes, its blocked questions and every kind of answer, the instruction grammar of
update and free-form answers, clarify, and the preview that local validation predicts."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import pandas as pd
import pytest

import migkit
from tests.helpers import ACCOUNTS, CONTACTS, DEALS, assert_error, csv_bytes, records
from tests.helpers_gen2 import Gen2, column_of, invalid, rows_of

STATUS_ROWS = [
    CONTACTS,
    ["ann@example.com", "Ann", "", "", "open", "Acme"],  # fixed without asking
    ["bob@example.com", "Bob", "", "", " CLOSED ", "Acme"],  # fixed without asking
    ["cy@example.com", "Cy", "", "", "Done", "Acme"],  # ambiguous
    ["dee@example.com", "Dee", "", "", "in progress", "Acme"],  # ambiguous
    ["eve@example.com", "Eve", "", "", "Done", "Acme"],  # ambiguous, same value
]
OPTION_LABELS = [
    "Map them all to 'Open'",
    "Map them all to 'Closed'",
    "Map them all to 'Pending'",
    "Drop those rows",
    "Keep them flagged",
]


def blocked_on_status(gen2: Gen2) -> tuple[str, dict[str, Any]]:
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(STATUS_ROWS))], templates=["contacts"]
    )
    body = gen2.run_to_rest(migration, "generate")
    assert body["status"] == "blocked", body
    return migration, body


# -- generate ---------------------------------------------------------------------------------
def test_generate_asks_one_question_per_column_in_the_documented_shape(gen2: Gen2) -> None:
    _, body = blocked_on_status(gen2)
    assert len(body["questions"]) == 1
    question = body["questions"][0]
    assert set(question) == {"id", "question", "options", "allowCustom"}
    assert question["id"] == "q1"
    assert question["allowCustom"] is True
    assert [o["label"] for o in question["options"]] == OPTION_LABELS
    assert [o["id"] for o in question["options"]] == ["a", "b", "c", "d", "e"]
    assert "'Done', 'in progress'" in question["question"]
    assert "in 3 rows" in question["question"]


def test_values_equal_to_one_allowed_value_after_trim_and_casefold_are_fixed(gen2: Gen2) -> None:
    migration, body = blocked_on_status(gen2)
    body = gen2.answer_and_wait(
        migration, body["run_id"], [{"id": "q1", "value": "Keep them flagged"}]
    )
    assert body["status"] == "awaiting_approval"
    sheet = gen2.sheet(migration, "contacts")
    assert column_of(sheet, "Status") == ["Open", "Closed", "Done", "in progress", "Done"]
    assert invalid(sheet) == {(2, "Status"), (3, "Status"), (4, "Status")}


def test_generate_without_ambiguity_ends_awaiting_approval(gen2: Gen2) -> None:
    rows = [CONTACTS, ["ann@example.com", "Ann", "", "", "open", "Acme"]]
    migration = gen2.migration_with_files([("contacts.csv", csv_bytes(rows))])
    assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"


def test_files_are_routed_by_headers_and_healed_like_generation_1(gen2: Gen2) -> None:
    people = csv_bytes(
        [
            ["E-mail", "first_name", "Surname", "Phone Number", "status", "Company"],
            ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"],
        ]
    )
    migration = gen2.migration_with_files([("export_2024.csv", people)])
    gen2.run_to_rest(migration, "generate")
    assert rows_of(gen2.sheet(migration, "contacts")) == [
        ["ann@example.com", "Ann", "Lee", None, "Open", "Acme"]
    ]
    thinking = [e["data"]["text"] for e in gen2.thread(migration) if e["type"] == "thinking"]
    assert thinking == [
        "export_2024.csv → Contacts by 6 matching columns: E-mail → Email (normalized), "
        "first_name → First Name (normalized), Surname → Last Name (synonym), Phone Number → "
        "Phone (synonym), status → Status (normalized), Company → Account (synonym)"
    ]


def agent_messages(gen2: Gen2, migration: str) -> list[str]:
    return [
        e["data"]["text"]
        for e in gen2.thread(migration)
        if e["type"] == "message" and e["data"].get("role") == "agent"
    ]


def test_a_table_matching_no_template_is_reported_and_left_out(gen2: Gen2) -> None:
    notes = csv_bytes([["Note", "Author"], ["call back", "Ann"]])
    contacts = csv_bytes([CONTACTS, ["ann@example.com", "Ann", "", "", "Open", "Acme"]])
    migration = gen2.migration_with_files([("notes.csv", notes), ("contacts.csv", contacts)])
    assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
    assert "notes.csv matches no template; I left it out." in agent_messages(gen2, migration)


def test_a_tie_is_reported_and_the_first_template_wins(gen2: Gen2) -> None:
    both = csv_bytes([["Name", "Email"], ["Acme", "ann@example.com"]])  # 1 column each
    migration = gen2.migration_with_files([("both.csv", both)], templates=["accounts", "contacts"])
    gen2.run_to_rest(migration, "generate")
    messages = agent_messages(gen2, migration)
    assert any("both.csv matches Accounts and Contacts equally well" in m for m in messages)
    assert rows_of(gen2.sheet(migration, "accounts")) == [["Acme", None, None]]


def test_nothing_to_map_fails_the_generate(gen2: Gen2) -> None:
    migration = gen2.migration_with_files([("notes.csv", csv_bytes([["Note"], ["hi"]]))])
    body = gen2.run_to_rest(migration, "generate")
    assert body["status"] == "failed"
    assert "matches any template" in body["error"]


def test_an_unreadable_file_is_reported_and_the_rest_is_used(gen2: Gen2) -> None:
    contacts = csv_bytes([CONTACTS, ["ann@example.com", "Ann", "", "", "Open", "Acme"]])
    migration = gen2.migration_with_files(
        [("broken.csv", "Name\nMüller\n".encode("cp1252")), ("contacts.csv", contacts)]
    )
    assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
    assert any("broken.csv is not valid UTF-8" in m for m in agent_messages(gen2, migration))


def test_a_missing_required_column_is_flagged_and_explained(gen2: Gen2) -> None:
    rows = csv_bytes([["Inbox", "First Name", "Account"], ["ann@example.com", "Ann", "Acme"]])
    migration = gen2.migration_with_files([("contacts.csv", rows)], templates=["contacts"])
    gen2.run_to_rest(migration, "generate")
    assert invalid(gen2.sheet(migration, "contacts")) == {(0, "Email")}
    assert any("no column for Contacts.Email" in m for m in agent_messages(gen2, migration))
    gen2.run_to_rest(migration, "update", 'map column "Inbox" to Email')
    assert column_of(gen2.sheet(migration, "contacts"), "Email") == ["ann@example.com"]


# -- answers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "statuses", "flagged"),
    [
        ("Map them all to 'Pending'", ["Open", "Closed", "Pending", "Pending", "Pending"], set()),
        ("Drop those rows", ["Open", "Closed"], set()),
        ("Keep them flagged", ["Open", "Closed", "Done", "in progress", "Done"], {2, 3, 4}),
        (" closed ", ["Open", "Closed", "Closed", "Closed", "Closed"], set()),
    ],
)
def test_a_structured_answer_reaches_the_preview(
    gen2: Gen2, value: str, statuses: list[str], flagged: set[int]
) -> None:
    migration, body = blocked_on_status(gen2)
    response = gen2.answer(migration, body["run_id"], [{"id": "q1", "value": value}])
    assert response.status_code == 200
    assert response.json() == {"run_id": body["run_id"], "status": "running"}
    assert gen2.wait_run(migration, body["run_id"])["status"] == "awaiting_approval"
    sheet = gen2.sheet(migration, "contacts")
    assert column_of(sheet, "Status") == statuses
    assert {row for row, column in invalid(sheet)} == flagged


def test_free_text_that_is_no_allowed_value_asks_again_with_a_new_id(gen2: Gen2) -> None:
    migration, body = blocked_on_status(gen2)
    again = gen2.answer_and_wait(migration, body["run_id"], [{"id": "q1", "value": "Finished"}])
    assert again["status"] == "blocked"
    assert [q["id"] for q in again["questions"]] == ["q2"]
    assert again["questions"][0]["question"] == body["questions"][0]["question"]
    assert any(
        "'Finished' is not one of the allowed values" in m for m in agent_messages(gen2, migration)
    )
    assert_error(gen2.answer(migration, body["run_id"], [{"id": "q1", "value": "Open"}]), 400)
    done = gen2.answer_and_wait(migration, body["run_id"], [{"id": "q2", "value": "Open"}])
    assert done["status"] == "awaiting_approval"


def test_a_free_form_answer_is_read_with_the_grammar(gen2: Gen2) -> None:
    migration, body = blocked_on_status(gen2)
    rest = gen2.answer_and_wait(
        migration,
        body["run_id"],
        'map "Done" to "Closed" in Status\nmap "in progress" to "Open" in Status',
    )
    assert rest["status"] == "awaiting_approval"
    assert column_of(gen2.sheet(migration, "contacts"), "Status") == [
        "Open",
        "Closed",
        "Closed",
        "Open",
        "Closed",
    ]


def test_a_free_form_answer_that_leaves_values_open_asks_about_them(gen2: Gen2) -> None:
    migration, body = blocked_on_status(gen2)
    rest = gen2.answer_and_wait(migration, body["run_id"], 'map "Done" to "Closed" in Status')
    assert rest["status"] == "blocked"
    assert [q["id"] for q in rest["questions"]] == ["q2"]
    assert "'in progress' in 1 row" in rest["questions"][0]["question"]


def test_an_unreadable_free_form_answer_adds_an_open_question(gen2: Gen2) -> None:
    migration, body = blocked_on_status(gen2)
    rest = gen2.answer_and_wait(migration, body["run_id"], "please sort it out")
    assert rest["status"] == "blocked"
    assert [q["id"] for q in rest["questions"]] == ["q1", "q2"]
    open_question = rest["questions"][1]
    assert (open_question["options"], open_question["allowCustom"]) == ([], True)
    assert 'I could not read "please sort it out"' in open_question["question"]
    done = gen2.answer_and_wait(
        migration,
        body["run_id"],
        [{"id": "q1", "value": "Keep them flagged"}, {"id": "q2", "value": "trim Email"}],
    )
    assert done["status"] == "awaiting_approval"


def test_partial_answers_keep_the_other_questions_open(gen2: Gen2) -> None:
    rows = [CONTACTS, ["ann@example.com", "Ann", "", "", "Done", "Acme"]]
    accounts = [ACCOUNTS, ["Acme", "acme.com", "Platinum"]]
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(rows)), ("accounts.csv", csv_bytes(accounts))]
    )
    body = gen2.run_to_rest(migration, "generate")
    asked = {q["question"].split()[1]: q["id"] for q in body["questions"]}
    assert set(asked) == {"Tier", "Status"}
    rest = gen2.answer_and_wait(
        migration, body["run_id"], [{"id": asked["Tier"], "value": "Map them all to 'Gold'"}]
    )
    assert [q["id"] for q in rest["questions"]] == [asked["Status"]]


@pytest.mark.parametrize(
    ("answers", "needle"),
    [
        pytest.param([], "answers is required", id="empty-list"),
        pytest.param("   ", "must not be empty", id="blank-text"),
        pytest.param(None, "answers is required", id="missing"),
        pytest.param([{"value": "x"}], "answers[0] must be an object with a string id", id="no-id"),
        pytest.param([{"id": "q1"}], "answers[0].value", id="no-value"),
        pytest.param([{"id": "q1", "value": 3}], "answers[0].value", id="value-type"),
        pytest.param([{"id": "q1", "value": "a"}, {"id": "q1", "value": "b"}], "twice", id="twice"),
        pytest.param([{"id": "q9", "value": "Open"}], "'q9' is not a question", id="unknown-id"),
    ],
)
def test_bad_answers_are_400(gen2: Gen2, answers: Any, needle: str) -> None:
    migration, body = blocked_on_status(gen2)
    assert needle in assert_error(gen2.answer(migration, body["run_id"], answers), 400)
    assert gen2.get(gen2.run_url(migration, body["run_id"])).json()["status"] == "blocked"


def test_answers_to_a_run_that_is_not_blocked_are_409(gen2: Gen2) -> None:
    migration, body = blocked_on_status(gen2)
    gen2.answer_and_wait(migration, body["run_id"], [{"id": "q1", "value": "Keep them flagged"}])
    for answers in ([{"id": "q1", "value": "Open"}], "trim Email"):
        response = gen2.answer(migration, body["run_id"], answers)
        assert assert_error(response, 409) == "Run is not waiting for an answer"


def test_the_generation_1_messages_path_is_not_built(gen2: Gen2) -> None:
    company = gen2.company()
    path = f"/companies/{company['company']['id']}/imports/{uuid.uuid4()}/messages"
    assert_error(gen2.post(path, json={"answers": "x"}), 404)


def test_free_text_to_a_running_run_is_applied_at_its_next_step(slow_gen2: Gen2) -> None:
    rows = [CONTACTS, ["  ann@example.com ", "Ann", "", "", "Open", "Acme"]]
    migration = slow_gen2.migration_with_files([("contacts.csv", csv_bytes(rows))])
    run_id = slow_gen2.start(migration, "generate").json()["run_id"]
    slow_gen2.wait_run(migration, run_id, until=("running",))
    response = slow_gen2.answer(migration, run_id, "trim Email")
    assert response.status_code == 200, response.text
    assert response.json() == {"run_id": run_id, "status": "running"}
    assert slow_gen2.wait_run(migration, run_id)["status"] == "awaiting_approval"
    assert column_of(slow_gen2.sheet(migration, "contacts"), "Email") == ["ann@example.com"]


# -- update and the grammar -----------------------------------------------------------------------
GRAMMAR_ROWS = [
    ["E-mail", "Work Email", "First Name", "Nickname", "Phone", "Status", "Account"],
    ["ANN@Example.com", "", "Ann", "", " +1 555 0100 ", "Open", "Acme"],
    ["", "bob@example.com", "Bob", "", "", "Closed", "Acme"],
    ["", "", "", "Cyd", "", "", "Acme"],
]


@pytest.fixture
def grammar_migration(gen2: Gen2) -> str:
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(GRAMMAR_ROWS))], templates=["contacts"]
    )
    assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
    return migration


@pytest.mark.parametrize(
    ("instruction", "column", "values"),
    [
        ('map "Open" to "Pending" in Status', "Status", ["Pending", "Closed", None]),
        ('map column "Work Email" to Email', "Email", [None, "bob@example.com", None]),
        ("drop rows where Email is empty", "Email", ["ANN@Example.com"]),
        ('set Status to "Pending" where it is empty', "Status", ["Open", "Closed", "Pending"]),
        ("use Work Email for missing Email", "Email", ["ANN@Example.com", "bob@example.com", None]),
        ("use Nickname for missing First Name", "First Name", ["Ann", "Bob", "Cyd"]),
        ("trim Phone", "Phone", ["+1 555 0100", None, None]),
        ("lowercase Email", "Email", ["ann@example.com", None, None]),
        ("LOWERCASE email.", "Email", ["ann@example.com", None, None]),
        ("Trim phone; lowercase E-MAIL", "Email", ["ann@example.com", None, None]),
    ],
)
def test_update_applies_each_instruction_to_the_preview(
    gen2: Gen2, grammar_migration: str, instruction: str, column: str, values: list[Any]
) -> None:
    body = gen2.run_to_rest(grammar_migration, "update", instruction)
    assert body["status"] == "awaiting_approval"
    assert column_of(gen2.sheet(grammar_migration, "contacts"), column) == values


def test_keep_rows_where_empty_undoes_a_drop(gen2: Gen2, grammar_migration: str) -> None:
    gen2.run_to_rest(grammar_migration, "update", "drop rows where Email is empty")
    assert len(rows_of(gen2.sheet(grammar_migration, "contacts"))) == 1
    gen2.run_to_rest(grammar_migration, "update", "keep rows where Email is empty")
    assert len(rows_of(gen2.sheet(grammar_migration, "contacts"))) == 3


def test_each_applied_instruction_is_a_tool_call_and_result_pair(
    gen2: Gen2, grammar_migration: str
) -> None:
    run = gen2.run_to_rest(
        grammar_migration,
        "update",
        "use Work Email for missing Email; drop rows where Email is empty",
    )
    events = [
        e
        for e in gen2.thread(grammar_migration, "tools")
        if e["data"].get("run_id") == run["run_id"]
    ]
    tools = [
        (e["type"], e["data"].get("input"), e["data"].get("output"), e["data"].get("changed"))
        for e in events
        if e["type"].startswith("tool")
    ]
    assert tools == [
        ("tool_call", {"instruction": "use Work Email for missing Email"}, None, None),
        ("tool_result", None, "Empty Contacts.Email cells take the value of Work Email", 1),
        ("tool_call", {"instruction": "drop rows where Email is empty"}, None, None),
        ("tool_result", None, "Rows with an empty Contacts.Email are dropped", 1),
    ]


@pytest.mark.parametrize(
    "message",
    [
        "make it nicer",
        "trim Emial",
        'map column "Fax" to Phone',
        "use Fax for missing Phone",
        "trim Email; sort by name",
        'map "" to "Open" in Status',
    ],
)
def test_an_unreadable_update_blocks_with_an_open_question_and_changes_nothing(
    gen2: Gen2, grammar_migration: str, message: str
) -> None:
    before = gen2.preview(grammar_migration)
    body = gen2.run_to_rest(grammar_migration, "update", message)
    assert body["status"] == "blocked"
    [question] = body["questions"]
    assert (question["options"], question["allowCustom"]) == ([], True)
    assert question["question"].endswith("Could you rephrase it?")
    assert gen2.preview(grammar_migration) == before
    done = gen2.answer_and_wait(
        grammar_migration, body["run_id"], [{"id": question["id"], "value": "lowercase Email"}]
    )
    assert done["status"] == "awaiting_approval"
    assert column_of(gen2.sheet(grammar_migration, "contacts"), "Email")[0] == "ann@example.com"


def test_update_starts_from_the_last_recipe(gen2: Gen2, grammar_migration: str) -> None:
    gen2.run_to_rest(grammar_migration, "update", "lowercase Email")
    gen2.run_to_rest(grammar_migration, "update", "use Work Email for missing Email")
    assert column_of(gen2.sheet(grammar_migration, "contacts"), "Email") == [
        "ann@example.com",
        "bob@example.com",
        None,
    ]


def test_a_column_can_be_qualified_with_its_template(gen2: Gen2) -> None:
    deals = csv_bytes([DEALS, [" Big deal ", "10", "Won", ""]])
    migration = gen2.migration_with_files([("deals.csv", deals)], templates=["deals"])
    gen2.run_to_rest(migration, "generate")
    gen2.run_to_rest(migration, "update", "trim Deals.Title")
    assert column_of(gen2.sheet(migration, "deals"), "Title") == ["Big deal"]


# -- clarify ------------------------------------------------------------------------------------
def test_clarify_answers_in_the_thread_and_changes_nothing(
    gen2: Gen2, grammar_migration: str
) -> None:
    assert gen2.run_to_rest(grammar_migration, "update", "trim Phone")["status"] == (
        "awaiting_approval"
    )
    before = gen2.preview(grammar_migration)
    body = gen2.run_to_rest(grammar_migration, "clarify", "Why are rows flagged?")
    assert body["status"] == "completed"
    assert gen2.preview(grammar_migration) == before
    answers = [
        e["data"]
        for e in gen2.thread(grammar_migration, "user")
        if e["type"] == "message"
        and e["data"].get("run_id") == body["run_id"]
        and e["data"]["role"] == "agent"
    ]
    assert len(answers) == 1
    answer = answers[0]
    assert answer["text"].startswith('You asked: "Why are rows flagged?"')
    assert answer["text"].endswith("Nothing was changed.")
    assert answer["templates"] == [
        {
            "template": "contacts",
            "rows": 3,
            "flagged_rows": 2,
            "invalid_cells": {"Email": 2, "First Name": 1},
        }
    ]
    assert answer["mapping"][0]["mapping"]["E-mail"] == "Email"
    # The next update still starts from the recipe clarify left alone.
    gen2.run_to_rest(grammar_migration, "update", "lowercase Email")
    assert column_of(gen2.sheet(grammar_migration, "contacts"), "Phone")[0] == "+1 555 0100"


# -- the preview -------------------------------------------------------------------------------
def test_preview_before_any_generate_is_404(gen2: Gen2) -> None:
    migration = gen2.migration()
    assert assert_error(gen2.get(f"/migrations/{migration}/preview"), 404) == (
        "No preview yet; run generate first"
    )


def test_preview_has_the_documented_shape_with_every_template(
    gen2: Gen2, grammar_migration: str
) -> None:
    body = gen2.preview(grammar_migration)
    assert list(body) == ["status", "templates", "sheets"]
    assert body["status"] == "awaiting_approval"
    assert body["templates"] == [{"slug": "contacts", "name": "Contacts"}]
    [sheet] = body["sheets"]
    assert sheet["rows"][0] == CONTACTS
    assert all(set(c) == {"row", "column", "error"} for c in sheet["invalid_cells"])
    assert "truncated" not in sheet


def test_preview_holds_the_first_10000_rows_of_a_bigger_sheet(gen2: Gen2) -> None:
    rows = [CONTACTS] + [[f"p{i}@example.com", "P", "", "", "Open", "Acme"] for i in range(10_003)]
    rows[10_002][0] = "not an email"  # row 10,001: beyond the preview
    rows[2][0] = "also not"
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(rows))], templates=["contacts"]
    )
    gen2.run_to_rest(migration, "generate")
    sheet = gen2.sheet(migration, "contacts")
    assert (sheet["total_rows"], sheet["truncated"], len(sheet["rows"])) == (10_003, True, 10_001)
    assert invalid(sheet) == {(1, "Email")}


def test_local_validation_predicts_the_preview(gen2: Gen2, samples: Any) -> None:
    migration = gen2.migration_with_files(
        [("customer_workbook.xlsx", (samples / "customer_workbook.xlsx").read_bytes())]
    )
    body = gen2.run_to_rest(migration, "generate")
    answers = [{"id": q["id"], "value": "Keep them flagged"} for q in body["questions"]]
    gen2.answer_and_wait(migration, body["run_id"], answers)
    templates = {t["name"]: t for t in gen2.get("/templates").json()["templates"]}
    sheets = {s["template"]["name"]: s for s in gen2.preview(migration)["sheets"]}
    frames = {
        name: pd.DataFrame(rows_of(sheet), columns=sheet["rows"][0], dtype=object)
        for name, sheet in sheets.items()
    }
    links = {
        "Accounts": {},
        "Contacts": {"Account": frames["Accounts"]["Name"]},
        "Deals": {"Contact Email": frames["Contacts"]["Email"]},
    }
    for name, sheet in sheets.items():
        report = migkit.validate(frames[name], templates[name], links=links[name])
        predicted = {
            (int(row), column, message)
            for row, column, message in report.errors[["row", "column", "message"]].itertuples(
                index=False
            )
        }
        shown = {(c["row"], c["column"], c["error"]) for c in sheet["invalid_cells"]}
        assert predicted, name
        assert predicted == shown, name


# -- execute and the export --------------------------------------------------------------------
@pytest.fixture
def executed(gen2: Gen2) -> str:
    rows = [
        CONTACTS,
        ["ann@example.com", 'Ann "The Boss"', "Lee, Jr.", "", "Open", "Acme"],
        ["bad-email", "Bob", "", "", "", "Acme"],
        ["cy@example.com", "Cy", "", "", "", "Acme"],
    ]
    migration = gen2.migration_with_files(
        [("contacts.csv", csv_bytes(rows))], templates=["contacts"]
    )
    gen2.run_to_rest(migration, "generate")
    report = gen2.run_to_rest(migration, "execute")["report"]
    assert (report["inserted"], report["invalidCellCount"]) == (3, 1)
    return migration


@pytest.mark.parametrize(
    ("filter", "emails"),
    [
        ("valid", ["ann@example.com", "cy@example.com"]),
        ("all", ["ann@example.com", "bad-email", "cy@example.com"]),
        ("invalid", ["bad-email"]),
    ],
)
@pytest.mark.parametrize("compressed", [False, True])
def test_export_each_filter_plain_and_gzip(
    gen2: Gen2, executed: str, filter: str, emails: list[str], compressed: bool
) -> None:
    response = gen2.session.get(
        gen2.url(f"/migrations/{executed}/exports/contacts.csv"),
        params={"filter": filter},
        headers={"Accept-Encoding": "gzip" if compressed else "identity"},
        stream=True,
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    assert response.headers["X-Total-Records"] == str(len(emails))
    assert response.headers.get("Content-Encoding") == ("gzip" if compressed else None)
    wire = response.raw.read(decode_content=False)
    assert wire.startswith(b"\x1f\x8b") is compressed
    rows = records(gzip.decompress(wire) if compressed else wire)
    assert rows[0] == CONTACTS
    assert [r[0] for r in rows[1:]] == emails
    if "ann@example.com" in emails:
        assert rows[1] == ["ann@example.com", 'Ann "The Boss"', "Lee, Jr.", "", "Open", "Acme"]


def test_export_before_any_execute_is_the_header_alone(gen2: Gen2, grammar_migration: str) -> None:
    response = gen2.export(grammar_migration, "contacts", "all")
    assert response.headers["X-Total-Records"] == "0"
    assert records(response.content) == [CONTACTS]


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("contacts", {}, 400, "must end in .csv"),
        ("contacts.json", {}, 400, "must end in .csv"),
        ("contacts.csv", {"filter": "flagged"}, 400, "filter must be one of: valid, all, invalid"),
        ("contact.csv", {}, 404, "No template with slug 'contact'"),
        ("deals.csv", {}, 404, "no sheet for deals"),
    ],
)
def test_export_errors(
    gen2: Gen2, executed: str, path: str, params: dict[str, str], status: int, needle: str
) -> None:
    response = gen2.get(f"/migrations/{executed}/exports/{path}", params=params)
    assert needle in assert_error(response, status)


def test_execute_inserts_valid_rows_clean_and_the_others_flagged_as_the_preview_showed(
    gen2: Gen2, executed: str
) -> None:
    flagged_in_preview = {row for row, _ in invalid(gen2.sheet(executed, "contacts"))}
    invalid_export = records(gen2.export(executed, "contacts", "invalid").content)[1:]
    all_export = records(gen2.export(executed, "contacts", "all").content)[1:]
    assert [all_export[row] for row in sorted(flagged_in_preview)] == invalid_export


def test_a_correction_sent_during_an_execute_changes_the_next_preview_not_the_import(
    slow_gen2: Gen2,
) -> None:
    rows = [CONTACTS, ["ANN@example.com", "Ann", "", "", "Open", "Acme"]]
    migration = slow_gen2.migration_with_files([("contacts.csv", csv_bytes(rows))])
    slow_gen2.run_to_rest(migration, "generate")
    run_id = slow_gen2.start(migration, "execute").json()["run_id"]
    slow_gen2.wait_run(migration, run_id, until=("running",))
    assert slow_gen2.answer(migration, run_id, "lowercase Email").status_code == 200
    assert slow_gen2.wait_run(migration, run_id)["status"] == "completed"
    assert slow_gen2.exported(migration, "contacts", "all")[1][0] == "ANN@example.com"
    slow_gen2.run_to_rest(migration, "update", "trim First Name")
    assert column_of(slow_gen2.sheet(migration, "contacts"), "Email") == ["ann@example.com"]


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [("gzip;q=0, identity", False), ("deflate, gzip;q=0.5", True), ("*", True), ("br", False)],
)
def test_export_compression_follows_accept_encoding(
    gen2: Gen2, executed: str, accept: str, compressed: bool
) -> None:
    response = gen2.session.get(
        gen2.url(f"/migrations/{executed}/exports/contacts.csv"),
        headers={"Accept-Encoding": accept},
        stream=True,
        timeout=30,
    )
    assert (response.headers.get("Content-Encoding") == "gzip") is compressed
    assert response.headers["Vary"] == "Accept-Encoding"
    wire = response.raw.read(decode_content=False)
    body = gzip.decompress(wire) if compressed else wire
    assert records(body)[0] == CONTACTS
