"""The thread pool both generations' workers share: claim the next queued run, handle it,
sleep until woken (or half a second) when there is none, and never die of what a run raises.

:class:`~migkit.sandbox.worker.Worker` (Generation 1 imports and exports) and
:class:`~migkit.sandbox.agent_worker.AgentWorker` (Generation 2 runs) say how to claim a run
and what to do with it; starting, stopping and waking the threads is written once, here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from migkit.sandbox.faults import FaultInjector
from migkit.sandbox.store import Store

log = logging.getLogger("migkit.sandbox")


class RunPool:
    """A few threads taking queued runs one at a time. Subclasses give :meth:`_claim` (the
    next run, marked as taken, or None) and :meth:`_handle` (process it; may raise)."""

    name = "worker"  # the threads' name, and the word in the log

    def __init__(
        self, store: Store, step_seconds: float, faults: FaultInjector, threads: int = 2
    ) -> None:
        self.store = store
        self.step_seconds = step_seconds
        self.faults = faults
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"migkit-sandbox-{self.name}-{i}", daemon=True)
            for i in range(threads)
        ]

    def _start_threads(self) -> None:
        for worker in self._threads:
            worker.start()

    def stop(self) -> None:
        """Ask the threads to stop and wait for them."""
        self._stop.set()
        self.notify()
        for worker in self._threads:
            worker.join(timeout=10)

    def notify(self) -> None:
        """Wake an idle thread: a run was queued (or resumed)."""
        with self._wake:
            self._wake.notify_all()

    def _claim(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def _handle(self, run: dict[str, Any]) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run = self._claim()
            except Exception:  # a locked or closed database must not kill the thread
                log.exception("sandbox %s could not claim a run", self.name)
                run = None
            if run is None:
                with self._wake:
                    self._wake.wait(timeout=0.5)
                continue
            self._handle(run)
        self.store.close()
