"""The steps one compared column goes through before two cells are called different.

In order: the caller's column function, trimming, case, booleans, dates (text steps, each
turning text into text), then a numeric tolerance (which compares two numbers). One
:class:`ColumnRules` per column is derived from :class:`Normalize` and what the two sides
hold, so the same rules pair keys, compare cells and name what hid a difference.

>>> import pyarrow as pa
>>> rules = ColumnRules("Active", trim=True, booleans=True)
>>> rules.apply(pa.array([" TRUE", "0", "yes"])).to_pylist()
['True', 'False', 'yes']
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit.column_kernels import as_arrow
from migkit.errors import UsageError
from migkit.reconcile.canonical import Kind, empty_to_null, iso_text, numbers, same
from migkit.reconcile.normalize import DEFAULT, ColumnFix, Normalize

Step = tuple[str, Callable[[pa.Array], pa.Array]]
TRUE_WORDS = ("true", "1")  # compared trimmed and lower-cased
FALSE_WORDS = ("false", "0")
ISO = "ISO8601"


@dataclass(frozen=True)
class Tolerance:
    """How close two numbers of one column must be, and the names shown in ``hidden``."""

    abs_tol: float | None
    rel_tol: float | None
    abs_name: str = "abs_tol"
    rel_name: str = "rel_tol"

    def close(self, left: pa.Array, right: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Which pairs are close, and the name of the tolerance that made each one close."""
        a, b = numbers(left), numbers(right)
        none = np.zeros(len(a), dtype=bool)
        with np.errstate(invalid="ignore"):
            gap = np.abs(a - b)
            # math.isclose, not numpy.isclose: symmetric in a and b, the larger bound wins
            by_abs = gap <= self.abs_tol if self.abs_tol is not None else none
            by_rel = (
                gap <= self.rel_tol * np.maximum(np.abs(a), np.abs(b))
                if self.rel_tol is not None
                else none
            )
            equal = a == b  # equal infinities have no finite gap
        first = self.abs_name if self.abs_tol is not None else self.rel_name
        names = np.where(by_abs, self.abs_name, np.where(by_rel, self.rel_name, first))
        return np.asarray(by_abs | by_rel | equal, dtype=bool), names


@dataclass(frozen=True)
class ColumnRules:
    """How one column's values are made comparable (``label`` is its second-side label)."""

    label: Hashable
    fix: ColumnFix | None = None
    fix_name: str = "columns"
    trim: bool = False
    ignore_case: bool = False
    booleans: bool = False
    dates: bool = False
    date_format: str | None = None
    tolerance: Tolerance | None = None

    @property
    def steps(self) -> list[Step]:
        """The text steps, in the order they apply, each with the name ``hidden`` shows."""
        steps: list[Step] = []
        if self.fix is not None:
            steps.append((self.fix_name, self._fixed))
        if self.trim:
            steps.append(("trim", pc.utf8_trim_whitespace))
        if self.ignore_case:
            steps.append(("ignore_case", pc.utf8_lower))
        if self.booleans:
            steps.append(("booleans", _booleans))
        if self.dates:
            fmt = self.date_format
            steps.append((f"dates[{self.label!r}]", lambda text: _dates(text, fmt)))
        return steps

    @property
    def active(self) -> bool:
        """True when anything can hide a difference in this column."""
        return bool(self.steps) or self.tolerance is not None

    def apply(self, text: pa.Array) -> pa.Array:
        """``text`` after every text step (empty → null)."""
        for _, step in self.steps:
            text = step(text)
        return empty_to_null(text)

    def hidden_by(self, left: pa.Array, right: pa.Array) -> list[str]:
        """For pairs that differ as written but agree after normalization: the first step
        after which each pair agrees (steps apply cumulatively, as in :meth:`apply`)."""
        by = np.full(len(left), "", dtype=object)
        undecided = np.ones(len(left), dtype=bool)
        for name, step in self.steps:
            left, right = step(left), step(right)
            agree = same(left, right)
            by[undecided & agree] = name
            undecided &= ~agree
        if self.tolerance is not None and undecided.any():
            pick = np.flatnonzero(undecided)
            _, names = self.tolerance.close(left.take(pa.array(pick)), right.take(pa.array(pick)))
            by[pick] = names
        return [str(b) for b in by]

    def _fixed(self, text: pa.Array) -> pa.Array:
        assert self.fix is not None
        fixed = self.fix(pd.Series(text, dtype=pd.StringDtype("pyarrow")))
        if not isinstance(fixed, pd.Series) or len(fixed) != len(text):
            raise UsageError(f"normalize {self.fix_name} must return a Series of the same length")
        return as_arrow(fixed.reset_index(drop=True))


def _booleans(text: pa.Array) -> pa.Array:
    word = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    yes = pc.fill_null(pc.is_in(word, value_set=pa.array(TRUE_WORDS, word.type)), False)
    no = pc.fill_null(pc.is_in(word, value_set=pa.array(FALSE_WORDS, word.type)), False)
    out = pc.if_else(yes, pa.scalar("True", text.type), text)
    return pc.if_else(no, pa.scalar("False", text.type), out)


def _dates(text: pa.Array, fmt: str | None) -> pa.Array:
    # Parse, then write back as canonical ISO text: the date-time side already reads that way,
    # so equal instants become equal text. What does not parse stays as written.
    series = pd.Series(text, dtype=pd.StringDtype("pyarrow"))
    stamps = _parse(series, fmt or ISO)
    if fmt:  # the other side may be a datetime column, whose canonical text is ISO
        stamps = stamps.where(stamps.notna(), _parse(series, ISO))
    parsed = stamps.notna().to_numpy(dtype=bool)
    if not parsed.any():
        return text
    iso = iso_text(stamps).cast(text.type)
    return pc.if_else(pa.array(parsed), iso, text)


def _parse(series: pd.Series, fmt: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(series, format=fmt, errors="coerce")
    except ValueError:  # mixed UTC offsets: one clock to compare them on
        stamps = pd.to_datetime(series, format=fmt, errors="coerce", utc=True)
    if getattr(stamps.dt, "tz", None) is not None:  # wall-clock time, as canonical text does
        stamps = stamps.dt.tz_localize(None)
    return stamps


def rules_for(
    how: Normalize, labels: tuple[Hashable, Hashable], kinds: tuple[Kind, Kind]
) -> ColumnRules:
    """The rules for the column ``labels`` (second side, first side) whose sides hold
    ``kinds``. Per-column options may name either label."""
    fix_key = _named(how.columns, labels)
    date_key = _named(how.dates, labels) if not isinstance(how.dates, bool) else None
    dates = (how.dates is True and "datetime" in kinds) or date_key is not None
    date_format = how.dates[date_key] if isinstance(how.dates, Mapping) and date_key else None
    booleans = how.booleans is True or (
        not isinstance(how.booleans, bool) and _named(how.booleans, labels) is not None
    )
    return ColumnRules(
        label=labels[0],
        fix=how.columns[fix_key] if fix_key is not None else None,
        fix_name=f"columns[{fix_key!r}]",
        trim=how.trim,
        ignore_case=how.ignore_case,
        booleans=booleans,
        dates=dates,
        date_format=date_format,
        tolerance=_tolerance(how, labels, "number" in kinds),
    )


def _named(option: Collection[Hashable], labels: tuple[Hashable, ...]) -> Any:
    # The key under which a per-column option names this column, by either side's label.
    for label in labels:
        try:
            if label in option:
                return label
        except TypeError:  # an unhashable label cannot be a key
            continue
    return None


def _tolerance(
    how: Normalize, labels: tuple[Hashable, Hashable], numeric: bool
) -> Tolerance | None:
    # A column named in a per-column tolerance holds numbers because the caller says so;
    # otherwise only a numeric dtype on either side does ("02139" stays text).
    found: dict[str, tuple[float | None, str]] = {}
    named = False
    for option in ("abs_tol", "rel_tol"):
        value = getattr(how, option)
        if option == "abs_tol" and value is None and how.tolerance is not None:
            value, option_name = how.tolerance, "tolerance"
        else:
            option_name = option
        if isinstance(value, Mapping):
            key = _named({k: v for k, v in value.items() if k != DEFAULT}, labels)
            if key is not None:
                found[option] = (value[key], f"{option}[{key!r}]")
                named = True
            elif DEFAULT in value:
                found[option] = (value[DEFAULT], option_name)
        elif value is not None:
            found[option] = (value, option_name)
    if not found or not (numeric or named):
        return None
    abs_tol, abs_name = found.get("abs_tol", (None, "abs_tol"))
    rel_tol, rel_name = found.get("rel_tol", (None, "rel_tol"))
    return Tolerance(abs_tol, rel_tol, abs_name, rel_name)
