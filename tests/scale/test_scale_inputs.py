"""Inputs by reference (paths, Arrow, engine tables), engine choice, lazy report tables, and
the evidence behind missing rows, on DuckDB against the in-memory path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import migkit
import migkit.scale.reconcile as engine_reconcile
from migkit.errors import UsageError
from migkit.export_files import read_export_csv
from migkit.export_parquet import csv_to_parquet
from migkit.rules import Template
from migkit.scale import DuckDB, LazyTable, Ordered
from tests.scale_helpers import assert_same_report, table

SOURCE = pd.DataFrame(
    {
        "Email": ["a@x.io", "b@x.io", "c@x.io", "d@x.io", "d@x.io", None, "f@x.io", "g@x.io"],
        "Status": ["Open", "open ", "Closed", "x", "y", "z", None, "Open"],
        "Amount": ["1", "2.0", "3", "4", "5", "6", "7", "8"],
    },
    dtype="str",
)
EXPORT = pd.DataFrame(
    {
        "Email": ["g@x.io", "a@x.io", "b@x.io", "d@x.io", "e@x.io", "f@x.io"],
        "Status": ["Open", "Open", "Open", "x", "q", "Lost"],
        "Amount": ["8", "1", "2", "9", "1", "7.4"],
    },
    dtype="str",
)
HOW = migkit.Normalize(trim=True, ignore_case=True, abs_tol={"Amount": 0.5})


@pytest.fixture(scope="module")
def duck() -> DuckDB:
    return DuckDB(memory_limit="256MB", threads=1)


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_paths_csv_and_parquet_give_the_in_memory_report(tmp_path: Path, duck: DuckDB) -> None:
    src, exp = _csv(SOURCE, tmp_path / "s.csv"), _csv(EXPORT, tmp_path / "e.csv")
    csv_to_parquet(exp, tmp_path / "e.parquet")
    expected = migkit.reconcile(
        read_export_csv(src), read_export_csv(exp), key="Email", normalize=HOW, engine="pandas"
    )
    assert_same_report(expected, migkit.reconcile(src, exp, key="Email", normalize=HOW))
    from_parquet = migkit.reconcile(
        src, tmp_path / "e.parquet", key="Email", normalize=HOW, engine=duck
    )
    assert_same_report(expected, from_parquet)
    assert expected.matched == 5 and len(expected.missing) == 3 and len(expected.changed) == 2


def test_a_staging_folder_that_does_not_exist_yet_is_made(tmp_path: Path) -> None:
    # Regression: a staging_dir given by the caller (a cluster's shared folder, a test's tmp
    # path) was used as is, and staging a CSV into it failed with FileNotFoundError.
    src, exp = _csv(SOURCE, tmp_path / "s.csv"), _csv(EXPORT, tmp_path / "e.csv")
    staging = tmp_path / "not" / "yet"
    engine = DuckDB(memory_limit="256MB", threads=1, staging_dir=staging)
    expected = migkit.reconcile(
        read_export_csv(src), read_export_csv(exp), key="Email", normalize=HOW, engine="pandas"
    )
    assert_same_report(
        expected, migkit.reconcile(src, exp, key="Email", normalize=HOW, engine=engine)
    )
    assert sorted(p.name.split("-")[0] for p in staging.glob("*.parquet")) == ["e", "s"]


def test_several_parquet_files_keep_their_order(tmp_path: Path, duck: DuckDB) -> None:
    # Positions run across the files in order: the second file's rows come after the first's.
    folder = tmp_path / "parts"
    folder.mkdir()
    table = pa.Table.from_pandas(EXPORT, preserve_index=False)
    pq.write_table(table.slice(0, 3), folder / "part-0.parquet")
    pq.write_table(table.slice(3), folder / "part-1.parquet")
    expected = migkit.reconcile(SOURCE, EXPORT, key="Email", engine="pandas")
    actual = migkit.reconcile(SOURCE, folder, key="Email", engine=duck)
    assert_same_report(expected, actual)
    assert table_rows(actual.extra) == [4]


def table_rows(value: Any) -> list[Any]:
    return list(table(value).index)


def test_arrow_tables_datasets_and_typed_columns(tmp_path: Path, duck: DuckDB) -> None:
    typed = pd.DataFrame({"id": [1, 2, 3], "amount": [1.0, 2.5, None], "ok": [True, False, True]})
    other = pd.DataFrame(
        {"id": ["1", "2", "4"], "amount": ["1", "2.50", ""], "ok": ["True", "x", "y"]}
    )
    expected = migkit.reconcile(typed, other, key="id", engine="pandas")
    arrow = pa.Table.from_pandas(typed, preserve_index=False)
    # Typed columns are compared as canonical text; missing rows are shown as that text.
    from_arrow = migkit.reconcile(arrow, other, key="id", engine=duck)
    assert_same_report(expected, from_arrow, rows_as_text=True)
    assert table(from_arrow.missing)["amount"].isna().all()
    pq.write_table(arrow, tmp_path / "typed.parquet")
    dataset = ds.dataset(tmp_path / "typed.parquet")
    from_dataset = migkit.reconcile(dataset, other, key="id", engine=duck)
    assert_same_report(expected, from_dataset, rows_as_text=True)
    assert from_dataset.notes == from_arrow.notes


def test_an_engine_table_needs_its_order_named(duck: DuckDB) -> None:
    relation = duck.connection.sql(
        "SELECT 2 AS line, 'b@x.io' AS Email UNION ALL SELECT 1, 'a@x.io'"
    )
    with pytest.raises(UsageError, match="Ordered"):
        migkit.reconcile(relation, EXPORT, key="Email", engine=duck)
    ordered = Ordered(relation, by="line")
    report = migkit.reconcile(ordered, EXPORT[["Email"]], key="Email", engine=duck)
    assert report.matched == 2 and len(report.extra) == 4


def test_auto_keeps_frames_that_fit_in_memory_and_moves_large_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    original = engine_reconcile.run
    monkeypatch.setattr(
        engine_reconcile, "run", lambda *a, **k: calls.append(a) or original(*a, **k)
    )
    small = migkit.reconcile(SOURCE, EXPORT, key="Email")
    assert calls == []
    monkeypatch.setattr(migkit.scale, "AUTO_ROWS", 5)
    large = migkit.reconcile(SOURCE, EXPORT, key="Email")
    assert len(calls) == 1 and calls[0][0].name == "duckdb"
    assert_same_report(small, large)
    on_index = migkit.reconcile(SOURCE, EXPORT, key="index")  # only memory joins on an index
    assert len(calls) == 1 and on_index.on_index


def test_engine_errors_name_the_value_and_what_to_do(duck: DuckDB) -> None:
    with pytest.raises(UsageError, match="engine='nope' is not an engine"):
        migkit.reconcile(SOURCE, EXPORT, key="Email", engine="nope")
    with pytest.raises(UsageError, match="frame index"):
        migkit.reconcile(SOURCE, EXPORT, key="index", engine=duck)
    with pytest.raises(UsageError, match="memory_limit must be a size"):
        DuckDB(memory_limit="lots")
    with pytest.raises(UsageError, match="no file at"):
        migkit.reconcile("nowhere.parquet", EXPORT, key="Email", engine=duck)
    with pytest.raises(UsageError, match="not in both frames"):
        migkit.reconcile(SOURCE, EXPORT, key="Phone", engine=duck)


def test_large_parts_stay_lazy_and_stream(
    tmp_path: Path, duck: DuckDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_reconcile, "SMALL_ROWS", 0)
    expected = migkit.reconcile(SOURCE, EXPORT, key="Email", normalize=HOW, engine="pandas")
    lazy = migkit.reconcile(SOURCE, EXPORT, key="Email", normalize=HOW, engine=duck)
    for part in ("missing", "extra", "changed", "hidden"):
        assert isinstance(getattr(lazy, part), LazyTable), part
    assert_same_report(expected, lazy)
    assert len(lazy.changed) == len(expected.changed) == 2
    assert lazy.changed_rows == expected.changed_rows
    written = lazy.changed.to_parquet(tmp_path / "changed.parquet")
    back = pq.read_table(written).to_pandas()
    assert back["column"].tolist() == expected.changed["column"].tolist()
    parts = list(lazy.missing.batches(1))
    assert sum(len(p) for p in parts) == len(expected.missing)
    assert "rows on DuckDB" in repr(lazy.missing)


def test_evidence_explains_missing_rows_as_in_memory(duck: DuckDB) -> None:
    template = Template.from_api(
        {
            "name": "T",
            "columns": [
                {"name": "Status", "required": True},
                {"name": "Amount", "desiredRule": "strict", "strictRule": r"\d"},
            ],
        }
    )
    source = pd.concat(
        [SOURCE, pd.DataFrame({"Email": ["h@x.io"], "Status": [" "], "Amount": ["1"]}, dtype="str")]
    )
    source.index = pd.Index([f"r{i}" for i in range(len(source))])  # labels, not positions
    flagged = source.iloc[[2]]
    reasons: set[str] = set()
    patch = [
        {"action": "delete_invalid_rows", "column": "Status"},
        {"action": "set_value", "column": "Amount", "value": "9", "values": ["4"]},
    ]
    for evidence in (
        {"flagged": flagged},
        {"validation": migkit.validate(source, template)},
        {"patch": patch},
        {"flagged": flagged, "validation": migkit.validate(source, template), "patch": patch},
    ):
        expected = migkit.reconcile(source, EXPORT, key="Email", engine="pandas", **evidence)
        actual = migkit.reconcile(source, EXPORT, key="Email", engine=duck, **evidence)
        assert_same_report(expected, actual)
        reasons |= set(expected.missing["reason"]) | set(expected.changed["reason"])
    assert {
        "flagged by the server",
        "deleted by an accepted patch",
        "set by the accepted patch",
        "predicted invalid locally",
    } <= reasons


def test_a_million_rows_stage_in_bounded_batches(tmp_path: Path, duck: DuckDB) -> None:
    rows = 300_000
    emails = pd.Series([f"u{i}@x.io" for i in range(rows)], dtype="str")
    left = pd.DataFrame({"Email": emails, "V": pd.Series(np.arange(rows) % 7).astype("str")})
    right = left.iloc[::-1].reset_index(drop=True)
    right.loc[5, "V"] = "changed"
    report = migkit.reconcile(left, right, key="Email", engine=duck)
    assert (report.matched, len(report.changed)) == (rows, 1)
    assert table(report.changed)["export_row"].tolist() == [5]


def test_running_out_of_memory_says_which_cap_and_what_to_change() -> None:
    rows = 200_000
    left = pd.DataFrame({"K": [f"k{i}" for i in range(rows)], "V": ["x" * 50] * rows})
    with pytest.raises(migkit.EngineOutOfMemory) as caught:
        migkit.reconcile(left, left, key="K", engine=DuckDB(memory_limit="3MB", threads=1))
    message = str(caught.value)
    assert "memory_limit='3MB'" in message and "DuckDB(memory_limit='4GB')" in message
    assert "while pairing" in message and "Out of Memory Error" in message
    assert isinstance(caught.value, MemoryError) and caught.value.__cause__ is None
