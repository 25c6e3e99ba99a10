"""Shared fixtures: a real sandbox over HTTP on loopback, and accounts to drive it.

The session sandbox runs fast steps (``step_seconds=0.01``) and a high rate limit so tests do
not trip it by accident; tests about rate limits or faults start their own sandbox. Helpers
the test modules share live in ``helpers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import migkit.sandbox
from migkit.sandbox import Sandbox
from tests.helpers import SAMPLES, Api


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


@pytest.fixture(scope="module")
def slow_api() -> Iterator[Api]:
    """A dedicated sandbox per module whose runs take about a second, one at a time (one
    worker)."""
    with migkit.sandbox.start(step_seconds=0.2, workers=1, rate_limit=100_000) as sb:
        yield Api(sb.base_url, sb.api_key)


@pytest.fixture
def samples() -> Path:
    return SAMPLES
