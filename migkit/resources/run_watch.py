"""Waiting for Generation-2 runs from the thread stream, not by polling.

The docs prefer the thread stream to polling for live progress. :class:`RunWatch` follows the
migration's stream from just before the run started; each event of the run moves the progress
display, and only an event that may end the wait (``completed``, ``error``, ``request_input``,
``preview``, a ``status`` naming a resting status) costs a poll, which confirms the status. A
run quiet for a minute is polled once anyway (a lost event cannot hang a wait). Without a
stream on the server, the thread is polled instead (see :mod:`migkit.resources.thread`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from migkit.errors import RunFailed, WaitTimeout
from migkit.migration_models import MigrationRun, ThreadEvent
from migkit.polling import MissedPolls, PollEvent, ProgressHook, settled, wait_for
from migkit.progress import default_progress
from migkit.resources._base import ClientCore
from migkit.resources.migration_runs import MigrationRuns
from migkit.resources.thread import Thread
from migkit.statuses import RUN_TERMINAL, RUN_WAITING

REST_EVENTS = frozenset({"completed", "error", "request_input", "preview"})
QUIET_POLL = 60.0  # seconds without a resting event before the run is polled anyway
SOON = 1.0  # after a resting event whose poll did not show it yet


def may_rest(event: ThreadEvent) -> bool:
    """True for an event after which the run may have stopped (worth one poll)."""
    said = event.data.get("status")
    return event.type in REST_EVENTS or said in RUN_TERMINAL or said in RUN_WAITING


class RunWatch:
    """``client.migrations.wait`` / ``wait_all``."""

    def __init__(self, core: ClientCore, runs: MigrationRuns, thread: Thread) -> None:
        self._core = core
        self._runs = runs
        self._thread = thread

    def wait(
        self,
        run: MigrationRun | str,
        migration: Any = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressHook[MigrationRun] | None = None,
        stream: bool = True,
        raise_on_failure: bool = True,
    ) -> MigrationRun:
        """Wait until the run rests: ``blocked`` (a question or credentials),
        ``awaiting_approval``, ``completed``, ``failed`` or ``canceled``."""
        hook = self._hook(on_progress)
        start = time.monotonic()
        after = self._runs.after_sequence(run)
        fresh = isinstance(run, MigrationRun) and run.status in ("queued", "running")
        if after is None and stream:
            mid = self._runs._migration_of(run, migration)
            after = self._thread.tail(mid)  # before the poll: nothing after it can be missed
        if stream and fresh and after is not None and isinstance(run, MigrationRun):
            current = run  # the stream from before its start tells everything: no poll yet
        else:
            current = self._runs.get(run, migration)
        if not settled(current):
            if stream:
                current = self._follow(current, after or 0, hook, start, timeout)
            else:
                poll = MissedPolls(self._runs.get)
                current = wait_for(
                    poll.following(current),
                    schedule=self._core.schedule,
                    timeout=timeout,
                    on_progress=hook,
                )
        if hook is not None:
            hook(PollEvent(current, 1, time.monotonic() - start, None))
        if current.status == "failed" and raise_on_failure:
            raise RunFailed(current.id, current.error)
        return current

    def _follow(
        self,
        run: MigrationRun,
        after: int,
        hook: ProgressHook[MigrationRun] | None,
        start: float,
        timeout: float | None,
    ) -> MigrationRun:
        deadline = None if timeout is None else start + timeout
        poll_at = time.monotonic() + QUIET_POLL
        polls = 1

        def stop() -> bool:
            now = time.monotonic()
            return now >= poll_at or (deadline is not None and now >= deadline)

        while True:
            for event in self._thread.stream(run.migration_id, after=after, stop=stop):
                after = event.sequence
                if event.run_id != run.id:
                    continue
                if may_rest(event):
                    run = self._runs.get(run)
                    polls += 1
                    if settled(run):
                        return run
                    poll_at = time.monotonic() + SOON
                elif event.text:
                    status = "running" if run.status == "queued" else run.status
                    run = dataclasses.replace(run, status=status, message=event.text)
                if hook is not None:
                    hook(PollEvent(run, polls, time.monotonic() - start, None))
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(run.id, run.status, time.monotonic() - start)
            run = self._runs.get(run)
            polls += 1
            if settled(run):
                return run
            poll_at = time.monotonic() + QUIET_POLL

    def wait_all(
        self,
        runs: Sequence[MigrationRun],
        *,
        timeout: float | None = None,
        on_progress: ProgressHook[MigrationRun] | None = None,
    ) -> list[MigrationRun]:
        """Wait for many runs at once, each on its migration's stream; no raising (a failed
        run is returned as it is). Returns the runs in the input order."""
        if not runs:
            return []
        hook = on_progress or self._hook(None, len(runs))

        def one(run: MigrationRun) -> MigrationRun:
            return self.wait(run, timeout=timeout, on_progress=hook, raise_on_failure=False)

        with ThreadPoolExecutor(max_workers=min(len(runs), 32)) as pool:
            return list(pool.map(one, runs))

    def _hook(
        self, on_progress: ProgressHook[MigrationRun] | None, runs: int = 1
    ) -> ProgressHook[MigrationRun] | None:
        if on_progress is not None:
            return on_progress
        if not self._core.progress:
            return None
        transport = self._core.transport
        made: Callable[..., Any] = default_progress
        return made(runs, lambda: transport.requests_sent)  # type: ignore[no-any-return]
