"""The export's rows are rendered once, when stored: the line ends computed from the cells
match what Arrow's writer wrote, cutting lines out of the text equals rendering the kept rows,
and an export from chunks stored without a rendering (rendered at read time) is the same
bytes as one from rendered chunks."""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migkit.sandbox import csv_render
from tests.helpers import CONTACTS, Api, company_with, csv_bytes

# Cells that matter to CSV: quotes, delimiters, line breaks, empty strings, non-ASCII.
CELL = st.one_of(st.none(), st.text(st.sampled_from(["a", '"', ",", "\r", "\n", " ", "é", "€"])))


@st.composite
def batches(draw: st.DrawFn) -> tuple[pa.RecordBatch, np.ndarray]:
    width = draw(st.integers(1, 4))
    rows = draw(st.integers(0, 12))
    columns = [
        pa.array(draw(st.lists(CELL, min_size=rows, max_size=rows)), pa.string())
        for _ in range(width)
    ]
    keep = np.array(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool)
    return pa.record_batch(columns, names=[str(i) for i in range(width)]), keep


@settings(max_examples=300, deadline=None)
@given(drawn=batches())
def test_line_ends_match_the_writer_and_cutting_lines_equals_rendering_the_kept_rows(
    drawn: tuple[pa.RecordBatch, np.ndarray],
) -> None:
    batch, keep = drawn
    rendering = csv_render.rendered(batch)
    assert rendering is not None  # the offsets add up to what the writer wrote
    text, ends = rendering
    assert csv_render.kept_lines(text, ends, keep) == csv_render.rows_csv(
        batch.filter(pa.array(keep, pa.bool_()))
    )
    # ... and the text reads back as the cells (null as "" for the csv module), row by row.
    parsed = list(csv.reader(io.StringIO(text.decode("utf-8"), newline="")))
    columns = batch.to_pydict().values()
    expected = [["" if v is None else v for v in row] for row in zip(*columns, strict=True)]
    assert parsed == expected


def test_a_one_column_row_with_a_blank_cell_keeps_its_line() -> None:
    batch = pa.record_batch([pa.array(["a", None, "b"])], names=["0"])
    assert csv_render.rows_csv(batch) == b'"a"\r\n""\r\n"b"\r\n'


@pytest.fixture
def rows() -> list[list[str]]:
    return [
        CONTACTS,
        ["ann@example.com", 'Ann "The Boss"', "Lee, Jr.", "", "Open", "Acme"],
        ["bad-email", "Bob", "", "", "", "Acme"],
        ["cy@example.com", "Cy\r\nline two", "", "", "", "Acme"],
    ]


@pytest.mark.parametrize("row_filter", ["valid", "all"])
def test_chunks_stored_without_a_rendering_export_the_same_bytes(
    api: Api, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]], row_filter: str
) -> None:
    bodies = []
    for render_at_insert in (True, False):
        if not render_at_insert:
            monkeypatch.setattr(csv_render, "rendered", lambda batch: None)
        company = company_with(api, "Contacts")
        cid, sheet = company["company"]["id"], company["sheets"][0]["id"]
        done = api.wait(
            api.import_files(cid, [("contacts.csv", csv_bytes(rows))]).json()["poll_url"]
        )
        assert done["status"] == "completed"
        bodies.append(api.export(cid, sheet, row_filter).content)
    assert bodies[0] == bodies[1]
    assert bodies[0].startswith(b"Email,First Name,Last Name,Phone,Status,Account\r\n")
