"""The local Migration API sandbox: a faithful emulator of the Vern Migration API.

It is a real HTTP server (Flask on Werkzeug) with SQLite state, run workers, rate limits and
optional fault injection. The client code never imports this package.

>>> import migkit.sandbox
>>> with migkit.sandbox.start(port=0, step_seconds=0) as sb:
...     sb.api_key.startswith("sk_sandbox_")
True
"""

from __future__ import annotations

from collections.abc import Iterable

from migkit.sandbox.config import SandboxConfig
from migkit.sandbox.faults import FaultConfig
from migkit.sandbox.server import Sandbox

__all__ = ["FaultConfig", "Sandbox", "SandboxConfig", "start"]


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    db: str | None = None,
    api_key: str | Iterable[str] | None = None,
    rate_limit: int = 100,
    step_seconds: float = 1.0,
    faults: str | FaultConfig | None = None,
    *,
    max_body: int | None = None,
    workers: int = 2,
    heartbeat_seconds: float = 15.0,
) -> Sandbox:
    """Start a sandbox in background threads and return it (a context manager).

    The options mirror ``migkit sandbox``; ``port=0`` (the default here) picks a free port.
    ``api_key`` is one key or several (each its own account); without one a key is made.
    ``faults`` is a profile string such as ``"flaky"`` or ``"error_before=0.2,seed=1"``.
    ``heartbeat_seconds`` is how often an idle thread stream (Generation 2) sends a comment.

    >>> import migkit.sandbox
    >>> sb = migkit.sandbox.start(step_seconds=0)
    >>> sb.base_url.endswith("/api/v1")
    True
    >>> sb.stop()
    """
    keys: tuple[str, ...]
    if api_key is None:
        keys = ()
    elif isinstance(api_key, str):
        keys = (api_key,)
    else:
        keys = tuple(api_key)
    fault_config = faults if isinstance(faults, FaultConfig) else FaultConfig.parse(faults)
    config = SandboxConfig(
        host=host,
        port=port,
        db=db,
        api_keys=keys,
        rate_limit=rate_limit,
        step_seconds=step_seconds,
        faults=fault_config,
        workers=workers,
        heartbeat_seconds=heartbeat_seconds,
        **({"max_body": max_body} if max_body is not None else {}),
    )
    return Sandbox(config).start()
