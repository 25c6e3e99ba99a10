"""``client.exports.frame`` / ``frames``: exports back into DataFrames, over a real sandbox."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pandas as pd
import pytest

import migkit
import migkit.sandbox
from migkit.export_files import ExportIncomplete, read_export_csv, subtract_rows
from tests.helpers import ACCOUNTS, CONTACTS, SAMPLES, new_company

MakeClient = Callable[..., migkit.Client]

TRICKY = [
    {"Name": "Acme, Inc.", "Domain": "acme.com", "Tier": "Gold"},
    {"Name": 'The "Best" Co', "Domain": "best.io"},
    {"Name": "Multi\nline\r\nname", "Domain": "multi.example"},
    {"Name": "Zürich Société 東京", "Domain": "zurich.example"},
    {"Name": "007", "Domain": "zeros.example"},
    {"Name": "  padded  ", "Domain": "pad.example"},
    {"Name": "12345678901234567890", "Domain": "long.example"},
]


@pytest.fixture
def tricky(client: migkit.Client) -> migkit.Company:
    company = new_company(client, "Accounts", "Contacts")
    run = client.imports.wait(client.imports.create(company, rows=TRICKY, sheet="Accounts"))
    assert run.status == "completed"
    return company


def finished(client: migkit.Client, run: migkit.Run) -> migkit.Run:
    """Wait for ``run``; a pause is rejected, which keeps its flagged rows flagged."""
    run = client.imports.wait(run)
    if run.status == "needs_attention":
        run = client.imports.wait(client.imports.decide(run, reject=True))
    assert run.status == "completed" and run.report is not None, run
    return run


@pytest.fixture
def contacts_company(client: migkit.Client) -> tuple[migkit.Company, migkit.Run]:
    """The messy samples: Accounts, then Contacts (25 of 200 rows flagged)."""
    company = new_company(client, "Accounts", "Contacts")
    finished(client, client.imports.create(company, files=[SAMPLES / "accounts.csv"]))
    run = finished(client, client.imports.create(company, files=[SAMPLES / "contacts.csv"]))
    return company, run


def test_frame_keeps_every_cell_as_written(client: migkit.Client, tricky: migkit.Company) -> None:
    frame = client.exports.frame(tricky, "Accounts")
    assert list(frame.columns) == ACCOUNTS
    assert all(str(t) == "str" for t in frame.dtypes)
    assert frame["Name"].tolist() == [r["Name"] for r in TRICKY]
    assert frame["Tier"].isna().tolist() == ["Tier" not in r for r in TRICKY]
    assert frame.index.equals(pd.RangeIndex(len(TRICKY)))


def test_frame_records_where_it_came_from(client: migkit.Client, tricky: migkit.Company) -> None:
    frame = client.exports.frame(tricky, "Accounts", filter="all")
    assert frame.attrs["migkit"] == {"company": tricky.id, "sheet": "Accounts", "filter": "all"}


def test_frame_of_an_empty_sheet_has_the_template_columns(
    client: migkit.Client, tricky: migkit.Company
) -> None:
    frame = client.exports.frame(tricky, "Contacts")
    assert frame.empty and list(frame.columns) == CONTACTS


def test_valid_all_and_flagged_partition_the_sheet(
    client: migkit.Client, contacts_company: tuple[migkit.Company, migkit.Run]
) -> None:
    company, run = contacts_company
    assert run.report is not None
    valid = client.exports.frame(company, "Contacts")
    everything = client.exports.frame(company, "Contacts", filter="all")
    flagged = client.exports.frame(company, "Contacts", filter="flagged")
    assert len(everything) == 200
    assert len(flagged) == run.report.flagged_rows == 25
    assert len(valid) == 200 - 25
    assert flagged.attrs["migkit"]["filter"] == "flagged"
    # flagged keeps the all-export's row numbers; the rest of the sheet is the valid export
    rebuilt = pd.concat([everything.drop(flagged.index), flagged]).sort_index()
    pd.testing.assert_frame_equal(rebuilt, everything)
    kept = everything.drop(flagged.index).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, valid)


def test_frames_reads_every_sheet_of_the_zip(
    client: migkit.Client, contacts_company: tuple[migkit.Company, migkit.Run]
) -> None:
    company, _ = contacts_company
    sheets = client.exports.frames(company, filter="all")
    assert sorted(sheets) == ["Accounts", "Contacts"]
    assert len(sheets["Contacts"]) == 200 and len(sheets["Accounts"]) == 40
    pd.testing.assert_frame_equal(
        sheets["Contacts"], client.exports.frame(company, "Contacts", filter="all")
    )
    flagged = client.exports.frames(company, filter="flagged")
    assert len(flagged["Contacts"]) == 25
    assert flagged["Accounts"].attrs["migkit"]["sheet"] == "Accounts"


def test_a_bad_filter_is_a_usage_error_naming_the_choices(
    client: migkit.Client, tricky: migkit.Company
) -> None:
    sent = client.requests_sent
    with pytest.raises(migkit.UsageError, match=r"'flagged'.*'invalid'"):
        client.exports.frame(tricky, "Accounts", filter="invalid")
    assert client.requests_sent == sent


# -- damaged downloads -------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["cut_stream", "short_stream"])
def damaging(request: pytest.FixtureRequest) -> Iterator[migkit.sandbox.Sandbox]:
    """A sandbox whose streamed bodies are always cut: dropped connection or short body."""
    with migkit.sandbox.start(
        step_seconds=0, rate_limit=100_000, faults=f"{request.param}=1"
    ) as sb:
        yield sb


def test_a_damaged_download_is_raised_never_returned_short(
    make_client: MakeClient, damaging: migkit.sandbox.Sandbox
) -> None:
    client = make_client(damaging.api_key, damaging.base_url, ledger=None)
    company = new_company(client, "Accounts")
    rows = [{"Name": f"Org {n}", "Domain": f"org{n}.example"} for n in range(3_000)]
    assert client.imports.wait(client.imports.create(company, rows=rows)).status == "completed"
    sent = client.requests_sent
    with pytest.raises((ExportIncomplete, migkit.TransportError)) as caught:
        client.exports.frame(company, "Accounts")
    assert "download it again" in str(caught.value)
    assert client.requests_sent - sent == 2  # fetched once more before giving up
    if damaging.config.faults.short_stream:  # parses, but holds too few rows
        assert isinstance(caught.value, ExportIncomplete)
        assert caught.value.expected == 3_000
        assert caught.value.rows is not None and 0 < caught.value.rows < 3_000
    else:  # the connection dropped mid-body
        assert isinstance(caught.value, migkit.TransportError)
        assert "cut off after" in str(caught.value)


# -- the parser and the subtraction on their own -----------------------------------------------
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "no header"),
        (b'A,B\r\n1,"open quote\r\n', "inside a quoted field"),
        (b"A,B\r\n1,2\r\n3\r\n", "Expected 2 columns"),
        (b"A,A\r\n1,2\r\n", "repeats the column"),
        (b"A,B\r\n\xff\xfe,1\r\n", "UTF8"),
    ],
)
def test_read_export_csv_names_the_damage(body: bytes, problem: str) -> None:
    with pytest.raises(ExportIncomplete, match=problem):
        read_export_csv(io.BytesIO(body))


def test_read_export_csv_keeps_a_quoted_empty_string_apart_from_a_missing_value() -> None:
    frame = read_export_csv(io.BytesIO(b'A,B,C\r\n"",,x\r\n'))
    assert frame.iloc[0, 0] == "" and pd.isna(frame.iloc[0, 1]) and frame.iloc[0, 2] == "x"


def test_read_export_csv_checks_the_announced_row_count() -> None:
    with pytest.raises(ExportIncomplete, match="holds 1 rows but the server announced 2"):
        read_export_csv(io.BytesIO(b"A\r\nx\r\n"), expected_rows=2)


def test_read_export_csv_handles_crlf_bom_quotes_and_a_missing_final_newline() -> None:
    body = b'\xef\xbb\xbf"Na,me",B\r\n"a ""q"" b","x\r\ny"\r\n,last'
    frame = read_export_csv(io.BytesIO(body), expected_rows=2)
    assert list(frame.columns) == ["Na,me", "B"]
    assert frame.iloc[0].tolist() == ['a "q" b', "x\r\ny"]
    assert frame.iloc[1].isna().tolist() == [True, False] and frame.iloc[1, 1] == "last"


def test_subtract_rows_keeps_the_first_of_identical_rows_as_valid() -> None:
    everything = pd.DataFrame({"E": ["a", "b", "a", "a", "c"], "N": ["1", "2", "1", "1", "3"]})
    valid = pd.DataFrame({"E": ["a", "c"], "N": ["1", "3"]})
    assert subtract_rows(everything, valid).index.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="different columns"):
        subtract_rows(everything, valid[["E"]])
