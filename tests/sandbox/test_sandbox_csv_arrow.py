"""The sandbox reads a CSV/TSV upload through Arrow only where Arrow gives exactly what the
csv module gives: for any text, the fast parse either declines or equals the exact path."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migkit.read.table import distinct_names
from migkit.sandbox import csv_arrow
from migkit.sandbox.reader import FileProblem, _table, read_delimited

# Characters that matter to CSV syntax, plus ordinary and non-ASCII text.
ALPHABET = st.sampled_from(["a", "b", " ", ",", "\t", '"', "\r", "\n", "é", "€"])


def exact(text: str, delimiter: str) -> list[list[str | None]] | str:
    """What the csv-module path reads (cells as str or None), or its error."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
        part = _table("f.csv", records)
    except (csv.Error, FileProblem) as exc:
        return f"error: {exc}"
    return [part.headers, *part.frame.astype(object).values.tolist()]


def cells(frame: pd.DataFrame) -> list[list[str | None]]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).values]


@settings(max_examples=400, deadline=None)
@given(text=st.text(ALPHABET, min_size=1, max_size=40), delimiter=st.sampled_from([",", "\t"]))
def test_arrow_parse_declines_or_agrees_with_the_csv_module(text: str, delimiter: str) -> None:
    fast = csv_arrow.parse(text.encode("utf-8"), text, delimiter)
    if fast is None:
        return
    headers, frame = fast
    expected = exact(text, delimiter)
    assert not isinstance(expected, str), (text, expected)
    assert [distinct_names([h.strip() for h in headers]), *cells(frame)] == expected, text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('Id,Name\r\n"x"y,1\r\n', "text after a closing quote"),
        ('Id,Name\r\n"open,1\r\n', "a quote never closed"),
        ("Id,Name\r\n1\r\n", "a short row"),
        ("Id,Name\r\n1,2,\r\n", "a row with an extra empty field"),
        ('"Id\r\nx",Name\r\n1,2\r\n', "a header spanning lines"),
        ("\r\nId,Name\r\n1,2\r\n", "a blank line before the header"),
        ("Id\r\n" + "x" * 200_000 + "\r\n", "a field over csv's size limit"),
    ],
)
def test_arrow_parse_declines_what_only_the_csv_module_can_answer(text: str, reason: str) -> None:
    assert csv_arrow.parse(text.encode("utf-8"), text, ",") is None, reason


def test_read_delimited_gives_arrow_backed_text_for_a_plain_file() -> None:
    data = b"Email,Name\r\nann@x.io,Ann\r\nbob@x.io,\r\n"
    (part,) = read_delimited(data, "contacts.csv", ",")
    assert part.headers == ["Email", "Name"]
    assert [str(dtype) for dtype in part.frame.dtypes] == ["str", "str"]
    assert cells(part.frame) == [["ann@x.io", "Ann"], ["bob@x.io", None]]


def test_read_delimited_still_pads_a_short_row_on_the_exact_path() -> None:
    (part,) = read_delimited(b"Email,Name\r\nann@x.io\r\n", "contacts.csv", ",")
    assert cells(part.frame) == [["ann@x.io", None]]
