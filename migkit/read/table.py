"""Rows of cell values (a worksheet, JSON records) as a frame of text columns: banner rows
above the header skipped, repeated header names made distinct, all-empty rows dropped and
counted.

>>> frame = text_table([["Report 2024"], ["Phone", "Phone", "Name"], ["1", "2", None], [None]])
>>> frame.columns.tolist(), frame.attrs["migkit"]["repeated_headers"]
(['Phone', 'Phone (2)', 'Name'], {'Phone (2)': 'Phone'})
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from migkit.cells import cell_text

BANNER_ROWS = 10  # a header is looked for among this many rows at the top


def distinct_names(names: Sequence[str]) -> list[str]:
    """``names`` with each repeat renamed ``"name (2)"``, ``"name (3)"``... (skipping any name
    already taken), the way the server names them.

    >>> distinct_names(["Phone", "Phone", "Phone (2)", "Phone"])
    ['Phone', 'Phone (3)', 'Phone (2)', 'Phone (4)']
    """
    taken = set(names)
    seen: set[str] = set()
    out = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        number = 2
        while f"{name} ({number})" in taken:
            number += 1
        renamed = f"{name} ({number})"
        taken.add(renamed)
        out.append(renamed)
    return out


def repeated(original: Sequence[str], distinct: Sequence[str]) -> dict[str, str]:
    """Which names :func:`distinct_names` gave to repeats: ``{"Phone (2)": "Phone"}``."""
    return {new: old for old, new in zip(original, distinct, strict=True) if old != new}


def text_table(
    records: list[list[Any]], first_row: int = 0, index: list[str] | None = None
) -> pd.DataFrame:
    """Rows of cell values as text columns (``str``, empty cells null). The header is the first
    of the top rows filled at least half as wide as the table; ``attrs["migkit"]`` gives its
    row (``first_row`` is where ``records`` start in the sheet), the renamed repeats and the
    count of all-empty rows dropped. ``index`` labels the rows after the header."""
    # most cells are text already: only the others go through cell_text
    cells = [[(v or None) if type(v) is str else cell_text(v) for v in row] for row in records]
    while cells and not any(c is not None for c in cells[-1]):
        cells.pop()  # trailing empty rows are the sheet's padding, not rows
    if not cells:
        frame = pd.DataFrame()
        frame.attrs["migkit"] = {"header_row": None, "repeated_headers": {}, "empty_rows": 0}
        return frame
    width = max(len(r) for r in cells)
    header_row = 0
    for number, row in enumerate(cells[:BANNER_ROWS]):  # banner/merged title rows above it
        if sum(c is not None for c in row) >= max(1, math.ceil(width / 2)):
            header_row = number
            break
    raw = [c if c is not None else f"Unnamed: {i}" for i, c in enumerate(cells[header_row])]
    raw += [f"Unnamed: {i}" for i in range(len(raw), width)]
    names = distinct_names(raw)
    body = [r + [None] * (width - len(r)) for r in cells[header_row + 1 :]]
    keep = [any(c is not None for c in r) for r in body]
    kept = [r for r, k in zip(body, keep, strict=True) if k]
    columns = {i: pd.array([r[i] for r in kept], dtype="str") for i in range(width)}
    labels = None if index is None else [i for i, k in zip(index, keep, strict=False) if k]
    frame = pd.DataFrame(columns, index=labels)
    frame.columns = names
    frame.attrs["migkit"] = {
        "header_row": first_row + header_row,
        "repeated_headers": repeated(raw, names),
        "empty_rows": len(body) - len(kept),
    }
    return frame
