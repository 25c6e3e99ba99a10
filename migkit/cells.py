"""One cell value as text, the way the server reads it (shared with the sandbox's reader).

>>> import datetime as dt
>>> [cell_text(v) for v in (12.0, 0.5, True, dt.datetime(2024, 1, 5), "", None, 10**20)]
['12', '0.5', 'true', '2024-01-05', None, None, '100000000000000000000']
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def cell_text(value: Any) -> str | None:
    """``value`` as the text the server compares: whole floats without ``.0``, booleans as
    ``true``/``false``, dates as ISO text (date only at midnight); empty text is ``None``.
    Nested lists and objects are not cell values: ``ValueError``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return str(value)
    if isinstance(value, dict | list):
        raise ValueError("nested objects and arrays are not valid cell values")
    text = str(value)
    return text if text != "" else None
