"""Files migkit writes for people to open (workbooks, CSVs of problems): every text cell stays
text, control characters are shown rather than breaking the file, and a file is either written
whole or not at all.

- **Workbooks** (:func:`write_workbook`): a text cell that starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is stored as text with Excel's quote prefix, so it is never
  a formula, not even after someone edits the cell; what the user sees is the original value.
  Control characters Excel cannot hold (``\\x00``-``\\x1f`` but tab and line breaks) are
  written as visible escapes such as ``\\x01``.
- **CSVs for people** (:func:`write_people_csv`): the usual defence, a leading ``'`` before a
  cell that a spreadsheet would run as a formula (numbers such as ``-5`` are left alone);
  ``guard=False`` writes the values unchanged. Data exports (``migkit export -o``) are data for
  other programs, not for people, and are written unchanged.
- **Atomic**: both write to a temporary name in the target's folder and rename it into place,
  so a failure never leaves a partial file (nor replaces a good one).

>>> import pandas as pd, tempfile, openpyxl
>>> path = Path(tempfile.mkdtemp()) / "r.xlsx"
>>> _ = write_workbook(path, [("Cells", pd.DataFrame({"=cmd": ['=HYPERLINK("x")', "a\\x01b"]}))])
>>> [(c.value, c.data_type) for c in openpyxl.load_workbook(path)["Cells"]["A"]]
[('=cmd', 's'), ('=HYPERLINK("x")', 's'), ('a\\\\x01b', 's')]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from migkit.errors import MigkitError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_OOXML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?(\.\d+)?([eE][+-]?\d+)?")
EXCEL_CELL_CHARS = 32_767


class WriteError(MigkitError, OSError):
    """migkit could not write a file; nothing was left behind at the target."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed to ``path`` when the block succeeds, removed
    when it fails.

    >>> with atomic_path(Path(tempfile.mkdtemp()) / "out.csv") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("a,b\\n")
    """
    target = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def visible(text: str) -> str:
    """``text`` with the control characters a workbook cannot hold written as ``\\xNN``.

    >>> visible("a\\x01b\\tc")
    'a\\\\x01b\\tc'
    """
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def runs_as_formula(text: str) -> bool:
    """True when a spreadsheet would run ``text`` as a formula if typed or opened from CSV
    (numbers such as ``-5`` or ``+1.5e3`` are data, not formulas).

    >>> [runs_as_formula(t) for t in ("=1+1", "@SUM(A1)", "-5", "-2+3", "ok")]
    [True, True, False, True, False]
    """
    return text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text)


def _stored(text: str) -> str:
    # A carriage return does not survive XML as itself: store it as Excel does (_x000D_), after
    # escaping any text that already looks like such an escape.
    if "_x" in text:
        text = _OOXML_ESCAPE.sub(r"_x005F_\1", text)
    return visible(text).replace("\r", "_x000D_")


def _cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | dt.date | dt.time | dt.timedelta):
        return value
    text = str(value)
    if not text.startswith(FORMULA_START):
        return _stored(text)
    cell = WriteOnlyCell(sheet, value=_stored(text))
    cell.data_type = "s"  # text, never a formula
    cell.quotePrefix = True  # and it stays text when someone edits it in Excel
    return cell


def write_workbook(path: str | Path, sheets: Sequence[tuple[str, pd.DataFrame]]) -> Path:
    """Write each ``(sheet name, frame)`` to an ``.xlsx`` at ``path``, column names first, every
    text cell as text (see the module docs); returns the path. Raises :class:`WriteError`,
    leaving no file, when it cannot be written."""
    from openpyxl import Workbook

    target = Path(path)
    book = Workbook(write_only=True)
    for title, frame in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append([_cell(sheet, str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell(sheet, v) for v in row])
    try:
        with atomic_path(target) as temporary:
            book.save(temporary)
    except (OSError, ValueError) as exc:
        raise WriteError(f"could not write {target}: {exc}") from None
    return target


def write_people_csv(frame: pd.DataFrame, path: str | Path, *, guard: bool = True) -> Path:
    """Write ``frame`` (without its index) as a UTF-8 CSV for people to open in a spreadsheet:
    with ``guard``, a cell a spreadsheet would run as a formula gets a leading ``'``. Atomic;
    raises :class:`WriteError`, leaving no file, when it cannot be written.

    >>> import io
    >>> path = Path(tempfile.mkdtemp()) / "errors.csv"
    >>> print(write_people_csv(pd.DataFrame({"value": ["=cmd|'/c calc'!A0", "-5"]}), path)
    ...       .read_text(), end="")
    value
    '=cmd|'/c calc'!A0
    -5
    """
    target = Path(path)
    out = frame
    if guard:
        out = frame.copy()
        out.columns = [_guarded(str(c)) for c in frame.columns]
        for position in range(out.shape[1]):
            column = out.iloc[:, position]
            if not pd.api.types.is_numeric_dtype(column.dtype):
                out.isetitem(position, column.map(_guarded_value, na_action="ignore").array)
    try:
        with atomic_path(target) as temporary:
            # CRLF, so a cell holding a bare CR is quoted too (pandas quotes only for "\n").
            out.to_csv(temporary, index=False, encoding="utf-8", lineterminator="\r\n")
    except (OSError, ValueError) as exc:
        raise WriteError(f"could not write {target}: {exc}") from None
    return target


def _guarded_value(value: Any) -> Any:
    return _guarded(value) if isinstance(value, str) else value


def _guarded(text: str) -> str:
    return "'" + text if runs_as_formula(text) else text
