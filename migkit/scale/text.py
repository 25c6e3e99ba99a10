"""migkit's text semantics as engine expressions, the same on DuckDB and Spark.

The in-memory path is the reference (:mod:`migkit.reconcile.steps`, :mod:`migkit.column_kernels`,
:mod:`migkit.regex`). The engines' own functions differ from it, so nothing here relies on
them where they differ:

- written out for the engine: empty equals null, blank and trim over Python's ``str.isspace``
  set as one regex class built from Python itself (DuckDB's ``trim`` keeps tabs and
  newlines, Spark's removes only spaces), with ``\\z`` for the end (Java's ``$`` also
  matches before a final newline);
- run as migkit's own Arrow code in a function registered with the engine
  (:meth:`Engine.udf`), batch by batch: case folding (Arrow's ``utf8_lower``; DuckDB and
  Spark disagree with it on ``İ`` and final ``Σ``), booleans, dates, the caller's column
  functions, numbers as text and tolerances. Cells pass through them only where they differ
  as written (keys in full, when a key is normalized by more than trimming).

>>> WHITESPACE[:12]
'[\\\\x{9}-\\\\x{d}'
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from migkit.column_kernels import NULL_PART, SEPARATOR
from migkit.reconcile import canonical as canonical_text
from migkit.reconcile.steps import ColumnRules

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
        parts.append(f"\\x{{{start:x}}}" if start == prev else f"\\x{{{start:x}}}-\\x{{{prev:x}}}")
        start = prev = code
    return "[" + "".join(parts) + "]"


# Exactly the characters str.isspace is true for (Arrow's utf8_is_space uses the same set).
WHITESPACE = _ranges([c for c in range(sys.maxunicode + 1) if chr(c).isspace()])
PRINTABLE_ASCII = "^[ -~]*\\z"


# -- migkit's own Arrow code, run by the engines batch by batch ------------------------------


def numbers_arrow(text: pa.Array) -> pa.Array:
    """The in-memory :func:`~migkit.reconcile.canonical.numbers`, NaN as null (engines
    compare NaN equal to NaN; numpy never does, so a NaN must not reach a comparison)."""
    values = canonical_text.numbers(text)
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def normalize_arrow(rules: ColumnRules) -> Callable[[pa.Array], pa.Array]:
    """:meth:`ColumnRules.apply`: every text step, empty as null."""

    def normalize(text: pa.Array) -> pa.Array:
        return rules.apply(text)

    return normalize


def hidden_arrow(rules: ColumnRules) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """For cells that differ as written: True where normalization makes them equal (the tail
    of :func:`migkit.reconcile.cells.compare_column`)."""

    def hidden(left: pa.Array, right: pa.Array) -> pa.Array:
        lnorm, rnorm = rules.apply(left), rules.apply(right)
        agree = canonical_text.same(lnorm, rnorm)
        if rules.tolerance is not None and not agree.all():
            still = np.flatnonzero(~agree)
            pick = pa.array(still)
            close, _ = rules.tolerance.close(lnorm.take(pick), rnorm.take(pick))
            agree[still[close]] = True
        return pa.array(agree, pa.bool_())

    return hidden


def hidden_by_arrow(rules: ColumnRules) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """:meth:`ColumnRules.hidden_by`: the first step after which two values agree."""

    def hidden_by(left: pa.Array, right: pa.Array) -> pa.Array:
        return pa.array(rules.hidden_by(left, right), pa.large_string())

    return hidden_by


# -- expressions ------------------------------------------------------------------------------


def empty(x: Any) -> Any:
    """True where the value is null or the empty string."""
    return x.isnull() | (x.length() == 0)


def same(left: Any, right: Any) -> Any:
    """Equal, where a null equals a null or an empty string (the in-memory ``same``): the
    texts with null as empty are equal (one comparison, never null)."""
    return left.fill_null("") == right.fill_null("")


def blank(x: Any) -> Any:
    """Null, empty, or only whitespace (``str.isspace``): :func:`migkit.column_kernels.blank`."""
    return empty(x) | x.re_search(f"^{WHITESPACE}+\\z").fill_null(False)


def trim(x: Any) -> Any:
    """Leading and trailing ``str.isspace`` whitespace removed (Arrow's
    ``utf8_trim_whitespace``); two single-match replacements, the same on every engine."""
    return x.re_replace(f"^{WHITESPACE}+", "").re_replace(f"{WHITESPACE}+\\z", "")


def normalized(engine: Engine, x: Any, rules: ColumnRules) -> Any:
    """``x`` after every text step, empty as null (:meth:`ColumnRules.apply`). Trimming is
    written out for the engine; any other step (case, booleans, dates, the caller's
    functions) runs migkit's own code in a function registered with the engine."""
    names = [name for name, _ in rules.steps]
    if all(name == "trim" for name in names):
        return (trim(x) if names else x).nullif("")
    return engine.udf(normalize_arrow(rules), "migkit_normalize", "string", key=rules)(x)


def hidden(engine: Engine, rules: ColumnRules, left: Any, right: Any) -> Any:
    """True where normalization (tolerances included) makes two differing cells equal."""
    fn = engine.udf(hidden_arrow(rules), "migkit_hidden", "boolean", arity=2, key=rules)
    return fn(left, right).fill_null(False)


def hidden_by(engine: Engine, rules: ColumnRules, left: Any, right: Any) -> Any:
    """Which normalization hid a difference (the name ``report.hidden`` shows)."""
    fn = engine.udf(hidden_by_arrow(rules), "migkit_hidden_by", "string", arity=2, key=rules)
    return fn(left, right)


def numbers(engine: Engine, x: Any) -> Any:
    """``x`` read as a number, null where it is not one (pandas' ``to_numeric``)."""
    return engine.udf(numbers_arrow, "migkit_numbers", "float64")(x)


def row_key(parts: list[Any]) -> Any:
    """One text per row from key parts (:func:`migkit.reconcile.pairing.row_key`): a null
    part stands in as ``\\x00``; null when every part is."""
    import ibis

    if len(parts) == 1:
        return parts[0]
    return ibis.ifelse(_all_null(parts), ibis.null("string"), row_text(parts))


def row_text(parts: list[Any]) -> Any:
    """Every part joined by ``\\x1f``, a null part as ``\\x00``
    (:func:`migkit.column_kernels.row_text`)."""
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
