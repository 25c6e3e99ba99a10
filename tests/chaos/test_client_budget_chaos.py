"""The request budget and the request counter hold under faults: what the sandbox receives.

50 concurrent imports (50 companies, created and imported from 25 threads on one client, every
fourth import an uploaded file) run against a sandbox injecting the ``chaos`` fault profile:
500s before and after the handler commits, 429 bursts, connections dropped before and after,
slow answers, runs retried or failed. The sandbox notes every request it receives, as it
arrives (``tests/fleet.py``), and that count is the truth:

- per route, the requests the server received in any window of the budget are at most the
  budget's limit, retries included (they pass the budget like first attempts);
- the client's ``requests_sent`` equals the number of requests the server received: every
  attempt is counted where it is sent, none twice, none missed.

The budget is scaled down (30 per 2 s instead of 95 per minute) so the test takes seconds;
``benchmarks/budget_chaos.py`` runs the same fleet with the default budget and prints the
numbers per route and minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import migkit
import migkit.sandbox
from tests.fleet import RequestLog, peak_in_window, run_fleet

KEY = "sk_test_budget_chaos_0123456789"
LIMIT, WINDOW = 30, 2.0
# The budget counts a request when it lets it go, the server when it arrives. The margin
# covers the difference, which on a loaded two-core machine (threads waiting for the GIL
# between the two) can pass the default quarter second.
MARGIN = 0.5
RETRY = migkit.RetryPolicy(attempts=8, backoff_start=0.02, backoff_cap=0.1, jitter=0.02)
POLL = migkit.PollSchedule(first=0.2, growth=0.0, cap=0.5, jitter=0)

pytestmark = pytest.mark.timeout(240)


def test_under_chaos_the_server_sees_the_budget_and_the_clients_count(tmp_path: Path) -> None:
    faults = "chaos,slow_seconds=0.3,seed=13"
    with migkit.sandbox.start(
        api_key=KEY, faults=faults, step_seconds=0.01, rate_limit=100_000, workers=8
    ) as sb:
        log = RequestLog.attach(sb)
        client = migkit.Client(
            KEY,
            sb.base_url,
            ledger=tmp_path / "ledger.db",
            retry=RETRY,
            poll=POLL,
            progress=False,
            rate_limit=migkit.RequestBudget(limit=LIMIT, window=WINDOW, margin=MARGIN),
        )
        fleet = run_fleet(client, tmp_path / "files", imports=50, threads=25)
        sent = client.requests_sent
        client.close()
        received = len(log)
        routes = log.by_route()

    print(
        f"\n[budget under chaos] {fleet.seconds:.1f} s ({fleet.launch_seconds:.1f} s to launch), "
        f"statuses {dict(fleet.statuses)}"
    )
    print(f"  escaped: {[e.splitlines()[-1][:160] for e in fleet.escaped]}")
    for route, times in sorted(routes.items()):
        print(f"  {route:<55} {len(times):>5}  peak {peak_in_window(times, WINDOW)}/{WINDOW:g}s")
    print(f"  client requests_sent {sent}, server received {received}")

    # Every import was started and watched to its end, or its script saw why not (at chaos
    # rates a signed upload can lose all its fresh URLs; the chaos suite checks "never lost").
    assert len(fleet.runs) + len(fleet.escaped) == 50
    assert all(run.done for run in fleet.runs), fleet.statuses
    assert sent == received
    over = {r: peak_in_window(t, WINDOW) for r, t in routes.items()}
    assert all(peak <= LIMIT for peak in over.values()), over
    # the faults were there, and the budget was what held the pace
    assert max(over.values()) == LIMIT
    assert sent > 300
