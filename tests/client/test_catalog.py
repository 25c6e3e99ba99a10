"""``client.sources`` and ``client.templates`` (migkit/resources/catalog.py).

Against the session sandbox over real HTTP; every client here polls on a tiny schedule
(the ``make_client`` / ``client`` fixtures)."""

from __future__ import annotations

import pytest

import migkit
from migkit.resources.catalog import UnknownName
from tests.helpers import ACCOUNTS, CONTACTS, DEALS, Api


# -- sources ---------------------------------------------------------------------------------
def test_sources_list_returns_the_accounts_sources_typed(client: migkit.Client, api: Api) -> None:
    sources = client.sources.list()
    assert all(isinstance(s, migkit.Source) for s in sources)
    served = api.get("/sources").json()["sources"]
    assert [(s.id, s.name, s.logo_url) for s in sources] == [
        (s["id"], s["name"], s["logo_url"]) for s in served
    ]
    assert [s.name for s in sources] == ["Legacy CRM", "Spreadsheet"]


def test_sources_get_finds_a_source_by_name_case_insensitively(client: migkit.Client) -> None:
    by_name = client.sources.get("spreadsheet")
    assert by_name.name == "Spreadsheet"


def test_sources_get_finds_a_source_by_id(client: migkit.Client) -> None:
    wanted = client.sources.list()[0]
    assert client.sources.get(wanted.id) == wanted


def test_sources_get_of_an_unknown_name_lists_the_known_names(client: migkit.Client) -> None:
    with pytest.raises(UnknownName) as caught:
        client.sources.get("Salesforce")
    assert isinstance(caught.value, migkit.MigkitError)
    message = str(caught.value)
    assert "'Salesforce'" in message
    assert "'Legacy CRM'" in message and "'Spreadsheet'" in message


# -- templates -------------------------------------------------------------------------------
def test_templates_list_returns_typed_templates_with_their_columns_in_order(
    client: migkit.Client,
) -> None:
    templates = {t.name: t for t in client.templates.list()}
    assert all(isinstance(t, migkit.Template) for t in templates.values())
    assert templates["Accounts"].column_names == ACCOUNTS
    assert templates["Contacts"].column_names == CONTACTS
    assert templates["Deals"].column_names == DEALS


def test_template_columns_carry_required_unique_and_pattern_rules(
    client: migkit.Client,
) -> None:
    email = client.templates.get("Contacts").column("Email")
    assert (email.required, email.unique, email.rule) == (True, True, "strict")
    assert email.pattern == r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    assert email.allowed is None


def test_template_columns_carry_allowed_values(client: migkit.Client) -> None:
    status = client.templates.get("Contacts").column("Status")
    assert (status.required, status.unique) == (False, False)
    assert status.allowed == ("Open", "Closed", "Pending")
    assert status.pattern is None


def test_template_link_columns_name_the_linked_template_and_column(
    client: migkit.Client,
) -> None:
    account = client.templates.get("Contacts").column("Account")
    assert account.rule == "link"
    assert account.link_template == client.templates.get("Accounts").id
    assert account.link_column == "Name"


def test_templates_get_by_name_and_by_id_give_the_same_template(
    client: migkit.Client, api: Api
) -> None:
    by_name = client.templates.get("deals")
    assert by_name.id == api.templates()["Deals"]["id"]
    assert client.templates.get(str(by_name.id)) == by_name


def test_templates_get_of_an_unknown_name_lists_the_known_names(client: migkit.Client) -> None:
    with pytest.raises(UnknownName, match="'Accounts', 'Contacts', 'Deals'"):
        client.templates.get("Invoices")
