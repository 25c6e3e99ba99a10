"""Shared fixtures: a real sandbox over HTTP on loopback, and accounts to drive it.

The session sandbox runs fast steps (``step_seconds=0.01``) and a high rate limit so tests do
not trip it by accident; tests about rate limits or faults start their own sandbox. Helpers
the test modules share live in ``helpers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import migkit
import migkit.sandbox
from migkit.sandbox import Sandbox
from tests.helpers import SAMPLES, Api
from tests.helpers_gen2 import Gen2
from tests.hostile import HostileServer

# Each suite folder carries a marker, so a run can pick or skip it (``-m "not browser"``).
SUITE_MARKERS = {
    "browser": ("browser", "slow"),
    "chaos": ("chaos", "slow"),
    "security": ("security",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of ``tests/browser``, ``tests/chaos`` and ``tests/security`` by folder."""
    for item in items:
        folder = item.path.parent.name
        for marker in SUITE_MARKERS.get(folder, ()):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the session: fast steps, generous rate limit, two accounts."""
    keys = [f"sk_test_{uuid.uuid4().hex}", f"sk_test_{uuid.uuid4().hex}"]
    with migkit.sandbox.start(api_key=keys, step_seconds=0.01, rate_limit=100_000) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    """The first account of the session sandbox."""
    return Api(sandbox.base_url, sandbox.api_keys[0])


@pytest.fixture
def other_api(sandbox: Sandbox) -> Api:
    """A second, isolated account of the same sandbox."""
    return Api(sandbox.base_url, sandbox.api_keys[1])


@pytest.fixture
def gen2(sandbox: Sandbox) -> Gen2:
    """The first account of the session sandbox, with the Generation-2 calls."""
    return Gen2(sandbox.base_url, sandbox.api_keys[0])


@pytest.fixture
def other_gen2(sandbox: Sandbox) -> Gen2:
    """The second, isolated account, with the Generation-2 calls."""
    return Gen2(sandbox.base_url, sandbox.api_keys[1])


@pytest.fixture(scope="module")
def slow_gen2() -> Iterator[Gen2]:
    """A dedicated sandbox per module whose runs take a second per step on one agent thread,
    so a test can catch a run queued or running even on a loaded machine (a generate takes
    five steps, an execute two)."""
    with migkit.sandbox.start(step_seconds=1.0, workers=1, rate_limit=100_000) as sb:
        yield Gen2(sb.base_url, sb.api_key)


@pytest.fixture(scope="module")
def slow_api() -> Iterator[Api]:
    """A dedicated sandbox per module whose runs take about a second, one at a time (one
    worker)."""
    with migkit.sandbox.start(step_seconds=0.2, workers=1, rate_limit=100_000) as sb:
        yield Api(sb.base_url, sb.api_key)


@pytest.fixture
def samples() -> Path:
    return SAMPLES


# -- migkit.Client over the sandbox ------------------------------------------------------------
TINY_POLL = migkit.PollSchedule(first=0.02, growth=0.0, cap=0.05, jitter=0)
_LEDGER_IN_TMP = object()


@pytest.fixture
def make_client(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., migkit.Client]]:
    """Build ``migkit.Client``s with a tiny poll schedule and no progress bars, closed at
    teardown. Defaults: the session sandbox's first account and ``tmp_path / "ledger.db"``;
    pass ``api_key``, ``base_url``, ``ledger`` (a path or ``None``) or any Client option."""
    made: list[migkit.Client] = []

    def make(
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        ledger: Any = _LEDGER_IN_TMP,
        **options: Any,
    ) -> migkit.Client:
        options.setdefault("poll", TINY_POLL)
        options.setdefault("progress", False)
        client = migkit.Client(
            api_key or sandbox.api_key,
            base_url or sandbox.base_url,
            ledger=tmp_path / "ledger.db" if ledger is _LEDGER_IN_TMP else ledger,
            **options,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., migkit.Client]) -> migkit.Client:
    """A client of the session sandbox's first account with a ledger in ``tmp_path``."""
    return make_client()


# -- a scripted hostile server on loopback -------------------------------------------------------
HOSTILE_KEY = "sk_test_hostile_0123456789abcdef"
FAST_RETRY = migkit.RetryPolicy(attempts=1, backoff_start=0.01, backoff_cap=0.05, jitter=0)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A :class:`~tests.hostile.HostileServer` for this test (script it with ``.on``)."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """A second server on another port: where a redirect points (it must see nothing)."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def hostile_client(
    hostile: HostileServer, tmp_path: Path
) -> Iterator[Callable[..., migkit.Client]]:
    """Build ``migkit.Client``s of the hostile server: one fast retry, tiny polls, no
    client-side limit, a ledger in ``tmp_path``; any Client option can be passed."""
    made: list[migkit.Client] = []

    def make(**options: Any) -> migkit.Client:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("poll", TINY_POLL)
        options.setdefault("progress", False)
        options.setdefault("rate_limit", None)
        options.setdefault("ledger", tmp_path / "ledger.db")
        client = migkit.Client(HOSTILE_KEY, hostile.base_url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


# -- engines (tests/test_scale_*.py) -----------------------------------------------------------
@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole test session (starting one takes seconds). In CI
    (``MIGKIT_CI=1``) a missing JRE or pyspark fails instead of skipping."""
    import os
    import shutil
    import sys

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("MIGKIT_CI"):
            pytest.fail("Spark tests need a JRE: .ci/run installs default-jre-headless")
        pytest.skip("no Java runtime for Spark")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this virtualenv's Python
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("migkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        # Tiny data: one partition per shuffle and per scan, no adaptive re-planning and no
        # code generation (compiling each query costs more than running it on a few rows).
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.files.openCostInBytes", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
