"""How values are compared: every cell as canonical text, then optional normalization.

Exports hold text, sources hold whatever pandas read, so both sides first become canonical
text (:func:`canonical`): numbers as written by ``str`` with whole floats lost their ``.0``
(``1.0`` → ``"1"``), dates as ISO text, booleans as ``True``/``False``, and an empty string is
the same as a missing value (CSV cannot tell them apart). :class:`Normalize` then says which
formatting differences are not changes.

>>> import pandas as pd
>>> canonical(pd.Series([1.0, 2.5, None]))[0].to_pylist()
['1', '2.5', None]
>>> Normalize.of(["trim", "case"])
Normalize(trim=True, ignore_case=True, tolerance=None, columns={})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migkit.columns import as_arrow
from migkit.errors import UsageError

ColumnFix = Callable[[pd.Series], pd.Series]
FLAGS = {"trim": "trim", "case": "ignore_case", "ignore_case": "ignore_case"}


@dataclass(frozen=True)
class Normalize:
    """Which formatting differences are not changes.

    - ``trim``: leading and trailing whitespace;
    - ``ignore_case``: upper vs lower case;
    - ``tolerance``: numbers within this absolute distance are equal (``"1.50"`` vs ``1.5``
      differ as text but are equal for ``tolerance=0``);
    - ``columns``: per-column callables applied to both sides' text first, e.g.
      ``{"Phone": lambda s: s.str.replace(r"\\D", "", regex=True)}``. They must work value by
      value: they only see the values that differ as written (and key columns in full).

    ``Normalize.of`` also accepts ``"trim"``, ``["trim", "case"]`` or a dict of these fields.

    >>> Normalize(trim=True, tolerance=0.01).active
    True
    """

    trim: bool = False
    ignore_case: bool = False
    tolerance: float | None = None
    columns: Mapping[str, ColumnFix] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """True when any normalization is on."""
        return self.trim or self.ignore_case or self.tolerance is not None or bool(self.columns)

    @classmethod
    def of(cls, value: Normalize | str | Iterable[str] | Mapping[str, Any] | None) -> Normalize:
        """A :class:`Normalize` from what a caller may pass as ``normalize=``."""
        if value is None:
            return cls()
        if isinstance(value, Normalize):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"trim", "ignore_case", "tolerance", "columns"}
            if unknown:
                raise UsageError(
                    f"normalize got unknown option(s) {sorted(unknown)}; use trim, ignore_case,"
                    " tolerance or columns"
                )
            return cls(**value)
        names = [value] if isinstance(value, str) else list(value)
        options: dict[str, Any] = {}
        for name in names:
            if name not in FLAGS:
                raise UsageError(
                    f"normalize={name!r} is not an option; use 'trim', 'case', or "
                    "migkit.Normalize(trim=..., ignore_case=..., tolerance=..., columns=...)"
                )
            options[FLAGS[name]] = True
        return cls(**options)

    def __post_init__(self) -> None:
        if self.tolerance is not None and not (
            isinstance(self.tolerance, int | float) and self.tolerance >= 0
        ):
            raise UsageError(f"tolerance must be a number >= 0, not {self.tolerance!r}")
        for name, fix in self.columns.items():
            if not callable(fix):
                raise UsageError(f"normalize columns[{name!r}] must be a callable, not {fix!r}")


def empty_to_null(text: pa.Array) -> pa.Array:
    """``text`` with empty strings as nulls (CSV cannot tell them apart)."""
    empty = pc.equal(pc.binary_length(text), 0)
    if not pc.any(empty).as_py():
        return text
    return pc.if_else(empty, pa.scalar(None, text.type), text)


def _float_text(values: pd.Series) -> pd.Series:
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
    text = values.astype(pd.StringDtype("pyarrow"))
    if whole.any():
        text = text.copy()
        text[whole] = numbers[whole].astype(np.int64).astype(str)
    return text


def _cell_text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if value != value.normalize() else value.date().isoformat()
    return value


def canonical(values: pd.Series) -> tuple[pa.Array, str | None]:
    """The column as canonical text (an Arrow string array; zero-copy for Arrow-backed
    ``str`` columns), and a note when its dtype was not text. Empty strings stay: :func:`same`
    treats them as equal to nulls."""
    dtype = values.dtype
    note: str | None = None
    if isinstance(dtype, pd.StringDtype):
        text = values
    elif pd.api.types.is_bool_dtype(dtype):
        text = values.astype(pd.StringDtype("pyarrow"))
        note = f"{dtype} compared as text (True/False)"
    elif pd.api.types.is_integer_dtype(dtype):
        text = values.astype(pd.StringDtype("pyarrow"))
        note = f"{dtype} compared as text"
    elif pd.api.types.is_float_dtype(dtype):
        text = _float_text(values)
        note = f"{dtype} compared as text, whole numbers without '.0'"
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        midnight = bool((stamps.dropna() == stamps.dropna().dt.normalize()).all())
        text = stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
        note = f"{dtype} compared as ISO text ({'dates' if midnight else 'date and time'})"
    elif pd.api.types.is_object_dtype(dtype):
        text = values.map(_cell_text, na_action="ignore")
        kinds = sorted({type(v).__name__ for v in values.dropna().head(1000)} - {"str"})
        note = f"object column with {', '.join(kinds)} values compared as text" if kinds else None
    else:
        text = values.astype(pd.StringDtype("pyarrow"))
        note = f"{dtype} compared as text"
    return as_arrow(text), note


def normalized(text: pa.Array, column: str, how: Normalize) -> pa.Array:
    """``text`` with ``how``'s column fix, trimming and case folding applied (empty → null)."""
    fix = how.columns.get(column)
    if fix is not None:
        fixed = fix(pd.Series(text, dtype=pd.StringDtype("pyarrow")))
        if not isinstance(fixed, pd.Series) or len(fixed) != len(text):
            raise UsageError(
                f"normalize columns[{column!r}] must return a Series of the same length"
            )
        text = as_arrow(fixed.reset_index(drop=True))
    if how.trim:
        text = pc.utf8_trim_whitespace(text)
    if how.ignore_case:
        text = pc.utf8_lower(text)
    return empty_to_null(text)


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


def within(left: pa.Array, right: pa.Array, tolerance: float) -> np.ndarray:
    """True where both values read as numbers no further apart than ``tolerance``."""
    a = pd.to_numeric(pd.Series(left, dtype=object), errors="coerce").to_numpy(dtype=float)
    b = pd.to_numeric(pd.Series(right, dtype=object), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.abs(a - b) <= tolerance, dtype=bool)
