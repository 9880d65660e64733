"""The leader feed's schedule and failure handling, on a fake source and the fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal as D

import pytest

from polytui.core.clock import FakeClock
from polytui.strategies.copytrade import (
    FeedParams,
    LeaderDelta,
    LeaderFeed,
    LeaderFill,
    LeaderParams,
    LeaderScore,
    LeaderSnapshot,
    ScoreParams,
)
from polytui.strategies.copytrade.source import LeaderHolding
from tests.strategies.copytrade.helpers import ASSET, COND, LEADER, OTHER_LEADER, T0, fill


class FakeSource:
    """Answers what ``visible`` holds, stamped with the time it was read, as a poller does."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.visible: dict[str, list[LeaderFill]] = {LEADER: [], OTHER_LEADER: []}
        self.failing: set[str] = set()
        self.asked: list[tuple[str, int | None]] = []
        self.holdings_of: dict[str, list[LeaderHolding]] = {}

    def _check(self, leader: str) -> None:
        if leader in self.failing:
            raise ConnectionError("venue down")

    async def fills(self, leader: str, since_ms: int | None) -> list[LeaderFill]:
        self._check(leader)
        self.asked.append((leader, since_ms))
        now = self.clock.now_ms()
        return [
            dataclasses.replace(f, seen_ms=now)
            for f in self.visible[leader]
            if since_ms is None or f.ts_ms >= since_ms
        ]

    async def holdings(self, leader: str) -> list[LeaderHolding]:
        self._check(leader)
        return self.holdings_of.get(leader, [])

    async def value(self, leader: str) -> D:
        self._check(leader)
        return D(1000)


PARAMS = FeedParams(poll_ms=2000, lookback_ms=60_000, window_ms=3000, resync_ms=10_000,
                    score_ms=30_000, score=ScoreParams(min_trades=1))  # fmt: skip


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
async def running():
    clock = FakeClock(T0 + 100_000)
    source = FakeSource(clock)
    items: list = []
    leaders = [LeaderParams(LEADER, "one", cash_usdc=D(500)), LeaderParams(OTHER_LEADER)]
    feed = LeaderFeed(source, leaders, PARAMS, clock, items.append)
    task = asyncio.create_task(feed.run())
    await settle()
    yield clock, source, feed, items
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def advance(clock: FakeClock, ms: int, step: int = 500) -> None:
    for _ in range(ms // step):
        clock.advance(step)
        await settle()


async def test_priming_first_then_polls_on_the_cadence(running) -> None:
    clock, source, feed, items = running
    assert [type(i) for i in items] == [LeaderSnapshot, LeaderScore] * 2
    snapshot = items[0]
    assert snapshot.cash == D(500) and not snapshot.cash_estimated and snapshot.bankroll == 1500
    assert items[2].cash_estimated  # no cash configured: estimated
    assert [since for _, since in source.asked] == [T0 + 100_000 - PARAMS.history_ms] * 2
    source.asked.clear()
    await advance(clock, 1500)
    assert source.asked == []
    await advance(clock, 500)
    assert source.asked == [(LEADER, T0 + 40_000), (OTHER_LEADER, T0 + 40_000)]
    await advance(clock, 4000)
    assert len(source.asked) == 6


async def test_a_window_closes_between_polls(running) -> None:
    clock, source, feed, items = running
    source.visible[LEADER].append(fill(101, size=10))
    await advance(clock, 2000)  # the poll sees it: the window opens at T0 + 102 s
    assert feed.aggregator.open_for(LEADER) == 1
    await advance(clock, 2500)
    assert not [i for i in items if isinstance(i, LeaderDelta)]
    await advance(clock, 500)  # T0 + 105 s, between the polls at 104 s and 106 s
    (delta,) = [i for i in items if isinstance(i, LeaderDelta)]
    assert delta.closed_ms == T0 + 105_000 and delta.net == D(10)
    assert delta.seen_ms == T0 + 102_000
    assert feed.kpis()[LEADER]["index_lag_ms"]["p50"] == 1000


async def test_resync_and_rescore_on_their_schedules(running) -> None:
    clock, source, feed, items = running
    source.holdings_of[LEADER] = [LeaderHolding(ASSET, COND, D(40), D("0.5"))]
    await advance(clock, 10_000)
    snapshots = [i for i in items if isinstance(i, LeaderSnapshot) and i.leader == LEADER]
    assert len(snapshots) == 2 and snapshots[-1].drift == {ASSET: (0, D(40))}
    await advance(clock, 10_000)
    assert feed.positions(LEADER) == {ASSET: D(40)}  # the same drift twice: rebased
    scores = [i for i in items if isinstance(i, LeaderScore) and i.leader == LEADER]
    assert len(scores) == 1
    await advance(clock, 10_000)
    scores = [i for i in items if isinstance(i, LeaderScore) and i.leader == LEADER]
    assert len(scores) == 2


async def test_a_failing_leader_does_not_stop_the_others() -> None:
    clock = FakeClock(T0 + 100_000)
    source, items = FakeSource(clock), []
    source.failing.add(LEADER)
    feed = LeaderFeed(source, [LeaderParams(LEADER), LeaderParams(OTHER_LEADER)], PARAMS, clock,
                      items.append)  # fmt: skip
    await feed.prime()
    kpis = feed.kpis()
    assert not kpis[LEADER]["primed"] and kpis[LEADER]["errors"] == 1
    assert "ConnectionError: venue down" in kpis[LEADER]["last_error"]
    assert kpis[OTHER_LEADER]["primed"]
    source.visible[OTHER_LEADER].append(fill(101, leader=OTHER_LEADER))
    source.visible[LEADER].append(fill(50))  # history by the time it is primed
    clock.advance(2000)
    await feed.poll()
    assert feed.kpis()[OTHER_LEADER]["fills"] == 1
    source.failing.clear()
    source.asked.clear()
    await feed.poll()  # primes the leader that failed; its history is not delivered
    assert source.asked[0] == (LEADER, T0 + 102_000 - PARAMS.history_ms)
    assert feed.kpis()[LEADER]["primed"] and feed.kpis()[LEADER]["fills"] == 0
    source.failing.add(OTHER_LEADER)
    await feed.poll()
    assert feed.kpis()[OTHER_LEADER]["errors"] == 1
