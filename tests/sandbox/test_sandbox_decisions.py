"""Runs paused at needs_attention: the question and patch shapes, every kind of decision and
its end state, decision errors, and the sandbox-only cancel. Everything goes over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.helpers import CONTACTS, Api, company_with, csv_bytes, exported

# One clean row, two out-of-list Status values and one missing First Name.
PAUSING_ROWS = [
    CONTACTS,
    ["ann@example.com", "Ann", "", "", "Open", "Acme"],
    ["bob@example.com", "Bob", "", "", "open", "Acme"],
    ["cy@example.com", "Cy", "", "", "CLOSED", "Acme"],
    ["dee@example.com", "", "", "", "Pending", "Acme"],
]
QUESTION_KEYS = {"id", "prompt", "context", "target", "relevant_columns", "options", "allow_custom"}


def contact_rows(
    api: Api, company_id: str, sheet_id: str, filter: str = "valid"
) -> list[list[str]]:
    """The export's data records (its CONTACTS header checked, then left out)."""
    return exported(api, company_id, sheet_id, filter, header=CONTACTS)


def by_email(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in rows}


class Paused:
    """A Contacts-only company whose import of PAUSING_ROWS waits at needs_attention."""

    def __init__(self, api: Api) -> None:
        self.api = api
        company = company_with(api, "Contacts")
        self.company_id = company["company"]["id"]
        self.sheet_id = api.sheet_id(company, "Contacts")
        response = api.import_files(self.company_id, [("contacts.csv", csv_bytes(PAUSING_ROWS))])
        assert response.status_code == 201, response.text
        self.run_id = response.json()["run_id"]
        self.poll_url = response.json()["poll_url"]
        self.body = api.wait(self.poll_url)
        assert self.body["status"] == "needs_attention", self.body

    def question(self, column: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        questions = (body or self.body)["needs_attention"]["questions"]
        return next(q for q in questions if q["target"]["column"] == column)

    def decide(self, decision: Any) -> requests.Response:
        return self.api.post(
            f"/companies/{self.company_id}/imports/{self.run_id}/decisions", json=decision
        )

    def decide_and_wait(self, decision: Any) -> dict[str, Any]:
        response = self.decide(decision)
        assert response.status_code == 200, response.text
        return self.api.wait(self.poll_url)

    def answer(self, by_column: dict[str, str]) -> dict[str, Any]:
        """Answer the questions about the given columns, each with the given value."""
        answers = [
            {"id": self.question(column)["id"], "value": value}
            for column, value in by_column.items()
        ]
        return self.decide_and_wait({"answers": answers})

    def cancel(self, body: Any = None) -> requests.Response:
        return self.api.patch(
            f"/companies/{self.company_id}/imports/{self.run_id}",
            json={"status": "cancel_requested"} if body is None else body,
        )


@pytest.fixture
def paused(api: Api) -> Paused:
    return Paused(api)


# -- the needs_attention body ----------------------------------------------------------------
def test_pause_body_has_exactly_status_report_and_needs_attention(paused: Paused) -> None:
    assert set(paused.body) == {"status", "report", "needs_attention"}
    assert set(paused.body["needs_attention"]) == {"questions", "proposed_patch"}


def test_questions_have_ids_fq0_onwards_and_the_documented_fields(paused: Paused) -> None:
    questions = paused.body["needs_attention"]["questions"]
    assert [q["id"] for q in questions] == [f"fq{i}" for i in range(len(questions))]
    assert len(questions) == 2
    for question in questions:
        assert set(question) == QUESTION_KEYS
        assert set(question["target"]) == {
            "sheet_id",
            "column",
            "affected_count",
            "sample_values",
            "error",
        }
        assert question["target"]["sheet_id"] == paused.sheet_id
        assert question["relevant_columns"] == [question["target"]["column"]]
        assert isinstance(question["prompt"], str) and question["prompt"]
        assert isinstance(question["context"], str) and question["context"]
        assert all(set(option) == {"id", "label"} for option in question["options"])
        assert question["allow_custom"] is True


def test_allowed_value_question_targets_the_bad_status_values(paused: Paused) -> None:
    question = paused.question("Status")
    assert question["target"]["affected_count"] == 2
    assert sorted(question["target"]["sample_values"]) == ["CLOSED", "open"]
    assert question["target"]["error"] == "Does not match allowed values: Open, Closed, Pending"
    labels = [option["label"] for option in question["options"]]
    assert {
        "Map all to 'Open'",
        "Map all to 'Closed'",
        "Map all to 'Pending'",
        "Remove these rows",
        "Keep these rows flagged",
    } <= set(labels)


def test_required_question_targets_the_row_missing_first_name(paused: Paused) -> None:
    question = paused.question("First Name")
    assert question["target"]["affected_count"] == 1
    labels = [option["label"] for option in question["options"]]
    assert labels == ["Remove these rows", "Keep these rows flagged"]


@pytest.mark.parametrize("how", ["file", "inline"])
def test_sample_values_never_show_blank_or_missing_cells_as_nan(api: Api, how: str) -> None:
    # First Name is required: one row leaves it empty, one writes spaces, one (inline) omits it.
    cid = company_with(api, "Contacts")["company"]["id"]
    if how == "file":
        rows = [
            CONTACTS,
            ["ann@example.com", "", "", "", "Open", "Acme"],
            ["bob@example.com", "   ", "", "", "Open", "Acme"],
        ]
        response = api.import_files(cid, [("contacts.csv", csv_bytes(rows))])
    else:
        objects = [
            {"Email": "ann@example.com", "First Name": None, "Account": "Acme"},
            {"Email": "bob@example.com", "Account": "Acme"},
            {"Email": "cy@example.com", "First Name": "  ", "Account": "Acme"},
        ]
        response = api.post(f"/companies/{cid}/imports", json={"rows": objects})
    body = api.wait(response.json()["poll_url"])
    assert body["status"] == "needs_attention", body
    (question,) = body["needs_attention"]["questions"]
    assert question["target"]["column"] == "First Name"
    assert question["target"]["sample_values"] == []
    assert "nan" not in json.dumps(body)


def test_proposed_patch_maps_to_closest_values_and_deletes_missing_required(paused: Paused) -> None:
    patch = paused.body["needs_attention"]["proposed_patch"]
    assert set(patch) == {"summary", "actions"}
    assert isinstance(patch["summary"], str) and patch["summary"]
    set_values = {(a["column"], a["value"]) for a in patch["actions"] if a["action"] == "set_value"}
    assert set_values == {("Status", "Open"), ("Status", "Closed")}
    deletes = [a for a in patch["actions"] if a["action"] == "delete_invalid_rows"]
    assert deletes == [
        {"action": "delete_invalid_rows", "sheet_id": paused.sheet_id, "column": "First Name"}
    ]
    assert all(a["sheet_id"] == paused.sheet_id for a in patch["actions"])


def test_set_value_actions_name_the_values_they_replace(paused: Paused) -> None:
    actions = paused.body["needs_attention"]["proposed_patch"]["actions"]
    replaced = {a["value"]: a["values"] for a in actions if a["action"] == "set_value"}
    assert replaced == {"Open": ["open"], "Closed": ["CLOSED"]}


def test_pause_report_counts_clean_rows_inserted_before_the_pause(paused: Paused) -> None:
    report = paused.body["report"]
    assert report["inserted"] == 1
    assert report["invalidCellCount"] == 3
    assert report["perSheet"] == [
        {"templateName": "Contacts", "sheetId": paused.sheet_id, "rowCount": 1}
    ]
    assert [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id)] == [
        "ann@example.com"
    ]


# -- decisions and their end states ----------------------------------------------------------
def test_decision_answers_200_with_the_run_queued(paused: Paused) -> None:
    response = paused.decide({"accept_proposed_patch": True})
    assert response.status_code == 200
    assert response.json() == {"run_id": paused.run_id, "status": "queued"}
    assert paused.api.wait(paused.poll_url)["status"] == "completed"


def test_accepting_the_patch_completes_with_fixed_values_and_deleted_rows(paused: Paused) -> None:
    body = paused.decide_and_wait({"accept_proposed_patch": True})
    assert body["status"] == "completed", body
    assert body["report"]["inserted"] == 3
    assert body["report"]["invalidCellCount"] == 0
    rows = by_email(contact_rows(paused.api, paused.company_id, paused.sheet_id))
    assert {email: row[4] for email, row in rows.items()} == {
        "ann@example.com": "Open",
        "bob@example.com": "Open",
        "cy@example.com": "Closed",
    }


def test_accepting_the_patch_never_duplicates_rows(paused: Paused) -> None:
    assert paused.decide_and_wait({"accept_proposed_patch": True})["status"] == "completed"
    emails = [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id, "all")]
    assert sorted(emails) == ["ann@example.com", "bob@example.com", "cy@example.com"]


def test_answer_map_all_to_a_value_and_remove_rows(paused: Paused) -> None:
    body = paused.answer({"Status": "Map all to 'Open'", "First Name": "Remove these rows"})
    assert body["status"] == "completed", body
    rows = by_email(contact_rows(paused.api, paused.company_id, paused.sheet_id, "all"))
    assert {email: row[4] for email, row in rows.items()} == {
        "ann@example.com": "Open",
        "bob@example.com": "Open",
        "cy@example.com": "Open",
    }


def test_answer_map_each_value_to_the_closest_allowed_value(paused: Paused) -> None:
    body = paused.answer(
        {"Status": "Map each value to the closest allowed value", "First Name": "Remove these rows"}
    )
    assert body["status"] == "completed", body
    rows = by_email(contact_rows(paused.api, paused.company_id, paused.sheet_id, "all"))
    assert {email: row[4] for email, row in rows.items()} == {
        "ann@example.com": "Open",
        "bob@example.com": "Open",
        "cy@example.com": "Closed",
    }


def test_answer_remove_these_rows_for_a_value_question(paused: Paused) -> None:
    body = paused.answer({"Status": "Remove these rows", "First Name": "Remove these rows"})
    assert body["status"] == "completed", body
    assert body["report"]["inserted"] == 1
    assert [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id, "all")] == [
        "ann@example.com"
    ]


def test_answer_keep_these_rows_flagged_keeps_them_out_of_valid(paused: Paused) -> None:
    body = paused.answer(
        {"Status": "Map all to 'Pending'", "First Name": "Keep these rows flagged"}
    )
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 1
    valid = by_email(contact_rows(paused.api, paused.company_id, paused.sheet_id))
    every = by_email(contact_rows(paused.api, paused.company_id, paused.sheet_id, "all"))
    assert sorted(valid) == ["ann@example.com", "bob@example.com", "cy@example.com"]
    assert sorted(every) == sorted([*valid, "dee@example.com"])
    assert valid["bob@example.com"][4] == valid["cy@example.com"][4] == "Pending"


def test_free_text_answers_set_the_flagged_cells(paused: Paused) -> None:
    body = paused.answer({"Status": "Closed", "First Name": "Unknown"})
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 0
    rows = by_email(contact_rows(paused.api, paused.company_id, paused.sheet_id))
    assert rows["bob@example.com"][4] == rows["cy@example.com"][4] == "Closed"
    assert rows["dee@example.com"][1] == "Unknown"
    assert rows["ann@example.com"][4] == "Open"


def test_unanswered_questions_keep_their_rows_flagged(paused: Paused) -> None:
    body = paused.answer({"Status": "Map all to 'Open'"})
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 1
    valid = [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id)]
    assert "dee@example.com" not in valid
    assert len(valid) == 3


def test_a_free_text_answer_still_not_allowed_asks_again(paused: Paused) -> None:
    body = paused.answer({"Status": "Maybe", "First Name": "Remove these rows"})
    assert body["status"] == "needs_attention", body
    question = paused.question("Status", body)
    assert question["target"]["sample_values"] == ["Maybe"]
    assert question["target"]["affected_count"] == 2


def test_rows_are_not_duplicated_across_several_decision_rounds(paused: Paused) -> None:
    again = paused.answer({"Status": "Maybe", "First Name": "Keep these rows flagged"})
    assert again["status"] == "needs_attention", again
    assert again["report"]["inserted"] == 1
    final = paused.decide_and_wait({"accept_proposed_patch": True})
    assert final["status"] == "completed", final
    emails = [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id, "all")]
    assert sorted(emails) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
    ]


def test_reject_completes_with_the_flagged_rows_kept_flagged(paused: Paused) -> None:
    body = paused.decide_and_wait({"reject": True})
    assert body["status"] == "completed", body
    assert body["report"]["invalidCellCount"] == 3
    valid = [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id)]
    every = contact_rows(paused.api, paused.company_id, paused.sheet_id, "all")
    assert valid == ["ann@example.com"]
    assert sorted(r[0] for r in every) == sorted(r[0] for r in PAUSING_ROWS[1:])
    assert by_email(every)["bob@example.com"][4] == "open"


# -- decision errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "decision",
    [
        {"answers": [{"id": "fq9", "value": "Remove these rows"}]},
        {"answers": [{"id": "nope", "value": "Keep these rows flagged"}]},
    ],
    ids=["fq9", "nope"],
)
def test_unknown_question_id_is_400(paused: Paused, decision: dict[str, Any]) -> None:
    response = paused.decide(decision)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert paused.api.get(paused.poll_url).json()["status"] == "needs_attention"


@pytest.mark.parametrize(
    "decision",
    [
        [],
        {},
        {"answers": "Remove these rows"},
        {"answers": []},
        {"answers": [{"id": "fq0"}]},
        {"accept_proposed_patch": "yes"},
        {"reject": False},
    ],
    ids=[
        "array",
        "empty",
        "answers-string",
        "answers-empty",
        "no-value",
        "accept-string",
        "reject-false",
    ],
)
def test_malformed_decision_is_400(paused: Paused, decision: Any) -> None:
    response = paused.decide(decision)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert paused.api.get(paused.poll_url).json()["status"] == "needs_attention"


def test_two_kinds_of_decision_at_once_is_400(paused: Paused) -> None:
    response = paused.decide({"accept_proposed_patch": True, "reject": True})
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert paused.api.get(paused.poll_url).json()["status"] == "needs_attention"


def test_decision_on_a_completed_run_is_409(paused: Paused) -> None:
    assert paused.decide_and_wait({"reject": True})["status"] == "completed"
    response = paused.decide({"accept_proposed_patch": True})
    assert response.status_code == 409
    assert response.json() == {"error": "Run is not waiting for a decision"}


# -- cancel (sandbox-only) -------------------------------------------------------------------
def start_import(api: Api, company_id: str, email: str) -> dict[str, Any]:
    rows = [{"Email": email, "First Name": "Ann", "Account": "Acme"}]
    response = api.post(f"/companies/{company_id}/imports", json={"rows": rows})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_cancel_a_paused_run_removes_the_rows_it_inserted(paused: Paused) -> None:
    response = paused.cancel()
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert paused.api.get(paused.poll_url).json() == {"status": "canceled"}
    assert contact_rows(paused.api, paused.company_id, paused.sheet_id, "all") == []


def test_cancel_a_queued_run(slow_api: Api) -> None:
    busy = start_import(
        slow_api, company_with(slow_api, "Contacts")["company"]["id"], "a@example.com"
    )
    company = company_with(slow_api, "Contacts")
    cid = company["company"]["id"]
    run = start_import(slow_api, cid, "b@example.com")
    assert slow_api.get(run["poll_url"]).json()["status"] == "queued"
    response = slow_api.patch(run["poll_url"], json={"status": "cancel_requested"})
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert slow_api.wait(busy["poll_url"])["status"] == "completed"
    assert slow_api.get(run["poll_url"]).json() == {"status": "canceled"}
    assert contact_rows(slow_api, cid, slow_api.sheet_id(company, "Contacts"), "all") == []


def test_cancel_a_running_run_leaves_no_rows(slow_api: Api) -> None:
    company = company_with(slow_api, "Contacts")
    cid = company["company"]["id"]
    run = start_import(slow_api, cid, "a@example.com")
    slow_api.wait(run["poll_url"], until=("running",))
    response = slow_api.patch(run["poll_url"], json={"status": "cancel_requested"})
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    # The next run needs the only worker, so once it completes the canceled pass has ended.
    after = start_import(slow_api, cid, "b@example.com")
    assert slow_api.wait(after["poll_url"])["status"] == "completed"
    assert slow_api.get(run["poll_url"]).json() == {"status": "canceled"}
    emails = [
        r[0] for r in contact_rows(slow_api, cid, slow_api.sheet_id(company, "Contacts"), "all")
    ]
    assert emails == ["b@example.com"]


def test_cancel_a_terminal_run_is_409(paused: Paused) -> None:
    assert paused.decide_and_wait({"reject": True})["status"] == "completed"
    response = paused.cancel()
    assert response.status_code == 409
    assert set(response.json()) == {"error"}
    assert paused.api.get(paused.poll_url).json()["status"] == "completed"


@pytest.mark.parametrize(
    "body",
    [{"status": "canceled"}, {}, ["cancel_requested"]],
    ids=["other-status", "empty", "array"],
)
def test_cancel_with_a_wrong_body_is_400(paused: Paused, body: Any) -> None:
    response = paused.cancel(body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert paused.api.get(paused.poll_url).json()["status"] == "needs_attention"


def test_a_canceled_run_no_longer_blocks_new_imports(paused: Paused) -> None:
    assert paused.cancel().status_code == 200
    run = start_import(paused.api, paused.company_id, "zed@example.com")
    assert paused.api.wait(run["poll_url"])["status"] == "completed"
    assert [r[0] for r in contact_rows(paused.api, paused.company_id, paused.sheet_id, "all")] == [
        "zed@example.com"
    ]
