"""migkit's text semantics as engine expressions, the same on DuckDB and Spark.

The in-memory path is the reference (:mod:`migkit.reconcile.steps`, :mod:`migkit.columns`,
:mod:`migkit.regex`). The engines' own functions differ from it, so nothing here relies on
them where they differ:

- whitespace is Python's ``str.isspace`` set, written out as one regex class built from
  Python itself (DuckDB's ``trim`` keeps tabs and newlines, Spark's removes only spaces);
  regexes use ``\\z`` for the end (Java's ``$`` also matches before a final newline);
- lower case: ASCII rows through ``translate`` (A-Z to a-z, no locale), every other row
  through Arrow's ``utf8_lower``, the kernel the in-memory path uses, in a function
  registered with the engine (DuckDB and Spark disagree with it on ``İ`` and final ``Σ``);
- dates, numbers and the caller's column functions run the in-memory code itself, batch by
  batch, as registered functions (:meth:`Engine.udf`).

>>> WHITESPACE[:12]
'[\\\\x{9}-\\\\x{d}'
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit.columns import NULL_PART, SEPARATOR
from migkit.reconcile import canonical as canonical_text
from migkit.reconcile.steps import FALSE_WORDS, TRUE_WORDS, ColumnRules, _dates

if TYPE_CHECKING:
    from migkit.scale.engines import Engine


def _ranges(codes: list[int]) -> str:
    # Consecutive code points as ranges, in the \x{...} syntax RE2 and Java both read.
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(
            f"\\x{{{start:x}}}" if start == prev else f"\\x{{{start:x}}}-\\x{{{prev:x}}}"
        )
        start = prev = code
    return "[" + "".join(parts) + "]"


# Exactly the characters str.isspace is true for (Arrow's utf8_is_space uses the same set).
WHITESPACE = _ranges([c for c in range(sys.maxunicode + 1) if chr(c).isspace()])
PRINTABLE_ASCII = "^[ -~]*\\z"
ASCII = "^[\\x{0}-\\x{7f}]*\\z"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# -- Arrow functions the engines call batch by batch (the in-memory code, unchanged) ----------


def lower_arrow(text: pa.Array) -> pa.Array:
    """Arrow's ``utf8_lower``, as the in-memory ``ignore_case`` step."""
    return pc.utf8_lower(text)


def numbers_arrow(text: pa.Array) -> pa.Array:
    """The in-memory :func:`~migkit.reconcile.canonical.numbers`, NaN as null (engines
    compare NaN equal to NaN; numpy never does, so a NaN must not reach a comparison)."""
    values = canonical_text.numbers(text)
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def dates_step(fmt: str | None) -> Callable[[pa.Array], pa.Array]:
    """The in-memory ``dates`` step for one column's format."""

    def dates_arrow(text: pa.Array) -> pa.Array:
        return _dates(text, fmt)

    return dates_arrow


def fix_step(rules: ColumnRules) -> Callable[[pa.Array], pa.Array]:
    """The caller's column function, as the in-memory ``columns`` step applies it."""

    def fix_arrow(text: pa.Array) -> pa.Array:
        return rules._fixed(text)

    return fix_arrow


# -- expressions ------------------------------------------------------------------------------


def empty(x: Any) -> Any:
    """True where the value is null or the empty string."""
    return x.isnull() | (x.length() == 0)


def same(left: Any, right: Any) -> Any:
    """Equal, where a null equals a null or an empty string (the in-memory ``same``)."""
    return (left == right).fill_null(False) | (empty(left) & empty(right))


def blank(x: Any) -> Any:
    """Null, empty, or only whitespace (``str.isspace``): :func:`migkit.columns.blank`."""
    return empty(x) | x.re_search(f"^{WHITESPACE}+\\z").fill_null(False)


def trim(x: Any) -> Any:
    """Leading and trailing ``str.isspace`` whitespace removed (Arrow's
    ``utf8_trim_whitespace``); two single-match replacements, the same on every engine."""
    return x.re_replace(f"^{WHITESPACE}+", "").re_replace(f"{WHITESPACE}+\\z", "")


def lower(engine: Engine, x: Any) -> Any:
    """Arrow's ``utf8_lower``: ASCII rows in the engine, the rest in Arrow itself."""
    import ibis

    fold = engine.udf(lower_arrow, "migkit_lower", "string")
    ascii_only = x.re_search(ASCII).fill_null(True)
    return ibis.ifelse(ascii_only, x.translate(UPPER, UPPER.lower()), fold(x))


def null_if_empty(x: Any) -> Any:
    """Empty strings as nulls."""
    return x.nullif("")


def booleans(engine: Engine, x: Any) -> Any:
    """``True``/``False`` for the words the in-memory ``booleans`` step knows."""
    import ibis

    word = lower(engine, trim(x))
    out = ibis.ifelse(word.isin(list(TRUE_WORDS)).fill_null(False), ibis.literal("True"), x)
    return ibis.ifelse(word.isin(list(FALSE_WORDS)).fill_null(False), ibis.literal("False"), out)


def steps(engine: Engine, rules: ColumnRules) -> list[tuple[str, Callable[[Any], Any]]]:
    """The rules' text steps as expression builders, with the names ``hidden`` shows (the
    same list, in the same order, as :attr:`ColumnRules.steps`)."""
    out: list[tuple[str, Callable[[Any], Any]]] = []
    for name, _ in rules.steps:
        if name == "trim":
            out.append((name, trim))
        elif name == "ignore_case":
            out.append((name, lambda x: lower(engine, x)))
        elif name == "booleans":
            out.append((name, lambda x: booleans(engine, x)))
        elif name.startswith("dates"):
            fn = engine.udf(dates_step(rules.date_format), "migkit_dates", "string")
            out.append((name, fn))
        else:  # the caller's column function
            out.append((name, engine.udf(fix_step(rules), "migkit_fix", "string")))
    return out


def normalized(engine: Engine, x: Any, rules: ColumnRules) -> Any:
    """``x`` after every text step, empty as null (:meth:`ColumnRules.apply`)."""
    for _, step in steps(engine, rules):
        x = step(x)
    return null_if_empty(x)


def numbers(engine: Engine, x: Any) -> Any:
    """``x`` read as a number, null where it is not one (pandas' ``to_numeric``)."""
    return engine.udf(numbers_arrow, "migkit_numbers", "float64")(x)


def row_key(parts: list[Any]) -> Any:
    """One text per row from key parts (:func:`migkit.reconcile.pairing.row_key`): a null
    part stands in as ``\\x00``; null when every part is."""
    import ibis

    if len(parts) == 1:
        return parts[0]
    return ibis.ifelse(
        _all_null(parts), ibis.null("string"), row_text(parts)
    )


def row_text(parts: list[Any]) -> Any:
    """Every part joined by ``\\x1f``, a null part as ``\\x00`` (:func:`migkit.columns.row_text`)."""
    import ibis

    if not parts:
        return ibis.literal("")
    out = parts[0].fill_null(NULL_PART)
    for part in parts[1:]:
        out = out + SEPARATOR.as_py() + part.fill_null(NULL_PART)
    return out


def _all_null(parts: list[Any]) -> Any:
    out = parts[0].isnull()
    for part in parts[1:]:
        out = out & part.isnull()
    return out


def to_pandas_text(values: pa.Array) -> pd.Series:
    """Arrow text as a pandas ``str`` Series (what the registered functions hand on)."""
    return pd.Series(values, dtype=pd.StringDtype("pyarrow"))
