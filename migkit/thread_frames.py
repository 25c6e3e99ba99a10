"""A migration's thread as a DataFrame (no HTTP): one row per event, indexed by ``sequence``.

>>> from migkit.migration_models import ThreadEvent
>>> e = ThreadEvent.from_api({"sequence": 3, "type": "message", "created_at": "t",
...     "data": {"run_id": "r1", "kind": "generate", "text": "Mapped 4 of 5 columns"}})
>>> events_frame([e]).loc[3, "text"]
'Mapped 4 of 5 columns'
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from migkit.migration_models import ThreadEvent

COLUMNS = ["type", "created_at", "run_id", "kind", "text", "data"]


def events_frame(events: Sequence[ThreadEvent]) -> pd.DataFrame:
    """``events`` as a frame: ``type``, ``created_at``, ``run_id``, ``kind``, ``text`` (the
    words for people) and ``data`` (the payload as given), indexed by ``sequence``."""
    frame = pd.DataFrame(
        [[e.type, e.created_at, e.run_id, e.kind, e.text, dict(e.data)] for e in events],
        columns=COLUMNS,
        index=pd.Index([e.sequence for e in events], name="sequence", dtype="int64"),
    )
    return frame
