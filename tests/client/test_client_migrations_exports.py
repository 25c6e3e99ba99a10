"""Generation-2 exports through the same download code as Generation 1: gzip on the wire,
checked against ``X-Total-Records`` while streaming, a damaged body fetched once more and then
``ExportIncomplete``, and a stream that can go to a file; plus ``wait_all`` over a fleet."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

import migkit
from migkit.errors import ExportIncomplete
from tests.helpers import CONTACTS, csv_bytes
from tests.helpers_client_gen2 import clean_contacts
from tests.hostile import Exchange, HostileServer

EXPORT = "/api/v1/migrations/m1/exports/contacts.csv"
ROWS = [["a@x.io", "A", "B", "", "Open", "Acme"], ["b@x.io", "C", "D", "", "Closed", "Acme"]]


def gzipped_csv(declared: int) -> Callable[[Exchange], None]:
    body = gzip.compress(csv_bytes([CONTACTS, *ROWS]))
    headers = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Encoding": "gzip",
        "X-Total-Records": str(declared),
    }
    return lambda ex: ex.send(200, body, headers)


def test_export_frame_is_gzip_on_the_wire_and_checked_against_the_count(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client]
) -> None:
    hostile.on("GET", EXPORT, gzipped_csv(2))
    frame = hostile_client().migrations.export_frame("m1", "contacts", filter="invalid")
    assert list(frame.columns) == CONTACTS and frame["Email"].tolist() == ["a@x.io", "b@x.io"]
    assert frame.attrs["migkit"] == {"migration": "m1", "template": "contacts", "filter": "invalid"}
    (asked,) = hostile.requests("GET", EXPORT)
    assert "gzip" in asked.headers.get("Accept-Encoding", "") and asked.query == "filter=invalid"


def test_a_body_short_of_x_total_records_is_fetched_again_then_refused(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client]
) -> None:
    hostile.on("GET", EXPORT, gzipped_csv(3))
    with pytest.raises(ExportIncomplete, match="3"):
        hostile_client().migrations.export_frame("m1", "contacts")
    assert len(hostile.requests("GET", EXPORT)) == 2


def test_an_export_streams_to_a_file(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client], tmp_path: Path
) -> None:
    hostile.on("GET", EXPORT, gzipped_csv(2))
    with hostile_client().migrations.export_csv("m1", "contacts", filter="all") as stream:
        saved = stream.save(tmp_path / "contacts.csv")
        assert stream.total_records == 2
    assert saved.read_bytes() == csv_bytes([CONTACTS, *ROWS])


def test_wait_all_follows_a_fleet_to_rest(make_client: Callable[..., migkit.Client]) -> None:
    client = make_client()
    runs = []
    for n in range(4):
        m = client.migrations.create(f"Fleet {n}", external_id=f"g2c-wait-all-{n}")
        client.migrations.upload(m, {"c.csv": clean_contacts(f"wa{n}")})
        runs.append(client.migrations.generate(m))
    done = client.migrations.wait_all(runs)
    assert [r.id for r in done] == [r.id for r in runs]
    assert {r.status for r in done} == {"awaiting_approval"}


def test_an_export_streams_to_parquet_holding_what_the_frame_holds(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client], tmp_path: Path
) -> None:
    hostile.on("GET", EXPORT, gzipped_csv(2))
    client = hostile_client()
    saved = client.migrations.to_parquet("m1", "contacts", tmp_path / "c.parquet", filter="all")
    frame = client.migrations.export_frame("m1", "contacts", filter="all")
    import pyarrow.parquet as pq

    assert pq.read_table(saved).to_pandas().values.tolist() == frame.values.tolist()
    assert [r.query for r in hostile.requests("GET", EXPORT)] == ["filter=all"] * 2


def test_a_short_export_leaves_no_parquet_file(
    hostile: HostileServer, hostile_client: Callable[..., migkit.Client], tmp_path: Path
) -> None:
    hostile.on("GET", EXPORT, gzipped_csv(3))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportIncomplete):
        hostile_client().migrations.to_parquet("m1", "contacts", out / "c.parquet")
    assert list(out.iterdir()) == []  # neither the Parquet file nor a partial one
