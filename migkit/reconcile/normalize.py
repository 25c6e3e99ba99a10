"""Which formatting differences are not changes: the :class:`Normalize` options.

>>> Normalize.of(["trim", "case"]).active
True
>>> Normalize(abs_tol={"default": 0.01, "Amount": 0.5}).per_column
{'abs_tol': ['Amount']}
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from migkit.errors import UsageError

ColumnFix = Callable[[pd.Series], pd.Series]
Tolerances = float | Mapping[Hashable, float] | None
# What normalize="..." may name, and the field each name turns on.
FLAGS = {
    "trim": "trim",
    "case": "ignore_case",
    "ignore_case": "ignore_case",
    "booleans": "booleans",
    "bool": "booleans",
}
DEFAULT = "default"  # the key of a tolerance mapping that applies to every numeric column


@dataclass(frozen=True)
class Normalize:
    """Which formatting differences are not changes. Every option is off by default.

    - ``trim``: leading and trailing whitespace;
    - ``ignore_case``: upper vs lower case;
    - ``booleans``: ``True``/``False``, ``true``/``false`` (any case) and ``1``/``0`` are the
      same two values; ``True`` for every column, or a list of columns;
    - ``dates``: date-times by value, so ``"2024-01-05"`` equals a datetime at midnight and
      ``"2024-01-05T10:30"`` one at 10:30; a list of columns (ISO 8601 text), a dict of
      column → ``strptime`` format (``None`` for ISO), or ``True`` for every column that holds
      date-times on either side;
    - ``abs_tol`` / ``rel_tol``: numbers are equal when ``|a - b| <= max(rel_tol *
      max(|a|, |b|), abs_tol)`` (``math.isclose``). A number applies to every numeric column
      (a numeric dtype on either side); a dict gives per-column values, with the key
      ``"default"`` for the rest, and naming a column there says it holds numbers. Text that
      only looks numeric (a Zip ``"02139"``) is never compared by value unless named;
    - ``tolerance``: the older spelling of ``abs_tol`` as one number;
    - ``columns``: per-column callables applied to both sides' text first, e.g.
      ``{"Phone": lambda s: s.str.replace(r"\\D", "", regex=True)}``. They must work value by
      value: they only see the values that differ as written (and key columns in full).

    Columns are named by their label on either side. ``Normalize.of`` also accepts ``"trim"``,
    ``["trim", "case"]`` or a dict of these fields.

    >>> Normalize(trim=True, rel_tol=0.001, dates=["Joined"]).active
    True
    """

    trim: bool = False
    ignore_case: bool = False
    tolerance: float | None = None
    columns: Mapping[Hashable, ColumnFix] = field(default_factory=dict)
    abs_tol: Tolerances = None
    rel_tol: Tolerances = None
    booleans: bool | Collection[Hashable] = False
    dates: bool | Collection[Hashable] | Mapping[Hashable, str | None] = False

    @property
    def active(self) -> bool:
        """True when any normalization is on."""
        return bool(
            self.trim
            or self.ignore_case
            or self.tolerance is not None
            or self.columns
            or self.abs_tol is not None
            or self.rel_tol is not None
            or self.booleans
            or self.dates
        )

    @property
    def per_column(self) -> dict[str, list[Hashable]]:
        """The columns each per-column option names (``"default"`` is not a column)."""
        named: dict[str, list[Hashable]] = {}
        for option in ("columns", "abs_tol", "rel_tol", "booleans", "dates"):
            value = getattr(self, option)
            if isinstance(value, Mapping):
                labels = [k for k in value if not (option.endswith("_tol") and k == DEFAULT)]
            elif isinstance(value, Collection) and not isinstance(value, str | bool):
                labels = list(value)
            else:
                continue
            if labels:
                named[option] = labels
        return named

    @classmethod
    def of(cls, value: Normalize | str | Iterable[str] | Mapping[str, Any] | None) -> Normalize:
        """A :class:`Normalize` from what a caller may pass as ``normalize=``."""
        if value is None:
            return cls()
        if isinstance(value, Normalize):
            return value
        if isinstance(value, Mapping):
            known = [f.name for f in fields(cls)]
            unknown = set(value) - set(known)
            if unknown:
                raise UsageError(
                    f"normalize got unknown option(s) {sorted(map(str, unknown))}; use "
                    + ", ".join(known)
                )
            return cls(**value)
        names = [value] if isinstance(value, str) else list(value)
        options: dict[str, Any] = {}
        for name in names:
            if name not in FLAGS:
                raise UsageError(
                    f"normalize={name!r} is not an option; use 'trim', 'case', 'booleans', or "
                    "migkit.Normalize(trim=..., ignore_case=..., abs_tol=..., rel_tol=..., "
                    "dates=..., columns=...)"
                )
            options[FLAGS[name]] = True
        return cls(**options)

    def __post_init__(self) -> None:
        for option in ("booleans", "dates"):
            if isinstance(getattr(self, option), str):  # one column named on its own
                object.__setattr__(self, option, (getattr(self, option),))
        _check_number("tolerance", self.tolerance)
        for option in ("abs_tol", "rel_tol"):
            value = getattr(self, option)
            if isinstance(value, Mapping):
                for name, number in value.items():
                    _check_number(f"{option}[{name!r}]", number)
            else:
                _check_number(option, value)
        if self.tolerance is not None and self.abs_tol is not None:
            raise UsageError("pass abs_tol or tolerance (its older spelling), not both")
        for name, fix in self.columns.items():
            if not callable(fix):
                raise UsageError(f"normalize columns[{name!r}] must be a callable, not {fix!r}")
        if isinstance(self.dates, Mapping):
            for name, spec in self.dates.items():
                if spec is not None and not isinstance(spec, str):
                    raise UsageError(
                        f"dates[{name!r}] must be a strptime format such as '%d/%m/%Y', or"
                        f" None for ISO 8601, not {spec!r}"
                    )
        for option in ("booleans", "dates"):
            value = getattr(self, option)
            if not isinstance(value, bool | Collection):
                raise UsageError(
                    f"{option} must be True, False or a list of columns, not {value!r}"
                )


def _check_number(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise UsageError(f"{name} must be a number >= 0, not {value!r}")
