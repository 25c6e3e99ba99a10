"""Waiting for a long Generation-2 run: requests per migration with the thread stream, a fixed
2 s poller and migkit's adaptive polling, side by side; and how soon a streamed event arrives
after the sandbox writes it.

Not a test: it prints numbers and asserts nothing.
Run: ``.venv/bin/python benchmarks/gen2_stream.py [--seconds 60] [--migrations 3]``

One sandbox whose agent takes ``seconds / 5`` per step (a generate is five steps, so each run
lasts about ``--seconds``). For each way of waiting, its own client (own request counter)
creates ``--migrations`` migrations, uploads a small CSV and waits for ``generate`` with:

- ``stream``: ``client.migrations.wait(run)`` (the default: the thread stream, a poll only on
  an event that may end the run);
- ``poll 2s``: ``wait(run, stream=False)`` with ``PollSchedule(first=2, growth=0, cap=2)``, the
  "about every 2 s" the docs describe;
- ``adaptive``: ``wait(run, stream=False)`` with migkit's default schedule (``max(2 s, age/10)``
  up to 30 s).

Printed: requests per migration spent waiting (the requests of the wait call only), their rate
per 10 minutes of run, and the ratio to the 2 s poller. Per-10-minute figures: the pollers'
counts grow with the run's length and are scaled from the measured run (the adaptive one by its
schedule, whose intervals grow with age); the stream's do not grow (one connection, heartbeats
are not requests), so its measured count is its count for any length. ``--seconds 600`` measures
a full 10-minute run instead.

Latency: a separate run followed with ``client.migrations.stream``; for every event, the time
between the event's ``created_at`` (the sandbox's clock, the same machine) and the moment the
iterator yields it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import migkit  # noqa: E402
import migkit.sandbox  # noqa: E402
from tests.helpers_client_gen2 import clean_contacts  # noqa: E402

KEY = "sk_bench_gen2_stream_0123456789"
STEPS = 5  # a generate run's steps in the sandbox agent
WAYS = {
    "stream": (None, True),
    "poll 2s": (migkit.PollSchedule(first=2.0, growth=0.0, cap=2.0, jitter=0.0), False),
    "adaptive": (migkit.PollSchedule(), False),
}


def polls_in(schedule: migkit.PollSchedule, seconds: float) -> int:
    """How many polls ``schedule`` makes over a run of ``seconds`` (no jitter)."""
    age, polls = 0.0, 1
    while age < seconds:
        age += min(schedule.cap, max(schedule.first, age * schedule.growth))
        polls += 1
    return polls


def wait_requests(base_url: str, way: str, migrations: int) -> tuple[float, float]:
    """Requests per migration spent in ``wait``, and the mean run length seen."""
    schedule, stream = WAYS[way]
    options = {"poll": schedule} if schedule else {}
    with migkit.Client(KEY, base_url, ledger=None, progress=False, **options) as client:
        runs = []
        for n in range(migrations):
            m = client.migrations.create(
                f"{way} {n}", external_id=f"bench-{way.replace(' ', '')}-{n}"
            )
            client.migrations.upload(m, {"contacts.csv": clean_contacts(f"{way}{n}")})
            runs.append(client.migrations.generate(m))
        before = client.requests_sent
        started = time.monotonic()

        def wait(run: migkit.migration_models.MigrationRun) -> float:
            client.migrations.wait(run, stream=stream)
            return time.monotonic() - started

        with ThreadPoolExecutor(migrations) as pool:
            lengths = list(pool.map(wait, runs))
        return (client.requests_sent - before) / migrations, statistics.mean(lengths)


def latencies(base_url: str) -> list[float]:
    """Seconds from each event's ``created_at`` to the stream yielding it, for one run."""
    seen: list[float] = []
    with migkit.Client(KEY, base_url, ledger=None, progress=False) as client:
        m = client.migrations.create("latency", external_id="bench-latency")
        client.migrations.upload(m, {"contacts.csv": clean_contacts("latency")})
        done = threading.Event()

        def follow() -> None:
            for event in client.migrations.stream(m, include="all"):
                now = time.time()
                written = datetime.fromisoformat((event.created_at or "").replace("Z", "+00:00"))
                seen.append(now - written.timestamp())
                if event.type == "completed":
                    done.set()
                    return

        threading.Thread(target=follow, daemon=True).start()
        time.sleep(0.5)  # the stream is open and idle before the run writes anything
        client.migrations.generate(m)
        done.wait(600)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--migrations", type=int, default=3, help="migrations per way")
    args = parser.parse_args()
    step = args.seconds / STEPS
    with migkit.sandbox.start(
        api_key=KEY, step_seconds=step, rate_limit=100_000, workers=3 * args.migrations
    ) as sb:
        results: dict[str, tuple[float, float]] = {}
        with ThreadPoolExecutor(len(WAYS)) as pool:
            futures = {w: pool.submit(wait_requests, sb.base_url, w, args.migrations) for w in WAYS}
            results = {w: f.result() for w, f in futures.items()}
    with migkit.sandbox.start(api_key=KEY, step_seconds=0.2, rate_limit=100_000) as sb:
        lags = latencies(sb.base_url)

    print(f"runs of about {args.seconds:.0f} s, {args.migrations} migrations per way")
    per10: dict[str, float] = {}
    for way, (requests, length) in results.items():
        schedule, stream = WAYS[way]
        if stream:
            per10[way] = requests
        else:
            assert schedule is not None
            per10[way] = requests * polls_in(schedule, 600) / max(polls_in(schedule, length), 1)
    base = per10["poll 2s"]
    print(f"{'way':10} {'requests/migration':>19} {'per 10 min of run':>18} {'vs poll 2s':>11}")
    for way, (requests, _) in results.items():
        print(f"{way:10} {requests:19.1f} {per10[way]:18.1f} {base / per10[way]:10.1f}x")
    print(
        f"stream latency over {len(lags)} events: first {lags[0] * 1000:.0f} ms, median "
        f"{statistics.median(lags) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
