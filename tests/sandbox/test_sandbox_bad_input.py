"""Robustness of the sandbox against bad input: bodies, field types, ids, routes and sizes.

Every error answered here must be JSON and exactly ``{"error": "<text>"}`` (the in-progress
409 may add ``run_id``), and nothing a client sends may cause a 5xx.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

import migkit.sandbox
from migkit.sandbox import Sandbox
from tests.helpers import Api, assert_error, company_with

MISSING = object()  # an override that removes the field from the body
BODY_ENDPOINTS = ["companies", "uploads", "imports", "decisions", "exports", "cancel"]
NOT_A_UUID = "not-a-uuid"
DEEPLY_NESTED = b"[" * 100_000 + b"]" * 100_000
HUGE_INTEGER = b'{"name": 1' + b"0" * 5000 + b', "size": 1' + b"0" * 5000 + b"}"


def send_raw(api: Api, method: str, path: str, raw: bytes) -> requests.Response:
    """Send ``raw`` bytes as an application/json body."""
    return api.session.request(
        method,
        api.url(path),
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )


def send_text(api: Api, method: str, path: str, text: str) -> requests.Response:
    """Send ``text`` (already JSON, possibly with escapes Python cannot encode) as the body."""
    return send_raw(api, method, path, text.encode("ascii"))


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied; ``MISSING`` removes a field."""
    body = {**base, **overrides}
    return {k: v for k, v in body.items() if v is not MISSING}


def accounts_only(api: Api, **extra: Any) -> dict[str, Any]:
    """A new company whose only sheet is Accounts."""
    return company_with(api, "Accounts", **extra)


def waiting_run(api: Api) -> tuple[str, str]:
    """A new company with an import run paused at needs_attention: (company_id, run_id)."""
    company_id = accounts_only(api)["company"]["id"]
    response = api.post(
        f"/companies/{company_id}/imports", json={"rows": [{"Name": "Acme", "Tier": "Platinum"}]}
    )
    assert response.status_code == 201, response.text
    assert api.wait(response.json()["poll_url"])["status"] == "needs_attention"
    return company_id, response.json()["run_id"]


@dataclass(frozen=True)
class World:
    """Things the tests of this module point at (none of them is changed by these tests)."""

    source_id: str
    company_id: str
    export_company_id: str
    waiting_company_id: str
    waiting_run_id: str

    def target(self, name: str) -> tuple[str, str]:
        """The method and path of a body-taking endpoint."""
        run = f"/companies/{self.waiting_company_id}/imports/{self.waiting_run_id}"
        return {
            "companies": ("POST", "/companies"),
            "uploads": ("POST", f"/companies/{self.company_id}/uploads"),
            "imports": ("POST", f"/companies/{self.company_id}/imports"),
            "decisions": ("POST", f"{run}/decisions"),
            "exports": ("POST", f"/companies/{self.export_company_id}/exports"),
            "cancel": ("PATCH", run),
        }[name]


@pytest.fixture(scope="module")
def world(sandbox: Sandbox) -> World:
    api = Api(sandbox.base_url, sandbox.api_keys[0])
    waiting_company_id, waiting_run_id = waiting_run(api)
    return World(
        source_id=api.source_id(),
        company_id=accounts_only(api)["company"]["id"],
        export_company_id=accounts_only(api, connections={"base_url": "http://127.0.0.1:9/dest"})[
            "company"
        ]["id"],
        waiting_company_id=waiting_company_id,
        waiting_run_id=waiting_run_id,
    )


# -- bodies that are not one JSON object ------------------------------------------------------

RAW_BODIES = [
    pytest.param(b"{not json", id="invalid-json"),
    pytest.param(b'{"name": "x"', id="truncated"),
    pytest.param(b"{'name': 'x'}", id="single-quotes"),
    pytest.param(b'{"a": 1} {"b": 2}', id="two-documents"),
    pytest.param(b"[]", id="empty-array"),
    pytest.param(b'[{"name": "x"}]', id="array"),
    pytest.param(b'"text"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"true", id="boolean"),
    pytest.param(b"null", id="null"),
    pytest.param(b"", id="empty"),
    pytest.param(b" \n\t ", id="whitespace"),
    pytest.param(b'{"name": "\xff\xfe"}', id="invalid-utf8"),
]


@pytest.mark.parametrize("raw", RAW_BODIES)
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_body_that_is_not_a_json_object_is_400(
    api: Api, world: World, endpoint: str, raw: bytes
) -> None:
    assert_error(send_raw(api, *world.target(endpoint), raw), 400)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_deeply_nested_json_is_400_not_5xx(api: Api, world: World, endpoint: str) -> None:
    assert_error(send_raw(api, *world.target(endpoint), DEEPLY_NESTED), 400)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_integer_too_long_to_parse_is_400_not_5xx(api: Api, world: World, endpoint: str) -> None:
    assert_error(send_raw(api, *world.target(endpoint), HUGE_INTEGER), 400)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "application/x-www-form-urlencoded"],
)
def test_json_object_body_is_read_whatever_the_content_type(
    api: Api, world: World, content_type: str
) -> None:
    response = api.session.post(
        api.url("/companies"),
        data=f'{{"name": "Acme", "source": "{world.source_id}"}}',
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def test_unknown_body_fields_are_ignored(api: Api, world: World) -> None:
    body = {"name": "Acme", "source": world.source_id, "favourite_colour": "teal"}
    assert api.post("/companies", json=body).status_code == 201


# -- wrong types: POST /companies --------------------------------------------------------------

COMPANY_CASES = [
    pytest.param({"name": MISSING}, id="name-missing"),
    pytest.param({"name": None}, id="name-null"),
    pytest.param({"name": ""}, id="name-empty"),
    pytest.param({"name": 1}, id="name-number"),
    pytest.param({"name": True}, id="name-bool"),
    pytest.param({"name": ["Acme"]}, id="name-array"),
    pytest.param({"name": {"v": "Acme"}}, id="name-object"),
    pytest.param({"source": MISSING}, id="source-missing"),
    pytest.param({"source": None}, id="source-null"),
    pytest.param({"source": ""}, id="source-empty"),
    pytest.param({"source": 1}, id="source-number"),
    pytest.param({"source": ["x"]}, id="source-array"),
    pytest.param({"source": {"id": "x"}}, id="source-object"),
    pytest.param({"external_id": ""}, id="external_id-empty"),
    pytest.param({"external_id": 1}, id="external_id-number"),
    pytest.param({"external_id": True}, id="external_id-bool"),
    pytest.param({"external_id": ["a"]}, id="external_id-array"),
    pytest.param({"external_id": {"a": 1}}, id="external_id-object"),
    pytest.param({"template_ids": "x"}, id="template_ids-string"),
    pytest.param({"template_ids": 1}, id="template_ids-number"),
    pytest.param({"template_ids": {"a": 1}}, id="template_ids-object"),
    pytest.param({"template_ids": [1]}, id="template_ids-number-item"),
    pytest.param({"template_ids": [None]}, id="template_ids-null-item"),
    pytest.param({"template_ids": [["x"]]}, id="template_ids-array-item"),
    pytest.param({"connections": "x"}, id="connections-string"),
    pytest.param({"connections": 1}, id="connections-number"),
    pytest.param({"connections": []}, id="connections-array"),
    pytest.param({"connections": {"base_url": 1}}, id="connections-base_url-number"),
    pytest.param({"connections": {"auth": "token"}}, id="connections-auth-string"),
    pytest.param({"connections": {"auth": []}}, id="connections-auth-array"),
]


@pytest.mark.parametrize("overrides", COMPANY_CASES)
def test_wrong_typed_company_field_is_400(
    api: Api, world: World, overrides: dict[str, Any]
) -> None:
    body = merged({"name": "Acme", "source": world.source_id}, overrides)
    assert_error(api.post("/companies", json=body), 400)


@pytest.mark.parametrize(
    "field",
    [
        pytest.param('"name": "\\ud800"', id="name"),
        pytest.param(
            '"name": "Acme", "connections": {"base_url": "http://\\ud800"}', id="base_url"
        ),
        pytest.param(
            '"name": "Acme", "connections": {"auth": {"bearer": "\\ud800"}}', id="auth-token"
        ),
    ],
)
def test_lone_surrogate_in_a_company_field_is_400_not_5xx(
    api: Api, world: World, field: str
) -> None:
    text = f'{{{field}, "source": "{world.source_id}"}}'
    assert_error(send_text(api, "POST", "/companies", text), 400)


# -- wrong types: POST /companies/{id}/uploads ------------------------------------------------

UPLOAD_CASES = [
    pytest.param({"name": MISSING}, id="name-missing"),
    pytest.param({"name": None}, id="name-null"),
    pytest.param({"name": ""}, id="name-empty"),
    pytest.param({"name": 1}, id="name-number"),
    pytest.param({"name": ["a.csv"]}, id="name-array"),
    pytest.param({"content_type": MISSING}, id="content_type-missing"),
    pytest.param({"content_type": None}, id="content_type-null"),
    pytest.param({"content_type": ""}, id="content_type-empty"),
    pytest.param({"content_type": 1}, id="content_type-number"),
    pytest.param({"content_type": ["text/csv"]}, id="content_type-array"),
    pytest.param({"content_type": "text/html"}, id="content_type-unsupported"),
    pytest.param({"size": MISSING}, id="size-missing"),
    pytest.param({"size": None}, id="size-null"),
    pytest.param({"size": "10"}, id="size-string"),
    pytest.param({"size": 1.5}, id="size-float"),
    pytest.param({"size": True}, id="size-bool"),
    pytest.param({"size": [10]}, id="size-array"),
    pytest.param({"size": {"bytes": 10}}, id="size-object"),
    pytest.param({"size": 0}, id="size-zero"),
    pytest.param({"size": -5}, id="size-negative"),
]


@pytest.mark.parametrize("overrides", UPLOAD_CASES)
def test_wrong_typed_upload_field_is_400(api: Api, world: World, overrides: dict[str, Any]) -> None:
    body = merged({"name": "accounts.csv", "content_type": "text/csv", "size": 10}, overrides)
    assert_error(api.post(f"/companies/{world.company_id}/uploads", json=body), 400)


def test_lone_surrogate_in_upload_name_is_400_not_5xx(api: Api, world: World) -> None:
    text = '{"name": "\\ud800.csv", "content_type": "text/csv", "size": 10}'
    assert_error(send_text(api, "POST", f"/companies/{world.company_id}/uploads", text), 400)


# -- wrong types: POST /companies/{id}/imports ------------------------------------------------

ROWS = [{"Name": "Acme"}]
IMPORT_CASES = [
    pytest.param({"rows": MISSING}, id="neither-files-nor-rows"),
    pytest.param({"rows": None}, id="rows-null"),
    pytest.param({"rows": "Acme"}, id="rows-string"),
    pytest.param({"rows": 1}, id="rows-number"),
    pytest.param({"rows": {"Name": "Acme"}}, id="rows-object"),
    pytest.param({"rows": []}, id="rows-empty"),
    pytest.param({"rows": [1]}, id="rows-number-item"),
    pytest.param({"rows": ["Acme"]}, id="rows-string-item"),
    pytest.param({"rows": [None]}, id="rows-null-item"),
    pytest.param({"rows": [["Acme"]]}, id="rows-array-item"),
    pytest.param({"rows": [{"Name": {"v": "Acme"}}]}, id="rows-object-cell"),
    pytest.param({"rows": [{"Name": ["Acme"]}]}, id="rows-array-cell"),
    pytest.param({"rows": MISSING, "files": None}, id="files-null"),
    pytest.param({"rows": MISSING, "files": "a.csv"}, id="files-string"),
    pytest.param({"rows": MISSING, "files": 1}, id="files-number"),
    pytest.param({"rows": MISSING, "files": {"name": "a.csv"}}, id="files-object"),
    pytest.param({"rows": MISSING, "files": []}, id="files-empty"),
    pytest.param({"rows": MISSING, "files": [1]}, id="files-number-item"),
    pytest.param({"rows": MISSING, "files": ["a.csv"]}, id="files-string-item"),
    pytest.param(
        {"rows": MISSING, "files": [{"name": 1, "upload_ref": "r"}]}, id="files-name-number"
    ),
    pytest.param(
        {"rows": MISSING, "files": [{"name": "a.csv", "upload_ref": 1}]},
        id="files-upload_ref-number",
    ),
    pytest.param({"rows": MISSING, "files": [{"name": "a.csv"}]}, id="files-no-upload_ref"),
    pytest.param({"rows": MISSING, "files": [{"upload_ref": "r"}]}, id="files-no-name"),
    pytest.param(
        {"rows": MISSING, "files": [{"name": "a.csv", "upload_ref": "workbook-files/x/y/a.csv"}]},
        id="files-unknown-upload_ref",
    ),
    pytest.param({"files": [{"name": "a.csv", "upload_ref": "r"}]}, id="files-and-rows"),
    pytest.param({"idempotency_key": 1}, id="idempotency_key-number"),
    pytest.param({"idempotency_key": True}, id="idempotency_key-bool"),
    pytest.param({"idempotency_key": ["k"]}, id="idempotency_key-array"),
    pytest.param({"idempotency_key": ""}, id="idempotency_key-empty"),
    pytest.param({"idempotency_key": "k" * 256}, id="idempotency_key-256-chars"),
    pytest.param({"idempotency_key": "caf\u00e9"}, id="idempotency_key-non-ascii"),
    pytest.param({"idempotency_key": "tab\there"}, id="idempotency_key-control-char"),
    pytest.param({"sheet_id": 1}, id="sheet_id-number"),
    pytest.param({"sheet_id": ["x"]}, id="sheet_id-array"),
    pytest.param({"sheet_id": {"id": "x"}}, id="sheet_id-object"),
]


@pytest.mark.parametrize("overrides", IMPORT_CASES)
def test_wrong_typed_import_field_is_400(api: Api, overrides: dict[str, Any]) -> None:
    company_id = accounts_only(api)["company"]["id"]
    body = merged({"rows": ROWS}, overrides)
    assert_error(api.post(f"/companies/{company_id}/imports", json=body), 400)


def test_sheet_id_with_files_is_400(api: Api) -> None:
    company = accounts_only(api)
    company_id = company["company"]["id"]
    upload_ref = api.upload(company_id, b"Name\nAcme\n", "accounts.csv")
    body = {
        "files": [{"name": "accounts.csv", "upload_ref": upload_ref}],
        "sheet_id": company["sheets"][0]["id"],
    }
    assert_error(api.post(f"/companies/{company_id}/imports", json=body), 400)


def test_rows_for_a_company_with_several_sheets_need_a_sheet_id(api: Api) -> None:
    company_id = api.company()["company"]["id"]
    assert_error(api.post(f"/companies/{company_id}/imports", json={"rows": ROWS}), 400)


def test_rejected_import_creates_no_run(api: Api) -> None:
    company_id = accounts_only(api)["company"]["id"]
    api.post(f"/companies/{company_id}/imports", json={"rows": [1]})
    assert api.get(f"/companies/{company_id}/imports").json() == {"imports": []}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"rows": [{"Name": "\\ud800"}]}', id="value"),
        pytest.param('{"rows": [{"\\ud800": "Acme"}]}', id="column"),
    ],
)
def test_lone_surrogate_in_import_rows_is_400_not_5xx(api: Api, text: str) -> None:
    company_id = accounts_only(api)["company"]["id"]
    assert_error(send_text(api, "POST", f"/companies/{company_id}/imports", text), 400)


def test_second_import_while_one_waits_is_409_with_the_active_run_id(
    api: Api, world: World
) -> None:
    response = api.post(f"/companies/{world.waiting_company_id}/imports", json={"rows": ROWS})
    message = assert_error(response, 409, run_id=True)
    assert message == "An import is already in progress for this company"
    assert response.json()["run_id"] == world.waiting_run_id


# -- wrong types: POST .../imports/{run_id}/decisions -----------------------------------------

DECISION_CASES = [
    pytest.param({}, id="empty-object"),
    pytest.param({"approve": True}, id="unknown-kind"),
    pytest.param({"accept_proposed_patch": True, "reject": True}, id="two-kinds"),
    pytest.param({"accept_proposed_patch": "true"}, id="accept-string"),
    pytest.param({"accept_proposed_patch": 1}, id="accept-number"),
    pytest.param({"accept_proposed_patch": False}, id="accept-false"),
    pytest.param({"accept_proposed_patch": None}, id="accept-null"),
    pytest.param({"reject": "yes"}, id="reject-string"),
    pytest.param({"reject": 1}, id="reject-number"),
    pytest.param({"reject": False}, id="reject-false"),
    pytest.param({"answers": "Remove these rows"}, id="answers-string"),
    pytest.param({"answers": {"fq0": "Remove these rows"}}, id="answers-object"),
    pytest.param({"answers": []}, id="answers-empty"),
    pytest.param({"answers": [1]}, id="answers-number-item"),
    pytest.param({"answers": ["fq0"]}, id="answers-string-item"),
    pytest.param({"answers": [{"id": 0, "value": "Remove these rows"}]}, id="answer-id-number"),
    pytest.param({"answers": [{"value": "Remove these rows"}]}, id="answer-id-missing"),
    pytest.param({"answers": [{"id": "fq0"}]}, id="answer-value-missing"),
    pytest.param({"answers": [{"id": "fq0", "value": 1}]}, id="answer-value-number"),
    pytest.param({"answers": [{"id": "fq0", "value": None}]}, id="answer-value-null"),
    pytest.param({"answers": [{"id": "fq0", "value": ["a"]}]}, id="answer-value-array"),
    pytest.param(
        {"answers": [{"id": "fq9", "value": "Remove these rows"}]}, id="answer-unknown-question"
    ),
    pytest.param(
        {
            "answers": [
                {"id": "fq0", "value": "Remove these rows"},
                {"id": "fq0", "value": "Keep these rows flagged"},
            ]
        },
        id="answer-twice",
    ),
]


@pytest.mark.parametrize("body", DECISION_CASES)
def test_malformed_decision_is_400(api: Api, body: dict[str, Any]) -> None:
    company_id, run_id = waiting_run(api)
    response = api.post(f"/companies/{company_id}/imports/{run_id}/decisions", json=body)
    assert_error(response, 400)


def test_malformed_decision_leaves_the_run_waiting(api: Api) -> None:
    company_id, run_id = waiting_run(api)
    api.post(f"/companies/{company_id}/imports/{run_id}/decisions", json={"answers": "x"})
    poll = api.get(f"/companies/{company_id}/imports/{run_id}").json()
    assert poll["status"] == "needs_attention"


def test_lone_surrogate_in_a_custom_answer_is_400_not_5xx(api: Api) -> None:
    company_id, run_id = waiting_run(api)
    text = '{"answers": [{"id": "fq0", "value": "\\ud800"}]}'
    path = f"/companies/{company_id}/imports/{run_id}/decisions"
    assert_error(send_text(api, "POST", path, text), 400)


def test_decision_on_a_run_not_waiting_is_409(api: Api) -> None:
    company_id = accounts_only(api)["company"]["id"]
    created = api.post(f"/companies/{company_id}/imports", json={"rows": ROWS}).json()
    assert api.wait(created["poll_url"])["status"] == "completed"
    response = api.post(
        f"/companies/{company_id}/imports/{created['run_id']}/decisions",
        json={"accept_proposed_patch": True},
    )
    assert assert_error(response, 409) == "Run is not waiting for a decision"


# -- wrong types: PATCH .../imports/{run_id} (EXT cancel) --------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"status": "canceled"}, id="status-canceled"),
        pytest.param({"status": 1}, id="status-number"),
        pytest.param({"status": None}, id="status-null"),
    ],
)
def test_malformed_cancel_is_400(api: Api, world: World, body: dict[str, Any]) -> None:
    path = f"/companies/{world.waiting_company_id}/imports/{world.waiting_run_id}"
    assert_error(api.patch(path, json=body), 400)


# -- wrong types: POST /companies/{id}/exports ------------------------------------------------

EXPORT_CASES = [
    pytest.param({"mode": 1}, id="mode-number"),
    pytest.param({"mode": True}, id="mode-bool"),
    pytest.param({"mode": ["full"]}, id="mode-array"),
    pytest.param({"mode": "fast"}, id="mode-unknown"),
    pytest.param({"selection": "all"}, id="selection-string"),
    pytest.param({"selection": 1}, id="selection-number"),
    pytest.param({"selection": []}, id="selection-array"),
    pytest.param({"selection": {"template_ids": "x"}}, id="selection-template_ids-string"),
    pytest.param({"selection": {"template_ids": [1]}}, id="selection-template_ids-number-item"),
    pytest.param(
        {"selection": {"template_ids": [str(uuid.uuid4())]}}, id="selection-template_ids-unknown"
    ),
    pytest.param({"selection": {"row_filter": "x"}}, id="selection-row_filter-string"),
    pytest.param({"selection": {"row_filter": []}}, id="selection-row_filter-array"),
    pytest.param({"idempotency_key": 1}, id="idempotency_key-number"),
    pytest.param({"idempotency_key": ["k"]}, id="idempotency_key-array"),
    pytest.param({"idempotency_key": ""}, id="idempotency_key-empty"),
    pytest.param({"idempotency_key": "k" * 256}, id="idempotency_key-256-chars"),
    pytest.param({"idempotency_key": "caf\u00e9"}, id="idempotency_key-non-ascii"),
]


@pytest.mark.parametrize("body", EXPORT_CASES)
def test_wrong_typed_export_field_is_400(api: Api, world: World, body: dict[str, Any]) -> None:
    assert_error(api.post(f"/companies/{world.export_company_id}/exports", json=body), 400)


def test_export_for_a_company_without_connection_is_400(api: Api, world: World) -> None:
    response = api.post(f"/companies/{world.company_id}/exports", json={})
    assert assert_error(response, 400) == "company has no destination connection"


# -- query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "invalid", "ALL", "valid,all"])
def test_unknown_export_filter_is_400(api: Api, world: World, value: str) -> None:
    response = api.get(f"/companies/{world.company_id}/export.csv", params={"filter": value})
    assert assert_error(response, 400) == "filter must be one of: valid, all"


def test_export_of_an_unknown_sheet_is_404(api: Api, world: World) -> None:
    response = api.get(
        f"/companies/{world.company_id}/export.csv", params={"sheet_id": str(uuid.uuid4())}
    )
    assert_error(response, 404)


# -- ids in paths -----------------------------------------------------------------------------

PATH_CASES = [
    pytest.param("GET", "/companies/{bad}", id="company"),
    pytest.param("POST", "/companies/{bad}/uploads", id="company-uploads"),
    pytest.param("POST", "/companies/{bad}/imports", id="company-imports"),
    pytest.param("GET", "/companies/{bad}/imports", id="company-import-list"),
    pytest.param("GET", "/companies/{bad}/imports/xyz", id="company-and-run"),
    pytest.param("GET", "/companies/{company}/imports/{bad}", id="import-run"),
    pytest.param("PATCH", "/companies/{company}/imports/{bad}", id="cancel-run"),
    pytest.param("POST", "/companies/{company}/imports/{bad}/decisions", id="decision-run"),
    pytest.param("GET", "/companies/{bad}/export.csv", id="company-export-csv"),
    pytest.param("POST", "/companies/{bad}/exports", id="company-exports"),
    pytest.param("GET", "/companies/{company}/exports/{bad}", id="export-run"),
    pytest.param("GET", "/companies/{bad}/imports/{run}", id="bad-company-real-run"),
]


@pytest.mark.parametrize(
    "bad", [NOT_A_UUID, "12345", "%20", "00000000-0000-0000-0000-00000000000g"]
)
@pytest.mark.parametrize(("method", "template"), PATH_CASES)
def test_id_that_is_not_a_uuid_is_404(
    api: Api, world: World, method: str, template: str, bad: str
) -> None:
    path = template.format(bad=bad, company=world.waiting_company_id, run=world.waiting_run_id)
    body = {"name": "a.csv", "content_type": "text/csv", "size": 1, "rows": ROWS}
    response = api.session.request(method, api.url(path), json=body, timeout=30)
    assert_error(response, 404)


@pytest.mark.parametrize(("method", "template"), PATH_CASES)
def test_unknown_uuid_in_a_path_is_404(api: Api, world: World, method: str, template: str) -> None:
    path = template.format(
        bad=uuid.uuid4(), company=world.waiting_company_id, run=world.waiting_run_id
    )
    body = {"name": "a.csv", "content_type": "text/csv", "size": 1, "rows": ROWS}
    response = api.session.request(method, api.url(path), json=body, timeout=30)
    assert_error(response, 404)


def test_import_run_id_is_not_an_export_run(api: Api, world: World) -> None:
    path = f"/companies/{world.waiting_company_id}/exports/{world.waiting_run_id}"
    assert_error(api.get(path), 404)


def test_run_of_another_company_is_404(api: Api, world: World) -> None:
    assert_error(api.get(f"/companies/{world.company_id}/imports/{world.waiting_run_id}"), 404)


def test_run_of_another_account_is_404(other_api: Api, world: World) -> None:
    path = f"/companies/{world.waiting_company_id}/imports/{world.waiting_run_id}"
    assert_error(other_api.get(path), 404)


# -- unknown routes and wrong methods ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "with_key"),
    [
        pytest.param("/api/v1/nope", True, id="api-unknown"),
        pytest.param("/api/v1/companies/{company}/nope", True, id="api-unknown-subresource"),
        pytest.param("/api/v1/sources/extra", True, id="api-extra-segment"),
        pytest.param("/api/v2/sources", True, id="other-version"),
        pytest.param("/nope", False, id="outside-api"),
        pytest.param("/", False, id="root"),
        pytest.param("/storage/v1/upload", False, id="storage-without-token"),
    ],
)
def test_unknown_route_is_404_json(
    api: Api, sandbox: Sandbox, world: World, path: str, with_key: bool
) -> None:
    url = sandbox.url + path.format(company=world.company_id)
    headers = {"x-api-key": api.api_key} if with_key else {}
    assert_error(requests.get(url, headers=headers, timeout=30), 404)


@pytest.mark.parametrize(
    ("method", "path", "with_key"),
    [
        pytest.param("DELETE", "/api/v1/companies", True, id="delete-companies"),
        pytest.param("PUT", "/api/v1/sources", True, id="put-sources"),
        pytest.param("POST", "/api/v1/templates", True, id="post-templates"),
        pytest.param("DELETE", "/api/v1/companies/{company}", True, id="delete-company"),
        pytest.param("PATCH", "/api/v1/companies/{company}", True, id="patch-company"),
        pytest.param("POST", "/api/v1/companies/{company}/export.csv", True, id="post-export-csv"),
        pytest.param("PUT", "/api/v1/companies/{company}/imports", True, id="put-imports"),
        pytest.param("GET", "/api/v1/companies/{company}/uploads", True, id="get-uploads"),
        pytest.param("POST", "/api/v1/openapi.json", False, id="post-openapi"),
        pytest.param("GET", "/storage/v1/upload/some-token", False, id="get-upload-url"),
        pytest.param("POST", "/storage/v1/upload/some-token", False, id="post-upload-url"),
    ],
)
def test_wrong_method_is_405_json(
    api: Api, sandbox: Sandbox, world: World, method: str, path: str, with_key: bool
) -> None:
    url = sandbox.url + path.format(company=world.company_id)
    headers = {"x-api-key": api.api_key} if with_key else {}
    assert_error(requests.request(method, url, headers=headers, json={}, timeout=30), 405)


# -- body size limit --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> Iterator[Api]:
    """A sandbox of its own whose JSON body limit is 1024 bytes."""
    with migkit.sandbox.start(max_body=1024, step_seconds=0) as sb:
        yield Api(sb.base_url, sb.api_key)


@pytest.mark.parametrize("endpoint", ["companies", "uploads", "imports"])
def test_json_body_over_the_limit_is_413(tiny: Api, endpoint: str) -> None:
    company_id = accounts_only(tiny)["company"]["id"]
    path, body = {
        "companies": ("/companies", {"name": "x" * 2000, "source": tiny.source_id()}),
        "uploads": (
            f"/companies/{company_id}/uploads",
            {"name": "x" * 2000 + ".csv", "content_type": "text/csv", "size": 10},
        ),
        "imports": (f"/companies/{company_id}/imports", {"rows": [{"Name": "x" * 2000}]}),
    }[endpoint]
    assert_error(tiny.post(path, json=body), 413)


def test_json_body_under_the_limit_is_accepted(tiny: Api) -> None:
    body = {"name": "x" * 500, "source": tiny.source_id()}
    assert tiny.post("/companies", json=body).status_code == 201


def test_body_over_the_limit_creates_nothing(tiny: Api) -> None:
    before = tiny.get("/companies").json()["companies"]
    tiny.post("/companies", json={"name": "x" * 2000, "source": tiny.source_id()})
    assert tiny.get("/companies").json()["companies"] == before


def test_body_over_the_limit_without_a_key_is_401(tiny: Api) -> None:
    response = requests.post(tiny.url("/companies"), json={"name": "x" * 2000}, timeout=30)
    assert assert_error(response, 401) == "API key missing or invalid"
