"""Redirects are never followed: the API key, an import's body and a signed upload's bytes stay
with the server they were sent to, and a redirect's answer is never taken for the request's.

Each test scripts a server on loopback whose routes redirect to a second server on another
port (``elsewhere``), which must receive nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

import migkit
from tests.conftest import HOSTILE_KEY
from tests.hostile import HostileServer, json_answer, redirect

MakeClient = Callable[..., migkit.Client]
COMPANY = str(uuid.uuid4())
SHEET = str(uuid.uuid4())
RUN = str(uuid.uuid4())
REDIRECTS = [301, 302, 303, 307, 308]


def assert_nothing_reached(elsewhere: HostileServer) -> None:
    assert elsewhere.seen == [], [(s.method, s.path) for s in elsewhere.seen]


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_get_redirected_to_another_port_is_an_error_and_the_key_stays(
    status: int, hostile: HostileServer, elsewhere: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/sources", redirect(status, elsewhere.base + "/api/v1/sources"))
    elsewhere.on("GET", "*", json_answer({"sources": []}))
    with pytest.raises(migkit.UnexpectedRedirect) as info:
        hostile_client().sources.list()
    assert_nothing_reached(elsewhere)
    error = info.value
    assert isinstance(error, migkit.TransportError)
    assert (error.status, error.method, error.path) == (status, "GET", "/sources")
    assert error.location == elsewhere.base + "/api/v1/sources"
    assert elsewhere.base + "/api/v1/sources" in str(error)
    assert HOSTILE_KEY not in str(error)


def test_a_redirect_to_another_scheme_is_an_error_naming_it(
    hostile: HostileServer, hostile_client: MakeClient
) -> None:
    target = "https://127.0.0.1:9/api/v1/sources"
    hostile.on("GET", "/api/v1/sources", redirect(302, target))
    with pytest.raises(migkit.UnexpectedRedirect, match=re.escape(target)):
        hostile_client().sources.list()


def test_the_redirect_target_is_named_without_its_query_string(
    hostile: HostileServer, elsewhere: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on("GET", "/api/v1/templates", redirect(302, elsewhere.base + "/t?token=s3cret"))
    with pytest.raises(migkit.UnexpectedRedirect) as info:
        hostile_client().templates.list()
    assert info.value.location == elsewhere.base + "/t"
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("status", [307, 308])
def test_an_import_post_is_not_sent_again_to_the_redirect_target(
    status: int, hostile: HostileServer, elsewhere: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on(
        "POST", f"/api/v1/companies/{COMPANY}/imports", redirect(status, elsewhere.base + "/x")
    )
    elsewhere.on("POST", "*", json_answer({"run_id": RUN, "status": "queued"}, 201))
    client = hostile_client()
    with pytest.raises(migkit.UnexpectedRedirect):
        client.imports.create(COMPANY, rows=[{"Email": "ann@example.com"}])
    assert_nothing_reached(elsewhere)
    assert len(hostile.requests("POST")) == 1  # sent once, not followed and not retried


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_gets_answer_after_a_redirect_is_never_taken_as_the_created_run(
    status: int, hostile: HostileServer, hostile_client: MakeClient
) -> None:
    # A 303 tells a browser to GET the target; that GET's answer looks like a created run.
    path = f"/api/v1/companies/{COMPANY}/imports"
    hostile.on("POST", path, redirect(status, f"{path}/{RUN}"))
    hostile.on("GET", f"{path}/{RUN}", json_answer({"run_id": RUN, "status": "completed"}))
    client = hostile_client()
    with pytest.raises(migkit.UnexpectedRedirect):
        client.imports.create(COMPANY, rows=[{"Email": "ann@example.com"}])
    assert hostile.requests("GET") == []
    assert client.ledger is not None
    assert [e.run_id for e in client.ledger.unfinished(client._core.account, client.base_url)] == [
        None
    ]  # noted before sending, as every import is, but no run recorded


def test_a_signed_upload_redirected_elsewhere_sends_no_bytes_there(
    hostile: HostileServer, elsewhere: HostileServer, hostile_client: MakeClient
) -> None:
    grant = {"upload_url": hostile.base + "/upload/tok", "upload_ref": "files/contacts.csv"}
    hostile.on("POST", f"/api/v1/companies/{COMPANY}/uploads", json_answer(grant, 201))
    hostile.on("PUT", "/upload/*", redirect(307, elsewhere.base + "/bucket/contacts.csv"))
    with pytest.raises(migkit.UnexpectedRedirect, match=r"bucket/contacts\.csv"):
        hostile_client().uploads.upload(COMPANY, b"Email\nann@example.com\n", name="c.csv")
    assert_nothing_reached(elsewhere)
    assert len(hostile.requests("POST")) == 1  # no fresh URL asked for: it would redirect too


def test_an_export_download_redirected_elsewhere_is_an_error(
    hostile: HostileServer, elsewhere: HostileServer, hostile_client: MakeClient
) -> None:
    hostile.on(
        "GET", f"/api/v1/companies/{COMPANY}/export.csv", redirect(302, elsewhere.base + "/e")
    )
    elsewhere.on("GET", "*", json_answer({}))
    with pytest.raises(migkit.UnexpectedRedirect):
        hostile_client().exports.frame(COMPANY, SHEET)
    assert_nothing_reached(elsewhere)
    assert len(hostile.requests("GET")) == 1  # a redirect is not downloaded again


def test_a_poll_redirected_elsewhere_ends_the_wait_at_once(
    hostile: HostileServer, elsewhere: HostileServer, hostile_client: MakeClient
) -> None:
    path = f"/api/v1/companies/{COMPANY}/imports/{RUN}"
    hostile.on("GET", path, redirect(302, elsewhere.base + path))
    run = migkit.Run(id=RUN, company_id=COMPANY, status="queued")
    with pytest.raises(migkit.UnexpectedRedirect):
        hostile_client().imports.wait(run)
    assert len(hostile.requests("GET")) == 1  # not polled again as a flaky poll would be
    assert_nothing_reached(elsewhere)
