"""Run statuses as types: the closed sets the rest of migkit imports.

Generation 1 documents ``queued, running, needs_attention, completed, failed, canceled`` for an
import run; its answer-questions page adds ``blocked`` (a run waiting for an answer through
``POST …/imports/{run_id}/messages``). Export runs are inferred to use the import statuses
without the waiting ones. A status outside these sets is one this version of migkit does not
know: waiting ends there with a :class:`~migkit.errors.MigkitWarning` instead of polling
forever.

>>> sorted(WAITING)
['blocked', 'needs_attention']
>>> "completed" in TERMINAL, "paused" in IMPORT_STATUSES
(True, False)
"""

from __future__ import annotations

from typing import Literal, get_args

TerminalStatus = Literal["completed", "failed", "canceled"]
WaitingStatus = Literal["needs_attention", "blocked"]  # waiting for a person to answer
ActiveStatus = Literal["queued", "running"]
ImportStatus = Literal[
    "queued", "running", "needs_attention", "blocked", "completed", "failed", "canceled"
]
ExportStatus = Literal["queued", "running", "completed", "failed", "canceled"]

TERMINAL: frozenset[TerminalStatus] = frozenset(get_args(TerminalStatus))
WAITING: frozenset[WaitingStatus] = frozenset(get_args(WaitingStatus))
ACTIVE: frozenset[ActiveStatus] = frozenset(get_args(ActiveStatus))
IMPORT_STATUSES: frozenset[ImportStatus] = frozenset(get_args(ImportStatus))
EXPORT_STATUSES: frozenset[ExportStatus] = frozenset(get_args(ExportStatus))
