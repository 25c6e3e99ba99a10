"""Polling and the request budget on a fake clock: intervals, timeouts, pacing, missed polls.

No sockets and no real time: a simulated run ends at a chosen second, and ``wait_for`` /
``wait_many`` / ``RequestBudget`` sleep on a clock that moves only when they sleep.
"""

from __future__ import annotations

import itertools
import warnings
from collections import deque
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import migkit
from migkit.polling import MissedPolls, PollEvent, PollSchedule, wait_for, wait_many
from migkit.statuses import IMPORT_STATUSES, TERMINAL, WAITING
from tests.fleet import peak_in_window
from tests.stub_transport import FakeClock

SCHEDULE = PollSchedule(first=2.0, growth=0.1, cap=30.0, jitter=0)


@dataclass(frozen=True)
class FakeRun:
    """A run as polled: what :class:`~migkit.polling.Pollable` asks for."""

    id: str
    status: str

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def waiting(self) -> bool:
        return self.status in WAITING

    @property
    def known(self) -> bool:
        return self.status in IMPORT_STATUSES


class Server:
    """Runs that each end (``completed``) at a given second of the fake clock; every poll is
    recorded with its time."""

    def __init__(self, clock: FakeClock, ends: dict[str, float], final: str = "completed"):
        self.clock = clock
        self.ends = ends
        self.final = final
        self.polls: list[tuple[float, str]] = []

    def poll(self, run: FakeRun) -> FakeRun:
        self.polls.append((self.clock.now, run.id))
        ended = self.clock.now >= self.ends[run.id]
        return FakeRun(run.id, self.final if ended else "running")


def test_wait_for_polls_at_the_schedules_intervals_until_the_run_ends() -> None:
    clock = FakeClock()
    server = Server(clock, {"r": 100.0})
    run = FakeRun("r", "queued")
    done = wait_for(lambda: server.poll(run), schedule=SCHEDULE, clock=clock, sleep=clock.sleep)
    assert done.status == "completed"
    times = [t for t, _ in server.polls]
    # each wait is the schedule's interval for the run's age at that poll
    assert clock.slept == [SCHEDULE.interval(t) for t in times[:-1]]
    assert times[-1] >= 100.0 and times[-2] < 100.0
    assert times[-1] - 100.0 <= SCHEDULE.interval(times[-2])  # seen within one interval
    assert len(times) < 100 / SCHEDULE.first  # fewer polls than a fixed 2 s poller


def test_wait_for_raises_wait_timeout_before_a_poll_past_the_timeout() -> None:
    clock = FakeClock()
    server = Server(clock, {"r": 1e9})
    with pytest.raises(migkit.WaitTimeout) as caught:
        wait_for(
            lambda: server.poll(FakeRun("r", "running")),
            schedule=SCHEDULE,
            timeout=30.0,
            clock=clock,
            sleep=clock.sleep,
        )
    assert caught.value.run_status == caught.value.status == "running"
    assert isinstance(caught.value, migkit.RunError) and caught.value.run_id == "r"
    assert caught.value.waited <= 30.0
    assert all(t <= 30.0 for t, _ in server.polls)


def test_wait_for_stops_at_a_waiting_run_unless_asked_to_go_on() -> None:
    clock = FakeClock()
    server = Server(clock, {"r": 10.0}, final="needs_attention")
    run = FakeRun("r", "queued")
    fetch = lambda: server.poll(run)  # noqa: E731
    assert wait_for(fetch, schedule=SCHEDULE, clock=clock, sleep=clock.sleep).waiting
    with pytest.raises(migkit.WaitTimeout):
        wait_for(
            fetch,
            schedule=SCHEDULE,
            stop_on_attention=False,
            timeout=60,
            clock=clock,
            sleep=clock.sleep,
        )


def test_an_unknown_status_ends_the_wait_with_a_warning() -> None:
    clock = FakeClock()
    with pytest.warns(migkit.MigkitWarning, match="'paused'"):
        run = wait_for(
            lambda: FakeRun("r", "paused"), schedule=SCHEDULE, clock=clock, sleep=clock.sleep
        )
    assert run.status == "paused" and clock.slept == []


def test_the_progress_hook_sees_every_poll_and_the_next_wait() -> None:
    clock = FakeClock()
    server = Server(clock, {"r": 5.0})
    events: list[PollEvent[FakeRun]] = []
    wait_for(
        lambda: server.poll(FakeRun("r", "queued")),
        schedule=SCHEDULE,
        on_progress=events.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [e.polls for e in events] == list(range(1, len(server.polls) + 1))
    assert [e.next_poll_in for e in events[:-1]] == clock.slept
    assert events[-1].next_poll_in is None and events[-1].run.done


# -- many runs -------------------------------------------------------------------------------------
def test_wait_many_staggers_first_polls_and_keeps_each_run_to_its_fair_share() -> None:
    clock = FakeClock()
    runs = [FakeRun(f"r{n:02d}", "queued") for n in range(50)]
    server = Server(clock, {r.id: 120.0 for r in runs})
    done = wait_many(
        runs, server.poll, schedule=SCHEDULE, per_minute=60, clock=clock, sleep=clock.sleep
    )
    assert [r.status for r in done] == ["completed"] * 50
    assert [r.id for r in done] == [r.id for r in runs]  # the input order
    first = {}
    for t, rid in server.polls:
        first.setdefault(rid, t)
    assert sorted(first.values()) == [float(n) for n in range(50)]  # one second apart
    by_run: dict[str, list[float]] = {}
    for t, rid in server.polls:
        by_run.setdefault(rid, []).append(t)
    for times in by_run.values():  # with 50 pending runs, a run's share is 1 poll per 50 s
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(g >= 2.0 for g in gaps)


def test_wait_many_stays_within_the_per_minute_budget_in_every_window() -> None:
    clock = FakeClock()
    runs = [FakeRun(f"r{n:02d}", "queued") for n in range(40)]
    server = Server(clock, {r.id: 30.0 + n * 7 for n, r in enumerate(runs)})
    wait_many(runs, server.poll, schedule=SCHEDULE, per_minute=30, clock=clock, sleep=clock.sleep)
    assert peak_in_window([t for t, _ in server.polls], 60.0) <= 30 + 1


def test_wait_many_times_out_on_the_slowest_run() -> None:
    clock = FakeClock()
    runs = [FakeRun("fast", "queued"), FakeRun("slow", "queued")]
    server = Server(clock, {"fast": 5.0, "slow": 1e9})
    with pytest.raises(migkit.WaitTimeout) as caught:
        wait_many(runs, server.poll, schedule=SCHEDULE, timeout=60, clock=clock, sleep=clock.sleep)
    assert caught.value.run_id == "slow"


def test_missed_polls_are_no_news_up_to_the_limit() -> None:
    failures = deque([migkit.ServerError(503, "busy")] * 3)

    def flaky(run: FakeRun) -> FakeRun:
        if failures:
            raise failures.popleft()
        return FakeRun(run.id, "completed")

    polls = MissedPolls(flaky, limit=3)
    run = FakeRun("r", "running")
    for missed in (1, 2, 3):
        assert polls(run) is run
        assert f"failed polls: {missed} of 3" in polls.problems["r"]
    assert polls(run).status == "completed" and "r" not in polls.problems
    failures.extend([migkit.ServerError(503, "busy")] * 4)
    with pytest.raises(migkit.ServerError):
        for _ in range(4):
            polls(run)


# -- the request budget ----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 8),
    window=st.sampled_from([1.0, 10.0, 60.0]),
    gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=60),
)
def test_the_budget_never_lets_more_than_its_limit_into_a_window(
    limit: int, window: float, gaps: list[float]
) -> None:
    clock = FakeClock()
    budget = migkit.RequestBudget(limit, window, margin=0.0, clock=clock, sleep=clock.sleep)
    sent = []
    for gap in gaps:
        clock.now += gap  # the caller's own pace
        budget.acquire("GET /x")
        sent.append(clock.now)
    assert peak_in_window(sent, window) <= limit


def test_a_slot_freed_at_a_float_rounded_instant_is_still_taken() -> None:
    # Found by the property above: after waiting exactly until the oldest hit left, the
    # window test (now - window) kept the hit by one unit of rounding while the wait said it
    # was over, so the request went out without a slot and the next one got in with it.
    clock = FakeClock()
    budget = migkit.RequestBudget(1, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    clock.now = 1.7514428730185063
    sent = []
    for _ in range(4):
        budget.acquire("GET /x")
        sent.append(clock.now)
    assert peak_in_window(sent, 10.0) == 1


def test_the_budget_waits_only_as_long_as_the_window_needs() -> None:
    clock = FakeClock()
    budget = migkit.RequestBudget(limit=3, window=60, margin=0.25, clock=clock, sleep=clock.sleep)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        waits = [budget.acquire("GET /x") for _ in range(4)]
    assert waits == [0.0, 0.0, 0.0, 60.25]
    assert budget.per_minute == 3
