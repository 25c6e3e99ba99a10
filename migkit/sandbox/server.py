"""Run the sandbox: a threaded Werkzeug server plus the run workers, in a background thread."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, make_server

from migkit.sandbox import agent
from migkit.sandbox.agent_worker import AgentWorker
from migkit.sandbox.app import API_PREFIX, create_app
from migkit.sandbox.catalog import ensure_account, new_api_key
from migkit.sandbox.config import SandboxConfig
from migkit.sandbox.faults import FaultInjector
from migkit.sandbox.ratelimit import RollingWindowLimiter
from migkit.sandbox.raw_errors import JsonErrorHandler, JsonErrorsMiddleware
from migkit.sandbox.state import SandboxState
from migkit.sandbox.store import Store
from migkit.sandbox.thread import Hub
from migkit.sandbox.worker import Worker


class Sandbox:
    """A running sandbox. Use as a context manager, or call :meth:`stop`.

    >>> import migkit.sandbox
    >>> with migkit.sandbox.start(port=0, step_seconds=0) as sb:
    ...     sb.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if config.db is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="migkit-sandbox-")
            db_path = Path(self._tempdir.name) / "sandbox.db"
        else:
            db_path = Path(config.db).expanduser().resolve()
        self.db_path = db_path
        self.store = Store(db_path)
        self.api_keys = list(config.api_keys) or [new_api_key()]
        for key in self.api_keys:
            ensure_account(self.store, key)
        faults = FaultInjector(config.faults)
        self.worker = Worker(self.store, config.step_seconds, faults, threads=config.workers)
        self.hub = Hub()
        self.agent = AgentWorker(
            self.store, self.hub, agent.process, config.step_seconds, faults, config.workers
        )
        self._state = SandboxState(
            store=self.store,
            config=config,
            limiter=RollingWindowLimiter(config.rate_limit, config.rate_window),
            faults=faults,
            worker=self.worker,
            hub=self.hub,
            agent=self.agent,
        )
        self._server: BaseWSGIServer = make_server(
            config.host,
            config.port,
            JsonErrorsMiddleware(create_app(self._state)),
            threaded=True,
            request_handler=JsonErrorHandler,
        )
        host = "127.0.0.1" if config.host in ("0.0.0.0", "") else config.host
        host = f"[{host}]" if ":" in host else host
        self.url = f"http://{host}:{self._server.server_port}"
        self._state.public_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),  # poll interval: how fast stop() returns
            name="migkit-sandbox-http",
            daemon=True,
        )
        self._stopped = False

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:8787/api/v1``."""
        return self.url + API_PREFIX

    @property
    def api_key(self) -> str:
        """The first account's API key."""
        return self.api_keys[0]

    @property
    def faults(self) -> FaultInjector:
        """The fault injector (its ``fired`` counts the faults that fired)."""
        return self._state.faults

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_port)

    def start(self) -> Sandbox:
        """Start the workers and the HTTP server; returns once connections are accepted."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.worker.start()
        self.agent.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and the workers; in-flight runs resume when restarted on the same db."""
        if self._stopped:
            return
        self._stopped = True
        self.hub.close()  # ends every thread stream, so no request thread outlives the server
        self._server.shutdown()
        self._server.server_close()
        self.worker.stop()
        self.agent.stop()
        self.store.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<migkit sandbox {self.base_url} db={self.db_path}>"
