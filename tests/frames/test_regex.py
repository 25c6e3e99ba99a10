"""The vectorized full-match agrees with Python ``re`` on every row, whichever path it takes."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migkit.regex import fullmatch, re2_pattern

# Python warns about "[[:alpha:]]" (a set that looks nested); that pattern is here on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")

PATTERNS = [
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$",  # Contacts.Email
    r"^\+?[0-9 ().-]{7,20}$",  # Contacts.Phone
    r"^\d+(\.\d{1,2})?$",  # Deals.Amount
    r"^[a-z0-9.-]+\.[a-z]{2,}$",  # Accounts.Domain
    r"\w+",
    r"\s*x\s*",
    r"(?i)open|closed",
    r"abc$\n?",  # Python's $ matches before a final newline
    r"a{,2}",  # Python: 0 to 2 a's; RE2: a literal
    r"[[:alpha:]]+",  # RE2: POSIX class; Python: a plain set
    r"(a)\1",  # backreference: Python only
    r"(?<=a)b|ab",  # lookbehind: Python only
    r".*",
    r"\bword\b.*",
]
TEXT = st.text(
    alphabet=st.sampled_from(list("ab@.xX 1_-\t\n\x0b\x1c\xa0é٣wordOPENclosed{},:[]")),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT), max_size=20), pattern=st.sampled_from(PATTERNS))
def test_fullmatch_equals_python_re_on_every_row(values: list[str | None], pattern: str) -> None:
    expected = [v is not None and re.fullmatch(pattern, v) is not None for v in values]
    assert fullmatch(pd.Series(values, dtype="str"), pattern).tolist() == expected


@pytest.mark.parametrize(
    ("pattern", "fast"),
    [
        (PATTERNS[0], True),
        (PATTERNS[3], True),
        (r"a{,2}", False),
        (r"[[:alpha:]]", False),
        (r"(a)\1", False),
        (r"(?<=a)b", False),
    ],
)
def test_re2_is_used_only_where_it_agrees(pattern: str, fast: bool) -> None:
    assert (re2_pattern(pattern) is not None) is fast


def test_unicode_digit_and_nbsp_follow_python_semantics() -> None:
    values = pd.Series(["٣", "a\xa0b@x.co", "a@x.co"], dtype="str")
    assert fullmatch(values, r"\d").tolist() == [True, False, False]
    assert fullmatch(values, PATTERNS[0]).tolist() == [False, False, True]


def test_index_is_kept_and_nulls_are_false() -> None:
    out = fullmatch(pd.Series(["a", None], index=[7, 9], dtype="str"), "a")
    assert out.to_dict() == {7: True, 9: False}


def test_an_invalid_regex_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        fullmatch(pd.Series(["a"]), "(")
