"""The signed upload handshake: POST /companies/{id}/uploads, then PUT <upload_url>.

Behaviour follows migration-api.md §3.4, the contract's "Uploads" section and
docs/sandbox-contract.md ("Uploads", "Body limits").
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

import migkit.sandbox
from migkit.sandbox import Sandbox, SandboxConfig
from tests.helpers import Api, assert_error, company_with

CSV = b"Name,Domain,Tier\nAcme,acme.com,Gold\n"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACCEPTED_TYPES = [
    "text/csv",
    XLSX,
    "application/vnd.ms-excel",
    "text/tab-separated-values",
    "application/json",
]


def grant(
    api: Api,
    company_id: str,
    name: str = "accounts.csv",
    content_type: str = "text/csv",
    size: int = len(CSV),
) -> requests.Response:
    """Ask for a signed upload URL."""
    return api.post(
        f"/companies/{company_id}/uploads",
        json={"name": name, "content_type": content_type, "size": size},
    )


def put(url: str, data: bytes, content_type: str = "text/csv") -> requests.Response:
    """PUT bytes to a signed URL, as a plain client with no API key."""
    return requests.put(url, data=data, headers={"Content-Type": content_type}, timeout=30)


def import_ref(api: Api, company_id: str, upload_ref: str) -> requests.Response:
    """Ask for an import of the one file ``accounts.csv`` behind ``upload_ref``."""
    return api.post(
        f"/companies/{company_id}/imports",
        json={"files": [{"name": "accounts.csv", "upload_ref": upload_ref}]},
    )


@pytest.fixture
def company(api: Api) -> dict[str, Any]:
    """A fresh company with only the Accounts sheet."""
    return company_with(api, "Accounts")


@pytest.fixture
def company_id(company: dict[str, Any]) -> str:
    return str(company["company"]["id"])


@pytest.fixture
def upload_url(api: Api, company_id: str) -> str:
    """A fresh signed URL for ``CSV`` as text/csv."""
    response = grant(api, company_id)
    assert response.status_code == 201, response.text
    return str(response.json()["upload_url"])


# -- the grant -------------------------------------------------------------------------------


def test_upload_grant_is_201(api: Api, company_id: str) -> None:
    assert grant(api, company_id).status_code == 201


def test_upload_grant_body_is_exactly_upload_url_and_upload_ref(api: Api, company_id: str) -> None:
    assert set(grant(api, company_id).json()) == {"upload_url", "upload_ref"}


def test_upload_url_is_absolute_on_this_sandbox(
    api: Api, company_id: str, sandbox: Sandbox
) -> None:
    url = grant(api, company_id).json()["upload_url"]
    parsed, own = urlparse(url), urlparse(sandbox.url)
    assert parsed.scheme == "http"
    assert parsed.netloc == own.netloc
    assert parsed.path not in ("", "/")


def test_upload_ref_starts_with_the_company_workbook(
    api: Api, company: dict[str, Any], company_id: str
) -> None:
    upload_ref = grant(api, company_id).json()["upload_ref"]
    assert upload_ref.startswith(f"workbook-files/{company['workbook_id']}/")


def test_upload_ref_is_workbook_uuid_and_file_name(
    api: Api, company: dict[str, Any], company_id: str
) -> None:
    parts = grant(api, company_id, name="accounts.csv").json()["upload_ref"].split("/")
    assert len(parts) == 4
    assert parts[:2] == ["workbook-files", company["workbook_id"]]
    assert str(uuid.UUID(parts[2])) == parts[2]
    assert parts[3] == "accounts.csv"


def test_each_grant_gets_a_new_url_and_ref(api: Api, company_id: str) -> None:
    first, second = grant(api, company_id).json(), grant(api, company_id).json()
    assert first["upload_url"] != second["upload_url"]
    assert first["upload_ref"] != second["upload_ref"]


def test_file_name_is_not_used_as_a_path(
    api: Api, company: dict[str, Any], company_id: str
) -> None:
    upload_ref = grant(api, company_id, name="../../etc/passwd").json()["upload_ref"]
    parts = upload_ref.split("/")
    assert len(parts) == 4
    assert parts[:2] == ["workbook-files", company["workbook_id"]]
    assert ".." not in parts


@pytest.mark.parametrize("content_type", ACCEPTED_TYPES)
def test_every_documented_content_type_is_accepted(
    api: Api, company_id: str, content_type: str
) -> None:
    assert grant(api, company_id, content_type=content_type).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"content_type": "text/csv", "size": 10}, id="missing-name"),
        pytest.param({"name": "", "content_type": "text/csv", "size": 10}, id="empty-name"),
        pytest.param({"name": 5, "content_type": "text/csv", "size": 10}, id="name-number"),
        pytest.param({"name": "a.csv", "size": 10}, id="missing-content-type"),
        pytest.param(
            {"name": "a.csv", "content_type": "text/plain", "size": 10}, id="content-type-text"
        ),
        pytest.param(
            {"name": "a.pdf", "content_type": "application/pdf", "size": 10}, id="content-type-pdf"
        ),
        pytest.param({"name": "a.csv", "content_type": 1, "size": 10}, id="content-type-number"),
        pytest.param({"name": "a.csv", "content_type": "text/csv"}, id="missing-size"),
        pytest.param({"name": "a.csv", "content_type": "text/csv", "size": 0}, id="size-0"),
        pytest.param({"name": "a.csv", "content_type": "text/csv", "size": -1}, id="size-negative"),
        pytest.param({"name": "a.csv", "content_type": "text/csv", "size": "10"}, id="size-string"),
        pytest.param({"name": "a.csv", "content_type": "text/csv", "size": 1.5}, id="size-float"),
        pytest.param({"name": "a.csv", "content_type": "text/csv", "size": True}, id="size-bool"),
        pytest.param({"name": "a.csv", "content_type": "text/csv", "size": None}, id="size-null"),
    ],
)
def test_bad_upload_grant_body_is_400(api: Api, company_id: str, body: dict[str, Any]) -> None:
    assert_error(api.post(f"/companies/{company_id}/uploads", json=body), 400)


def test_unsupported_content_type_error_names_the_accepted_ones(api: Api, company_id: str) -> None:
    message = assert_error(grant(api, company_id, content_type="text/plain"), 400)
    assert "text/csv" in message


def test_declared_size_above_the_upload_limit_is_413(api: Api, company_id: str) -> None:
    assert_error(grant(api, company_id, size=2**31), 413)


def test_declared_size_of_one_gib_is_accepted(api: Api, company_id: str) -> None:
    assert grant(api, company_id, size=1024 * 1024 * 1024).status_code == 201


def test_upload_grant_for_another_accounts_company_is_404(other_api: Api, company_id: str) -> None:
    assert_error(grant(other_api, company_id), 404)


def test_upload_grant_for_an_unknown_company_is_404(api: Api) -> None:
    assert_error(grant(api, str(uuid.uuid4())), 404)


# -- the PUT ---------------------------------------------------------------------------------


def test_put_with_declared_type_and_size_is_200_empty_object(upload_url: str) -> None:
    response = put(upload_url, CSV)
    assert response.status_code == 200, response.text
    assert response.json() == {}


def test_put_needs_no_api_key(upload_url: str) -> None:
    response = put(upload_url, CSV)
    assert "x-api-key" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 200, response.text


def test_second_put_is_403(upload_url: str) -> None:
    assert put(upload_url, CSV).status_code == 200
    assert_error(put(upload_url, CSV), 403)


def test_put_with_wrong_content_type_is_400(upload_url: str) -> None:
    assert_error(put(upload_url, CSV, "application/json"), 400)


def test_put_without_content_type_is_400(upload_url: str) -> None:
    assert_error(requests.put(upload_url, data=CSV, timeout=30), 400)


def test_url_is_still_usable_after_a_wrong_content_type(upload_url: str) -> None:
    put(upload_url, CSV, "application/json")
    assert put(upload_url, CSV).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(CSV[:-1], id="one-byte-short"),
        pytest.param(CSV + b"x", id="one-byte-long"),
        pytest.param(b"", id="empty"),
    ],
)
def test_put_with_wrong_size_is_400(upload_url: str, data: bytes) -> None:
    assert_error(put(upload_url, data), 400)


def test_url_is_still_usable_after_a_wrong_size(upload_url: str) -> None:
    put(upload_url, CSV[:-1])
    assert put(upload_url, CSV).status_code == 200


def test_put_to_an_unknown_token_is_403(sandbox: Sandbox) -> None:
    assert_error(put(f"{sandbox.url}/storage/v1/upload/not-a-real-token", CSV), 403)


def test_put_to_an_expired_url_is_403() -> None:
    config = SandboxConfig(port=0, step_seconds=0, upload_ttl=0)
    with Sandbox(config).start() as sb:
        api = Api(sb.base_url, sb.api_key)
        url = grant(api, api.company()["company"]["id"]).json()["upload_url"]
        assert_error(put(url, CSV), 403)


def test_put_larger_than_the_json_body_limit_is_accepted() -> None:
    data = b"Name\n" + b"x" * 4000 + b"\n"
    with migkit.sandbox.start(max_body=1024, step_seconds=0) as sb:
        api = Api(sb.base_url, sb.api_key)
        url = grant(api, api.company()["company"]["id"], size=len(data)).json()["upload_url"]
        assert put(url, data).status_code == 200


# -- using the upload_ref --------------------------------------------------------------------


def test_import_of_an_uploaded_file_is_accepted(api: Api, company_id: str) -> None:
    response = grant(api, company_id)
    assert put(response.json()["upload_url"], CSV).status_code == 200
    created = import_ref(api, company_id, response.json()["upload_ref"])
    assert created.status_code == 201, created.text
    assert api.wait(created.json()["poll_url"])["status"] == "completed"


def test_import_of_an_upload_ref_never_put_is_400(api: Api, company_id: str) -> None:
    upload_ref = grant(api, company_id).json()["upload_ref"]
    response = import_ref(api, company_id, upload_ref)
    assert_error(response, 400)


def test_import_of_an_upload_ref_after_a_failed_put_is_400(api: Api, company_id: str) -> None:
    response = grant(api, company_id)
    put(response.json()["upload_url"], CSV[:-1])
    created = import_ref(api, company_id, response.json()["upload_ref"])
    assert_error(created, 400)


def test_import_of_another_companys_upload_ref_is_400(api: Api, company_id: str) -> None:
    other_company = company_with(api, "Accounts")
    upload_ref = api.upload(other_company["company"]["id"], CSV, "accounts.csv")
    response = import_ref(api, company_id, upload_ref)
    assert_error(response, 400)


def test_import_of_another_accounts_upload_ref_is_400(
    api: Api, other_api: Api, company_id: str
) -> None:
    theirs = company_with(other_api, "Accounts")
    upload_ref = other_api.upload(theirs["company"]["id"], CSV, "accounts.csv")
    response = import_ref(api, company_id, upload_ref)
    assert_error(response, 400)


def test_import_of_an_invented_upload_ref_is_400(
    api: Api, company: dict[str, Any], company_id: str
) -> None:
    upload_ref = f"workbook-files/{company['workbook_id']}/{uuid.uuid4()}/accounts.csv"
    response = import_ref(api, company_id, upload_ref)
    assert_error(response, 400)
