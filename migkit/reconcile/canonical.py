"""Every cell as canonical text, and what kind of value its column holds.

Exports hold text, sources hold whatever pandas read, so both sides first become canonical
text: numbers in their shortest plain form (``1.0`` → ``"1"``, ``Decimal("12.50")`` →
``"12.5"``), date-times as ISO text (``2024-01-05`` at midnight, ``2024-01-05 10:30:00``
otherwise), booleans as ``True``/``False``. An empty string is the same as a missing value
(CSV cannot tell them apart), see :func:`same`.

>>> import pandas as pd
>>> canonical(pd.Series([1.0, 2.5, None])).text.to_pylist()
['1', '2.5', None]
>>> canonical(pd.Series(["007"])).kind, canonical(pd.Series([7])).kind
('text', 'number')
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit.column_kernels import as_arrow

Kind = Literal["text", "number", "datetime", "bool"]
# What pandas' infer_dtype says about an object column, as a kind (anything else is text).
INFERRED: dict[str, Kind] = {
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "datetime",
    "boolean": "bool",
}
TRAILING_ZEROS = r"(\.\d*?)0+$"  # "1.500" → "1.5", "2.000" → "2."
BARE_POINT = r"\.$"  # "2." → "2"


@dataclass(frozen=True)
class Canonical:
    """A column as canonical text, its kind, and a note when it was not text."""

    text: pa.Array
    kind: Kind
    note: str | None = None


def canonical(values: pd.Series) -> Canonical:
    """The column as canonical text (zero-copy for Arrow-backed ``str`` columns).

    The ``kind`` matters later: tolerances apply only to ``number`` columns (or columns the
    caller names), because text that merely looks numeric (a Zip ``"02139"``) keeps its zeros.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return Canonical(as_arrow(values), "text")
    if pd.api.types.is_bool_dtype(dtype):
        return Canonical(as_arrow(values), "bool", f"{dtype} compared as text (True/False)")
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype):
        text = _strip_zeros(as_arrow(values))
        return Canonical(text, "number", f"{dtype} compared by value (trailing zeros dropped)")
    if pd.api.types.is_integer_dtype(dtype):
        return Canonical(as_arrow(values), "number", f"{dtype} compared as text")
    if pd.api.types.is_float_dtype(dtype):
        note = f"{dtype} compared as text, whole numbers without '.0'"
        return Canonical(as_arrow(_float_text(values)), "number", note)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetimes(values, str(dtype))
    if pd.api.types.is_object_dtype(dtype):
        return _objects(values)
    return Canonical(as_arrow(values), "text", f"{dtype} compared as text")


def _float_text(values: pd.Series) -> pd.Series:
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    # Beyond 2**53 a float is no longer an exact integer: keep its own text ("1e+20").
    whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
    text = values.astype(pd.StringDtype("pyarrow"))
    if whole.any():
        text = text.copy()
        text[whole] = numbers[whole].astype(np.int64).astype(str)
    return text


def _strip_zeros(text: pa.Array) -> pa.Array:
    # Only text with a decimal point has trailing zeros to drop ("100" keeps its zeros).
    dotted = pc.fill_null(pc.match_substring(text, "."), False)
    stripped = pc.replace_substring_regex(
        pc.replace_substring_regex(text, TRAILING_ZEROS, r"\1"), BARE_POINT, ""
    )
    return pc.if_else(dotted, stripped, text)


def _datetimes(values: pd.Series, what: str) -> Canonical:
    stamps = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    text = iso_text(stamps)
    times = stamps.dropna()
    midnight = bool((times == times.dt.normalize()).all())
    note = f"{what} compared as ISO text ({'dates' if midnight else 'date and time'})"
    return Canonical(text, "datetime", note)


def iso_text(stamps: pd.Series) -> pa.Array:
    """Date-times as ISO text, value by value: ``2024-01-05`` at midnight,
    ``2024-01-05 10:30:00`` otherwise, with a fraction of a second only when there is one.

    >>> text = pd.Series(["2024-01-05", "2024-01-05 10:30:00.5"])
    >>> stamps = pd.to_datetime(text, format="ISO8601")
    >>> iso_text(stamps).to_pylist()
    ['2024-01-05', '2024-01-05 10:30:00.5']
    """
    # Arrow formats in C; one nanosecond unit makes every side print the same fraction.
    ts = pa.array(stamps.astype("datetime64[ns]"), type=pa.timestamp("ns"))
    if isinstance(ts, pa.ChunkedArray):
        ts = ts.combine_chunks()
    seconds = pc.floor_temporal(ts, unit="second")
    midnight = pc.equal(pc.floor_temporal(ts, unit="day"), ts)
    fraction = pc.not_equal(seconds, ts)
    day = pc.strftime(ts, "%Y-%m-%d")
    whole = pc.strftime(seconds.cast(pa.timestamp("s")), "%Y-%m-%d %H:%M:%S")
    fine = _strip_zeros(pc.strftime(ts, "%Y-%m-%d %H:%M:%S"))
    text = pc.if_else(midnight, day, pc.if_else(fraction, fine, whole))
    return text.cast(pa.large_string())


def _objects(values: pd.Series) -> Canonical:
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    kind = INFERRED.get(inferred, "text")
    if inferred in ("mixed", "mixed-integer") and _all_numbers(values):
        kind = "number"  # e.g. Decimal and int in one column
    if kind == "datetime":
        try:  # date, datetime and Timestamp objects; mixed time zones stay per-value text
            stamps = pd.to_datetime(values, errors="coerce")
        except (ValueError, TypeError):
            stamps = values
        converted = pd.api.types.is_datetime64_any_dtype(stamps.dtype)
        if converted and stamps.isna().sum() == values.isna().sum():  # nothing lost
            return _datetimes(stamps, "object column with date values")
    present = values[values.notna()]
    text = values.map(_cell_text, na_action="ignore").where(values.notna(), None)
    kinds = sorted({type(v).__name__ for v in present.head(1000)} - {"str"})
    note = f"object column with {', '.join(kinds)} values compared as text" if kinds else None
    if kind == "number" and any(isinstance(v, Decimal) for v in present.head(1000)):
        note = f"object column with {', '.join(kinds)} values compared by value"
    return Canonical(as_arrow(text), kind, note)


def _all_numbers(values: pd.Series) -> bool:
    present = values[values.notna()]
    kinds = present.map(type).unique()
    return all(issubclass(k, int | float | Decimal | np.number) and k is not bool for k in kinds)


def _cell_text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, Decimal) and value.is_finite():
        # Numeric value, not scale: Decimal("12.50") reads "12.5", Decimal("1E+2") "100".
        return format(value.normalize(), "f")
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if value != value.normalize() else value.date().isoformat()
    return value


def empty_to_null(text: pa.Array) -> pa.Array:
    """``text`` with empty strings as nulls (CSV cannot tell them apart)."""
    empty = pc.equal(pc.binary_length(text), 0)
    if not pc.any(empty).as_py():
        return text
    return pc.if_else(empty, pa.scalar(None, text.type), text)


def same(left: pa.Array, right: pa.Array) -> np.ndarray:
    """Element-wise equality where a null equals a null or an empty string, and never a value.

    >>> same(pa.array(["a", "", None, "b"]), pa.array(["a", None, "", None])).tolist()
    [True, True, True, False]
    """
    equal = np.asarray(pc.fill_null(pc.equal(left, right), False), dtype=bool)
    unequal = np.flatnonzero(~equal)
    if len(unequal):  # usually few: only they pay for the empty-vs-null check
        pick = pa.array(unequal)
        lempty = pc.fill_null(pc.equal(pc.binary_length(left.take(pick)), 0), True)
        rempty = pc.fill_null(pc.equal(pc.binary_length(right.take(pick)), 0), True)
        equal[unequal[np.asarray(pc.and_(lempty, rempty), dtype=bool)]] = True
    return equal


def numbers(text: pa.Array) -> np.ndarray:
    """``text`` read as float64 (NaN where it is not a number). Called on the few cells that
    differ, never on a whole column."""
    series = pd.Series(text, dtype=pd.StringDtype("pyarrow"))
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    # pandas decides what is a number; Python reads each number's value, correctly rounded
    # (pandas 3.0 reads some texts one unit in the last place off: "1152921504606846976",
    # 2**60, beside "0.0000001" it read as 2**60 - 256).
    cells = text.to_pylist()
    for i in np.flatnonzero(~np.isnan(values)):
        with contextlib.suppress(ValueError, TypeError):
            values[i] = float(cells[i])
    return values
