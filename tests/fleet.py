"""A fleet of concurrent imports through one client, with the sandbox counting what it receives.

:class:`RequestLog` wraps a running sandbox's WSGI app (in process, nothing added to the
sandbox itself): every request that reaches the server is noted, as it arrives, with its route
(the Flask rule it matches, ``GET /api/v1/companies/<company_id>``) and the time. That is the
server's own count, to hold against the client's ``requests_sent`` and its request budget.

:func:`run_fleet` is the scenario shared by ``tests/chaos/test_client_budget_chaos.py`` (a scaled
budget, seconds) and ``benchmarks/budget_chaos.py`` (the default budget, minutes): one company
per import (a company has one active import at a time), created and imported from several
threads sharing one client, every fourth import an uploaded file, then all watched with
``client.imports.wait_all``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException

import migkit
from migkit.sandbox import Sandbox
from tests.helpers import CONTACTS, csv_bytes

FILE_EVERY = 4


class RequestLog:
    """A WSGI middleware noting every request the sandbox receives: ``(time, route)``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._flask = app
        while not hasattr(self._flask, "url_map"):  # the sandbox's own middleware wraps Flask
            self._flask = self._flask.app
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    @classmethod
    def attach(cls, sandbox: Sandbox) -> RequestLog:
        """Put a log in front of ``sandbox``'s app; requests from now on are noted."""
        server = sandbox._server
        log = cls(server.app)
        server.app = log
        return log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        route = self._route(environ)
        with self._lock:  # noted first: before faults, auth and the limiter see it
            self.arrivals.append((time.monotonic(), route))
        return self.app(environ, start_response)

    def _route(self, environ: dict[str, Any]) -> str:
        method = environ.get("REQUEST_METHOD", "?")
        try:
            rule, _ = self._flask.url_map.bind_to_environ(environ).match(return_rule=True)
            return f"{method} {rule.rule}"
        except HTTPException:
            return f"{method} {environ.get('PATH_INFO', '?')}"

    def by_route(self) -> dict[str, list[float]]:
        """Arrival times per route."""
        with self._lock:
            routes: dict[str, list[float]] = {}
            for at, route in self.arrivals:
                routes.setdefault(route, []).append(at)
            return routes

    def __len__(self) -> int:
        with self._lock:
            return len(self.arrivals)


def peak_in_window(times: Iterable[float], window: float) -> int:
    """The most of ``times`` in any half-open window ``(t - window, t]`` (the limiters' rule;
    two times exactly a window apart, up to float rounding, fall in different windows)."""
    ordered = sorted(times)
    peak, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window + 1e-9:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


@dataclass
class Fleet:
    """What a fleet run did: the runs it watched to the end, and every exception that reached
    a script (with its traceback)."""

    runs: list[migkit.Run] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    launch_seconds: float = 0.0  # creating the companies and imports, before wait_all

    @property
    def statuses(self) -> Counter[str]:
        return Counter(run.status for run in self.runs)


def rows(tag: str, count: int = 3) -> list[dict[str, str]]:
    """Clean Contacts rows with emails unique to ``tag``."""
    return [
        {
            "Email": f"{tag}-{n}@fleet.example",
            "First Name": "Fleet",
            "Last Name": tag,
            "Phone": "+1 555 0100",
            "Status": "Open",
            "Account": "Acme",
        }
        for n in range(count)
    ]


def run_fleet(client: migkit.Client, folder: Path, imports: int = 50, threads: int = 10) -> Fleet:
    """``imports`` companies, one import each, from ``threads`` threads on ``client``, then
    ``wait_all``. A script whose call raises notes it and goes on to the next company."""
    fleet = Fleet()
    source = client.sources.get("Spreadsheet").id
    template = str(client.templates.get("Contacts").id)
    lock = threading.Lock()
    started: list[migkit.Run] = []

    def launch(number: int) -> None:
        tag = f"fleet-{number:03d}"
        try:
            company = client.companies.create(
                f"Fleet {number}", source, external_id=tag, templates=[template]
            )
            if number % FILE_EVERY == FILE_EVERY - 1:
                file = folder / tag / "contacts.csv"
                file.parent.mkdir(parents=True, exist_ok=True)
                table = [CONTACTS, *[[row[c] for c in CONTACTS] for row in rows(tag)]]
                file.write_bytes(csv_bytes(table))
                run = client.imports.create(company, files=[file])
            else:
                run = client.imports.create(company, rows=rows(tag))
        except migkit.MigkitError:
            with lock:
                fleet.escaped.append(f"{tag}:\n{traceback.format_exc()}")
            return
        with lock:
            started.append(run)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(launch, range(imports)))
    fleet.launch_seconds = time.monotonic() - start
    try:
        fleet.runs = client.imports.wait_all(started)
    except migkit.MigkitError:
        fleet.escaped.append(f"wait_all:\n{traceback.format_exc()}")
    fleet.seconds = time.monotonic() - start
    return fleet
