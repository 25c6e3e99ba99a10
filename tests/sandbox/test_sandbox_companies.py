"""POST /companies and the EXT lookups GET /companies/{id} and GET /companies?external_id=.

Shapes follow migration-api.md §3.3 and the contract's "Provision a company" section.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from tests.helpers import Api, assert_error, is_uuid4

EXTERNAL_ID_MESSAGE = (
    "external_id must contain only alphanumeric characters, hyphens, and underscores "
    "(max 255 chars)"
)
REUSED_EXTERNAL_ID_MESSAGE = "external_id already used by another company in your account"
SOURCE = "<the account's first source>"
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def new_external_id() -> str:
    """An external_id no other test uses."""
    return f"ext-{uuid.uuid4().hex}"


def create(api: Api, **body: Any) -> requests.Response:
    """POST /companies with a valid name and source unless overridden."""
    body.setdefault("name", "Acme Corp")
    body.setdefault("source", api.source_id())
    return api.post("/companies", json=body)


# -- 201 body --------------------------------------------------------------------------------


def test_create_company_is_201(api: Api) -> None:
    assert create(api).status_code == 201


def test_create_company_body_has_exactly_the_documented_keys(api: Api) -> None:
    body = create(api).json()
    assert set(body) == {"company", "workbook_id", "sheets", "magic_link_url"}


def test_company_object_has_exactly_id_name_external_id_created_at(api: Api) -> None:
    company = create(api).json()["company"]
    assert set(company) == {"id", "name", "external_id", "created_at"}


def test_company_echoes_name_and_external_id(api: Api) -> None:
    external_id = new_external_id()
    company = create(api, name="Acme Corp", external_id=external_id).json()["company"]
    assert company["name"] == "Acme Corp"
    assert company["external_id"] == external_id


def test_company_external_id_is_null_when_not_given(api: Api) -> None:
    assert create(api).json()["company"]["external_id"] is None


def test_company_and_workbook_ids_are_uuid4(api: Api) -> None:
    body = create(api).json()
    assert is_uuid4(body["company"]["id"])
    assert is_uuid4(body["workbook_id"])
    assert body["company"]["id"] != body["workbook_id"]


def test_created_at_is_iso8601_utc_with_milliseconds_and_z(api: Api) -> None:
    created_at = create(api).json()["company"]["created_at"]
    assert ISO_MS_Z.fullmatch(created_at), created_at


def test_created_at_is_the_creation_time(api: Api) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    created_at = create(api).json()["company"]["created_at"]
    stamp = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=5)


def test_sheets_default_to_every_template_in_order(api: Api) -> None:
    templates = api.templates()
    sheets = create(api).json()["sheets"]
    assert [(s["name"], s["template_id"]) for s in sheets] == [
        (name, t["id"]) for name, t in templates.items()
    ]


def test_each_sheet_has_exactly_id_name_and_template_id(api: Api) -> None:
    for sheet in create(api).json()["sheets"]:
        assert set(sheet) == {"id", "name", "template_id"}


def test_sheet_ids_are_distinct_uuid4(api: Api) -> None:
    ids = [s["id"] for s in create(api).json()["sheets"]]
    assert all(is_uuid4(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_two_companies_get_different_ids(api: Api) -> None:
    first, second = create(api).json(), create(api).json()
    assert first["company"]["id"] != second["company"]["id"]
    assert first["workbook_id"] != second["workbook_id"]
    assert {s["id"] for s in first["sheets"]}.isdisjoint({s["id"] for s in second["sheets"]})


def test_magic_link_url_is_an_absolute_http_url(api: Api) -> None:
    url = create(api).json()["magic_link_url"]
    parsed = urlparse(url)
    assert parsed.scheme in ("http", "https")
    assert parsed.netloc


def test_template_ids_subset_creates_only_those_sheets(api: Api) -> None:
    templates = api.templates()
    wanted = [templates["Deals"]["id"], templates["Accounts"]["id"]]
    sheets = create(api, template_ids=wanted).json()["sheets"]
    assert sorted(s["template_id"] for s in sheets) == sorted(wanted)
    assert sorted(s["name"] for s in sheets) == ["Accounts", "Deals"]


def test_single_template_id_creates_a_single_sheet(api: Api) -> None:
    contacts = api.templates()["Contacts"]["id"]
    sheets = create(api, template_ids=[contacts]).json()["sheets"]
    assert [(s["name"], s["template_id"]) for s in sheets] == [("Contacts", contacts)]


def test_external_id_of_255_chars_is_accepted(api: Api) -> None:
    external_id = (uuid.uuid4().hex * 8)[:255]
    response = create(api, external_id=external_id)
    assert response.status_code == 201, response.text
    assert response.json()["company"]["external_id"] == external_id


def test_connections_are_not_returned_on_creation(api: Api) -> None:
    response = create(
        api,
        connections={"base_url": "https://dest.example", "auth": {"bearer": "tok-secret-1"}},
    )
    assert response.status_code == 201, response.text
    assert "connections" not in response.json()
    assert "tok-secret-1" not in response.text


# -- 400 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"source": SOURCE}, id="missing-name"),
        pytest.param({"name": "", "source": SOURCE}, id="empty-name"),
        pytest.param({"name": 123, "source": SOURCE}, id="name-number"),
        pytest.param({"name": ["Acme"], "source": SOURCE}, id="name-array"),
        pytest.param({"name": {"n": "Acme"}, "source": SOURCE}, id="name-object"),
        pytest.param({"name": True, "source": SOURCE}, id="name-bool"),
        pytest.param({"name": "Acme"}, id="missing-source"),
        pytest.param({"name": "Acme", "source": 7}, id="source-number"),
        pytest.param({"name": "Acme", "source": ""}, id="source-empty"),
    ],
)
def test_missing_or_wrong_typed_name_or_source_is_400(api: Api, body: dict[str, Any]) -> None:
    body = {k: api.source_id() if v == SOURCE else v for k, v in body.items()}
    assert_error(api.post("/companies", json=body), 400)


@pytest.mark.parametrize(
    "external_id",
    [
        pytest.param("has space", id="space"),
        pytest.param("a/b", id="slash"),
        pytest.param("acme.001", id="dot"),
        pytest.param("caf\u00e9", id="non-ascii"),
        pytest.param("", id="empty"),
        pytest.param(123, id="number"),
    ],
)
def test_malformed_external_id_is_400_with_the_documented_message(
    api: Api, external_id: object
) -> None:
    assert assert_error(create(api, external_id=external_id), 400) == EXTERNAL_ID_MESSAGE


def test_external_id_of_256_chars_is_400(api: Api) -> None:
    external_id = (uuid.uuid4().hex * 8)[:256]
    assert assert_error(create(api, external_id=external_id), 400) == EXTERNAL_ID_MESSAGE


@pytest.mark.parametrize(
    "template_ids",
    [
        pytest.param([str(uuid.uuid4())], id="random-uuid"),
        pytest.param(["not-a-uuid"], id="garbage"),
        pytest.param("KNOWN+UNKNOWN", id="one-known-one-unknown"),
    ],
)
def test_unknown_template_ids_are_400(api: Api, template_ids: Any) -> None:
    if template_ids == "KNOWN+UNKNOWN":
        template_ids = [api.templates()["Accounts"]["id"], str(uuid.uuid4())]
    assert_error(create(api, template_ids=template_ids), 400)


def test_template_ids_of_another_account_are_400(api: Api, other_api: Api) -> None:
    theirs = other_api.templates()["Accounts"]["id"]
    assert_error(create(api, template_ids=[theirs]), 400)


def test_rejected_creation_creates_no_company(api: Api) -> None:
    external_id = new_external_id()
    assert_error(create(api, external_id=external_id, template_ids=["nope"]), 400)
    assert api.get("/companies", params={"external_id": external_id}).json() == {"companies": []}


# -- 404 -------------------------------------------------------------------------------------


def test_source_of_another_account_is_404(api: Api, other_api: Api) -> None:
    assert_error(create(api, source=other_api.source_id()), 404)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("not-a-uuid", id="garbage"),
        pytest.param(str(uuid.uuid4()), id="random-uuid"),
    ],
)
def test_unknown_source_is_404(api: Api, source: str) -> None:
    assert_error(create(api, source=source), 404)


# -- 409 -------------------------------------------------------------------------------------


def test_reused_external_id_is_409_with_the_contract_message(api: Api) -> None:
    external_id = new_external_id()
    assert create(api, external_id=external_id).status_code == 201
    assert assert_error(create(api, external_id=external_id), 409) == REUSED_EXTERNAL_ID_MESSAGE


def test_reused_external_id_does_not_create_a_second_company(api: Api) -> None:
    external_id = new_external_id()
    first = create(api, external_id=external_id).json()
    create(api, name="Other name", external_id=external_id)
    found = api.get("/companies", params={"external_id": external_id}).json()["companies"]
    assert found == [first]


def test_external_id_may_be_reused_in_another_account(api: Api, other_api: Api) -> None:
    external_id = new_external_id()
    assert create(api, external_id=external_id).status_code == 201
    assert create(other_api, external_id=external_id).status_code == 201


def test_companies_without_external_id_never_conflict(api: Api) -> None:
    assert create(api).status_code == 201
    assert create(api).status_code == 201


# -- EXT GET /companies/{id} -----------------------------------------------------------------


def test_get_company_returns_the_same_body_as_creation(api: Api) -> None:
    created = create(api, external_id=new_external_id()).json()
    response = api.get(f"/companies/{created['company']['id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_get_company_with_a_template_subset_lists_only_its_sheets(api: Api) -> None:
    deals = api.templates()["Deals"]["id"]
    created = create(api, template_ids=[deals]).json()
    assert api.get(f"/companies/{created['company']['id']}").json()["sheets"] == (created["sheets"])


def test_get_company_never_contains_connections(api: Api) -> None:
    created = create(
        api,
        connections={"base_url": "https://dest.example", "auth": {"bearer": "tok-secret-2"}},
    ).json()
    response = api.get(f"/companies/{created['company']['id']}")
    assert response.status_code == 200
    assert "connections" not in response.json()
    assert "connections" not in response.json()["company"]
    assert "tok-secret-2" not in response.text
    assert "dest.example" not in response.text


def test_get_company_of_another_account_is_404(api: Api, other_api: Api) -> None:
    company_id = create(api).json()["company"]["id"]
    assert_error(other_api.get(f"/companies/{company_id}"), 404)


def test_get_unknown_company_is_404(api: Api) -> None:
    assert_error(api.get(f"/companies/{uuid.uuid4()}"), 404)


# -- EXT GET /companies?external_id= ---------------------------------------------------------


def test_find_by_external_id_returns_the_company(api: Api) -> None:
    external_id = new_external_id()
    created = create(api, external_id=external_id).json()
    response = api.get("/companies", params={"external_id": external_id})
    assert response.status_code == 200
    assert response.json() == {"companies": [created]}


def test_find_by_unknown_external_id_returns_an_empty_list(api: Api) -> None:
    response = api.get("/companies", params={"external_id": new_external_id()})
    assert response.status_code == 200
    assert response.json() == {"companies": []}


def test_find_by_external_id_does_not_see_another_accounts_company(
    api: Api, other_api: Api
) -> None:
    external_id = new_external_id()
    create(api, external_id=external_id)
    found = other_api.get("/companies", params={"external_id": external_id}).json()
    assert found == {"companies": []}


def test_find_by_external_id_never_contains_connections(api: Api) -> None:
    external_id = new_external_id()
    create(
        api,
        external_id=external_id,
        connections={"base_url": "https://dest.example", "auth": {"bearer": "tok-secret-3"}},
    )
    response = api.get("/companies", params={"external_id": external_id})
    assert len(response.json()["companies"]) == 1
    assert "connections" not in response.json()["companies"][0]
    assert "tok-secret-3" not in response.text


def test_list_companies_is_newest_first(api: Api) -> None:
    first = create(api).json()["company"]["id"]
    second = create(api).json()["company"]["id"]
    ids = [c["company"]["id"] for c in api.get("/companies").json()["companies"]]
    assert ids.index(second) < ids.index(first)


def test_list_companies_only_shows_the_accounts_own(api: Api, other_api: Api) -> None:
    theirs = create(other_api).json()["company"]["id"]
    ids = {c["company"]["id"] for c in api.get("/companies").json()["companies"]}
    assert theirs not in ids
