"""``migkit.Client``: the Vern Migration API (Generation 1, "companies") from Python.

>>> import migkit
>>> client = migkit.Client(api_key="sk_example", base_url="http://127.0.0.1:8787/api/v1",
...                        ledger=None)
>>> client
Client(base_url='http://127.0.0.1:8787/api/v1', api_key=<hidden>, ledger=None)
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from migkit._http import DEFAULT_BASE_URL, RequestBudget, ResponseLimits, RetryPolicy, Transport
from migkit.errors import ConfigurationError
from migkit.ledger import Ledger, NullLedger, default_path, fingerprint
from migkit.migration_models import MigrationRun
from migkit.models import Run
from migkit.polling import PollSchedule
from migkit.resources._base import ClientCore
from migkit.resources.catalog import Sources, Templates
from migkit.resources.companies import Companies
from migkit.resources.exports import Exports
from migkit.resources.imports import Imports
from migkit.resources.migrations import Migrations
from migkit.resources.uploads import Uploads

DEFAULT = "default"


def _dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        values[name.strip()] = value.strip().strip("'\"")
    return values


def _setting(name: str, given: str | None) -> str | None:
    # The argument, else the environment variable, else the line in ./.env.
    return given or os.environ.get(name) or _dotenv(Path.cwd() / ".env").get(name)


def resolve_api_key(api_key: str | None) -> str:
    """The key from the argument, else ``VERN_API_KEY``, else ``.env`` in the working dir.

    A key that cannot go in an HTTP header (a space inside, a control or non-ASCII
    character, often from a bad copy) is a :class:`ConfigurationError` that shows where, never
    the key.
    """
    key = _setting("VERN_API_KEY", api_key)
    if not key:
        raise ConfigurationError(
            "No Vern API key: pass Client(api_key=...), set the VERN_API_KEY environment "
            f"variable, or add a line VERN_API_KEY=... to {Path.cwd() / '.env'}. Create keys in "
            "the dashboard under Settings > API keys."
        )
    key = key.strip()
    for position, char in enumerate(key, start=1):
        if "!" <= char <= "~":  # printable ASCII without the space: what a header value takes
            continue
        kind = (
            "a space"
            if char.isspace() and char.isascii()
            else "a control character"
            if ord(char) < 0x20 or ord(char) == 0x7F
            else "a non-ASCII character"
        )
        raise ConfigurationError(
            f"The API key has {kind} at position {position} of {len(key)}, which cannot be "
            "sent in an HTTP header. Copy the key again from the dashboard (Settings > API "
            "keys), without quotes, spaces or line breaks."
        )
    return key


def resolve_base_url(base_url: str | None) -> str:
    """The base URL from the argument, else ``VERN_BASE_URL``, else ``.env`` in the working
    dir (like the key), else the real service."""
    return _setting("VERN_BASE_URL", base_url) or DEFAULT_BASE_URL


class Client:
    """A client for one API key.

    The key comes from ``api_key``, else ``VERN_API_KEY``, else a ``.env`` file in the working
    directory; it never appears in a repr, message or URL. ``base_url`` defaults to
    ``VERN_BASE_URL`` (from the environment or ``.env``) or ``https://app.vern.so/api/v1``.
    ``limits`` caps what a server's answers may cost (deadlines, sizes: see
    :class:`~migkit.ResponseLimits`). ``ledger`` is where submitted runs
    are recorded (``"default"`` under the user's data directory, a path, or ``None`` to
    turn it off). ``rate_limit`` is the client-side budget: requests per route per minute,
    a :class:`~migkit.RequestBudget` (to share one between clients or set its window), or
    ``None`` for no client-side limit.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | tuple[float, float] = (10.0, 120.0),
        ledger: Ledger | str | Path | None = DEFAULT,
        retry: RetryPolicy | None = None,
        rate_limit: int | RequestBudget | None = 95,
        poll: PollSchedule | None = None,
        progress: bool = True,
        limits: ResponseLimits | None = None,
    ) -> None:
        key = resolve_api_key(api_key)
        url = resolve_base_url(base_url)
        budget = (
            rate_limit
            if isinstance(rate_limit, RequestBudget)
            else RequestBudget(limit=rate_limit)
            if rate_limit
            else None
        )
        self._transport = Transport(
            key,
            url,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            budget=budget,
            limits=limits,
        )
        if ledger == DEFAULT:
            ledger = Ledger(default_path())
        elif isinstance(ledger, str | Path):
            ledger = Ledger(ledger)
        self.ledger: Ledger | None = ledger
        account = fingerprint(key)
        self._core = ClientCore(
            transport=self._transport,
            ledger=ledger.scoped(account, self._transport.base_url) if ledger else NullLedger(),
            account=account,
            schedule=poll or PollSchedule(),
            progress=progress,
        )
        self.sources = Sources(self._core)
        self.templates = Templates(self._core)
        self.companies = Companies(self._core)
        self.uploads = Uploads(self._core)
        self.imports = Imports(self._core, self.uploads)
        self.exports = Exports(self._core)
        self.migrations = Migrations(self._core)

    @property
    def base_url(self) -> str:
        """The API base URL this client talks to."""
        return self._transport.base_url

    @property
    def requests_sent(self) -> int:
        """HTTP requests this client has sent, every retry included (each attempt is counted
        as it goes out, whatever came of it)."""
        return self._transport.requests_sent

    def recover(self) -> list[Run | MigrationRun]:
        """Unfinished runs of both generations this machine started (after a crash or a
        kernel restart): Generation 1's imports (``client.imports.recover()``), then
        Generation 2's runs (``client.migrations.recover()``), each in its current state.

        >>> for run in client.recover():  # doctest: +SKIP
        ...     run.wait()
        """
        found: list[Run | MigrationRun] = [*self.imports.recover()]
        found += self.migrations.recover()
        return found

    def __repr__(self) -> str:
        ledger = str(self.ledger.path) if self.ledger else None
        return f"Client(base_url={self.base_url!r}, api_key=<hidden>, ledger={ledger!r})"

    def close(self) -> None:
        """Close connection pools."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
