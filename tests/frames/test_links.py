"""``linkRule`` is a list (migration-api.md §3.2): a template keeps every entry, and a value
found in any linked column is valid, in local validation and in the sandbox alike (both use
``migkit.rules.link_values``).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import migkit
from migkit.rules import Template
from tests.helpers import start_sandbox

TWO_LINKS = {
    "name": "Tasks",
    "columns": [
        {
            "name": "Owner",
            "required": True,
            "desiredRule": "link",
            "linkRule": [
                {"templateId": "Users", "columnName": "Email"},
                {"templateId": "Teams", "columnName": "Alias"},
            ],
        }
    ],
}


def test_a_template_keeps_every_link_rule_entry() -> None:
    from migkit.rules import Link

    owner = Template.from_api(TWO_LINKS).column("Owner")
    assert owner.links == (Link("Users", "Email"), Link("Teams", "Alias"))
    assert (owner.link_template, owner.link_column) == ("Users", "Email")  # the first, as before


def test_validate_accepts_a_value_of_any_link_and_flags_one_of_none() -> None:
    tasks = pd.DataFrame({"Owner": ["ann@x.io", "ops", "nobody"]}, index=[10, 20, 30])
    users = pd.DataFrame({"Email": ["ann@x.io"]})
    teams = pd.DataFrame({"Alias": ["ops"]})
    report = migkit.validate(tasks, TWO_LINKS, links={"Users": users, "Teams": teams})
    assert report.errors["row"].tolist() == [30]
    assert report.errors["message"].iloc[0] == "Not a Users Email or a Teams Alias"
    assert report.unchecked == ()


def test_validate_checks_the_links_it_was_given_values_for() -> None:
    tasks = pd.DataFrame({"Owner": ["ann@x.io", "ops"]})
    report = migkit.validate(tasks, TWO_LINKS, links={"Teams": pd.DataFrame({"Alias": ["ops"]})})
    assert report.errors["value"].tolist() == ["ann@x.io"]


def test_a_frame_given_for_the_link_column_serves_every_link() -> None:
    tasks = pd.DataFrame({"Owner": ["ann@x.io", "ops", "nobody"]})
    both = pd.DataFrame({"Email": ["ann@x.io", "bob@x.io"], "Alias": ["ops", "dev"]})
    report = migkit.validate(tasks, TWO_LINKS, links={"Owner": both})
    assert report.errors["value"].tolist() == ["nobody"]


@pytest.fixture
def two_link_sandbox(tmp_path: Path) -> Iterator[migkit.Client]:
    """A sandbox whose Contacts.Account links to Accounts.Name *and* Accounts.Domain (its
    catalog has one link per column, so the second is written into the database)."""
    key = f"sk_test_{uuid.uuid4().hex}"
    db = tmp_path / "sandbox.db"
    sandbox = start_sandbox(db, key)
    client = migkit.Client(key, sandbox.base_url, ledger=None, progress=False)
    accounts = client.templates.get("Accounts")
    with sqlite3.connect(db) as store:
        (raw,) = store.execute(
            "SELECT columns_json FROM templates WHERE name = 'Contacts'"
        ).fetchone()
        columns = json.loads(raw)
        for column in columns:
            if column["name"] == "Account":
                column["linkRule"].append({"templateId": accounts.id, "columnName": "Domain"})
        store.execute(
            "UPDATE templates SET columns_json = ? WHERE name = 'Contacts'", (json.dumps(columns),)
        )
    yield client
    client.close()
    sandbox.stop()


def test_the_sandbox_checks_every_link_and_validate_predicts_it(
    two_link_sandbox: migkit.Client,
) -> None:
    client = two_link_sandbox
    company = client.companies.create("Links Co", "Spreadsheet", templates=["Accounts", "Contacts"])
    accounts = pd.DataFrame({"Name": ["Acme"], "Domain": ["acme.com"]})
    client.imports.wait(client.imports.create(company, frame=accounts, sheet="Accounts"))
    contacts = pd.DataFrame(
        {
            "Email": ["a@x.io", "b@x.io", "c@x.io"],
            "First Name": ["Ann", "Bob", "Cy"],
            "Account": ["Acme", "acme.com", "Nope"],
        }
    )
    template = client.templates.get("Contacts")
    assert len(template.column("Account").links) == 2
    predicted = migkit.validate(contacts, template, links={"Account": accounts})
    run = client.imports.wait(client.imports.create(company, frame=contacts, sheet="Contacts"))
    assert run.status == "completed" and run.report is not None
    flagged = client.exports.frame(company, "Contacts", filter="flagged")
    assert flagged["Account"].tolist() == ["Nope"]
    assert run.report.flagged_rows == predicted.predicted_flagged_rows == 1
    assert predicted.errors["value"].tolist() == ["Nope"]
