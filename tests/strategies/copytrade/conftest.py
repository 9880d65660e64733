"""Feed tests run against the in-process simulator's leaders, its clock held, through the real
Data API client on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from polytui.core.clock import SystemClock
from polytui.sim.leaders import Leader
from polytui.strategies.copytrade import (
    DataApiSource,
    FeedItem,
    FeedParams,
    LeaderDelta,
    LeaderFeed,
    LeaderParams,
    LeaderScore,
    LeaderSnapshot,
)
from polytui.venue.data_api import DataApiClient
from polytui.venue.endpoints import Endpoints
from polytui.venue.http import HttpClient
from polytui.venue.retry import RetryPolicy
from tests.sim.conftest import Running, start_sim

__all__ = ["start_sim"]

LAG_MS = 2_000


class VenueTime(SystemClock):
    """The simulator's held clock for times; the host's for timers (unused by these tests)."""

    def __init__(self, sim_clock) -> None:
        self._sim = sim_clock

    def now_ms(self) -> int:
        return self._sim.now_ms()


@dataclass
class FeedRig:
    running: Running
    http: HttpClient
    feed: LeaderFeed
    items: list[FeedItem] = field(default_factory=list)

    @property
    def sim(self):
        return self.running.sim

    def leader(self, style: str) -> Leader:
        return next(x for x in self.sim.leaders.leaders if x.style.name == style)

    def of(self, kind: type, leader: Leader | None = None) -> list:
        return [
            i
            for i in self.items
            if isinstance(i, kind) and (leader is None or i.leader == leader.key)
        ]

    def deltas(self, leader: Leader | None = None) -> list[LeaderDelta]:
        return self.of(LeaderDelta, leader)

    def snapshots(self, leader: Leader | None = None) -> list[LeaderSnapshot]:
        return self.of(LeaderSnapshot, leader)

    def scores(self, leader: Leader | None = None) -> list[LeaderScore]:
        return self.of(LeaderScore, leader)

    async def step(self, ms: int) -> list[LeaderDelta]:
        """Advance the simulator ``ms`` and poll once."""
        await self.running.advance(ms)
        return await self.feed.poll()


@pytest.fixture
async def feed_rig(start_sim) -> AsyncIterator:
    made: list[FeedRig] = []

    async def make(params: FeedParams = FeedParams(), **sim_options) -> FeedRig:  # noqa: B008
        sim_options = {"seed": 5, "markets": 12, "rate": 5, "leaders": 4,
                       "data_lag_ms": LAG_MS, **sim_options}  # fmt: skip
        running = await start_sim(**sim_options)
        policy = RetryPolicy(attempts=2, base_s=0.01, cap_s=0.02)
        http = HttpClient(Endpoints.from_json(running.endpoints), policy=policy)
        clock = VenueTime(running.sim.clock)
        leaders = [LeaderParams(x.key, x.style.name) for x in running.sim.leaders.leaders]
        rig = FeedRig(running, http, None)  # type: ignore[arg-type]
        source = DataApiSource(DataApiClient(http), clock)
        rig.feed = LeaderFeed(source, leaders, params, clock, rig.items.append)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.http.aclose()
