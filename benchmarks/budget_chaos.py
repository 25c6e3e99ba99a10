"""The request budget under faults, at full scale: 50 concurrent imports, ``chaos`` profile.

Not a test: it prints numbers and asserts nothing (``tests/chaos/test_client_budget_chaos.py``
checks the same properties with a budget scaled to seconds).
Run: ``.venv/bin/python benchmarks/budget_chaos.py [--imports 50] [--threads 25]``

One ``migkit.Client`` with its default budget (95 requests per route per minute) and poll
schedule, and a retry policy with short waits (0.1 s doubling to 2 s, so the run takes minutes,
not the hour the default 30 s cap could take under these rates), creates 50 companies and one
import each (every fourth an uploaded file) from 25 threads, then watches them with
``imports.wait_all``. The sandbox injects the ``chaos`` profile: every request fault (500
before and after the handler commits, 429 bursts, dropped connections before and after, slow
answers) at 15%, and runs retried or failed at 15%. Its server-side rate limit is off, so
every 429 is an injected one.

Printed, from the sandbox's own count of the requests it received (``tests/fleet.py``
notes each request as it arrives): per route, the requests and the most in any 60 s window,
against the budget; then the client's ``requests_sent`` against the server's total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fleet: the scenario the test runs at a smaller scale

import migkit  # noqa: E402
import migkit.sandbox  # noqa: E402
from tests.fleet import RequestLog, peak_in_window, run_fleet  # noqa: E402

KEY = "sk_bench_budget_chaos_0123456789"
RETRY = migkit.RetryPolicy(backoff_start=0.1, backoff_cap=2.0, jitter=0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--imports", type=int, default=50)
    parser.add_argument("--threads", type=int, default=25)
    parser.add_argument("--faults", default="chaos,seed=13")
    args = parser.parse_args()
    budget = migkit.RequestBudget()  # the default: 95 per route per 60 s
    with (
        tempfile.TemporaryDirectory() as tmp,
        migkit.sandbox.start(
            api_key=KEY, faults=args.faults, step_seconds=0.05, rate_limit=100_000, workers=8
        ) as sb,
    ):
        log = RequestLog.attach(sb)
        client = migkit.Client(
            KEY, sb.base_url, ledger=Path(tmp) / "ledger.db", retry=RETRY, progress=False,
            rate_limit=budget,
        )  # fmt: skip
        fleet = run_fleet(client, Path(tmp) / "files", imports=args.imports, threads=args.threads)
        sent = client.requests_sent
        client.close()
        routes = log.by_route()
        received = len(log)

    print(
        f"{args.imports} imports from {args.threads} threads under faults {args.faults!r}: "
        f"{fleet.seconds:.0f} s ({fleet.launch_seconds:.0f} s to launch); run statuses "
        f"{dict(fleet.statuses)}; calls that raised to the script: {len(fleet.escaped)}"
    )
    print(f"client budget: {budget.limit} requests per route per {budget.window:g} s\n")
    header = f"  {'route (as the sandbox matched it)':<55} {'requests':>9} {'peak/60 s':>10}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for route, times in sorted(routes.items()):
        peak = peak_in_window(times, 60.0)
        mark = "ok" if peak <= budget.limit else "OVER"
        print(f"  {route:<55} {len(times):>9} {peak:>10}  {mark}")
    print(f"\n  client requests_sent: {sent}; sandbox received: {received}")
    print(f"  equal: {sent == received}")
    for line in fleet.escaped:
        print("  raised: " + line.splitlines()[-1][:200])


if __name__ == "__main__":
    main()
