"""``client.companies`` (migkit/resources/companies.py).

Against the session sandbox over real HTTP; every client here polls on a tiny schedule
(the ``make_client`` / ``client`` fixtures)."""

from __future__ import annotations

import pytest

import migkit
from migkit.resources.companies import derived_external_id
from tests.client.resource_cases import MakeClient, ext_companies
from tests.helpers import Api, new_company, unique


# -- companies -------------------------------------------------------------------------------
def test_create_by_source_name_makes_a_company_with_every_template(
    client: migkit.Client, api: Api
) -> None:
    name = unique("Acme")
    company = client.companies.create(name, "Spreadsheet")
    assert isinstance(company, migkit.Company)
    assert company.name == name
    assert [s.name for s in company.sheets] == ["Accounts", "Contacts", "Deals"]
    served = api.get(f"/companies/{company.id}").json()
    assert served["company"]["name"] == name


def test_create_with_template_names_makes_only_those_sheets(client: migkit.Client) -> None:
    company = new_company(client, "Contacts", "deals")
    templates = {t.name: t.id for t in client.templates.list()}
    assert sorted((s.name, s.template_id) for s in company.sheets) == [
        ("Contacts", templates["Contacts"]),
        ("Deals", templates["Deals"]),
    ]


def test_create_with_an_explicit_external_id_uses_it(client: migkit.Client, api: Api) -> None:
    ext = unique("acme")
    company = new_company(client, external_id=ext)
    assert company.external_id == ext
    assert [c["company"]["id"] for c in ext_companies(api, ext)] == [company.id]


def test_create_without_external_id_derives_it_from_name_source_and_templates(
    client: migkit.Client,
) -> None:
    name = unique("Derived")
    company = client.companies.create(name, "Spreadsheet", templates=["Accounts"])
    expected = derived_external_id(
        name,
        client.sources.get("Spreadsheet").id,
        [str(client.templates.get("Accounts").id)],
    )
    assert company.external_id == expected


def test_derived_external_id_is_stable_across_clients(make_client: MakeClient, api: Api) -> None:
    name = unique("Stable")
    first = make_client().companies.create(name, "Spreadsheet", templates=["Accounts"])
    again = make_client(ledger=None).companies.create(name, "Spreadsheet", templates=["Accounts"])
    assert again.external_id == first.external_id
    assert again.id == first.id
    assert first.external_id is not None
    assert len(ext_companies(api, first.external_id)) == 1


def test_create_rerun_with_the_same_args_returns_the_same_company_and_makes_no_second(
    client: migkit.Client, api: Api
) -> None:
    ext = unique("rerun")
    before = len(api.get("/companies").json()["companies"])
    first = client.companies.create("Rerun Co", "Spreadsheet", external_id=ext)
    second = client.companies.create("Rerun Co", "Spreadsheet", external_id=ext)
    assert second.id == first.id
    assert len(ext_companies(api, ext)) == 1
    assert len(api.get("/companies").json()["companies"]) == before + 1


def test_create_of_a_reused_external_id_by_another_client_is_external_id_conflict(
    make_client: MakeClient, api: Api
) -> None:
    ext = unique("taken")
    make_client().companies.create("Owner", "Spreadsheet", external_id=ext)
    stranger = make_client(ledger=None)
    with pytest.raises(migkit.ExternalIdConflict):
        stranger.companies.create("Someone else", "Spreadsheet", external_id=ext)
    assert len(ext_companies(api, ext)) == 1


def test_create_of_a_reused_external_id_with_another_name_is_a_conflict_in_the_same_client(
    client: migkit.Client, api: Api
) -> None:
    # Two customers given the same external_id by mistake must not share one company.
    ext = unique("acme-001")
    first = client.companies.create("Acme", "Spreadsheet", external_id=ext, templates=["Accounts"])
    with pytest.raises(migkit.ExternalIdConflict):
        client.companies.create("Globex", "Spreadsheet", external_id=ext, templates=["Deals"])
    assert [c["company"]["id"] for c in ext_companies(api, ext)] == [first.id]


def test_companies_get_returns_the_company_with_its_sheets(client: migkit.Client) -> None:
    company = new_company(client, "Accounts", "Contacts")
    fetched = client.companies.get(company.id)
    assert fetched == company
    assert fetched.sheet("contacts").id == company.sheet("Contacts").id


def test_companies_find_answers_from_the_ledger_without_a_request(
    client: migkit.Client,
) -> None:
    ext = unique("ledger")
    company = new_company(client, "Accounts", external_id=ext)
    sent = client.requests_sent
    found = client.companies.find(ext)
    assert found is not None and found.id == company.id
    assert client.requests_sent == sent


def test_companies_find_without_a_ledger_uses_the_ext_lookup(make_client: MakeClient) -> None:
    ext = unique("lookup")
    company = new_company(make_client(), "Accounts", external_id=ext)
    fresh = make_client(ledger=None)
    found = fresh.companies.find(ext)
    assert found is not None and found.id == company.id
    assert [s.id for s in found.sheets] == [s.id for s in company.sheets]
    assert fresh.requests_sent == 1


def test_companies_find_of_an_unknown_external_id_is_none(client: migkit.Client) -> None:
    assert client.companies.find(unique("nobody")) is None
