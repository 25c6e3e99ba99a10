"""Sandbox settings, shared by ``migkit sandbox`` and :func:`migkit.sandbox.start`."""

from __future__ import annotations

from dataclasses import dataclass, field

from migkit.sandbox.faults import FaultConfig

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxConfig:
    """How a sandbox runs. ``port=0`` picks a free port; ``db=None`` a temporary file."""

    host: str = "127.0.0.1"
    port: int = 8787
    db: str | None = None
    api_keys: tuple[str, ...] = ()
    rate_limit: int = 100
    rate_window: float = 60.0
    step_seconds: float = 1.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    max_body: int = 32 * MIB
    max_upload: int = 1024 * MIB
    upload_ttl: float = 3600.0
    workers: int = 2
    heartbeat_seconds: float = 15.0  # Generation 2: idle thread streams send a comment this often
