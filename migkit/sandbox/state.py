"""The running sandbox's shared state, reachable from request handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from migkit.sandbox.config import SandboxConfig
from migkit.sandbox.faults import FaultInjector
from migkit.sandbox.ratelimit import RollingWindowLimiter
from migkit.sandbox.store import Store
from migkit.sandbox.thread import Hub
from migkit.sandbox.worker import Worker

if TYPE_CHECKING:
    from migkit.sandbox.agent_worker import AgentWorker


@dataclass
class SandboxState:
    """Everything a request handler needs: storage, settings, limiter, faults, worker."""

    store: Store
    config: SandboxConfig
    limiter: RollingWindowLimiter
    faults: FaultInjector
    worker: Worker
    public_url: str = ""
    hub: Hub = field(default_factory=Hub)  # Generation 2: wakes thread listeners
    agent: AgentWorker | None = None  # Generation 2: runs the agent stand-in's runs


def current_state() -> SandboxState:
    """The state of the app serving the current request."""
    state: SandboxState = current_app.extensions["migkit_sandbox"]
    return state
