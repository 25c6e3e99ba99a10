"""validate_file on DuckDB and Spark flags exactly the rows the streaming path flags, on
generated files with the inputs where regex engines and trims differ."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import migkit
from migkit.export_parquet import csv_to_parquet
from migkit.rules import Template
from migkit.scale import DuckDB

CELLS = [
    "",
    " ",
    "a@x",
    "a@x ",
    " a@x",
    "A@x",
    "é@x",
    "a@x\n",
    "a b@x",
    "a\u00a0b@x",
    "555-1234",
    "٥٥٥-1234",
    "12-1234",
    "Open",
    "open",
    "Closed",
    " Open",
    "x",
    "xé",
    "x_1",
    "xß",
    "x\t",
    "\u2028",
    "\u3000",
    "ǅ",
    "İ",
    "a\r\nb",
    '"q"',
    ",",
    "1",
    "01",
]
TEMPLATE = Template.from_api(
    {
        "name": "T",
        "columns": [
            {
                "name": "Email",
                "required": True,
                "unique": True,
                "desiredRule": "strict",
                "strictRule": r"^[^@\s]+@[^@\s]+$",
            },
            {"name": "Phone", "desiredRule": "strict", "strictRule": r"\d{3}-\d{4}"},
            {
                "name": "Status",
                "unique": True,
                "desiredRule": "strict",
                "strictRule": ["Open", "Closed"],
            },
            {"name": "Tag", "desiredRule": "strict", "strictRule": r"(?=x)x\w*$"},
            {
                "name": "Code",
                "required": True,
                "desiredRule": "strict",
                "strictRule": r"[[:alpha:]]|\w+",
            },
            {
                "name": "Account",
                "desiredRule": "link",
                "linkRule": [{"templateId": "Accounts", "columnName": "Name"}],
            },
            {"name": "Absent", "required": True},
        ],
    }
)
LINKS = {"Account": ["a@x", "Open", "İ", " x"]}
HEADER = ["E-mail", "Phone", "Status", "Tag", "Code", "Account"]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


rows_strategy = st.lists(
    st.lists(st.sampled_from(CELLS), min_size=len(HEADER), max_size=len(HEADER)), max_size=12
)
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
NASTY = [CELLS[i : i + len(HEADER)] for i in range(0, len(CELLS) - len(HEADER))]


def _same(path: Path, engine: Any) -> None:
    expected = migkit.validate_file(path, TEMPLATE, links=LINKS, engine="pandas")
    actual = migkit.validate_file(path, TEMPLATE, links=LINKS, engine=engine)
    assert actual.rows == expected.rows
    pd.testing.assert_frame_equal(
        actual.errors.astype(object), expected.errors.astype(object), check_dtype=False
    )
    assert actual.predicted_flagged_rows == expected.predicted_flagged_rows


@pytest.fixture(scope="module")
def duck() -> DuckDB:
    return DuckDB(memory_limit="256MB", threads=1)


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW)
@given(rows=rows_strategy)
@example(rows=NASTY)
def test_duckdb_flags_what_the_streaming_path_flags(
    tmp_path: Path, duck: DuckDB, rows: list[list[str]]
) -> None:
    _same(_write(tmp_path / "f.csv", rows), duck)


def test_a_parquet_file_validates_on_duckdb_by_default(tmp_path: Path) -> None:
    source = _write(tmp_path / "f.csv", NASTY)
    parquet = tmp_path / "f.parquet"
    csv_to_parquet(source, parquet)
    from_csv = migkit.validate_file(source, TEMPLATE, links=LINKS)
    from_parquet = migkit.validate_file(parquet, TEMPLATE, links=LINKS)  # engine="auto"
    assert len(from_csv.errors) > 10
    pd.testing.assert_frame_equal(
        from_parquet.errors.astype(object), from_csv.errors.astype(object), check_dtype=False
    )


@pytest.mark.spark
@pytest.mark.timeout(600)
def test_spark_flags_what_the_streaming_path_flags(tmp_path: Path, spark: Any) -> None:
    _same(_write(tmp_path / "f.csv", NASTY), spark)
