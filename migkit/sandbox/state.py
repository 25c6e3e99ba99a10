"""The running sandbox's shared state, reachable from request handlers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from migkit.sandbox.config import SandboxConfig
from migkit.sandbox.faults import FaultInjector
from migkit.sandbox.ratelimit import RollingWindowLimiter
from migkit.sandbox.store import Store
from migkit.sandbox.worker import Worker


@dataclass
class SandboxState:
    """Everything a request handler needs: storage, settings, limiter, faults, worker."""

    store: Store
    config: SandboxConfig
    limiter: RollingWindowLimiter
    faults: FaultInjector
    worker: Worker
    public_url: str = ""


def current_state() -> SandboxState:
    """The state of the app serving the current request."""
    state: SandboxState = current_app.extensions["migkit_sandbox"]
    return state
