"""Semantic probes for reconciliation beyond the benchmark's string frames: numbers, labels,
keys, dates and booleans, where migkit and datacompy are each called with their own spelling
of the same options. Part of ``benchmarks/reconcile.py``'s report; runnable on its own::

    .venv/bin/python benchmarks/reconcile_probes.py

Each line prints matched/missing/extra/changed rows per side; docs/reconcile.md explains
every difference.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd

Frames = Callable[[], tuple[pd.DataFrame, pd.DataFrame]]


def _pair(left: dict[str, list[Any]], right: dict[str, list[Any]]) -> Frames:
    return lambda: (pd.DataFrame(left), pd.DataFrame(right))


def _headerless() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame([["a@x.io", "Ann"]]), pd.DataFrame([["a@x.io", "Anne"]])


def _indexed() -> tuple[pd.DataFrame, pd.DataFrame]:
    left = pd.DataFrame({"V": ["1", "2"]}, index=pd.Index(["a", "b"], name="id"))
    right = pd.DataFrame({"V": ["2", "1"]}, index=pd.Index(["b", "a"], name="id"))
    return left, right


# (case, frames, key, migkit keyword arguments, datacompy keyword arguments)
Case = tuple[str, Frames, Any, dict[str, Any], dict[str, Any]]


def cases() -> list[Case]:
    import migkit

    n = migkit.Normalize
    k = ["a"]
    return [
        (
            "Zip '02139' vs '2139' (text), abs_tol=0.01",
            _pair({"K": k, "Zip": ["02139"]}, {"K": k, "Zip": ["2139"]}),
            "K",
            {"normalize": n(abs_tol=0.01)},
            {"abs_tol": 0.01},
        ),
        (
            "Zip '007' vs '7' (text), named abs_tol",
            _pair({"K": k, "Zip": ["007"]}, {"K": k, "Zip": ["7"]}),
            "K",
            {"normalize": n(abs_tol={"Zip": 0})},
            {"abs_tol": {"zip": 0}},
        ),
        (
            "Price Decimal('12.50') vs 12.5",
            _pair({"K": k, "Price": [Decimal("12.50")]}, {"K": k, "Price": [12.5]}),
            "K",
            {},
            {},
        ),
        (
            "Amount 100.0 vs 100.4, abs_tol 0.5 per column",
            _pair({"K": k, "Amount": [100.0]}, {"K": k, "Amount": [100.4]}),
            "K",
            {"normalize": n(abs_tol={"Amount": 0.5})},
            {"abs_tol": {"amount": 0.5}},
        ),
        (
            "Rate 110 vs 100, rel_tol=0.095",
            _pair({"K": k, "Rate": [110.0]}, {"K": k, "Rate": [100.0]}),
            "K",
            {"normalize": n(rel_tol=0.095)},
            {"rel_tol": 0.095},
        ),
        (
            "key (acct, name), name null on both sides",
            _pair(
                {"acct": ["1"], "name": [None], "V": ["x"]},
                {"acct": ["1"], "name": [None], "V": ["x"]},
            ),
            ["acct", "name"],
            {},
            {},
        ),
        (
            "Joined datetime vs '2024-01-05T00:00', dates",
            _pair(
                {"K": k, "Joined": pd.to_datetime(["2024-01-05"])},
                {"K": k, "Joined": ["2024-01-05T00:00"]},
            ),
            "K",
            {"normalize": n(dates=["Joined"])},
            {},
        ),
        (
            "Active True vs '1', booleans",
            _pair({"K": k, "Active": [True]}, {"K": k, "Active": ["1"]}),
            "K",
            {"normalize": n(booleans=True)},
            {},
        ),
        ("header=None labels 0, 1, key=0", _headerless, 0, {}, {}),
        ("join on the index", _indexed, "index", {}, {"on_index": True}),
    ]


def _migkit(left: pd.DataFrame, right: pd.DataFrame, key: Any, options: dict[str, Any]) -> str:
    import migkit

    r = migkit.reconcile(left, right, key, **options)
    return f"{r.matched}/{len(r.missing)}/{len(r.extra)}/{r.changed_rows}"


def _datacompy(left: pd.DataFrame, right: pd.DataFrame, key: Any, options: dict[str, Any]) -> str:
    import datacompy

    compare_class = getattr(datacompy, "PandasCompare", None) or datacompy.Compare
    join = {} if options.get("on_index") else {"join_columns": key}
    c = compare_class(left.copy(deep=False), right.copy(deep=False), **join, **options)
    both = c.intersect_rows
    match = [col for col in both.columns if str(col).endswith("_match")]
    changed = int((~both[match].all(axis=1)).sum()) if match else 0
    return f"{len(both)}/{len(c.df1_unq_rows)}/{len(c.df2_unq_rows)}/{changed}"


def report() -> None:
    """Print one line per case: matched/missing/extra/changed rows for migkit and datacompy."""
    found = cases()
    width = max(len(name) for name, *_ in found)
    print("Typed probes (each side with its own spelling of the options):")
    print(f"  {'case':<{width}}  {'migkit':>10}  {'datacompy':>10}")
    for name, frames, key, mine, theirs in found:
        cells = []
        for run, options in ((_migkit, mine), (_datacompy, theirs)):
            try:
                cells.append(run(*frames(), key, options))
            except Exception as exc:  # a side that cannot do it: say how it failed
                cells.append(type(exc).__name__)
        differs = " <- differs" if len(set(cells)) > 1 else ""
        print(f"  {name:<{width}}  {cells[0]:>10}  {cells[1]:>10}{differs}")


if __name__ == "__main__":
    report()
