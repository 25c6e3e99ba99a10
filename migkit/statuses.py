"""Run statuses of both API generations as types: the closed sets the rest of migkit imports.

A pure module (no HTTP, no pandas): the client, the tests and the sandbox share it.

**Generation 1** ("companies") documents ``queued, running, needs_attention, completed, failed,
canceled`` for an import run; its answer-questions page adds ``blocked`` (a run waiting for an
answer through ``POST …/imports/{run_id}/messages``). Export runs are inferred to use the
import statuses without the waiting ones.

**Generation 2** ("migrations") runs are ``queued, running, blocked, awaiting_approval,
completed, failed, canceled``: ``blocked`` waits for an answer (or credentials), and
``awaiting_approval`` is a generate run that ended with a preview to approve (finished: the
next step is a new run). A migration itself is ``awaiting_files, ready, in_progress,
awaiting_approval, completed``.

Each generation splits its run statuses into three sets: *active* (working), *waiting* (for a
person) and *terminal* (finished). A status outside them is one this version of migkit does not
know: waiting ends there with a :class:`~migkit.errors.MigkitWarning` instead of polling
forever, and the ledger keeps such a run as unfinished.

>>> sorted(WAITING)
['blocked', 'needs_attention']
>>> "completed" in TERMINAL, "paused" in IMPORT_STATUSES
(True, False)
>>> sorted(RUN_TERMINAL)
['awaiting_approval', 'canceled', 'completed', 'failed']
"""

from __future__ import annotations

from typing import Literal, get_args

# -- Generation 1: import and export runs ---------------------------------------------------------
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
UNFINISHED: frozenset[ImportStatus] = frozenset(IMPORT_STATUSES - TERMINAL)

# -- Generation 2: migration runs and migrations ---------------------------------------------------
RunTerminalStatus = Literal["awaiting_approval", "completed", "failed", "canceled"]
RunWaitingStatus = Literal["blocked"]
RunActiveStatus = Literal["queued", "running"]
RunStatus = Literal[
    "queued", "running", "blocked", "awaiting_approval", "completed", "failed", "canceled"
]
MigrationStatus = Literal[
    "awaiting_files", "ready", "in_progress", "awaiting_approval", "completed"
]

RUN_TERMINAL: frozenset[RunTerminalStatus] = frozenset(get_args(RunTerminalStatus))
RUN_WAITING: frozenset[RunWaitingStatus] = frozenset(get_args(RunWaitingStatus))
RUN_ACTIVE: frozenset[RunActiveStatus] = frozenset(get_args(RunActiveStatus))
RUN_STATUSES: frozenset[RunStatus] = frozenset(get_args(RunStatus))
MIGRATION_STATUSES: frozenset[MigrationStatus] = frozenset(get_args(MigrationStatus))
