"""Exports straight to disk: ``client.exports.to_parquet`` over a real sandbox, and the
frames-layer CSV-to-Parquet streamer on its own (bounded memory, damage, row order)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import migkit
import migkit.sandbox
from migkit.export_files import ExportIncomplete
from migkit.export_parquet import csv_to_parquet
from tests.client.test_exports_frames import TRICKY
from tests.helpers import new_company


def test_to_parquet_holds_what_frame_holds(client: migkit.Client, tmp_path: Path) -> None:
    company = new_company(client, "Accounts", "Contacts")
    run = client.imports.wait(client.imports.create(company, rows=TRICKY, sheet="Accounts"))
    assert run.status == "completed"
    written = client.exports.to_parquet(company, "Accounts", tmp_path / "accounts.parquet")
    frame = client.exports.frame(company, "Accounts")
    back = pq.read_table(written).to_pandas()
    assert list(back.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(back.astype(object), frame.astype(object))
    report = migkit.reconcile(frame, written, key="Name", engine="duckdb")
    assert report.ok and report.matched == len(TRICKY)
    with pytest.raises(migkit.UsageError, match="'valid' or 'all'"):
        client.exports.to_parquet(company, "Accounts", tmp_path / "x.parquet", filter="flagged")


@pytest.fixture(scope="module")
def short_stream() -> Any:
    with migkit.sandbox.start(step_seconds=0, rate_limit=100_000, faults="short_stream=1") as sb:
        yield sb


def test_a_short_download_leaves_no_parquet_file(
    make_client: Any, short_stream: Any, tmp_path: Path
) -> None:
    client = make_client(short_stream.api_key, short_stream.base_url, ledger=None)
    company = new_company(client, "Accounts")
    rows = [{"Name": f"Org {n}", "Domain": f"org{n}.example"} for n in range(3_000)]
    assert client.imports.wait(client.imports.create(company, rows=rows)).status == "completed"
    target = tmp_path / "accounts.parquet"
    with pytest.raises(ExportIncomplete, match="X-Total-Records") as caught:
        client.exports.to_parquet(company, "Accounts", target)
    assert caught.value.expected == 3_000
    assert not target.exists() and not list(tmp_path.iterdir())


def test_the_streamer_keeps_order_text_and_nulls_in_small_blocks(tmp_path: Path) -> None:
    rows = 20_000
    body = "Id,Zip,Note\r\n" + "".join(
        f'{i:05d},0{i % 10},"line\nbreak, {i}"\r\n' if i % 3 else f'{i:05d},,""\r\n'
        for i in range(rows)
    )
    seen: list[int] = []
    written = csv_to_parquet(
        io.BytesIO(body.encode()),
        tmp_path / "out.parquet",
        expected_rows=rows,
        block_bytes=1 << 14,
        on_rows=seen.append,
    )
    assert written.rows == rows and written.columns == ("Id", "Zip", "Note")
    assert len(seen) > 10 and seen == sorted(seen)  # many small blocks, in order
    table = pq.read_table(written.path)
    assert table.schema.field("Id").type == pa.large_string()
    assert table["Id"].to_pylist() == [f"{i:05d}" for i in range(rows)]
    assert table["Zip"][0].as_py() is None and table["Note"][0].as_py() == ""
    assert table["Note"][1].as_py() == "line\nbreak, 1"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "no header"),
        (b'A,B\r\n1,"open quote\r\n', "inside a quoted field"),
        (b"A,B\r\n1,2\r\n3\r\n", "malformed"),
        (b"A,A\r\n1,2\r\n", "repeats the column"),
        (b"A,B\r\n1,2\r\n", "announced 2"),
    ],
)
def test_the_streamer_names_the_damage(body: bytes, problem: str, tmp_path: Path) -> None:
    with pytest.raises(ExportIncomplete, match=problem):
        csv_to_parquet(io.BytesIO(body), tmp_path / "out.parquet", expected_rows=2)
    assert not list(tmp_path.iterdir())
