"""Pre-flight: what the API would refuse is caught before anything is sent, all at once."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pytest

import migkit
from migkit.preflight import company_problems, key_problems, rows_payload, upload_problems


def test_frame_values_become_json_values() -> None:
    frame = pd.DataFrame(
        {
            "n": np.array([1, 2], dtype=np.int64),
            "x": [1.5, np.nan],
            "when": pd.to_datetime(["2026-01-02 03:04:05", None]),
            "money": [decimal.Decimal("10.10"), None],
            "flag": np.array([True, False]),
            "day": [dt.date(2026, 1, 2), None],
        }
    )
    rows, problems = rows_payload(frame)
    assert problems == []
    assert rows[0] == {
        "n": 1,
        "x": 1.5,
        "when": "2026-01-02T03:04:05",
        "money": "10.10",
        "flag": True,
        "day": "2026-01-02",
    }
    assert rows[1] == {"n": 2, "x": None, "when": None, "money": None, "flag": False, "day": None}


def test_every_bad_cell_is_named_by_row_and_column() -> None:
    frame = pd.DataFrame(
        {"a": [np.inf, 1.0, -np.inf], "b": [{"x": 1}, "ok", [1]]}, index=["r1", "r2", "r3"]
    )
    _, problems = rows_payload(frame)
    assert len(problems) == 4
    assert any("column 'a', row 'r1'" in p and "infinite" in p for p in problems)
    assert any("column 'b', row 'r3'" in p and "list" in p for p in problems)


def test_duplicate_columns_and_empty_rows_are_refused() -> None:
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    assert "appear twice" in rows_payload(dup)[1][0]
    assert "no rows" in rows_payload([])[1][0]


@pytest.mark.parametrize(
    ("name", "external_id", "count"),
    [("Acme", "acme-1", 0), ("", None, 1), ("Acme", "has space", 1), (None, "x" * 256, 2)],
)
def test_company_problems(name: object, external_id: object, count: int) -> None:
    assert len(company_problems(name, external_id)) == count


def test_key_and_upload_problems() -> None:
    assert key_problems("k-1") == [] and key_problems(None) == []
    assert key_problems("") and key_problems("é") and key_problems("x" * 256)
    assert upload_problems("a.csv", "text/csv", 10) == []
    assert len(upload_problems("a.pdf", "application/pdf", 0)) == 2


def test_a_bad_company_is_refused_without_a_request(client: migkit.Client) -> None:
    sent = client.requests_sent
    with pytest.raises(migkit.ValidationFailed) as caught:
        client.companies.create("", "Spreadsheet", external_id="bad id!")
    assert client.requests_sent == sent
    assert len(caught.value.problems) == 2
    assert "nothing was sent" in str(caught.value)


def test_a_bad_idempotency_key_is_refused_without_a_request(client: migkit.Client) -> None:
    company = client.companies.create("Preflight Co", "Spreadsheet", templates=["Accounts"])
    sent = client.requests_sent
    with pytest.raises(migkit.ValidationFailed, match="idempotency_key"):
        client.imports.create(company, rows=[{"Name": "A"}], idempotency_key="ключ")
    assert client.requests_sent == sent
