"""The sandbox catalog: GET /sources, GET /templates and the OpenAPI document.

Shapes follow migration-api.md §3.1 and §3.2; the seeded content is sample_data/templates.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from migkit.sandbox import Sandbox
from tests.helpers import Api, is_uuid4

TEMPLATE_NAMES = ["Accounts", "Contacts", "Deals"]
EXT_OPERATIONS = [
    ("get", "/companies"),
    ("get", "/companies/{company_id}"),
    ("get", "/companies/{company_id}/imports"),
    ("patch", "/companies/{company_id}/imports/{run_id}"),
]
DOCUMENTED_OPERATIONS = [
    ("get", "/sources"),
    ("get", "/templates"),
    ("post", "/companies"),
    ("post", "/companies/{company_id}/uploads"),
    ("post", "/companies/{company_id}/imports"),
    ("get", "/companies/{company_id}/imports/{run_id}"),
    ("post", "/companies/{company_id}/imports/{run_id}/decisions"),
    ("get", "/companies/{company_id}/export.csv"),
    ("post", "/companies/{company_id}/exports"),
    ("get", "/companies/{company_id}/exports/{run_id}"),
]


def catalog(samples: Path) -> dict[str, Any]:
    """The seeded catalog file."""
    data: dict[str, Any] = json.loads((samples / "templates.json").read_text("utf-8"))
    return data


def expected_columns(
    template: dict[str, Any], template_ids: dict[str, str]
) -> list[dict[str, Any]]:
    """The catalog's columns with each linkRule's template name resolved to its id."""
    columns = []
    for column in template["columns"]:
        column = dict(column)
        if "linkRule" in column:
            column["linkRule"] = [
                {"templateId": template_ids[link["template"]], "columnName": link["columnName"]}
                for link in column["linkRule"]
            ]
        columns.append(column)
    return columns


def column(api: Api, template: str, name: str) -> dict[str, Any]:
    """One column of one template, as the sandbox lists it."""
    columns = api.templates()[template]["columns"]
    return dict(next(c for c in columns if c["name"] == name))


@pytest.fixture(scope="module")
def openapi(sandbox: Sandbox) -> dict[str, Any]:
    response = requests.get(sandbox.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


# -- GET /sources ----------------------------------------------------------------------------


def test_sources_is_200_json(api: Api) -> None:
    response = api.get("/sources")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


def test_sources_body_has_only_the_sources_array(api: Api) -> None:
    body = api.get("/sources").json()
    assert list(body) == ["sources"]
    assert isinstance(body["sources"], list)


def test_sources_are_the_catalog_sources_in_order(api: Api, samples: Path) -> None:
    names = [s["name"] for s in api.get("/sources").json()["sources"]]
    assert names == [s["name"] for s in catalog(samples)["sources"]]


def test_each_source_has_exactly_id_name_and_logo_url(api: Api) -> None:
    for source in api.get("/sources").json()["sources"]:
        assert set(source) == {"id", "name", "logo_url"}


def test_source_ids_are_uuid4_strings(api: Api) -> None:
    ids = [s["id"] for s in api.get("/sources").json()["sources"]]
    assert ids
    assert all(is_uuid4(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_source_logo_url_is_null(api: Api) -> None:
    sources = api.get("/sources").json()["sources"]
    assert [s["logo_url"] for s in sources] == [None] * len(sources)


# -- GET /templates --------------------------------------------------------------------------


def test_templates_is_200_json(api: Api) -> None:
    response = api.get("/templates")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


def test_templates_body_has_only_the_templates_array(api: Api) -> None:
    body = api.get("/templates").json()
    assert list(body) == ["templates"]
    assert isinstance(body["templates"], list)


def test_templates_are_accounts_contacts_deals_in_order(api: Api) -> None:
    names = [t["name"] for t in api.get("/templates").json()["templates"]]
    assert names == TEMPLATE_NAMES


def test_each_template_has_exactly_id_name_slug_description_and_columns(api: Api) -> None:
    for template in api.get("/templates").json()["templates"]:
        assert set(template) == {"id", "name", "slug", "description", "columns"}


def test_template_ids_are_uuid4_strings(api: Api) -> None:
    ids = [t["id"] for t in api.get("/templates").json()["templates"]]
    assert all(is_uuid4(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_template_descriptions_come_from_the_catalog(api: Api, samples: Path) -> None:
    listed = {t["name"]: t["description"] for t in api.get("/templates").json()["templates"]}
    assert listed == {t["name"]: t["description"] for t in catalog(samples)["templates"]}


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_columns_follow_the_catalog_rules(api: Api, samples: Path, name: str) -> None:
    templates = api.templates()
    ids = {n: str(t["id"]) for n, t in templates.items()}
    wanted = next(t for t in catalog(samples)["templates"] if t["name"] == name)
    assert templates[name]["columns"] == expected_columns(wanted, ids)


def test_every_column_has_the_documented_keys(api: Api) -> None:
    for template in api.get("/templates").json()["templates"]:
        for col in template["columns"]:
            assert {"name", "description", "required", "unique", "desiredRule"} <= set(col)
            assert isinstance(col["required"], bool)
            assert isinstance(col["unique"], bool)
            assert col["desiredRule"] in ("none", "ai", "strict", "link")


def test_strict_columns_carry_a_regex_or_a_list_of_values(api: Api) -> None:
    for template in api.get("/templates").json()["templates"]:
        for col in template["columns"]:
            if col["desiredRule"] == "strict":
                assert isinstance(col["strictRule"], (str, list)), col


def test_contacts_account_link_points_at_the_accounts_template_id(api: Api) -> None:
    templates = api.templates()
    account = column(api, "Contacts", "Account")
    assert account["desiredRule"] == "link"
    assert account["linkRule"] == [
        {"templateId": templates["Accounts"]["id"], "columnName": "Name"}
    ]


def test_deals_contact_email_link_points_at_the_contacts_template_id(api: Api) -> None:
    templates = api.templates()
    contact_email = column(api, "Deals", "Contact Email")
    assert contact_email["linkRule"] == [
        {"templateId": templates["Contacts"]["id"], "columnName": "Email"}
    ]


def test_link_rules_never_leak_the_catalog_template_name_key(api: Api) -> None:
    for template in api.get("/templates").json()["templates"]:
        for col in template["columns"]:
            for link in col.get("linkRule", []):
                assert set(link) == {"templateId", "columnName"}


# -- accounts are isolated -------------------------------------------------------------------


def test_two_accounts_see_different_source_ids(api: Api, other_api: Api) -> None:
    mine = {s["id"] for s in api.get("/sources").json()["sources"]}
    theirs = {s["id"] for s in other_api.get("/sources").json()["sources"]}
    assert mine and theirs
    assert mine.isdisjoint(theirs)


def test_two_accounts_see_different_template_ids(api: Api, other_api: Api) -> None:
    mine = {t["id"] for t in api.get("/templates").json()["templates"]}
    theirs = {t["id"] for t in other_api.get("/templates").json()["templates"]}
    assert mine.isdisjoint(theirs)


def test_two_accounts_see_the_same_template_names(api: Api, other_api: Api) -> None:
    assert list(api.templates()) == list(other_api.templates()) == TEMPLATE_NAMES


def test_each_account_links_to_its_own_accounts_template(api: Api, other_api: Api) -> None:
    theirs = other_api.templates()
    link = column(other_api, "Contacts", "Account")["linkRule"][0]
    assert link["templateId"] == theirs["Accounts"]["id"]
    assert link["templateId"] != api.templates()["Accounts"]["id"]


def test_catalog_is_stable_between_calls(api: Api) -> None:
    assert api.get("/templates").json() == api.get("/templates").json()
    assert api.get("/sources").json() == api.get("/sources").json()


# -- GET /openapi.json -----------------------------------------------------------------------


def test_openapi_document_needs_no_api_key(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


def test_openapi_document_ignores_a_wrong_api_key(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.base_url + "/openapi.json", headers={"x-api-key": "sk_wrong"}, timeout=30
    )
    assert response.status_code == 200


def test_openapi_document_is_openapi_3_1(openapi: dict[str, Any]) -> None:
    assert isinstance(openapi["openapi"], str)
    assert openapi["openapi"].startswith("3.1")


def test_openapi_servers_url_is_this_sandbox(openapi: dict[str, Any], sandbox: Sandbox) -> None:
    assert openapi["servers"]
    assert [s["url"] for s in openapi["servers"]] == [sandbox.base_url]


@pytest.mark.parametrize(("method", "path"), EXT_OPERATIONS)
def test_openapi_marks_sandbox_extensions_as_sandbox_only(
    openapi: dict[str, Any], method: str, path: str
) -> None:
    assert openapi["paths"][path][method]["x-sandbox-only"] is True


@pytest.mark.parametrize(("method", "path"), DOCUMENTED_OPERATIONS)
def test_openapi_does_not_mark_documented_endpoints_as_sandbox_only(
    openapi: dict[str, Any], method: str, path: str
) -> None:
    assert openapi["paths"][path][method].get("x-sandbox-only") is not True
