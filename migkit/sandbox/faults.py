"""Fault injection for the sandbox: profiles of request and run failures, off by default.

>>> FaultConfig.parse("flaky,slow=0.5").slow
0.5
>>> FaultConfig.parse("error_before=0.2").error_before
0.2
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field, fields, replace

REQUEST_FAULTS = ("error_before", "error_after", "burst_429", "slow", "drop_before", "drop_after")
RUN_FAULTS = ("run_retry", "run_fail")
# Streamed bodies (export.csv) only, and in no profile: each test or user asks for them by name.
STREAM_FAULTS = ("cut_stream", "short_stream")
# Aborts the whole process mid-run (as a native library hitting a bad file would): for tests of
# restart behaviour only, and in no profile.
CRASH_FAULTS = ("run_crash",)
RATED = REQUEST_FAULTS + RUN_FAULTS + STREAM_FAULTS + CRASH_FAULTS
# The fault an import run draws when claimed (the first that hits), recorded on the run so a
# resumed run plays it again.
RUN_FAULT_NAMES = (("crash", "run_crash"), ("fail", "run_fail"), ("retry", "run_retry"))

PROFILES: dict[str, dict[str, float]] = {
    "off": {},
    "flaky": {**{name: 0.05 for name in REQUEST_FAULTS}, "slow": 0.1},
    "chaos": {name: 0.15 for name in REQUEST_FAULTS + RUN_FAULTS},
    "slow": {"slow": 1.0},
    "runs": {"run_retry": 0.3, "run_fail": 0.1},
}


@dataclass(frozen=True)
class FaultConfig:
    """Rates (0–1) for each fault, plus the burst length, delay bound and random seed."""

    error_before: float = 0.0
    error_after: float = 0.0
    burst_429: float = 0.0
    slow: float = 0.0
    drop_before: float = 0.0
    drop_after: float = 0.0
    run_retry: float = 0.0
    run_fail: float = 0.0
    cut_stream: float = 0.0
    short_stream: float = 0.0
    run_crash: float = 0.0
    burst_length: int = 6
    slow_seconds: float = 1.5
    seed: int | None = None

    @property
    def active(self) -> bool:
        """True when any fault has a non-zero rate."""
        return any(getattr(self, name) > 0 for name in RATED)

    @classmethod
    def parse(cls, spec: str | None) -> FaultConfig:
        """Parse ``--faults``: profile names and ``name=value`` pairs, comma-separated."""
        config = cls()
        if not spec:
            return config
        names = {f.name for f in fields(cls)}
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if "=" not in part:
                if part not in PROFILES:
                    raise ValueError(
                        f"unknown fault profile {part!r}; choose one of {', '.join(PROFILES)} "
                        "or give name=rate pairs"
                    )
                config = replace(config, **PROFILES[part])  # type: ignore[arg-type]
                continue
            name, _, raw = part.partition("=")
            name = name.strip()
            if name not in names:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(names))}")
            try:
                value: float = int(raw) if name in ("burst_length", "seed") else float(raw)
            except ValueError:
                raise ValueError(f"fault {name} needs a number, got {raw!r}") from None
            if name in RATED and not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name}={raw} must be between 0 and 1")
            config = replace(config, **{name: value})  # type: ignore[arg-type]
        return config


@dataclass
class FaultInjector:
    """Draws faults for requests and runs; thread-safe and repeatable with a seed."""

    config: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._bursts: dict[str, int] = {}
        self.fired: Counter[str] = Counter()  # how many times each fault fired

    def hit(self, name: str) -> bool:
        """True with the configured probability of fault ``name``."""
        rate = float(getattr(self.config, name))
        if rate <= 0:
            return False
        with self._lock:
            fires = self._random.random() < rate
            if fires:
                self.fired[name] += 1
            return fires

    def delay(self) -> float:
        """Seconds to delay a slow response."""
        with self._lock:
            return self._random.uniform(0.2, max(0.2, self.config.slow_seconds))

    def in_burst(self, key: str) -> bool:
        """True while ``key`` is inside a 429 burst (starting one with ``burst_429``'s rate)."""
        with self._lock:
            left = self._bursts.get(key, 0)
            if left > 0:
                self._bursts[key] = left - 1
                return True
        if self.hit("burst_429"):
            with self._lock:
                self._bursts[key] = max(0, self.config.burst_length - 1)
            return True
        return False
