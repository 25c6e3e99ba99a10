"""``client.uploads`` (migkit/resources/uploads.py).

Against the session sandbox over real HTTP; every client here polls on a tiny schedule
(the ``make_client`` / ``client`` fixtures)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

import migkit
from tests.client.resource_cases import CLEAN_ACCOUNTS
from tests.helpers import new_company


# -- uploads ---------------------------------------------------------------------------------
def test_upload_from_a_path_returns_its_ref_size_and_sha256(
    client: migkit.Client, samples: Path
) -> None:
    company = new_company(client, "Contacts")
    path = samples / "contacts_clean.csv"
    data = path.read_bytes()
    upload = client.uploads.upload(company, path)
    assert isinstance(upload, migkit.Upload)
    assert (upload.name, upload.content_type, upload.size) == (
        "contacts_clean.csv",
        "text/csv",
        len(data),
    )
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.upload_ref.startswith(f"workbook-files/{company.workbook_id}/")


def test_upload_from_a_dataframe_sends_it_as_csv(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    frame = pd.DataFrame(CLEAN_ACCOUNTS)
    data = frame.to_csv(index=False).encode("utf-8")
    upload = client.uploads.upload(company, frame, name="accounts.csv")
    assert (upload.name, upload.content_type) == ("accounts.csv", "text/csv")
    assert (upload.size, upload.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_upload_from_bytes_with_a_name(client: migkit.Client) -> None:
    company = new_company(client, "Deals")
    data = b"Title\tAmount\nBig deal\t100\n"
    upload = client.uploads.upload(company, data, name="deals.tsv")
    assert (upload.content_type, upload.size) == ("text/tab-separated-values", len(data))
    assert upload.upload_ref.endswith("/deals.tsv")


def test_upload_of_bytes_without_a_name_is_a_usage_error_before_any_request(
    client: migkit.Client,
) -> None:
    company = new_company(client, "Deals")
    sent = client.requests_sent
    with pytest.raises(migkit.UsageError, match="name="):
        client.uploads.upload(company, b"Title\nx\n")
    assert client.requests_sent == sent


def test_an_upload_can_be_imported_by_its_upload_object(
    client: migkit.Client, samples: Path
) -> None:
    company = new_company(client, "Accounts")
    upload = client.uploads.upload(company, samples / "accounts_clean.csv")
    run = client.imports.wait(client.imports.create(company, files=[upload]))
    assert run.status == "completed"
    assert run.report is not None and run.report.inserted == 5
