"""Generation 2 on the sandbox: creating and finding migrations, their status, and their files
(signed URLs, the PUT, the list). Shapes follow migration-api.md §4.1, §4.2 and
sandbox-contract-gen2.md; everything goes over HTTP."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from migkit.sandbox import Sandbox, SandboxConfig
from tests.helpers import CONTACTS, assert_error, csv_bytes, is_uuid4
from tests.helpers_gen2 import CONTENT_TYPES, Gen2

MIGRATION_KEYS = {"id", "name", "source", "external_id", "status", "templates", "created_at"}
ALL_TEMPLATES = [
    {"slug": "accounts", "name": "Accounts"},
    {"slug": "contacts", "name": "Contacts"},
    {"slug": "deals", "name": "Deals"},
]
CONTACT_ROWS = csv_bytes([CONTACTS, ["ann@example.com", "Ann", "Lee", "", "Open", "Acme"]])


def create(gen2: Gen2, **body: Any) -> requests.Response:
    body.setdefault("name", "Acme")
    return gen2.post("/migrations", json=body)


def external() -> str:
    return f"ext-{uuid.uuid4().hex[:12]}"


# -- POST /migrations --------------------------------------------------------------------------
def test_create_is_201_with_the_documented_migration(gen2: Gen2) -> None:
    response = create(gen2, name="Acme Corp", source="Spreadsheet", external_id="acme-001x")
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["migration"]
    migration = body["migration"]
    assert set(migration) == MIGRATION_KEYS
    assert is_uuid4(migration["id"])
    assert (migration["name"], migration["source"]) == ("Acme Corp", "Spreadsheet")
    assert migration["status"] == "awaiting_files"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", migration["created_at"])


def test_create_uses_every_template_by_default_as_slugs(gen2: Gen2) -> None:
    assert create(gen2).json()["migration"]["templates"] == ALL_TEMPLATES


def test_create_keeps_the_chosen_templates_once_each(gen2: Gen2) -> None:
    body = create(gen2, templates=["deals", "contacts", "deals"]).json()["migration"]
    assert body["templates"] == [
        {"slug": "deals", "name": "Deals"},
        {"slug": "contacts", "name": "Contacts"},
    ]


@pytest.mark.parametrize("source", [None, "", "omitted"])
def test_a_migration_may_be_sourceless(gen2: Gen2, source: str | None) -> None:
    body: dict[str, Any] = {} if source == "omitted" else {"source": source}
    migration = create(gen2, **body).json()["migration"]
    assert migration["source"] is None
    assert migration["external_id"] is None


def test_same_external_id_and_source_returns_the_existing_migration_with_200(gen2: Gen2) -> None:
    ext = external()
    first = create(gen2, source="Legacy CRM", external_id=ext)
    again = create(gen2, name="Another name", source="Legacy CRM", external_id=ext)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_same_external_id_with_another_source_is_409(gen2: Gen2) -> None:
    ext = external()
    assert create(gen2, source="Legacy CRM", external_id=ext).status_code == 201
    message = assert_error(create(gen2, external_id=ext), 409)
    assert message == "external_id already used by a migration with another source"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "x" * 256}, "255", id="long-name"),
        pytest.param({"name": 5}, "name", id="name-not-a-string"),
        pytest.param({"source": "Salesforce"}, "unknown source: Salesforce", id="unknown-source"),
        pytest.param({"source": 7}, "source", id="source-not-a-string"),
        pytest.param({"templates": ["contact"]}, "unknown template: contact", id="unknown-slug"),
        pytest.param({"templates": []}, "templates", id="no-templates"),
        pytest.param({"templates": "contacts"}, "templates", id="templates-not-a-list"),
        pytest.param({"external_id": ""}, "external_id", id="empty-external-id"),
        pytest.param({"external_id": "a b"}, "external_id", id="external-id-space"),
        pytest.param({"external_id": "x" * 256}, "external_id", id="long-external-id"),
    ],
)
def test_bad_create_bodies_are_400_naming_the_field(
    gen2: Gen2, body: dict[str, Any], needle: str
) -> None:
    assert needle in assert_error(create(gen2, **body), 400)


def test_create_without_a_name_is_400(gen2: Gen2) -> None:
    assert "name" in assert_error(gen2.post("/migrations", json={}), 400)


# -- EXT GET /migrations/{id} and ?external_id= ------------------------------------------------
def test_get_returns_the_created_body(gen2: Gen2) -> None:
    created = create(gen2, source="Spreadsheet").json()
    response = gen2.get(f"/migrations/{created['migration']['id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_find_by_external_id_lists_only_that_migration(gen2: Gen2) -> None:
    ext = external()
    created = create(gen2, external_id=ext).json()["migration"]
    found = gen2.get("/migrations", params={"external_id": ext}).json()
    assert found == {"migrations": [created]}


def test_find_without_external_id_lists_newest_first(gen2: Gen2) -> None:
    first, second = gen2.migration(), gen2.migration()
    ids = [m["id"] for m in gen2.get("/migrations").json()["migrations"]]
    assert ids.index(second) < ids.index(first)


@pytest.mark.parametrize("bad", ["not-a-uuid", str(uuid.uuid4())])
def test_unknown_migration_is_404(gen2: Gen2, bad: str) -> None:
    assert "isn't in your account" in assert_error(gen2.get(f"/migrations/{bad}"), 404)


# -- status ------------------------------------------------------------------------------------
def status(gen2: Gen2, migration: str) -> str:
    return str(gen2.get(f"/migrations/{migration}").json()["migration"]["status"])


def test_status_moves_from_awaiting_files_to_ready_to_awaiting_approval_to_completed(
    gen2: Gen2,
) -> None:
    migration = gen2.migration(templates=["contacts"])
    assert status(gen2, migration) == "awaiting_files"
    gen2.signed(migration, [{"name": "contacts.csv"}])
    assert status(gen2, migration) == "awaiting_files"  # a URL alone is not a file
    gen2.upload(migration, "contacts.csv", CONTACT_ROWS)
    assert status(gen2, migration) == "ready"
    assert gen2.run_to_rest(migration, "generate")["status"] == "awaiting_approval"
    assert status(gen2, migration) == "awaiting_approval"
    assert gen2.run_to_rest(migration, "execute")["status"] == "completed"
    assert status(gen2, migration) == "completed"
    assert gen2.run_to_rest(migration, "update", "trim Email")["status"] == "awaiting_approval"
    assert status(gen2, migration) == "awaiting_approval"  # a new preview, not executed yet


def test_status_is_in_progress_while_a_run_is_blocked(gen2: Gen2) -> None:
    rows = csv_bytes([CONTACTS, ["ann@example.com", "Ann", "", "", "Done", "Acme"]])
    migration = gen2.migration_with_files([("contacts.csv", rows)], templates=["contacts"])
    assert gen2.run_to_rest(migration, "generate")["status"] == "blocked"
    assert status(gen2, migration) == "in_progress"


def test_a_source_connection_makes_a_migration_ready(gen2: Gen2) -> None:
    migration = gen2.migration()
    response = gen2.post(
        f"/migrations/{migration}/source-connection", json={"source_key": "sandbox_crm"}
    )
    assert response.status_code == 201, response.text
    assert status(gen2, migration) == "ready"


# -- POST /migrations/{id}/files ----------------------------------------------------------------
def test_files_are_201_with_a_signed_upload_per_file(gen2: Gen2) -> None:
    migration = gen2.migration()
    response = gen2.post(
        f"/migrations/{migration}/files",
        json={"files": [{"name": "contacts.csv", "content_type": "text/csv"}, {"name": "b.xlsx"}]},
    )
    assert response.status_code == 201
    files = response.json()["files"]
    assert [set(f) for f in files] == [
        {"name", "storage_path", "signed_url", "token", "content_type"}
    ] * 2
    assert [f["name"] for f in files] == ["contacts.csv", "b.xlsx"]
    assert [f["content_type"] for f in files] == [CONTENT_TYPES["csv"], CONTENT_TYPES["xlsx"]]
    for entry in files:
        assert re.fullmatch(
            rf"workbooks/[0-9a-f-]{{36}}/[0-9a-f-]{{36}}-{re.escape(entry['name'])}",
            entry["storage_path"],
        )
        assert entry["signed_url"].rsplit("/", 1)[1] == entry["token"]
    assert files[0]["token"] != files[1]["token"]


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        pytest.param([], "files", id="empty"),
        pytest.param("a.csv", "files", id="not-a-list"),
        pytest.param([{"name": f"f{i}.csv"} for i in range(21)], "20", id="over-20"),
        pytest.param([{"name": "a/b.csv"}], "'/'", id="slash"),
        pytest.param([{"name": "x" * 252 + ".csv"}], "255", id="long-name"),
        pytest.param([{"name": ""}], "name", id="empty-name"),
        pytest.param(["a.csv"], "files[0]", id="entry-not-an-object"),
        pytest.param([{"name": "notes.txt"}], "content_type", id="unknown-extension"),
        pytest.param([{"name": "a.csv", "content_type": "text/plain"}], "text/plain", id="type"),
    ],
)
def test_bad_file_requests_are_400(gen2: Gen2, files: Any, needle: str) -> None:
    migration = gen2.migration()
    response = gen2.post(f"/migrations/{migration}/files", json={"files": files})
    assert needle in assert_error(response, 400)


def test_files_of_an_unknown_migration_are_404(gen2: Gen2) -> None:
    response = gen2.post(f"/migrations/{uuid.uuid4()}/files", json={"files": [{"name": "a.csv"}]})
    assert_error(response, 404)


# -- PUT signed_url ----------------------------------------------------------------------------
def put(entry: dict[str, Any], data: bytes, content_type: str | None = None) -> requests.Response:
    headers = {"Content-Type": content_type or entry["content_type"]}
    return requests.put(entry["signed_url"], data=data, headers=headers, timeout=30)


def test_put_stores_the_bytes_once(gen2: Gen2) -> None:
    entry = gen2.signed(gen2.migration(), [{"name": "contacts.csv"}])[0]
    first = put(entry, CONTACT_ROWS)
    assert (first.status_code, first.json()) == (200, {})
    assert "already used" in assert_error(put(entry, CONTACT_ROWS), 403)


def test_put_with_another_content_type_is_400_and_keeps_the_url_usable(gen2: Gen2) -> None:
    entry = gen2.signed(gen2.migration(), [{"name": "contacts.csv"}])[0]
    assert "does not match" in assert_error(put(entry, CONTACT_ROWS, "text/plain"), 400)
    assert put(entry, CONTACT_ROWS).status_code == 200


def test_put_to_an_unknown_token_is_403(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/storage/v1/object/upload/sign/{uuid.uuid4().hex}"
    response = requests.put(url, data=b"a", headers={"Content-Type": "text/csv"}, timeout=30)
    assert "invalid or expired" in assert_error(response, 403)


@pytest.fixture(scope="module")
def tight() -> Iterator[Sandbox]:
    """A sandbox whose uploads may hold 10 bytes."""
    config = SandboxConfig(port=0, api_keys=("k",), step_seconds=0, max_upload=10)
    with Sandbox(config).start() as sb:
        yield sb


def test_put_over_the_upload_limit_is_413_and_stores_nothing(tight: Sandbox) -> None:
    gen2 = Gen2(tight.base_url, "k")
    migration = gen2.migration()
    entry = gen2.signed(migration, [{"name": "a.csv"}])[0]
    assert "10 bytes upload limit" in assert_error(put(entry, b"x" * 11), 413)
    listed = gen2.get(f"/migrations/{migration}/files").json()["files"]
    assert listed[0]["status"] == "pending"
    assert put(entry, b"a,b\n1,2\n").status_code == 200


def test_put_after_the_url_expired_is_403() -> None:
    config = SandboxConfig(port=0, api_keys=("k",), step_seconds=0, upload_ttl=0)
    with Sandbox(config).start() as sb:
        gen2 = Gen2(sb.base_url, "k")
        entry = gen2.signed(gen2.migration(), [{"name": "a.csv"}])[0]
        time.sleep(0.01)
        assert "expired" in assert_error(put(entry, b"a\n1\n"), 403)


# -- GET /migrations/{id}/files -------------------------------------------------------------------
def test_list_files_in_request_order_with_status_size_and_time(gen2: Gen2) -> None:
    migration = gen2.migration()
    entries = gen2.signed(migration, [{"name": "b.csv"}, {"name": "a.csv"}])
    assert put(entries[1], CONTACT_ROWS).status_code == 200
    files = gen2.get(f"/migrations/{migration}/files").json()["files"]
    assert [set(f) for f in files] == [
        {"name", "storage_path", "content_type", "size", "status", "uploaded_at"}
    ] * 2
    assert [(f["name"], f["status"], f["size"]) for f in files] == [
        ("b.csv", "pending", None),
        ("a.csv", "uploaded", len(CONTACT_ROWS)),
    ]
    assert files[0]["uploaded_at"] is None
    assert files[1]["uploaded_at"].endswith("Z")
    assert [f["storage_path"] for f in files] == [e["storage_path"] for e in entries]


# -- accounts are isolated -----------------------------------------------------------------------
def test_another_account_sees_none_of_a_migration(gen2: Gen2, other_gen2: Gen2) -> None:
    migration = gen2.migration_with_files([("contacts.csv", CONTACT_ROWS)], templates=["contacts"])
    run = gen2.run_to_rest(migration, "generate")
    base = f"/migrations/{migration}"
    calls = [
        other_gen2.get(base),
        other_gen2.get(f"{base}/files"),
        other_gen2.post(f"{base}/files", json={"files": [{"name": "a.csv"}]}),
        other_gen2.post(f"{base}/runs", json={"kind": "execute"}),
        other_gen2.get(f"{base}/runs"),
        other_gen2.get(f"{base}/runs/{run['run_id']}"),
        other_gen2.cancel(migration, run["run_id"]),
        other_gen2.answer(migration, run["run_id"], "trim Email"),
        other_gen2.post(
            f"{base}/runs/{run['run_id']}/credentials", json={"credentials": {"a": "b"}}
        ),
        other_gen2.get(f"{base}/thread"),
        other_gen2.get(f"{base}/thread/stream"),
        other_gen2.get(f"{base}/preview"),
        other_gen2.get(f"{base}/exports/contacts.csv"),
        other_gen2.get(f"{base}/source-connection"),
        other_gen2.post(f"{base}/source-connection", json={"source_key": "sandbox_crm"}),
        other_gen2.delete(f"{base}/source-connection"),
    ]
    for response in calls:
        assert_error(response, 404)
    assert gen2.get(base).status_code == 200


def test_external_ids_are_per_account(gen2: Gen2, other_gen2: Gen2) -> None:
    ext = external()
    mine = create(gen2, external_id=ext)
    theirs = create(other_gen2, external_id=ext, source="Legacy CRM")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert other_gen2.get("/migrations", params={"external_id": ext}).json()["migrations"] == [
        theirs.json()["migration"]
    ]
