"""A scanner reading an in-process simulator's Gamma, with a recording subscriber or with the
real mirror and market stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from polytui.config import ScannerSettings
from polytui.engine.scanner import Scanner, UniverseChanged
from polytui.venue.endpoints import Endpoints
from polytui.venue.gamma import GammaClient
from polytui.venue.http import HttpClient
from polytui.venue.retry import RetryPolicy
from tests.engine.mirror.conftest import VenueTime
from tests.sim.conftest import Running, start_sim

__all__ = ["start_sim"]

FAST = ScannerSettings(
    cadence_s=0.1,
    full_scan_s=60,
    page_size=5,
    page_concurrency=2,
    ids_per_request=4,
    scan_timeout_s=2.0,
    stall_after_s=0.5,
)


class Recorder:
    """A ``Subscriber`` that only remembers: the calls in order, and what is subscribed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.assets: dict[str, tuple[str, ...]] = {}

    async def subscribe(self, market, assets) -> None:
        assert market not in self.assets, "subscribed twice"
        self.calls.append(("subscribe", market))
        self.assets[market] = tuple(assets)

    async def unsubscribe(self, market, assets) -> None:
        assert self.assets.pop(market) == tuple(assets)
        self.calls.append(("unsubscribe", market))


@dataclass
class ScanRig:
    running: Running
    scanner: Scanner
    http: HttpClient
    changes: list[UniverseChanged] = field(default_factory=list)
    task: asyncio.Task | None = None

    @property
    def exchange(self):
        return self.running.sim.exchange

    def open_markets(self) -> list:
        return [m for m in self.exchange.markets.values() if m.tradable]

    async def until(self, predicate, within_s: float = 10.0) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():  # noqa: ASYNC110 - polling state another task changes
                await asyncio.sleep(0.01)

    async def next_refreshes(self, n: int = 1) -> None:
        """Wait until ``n`` refreshes that started after now have ended (failed ones count)."""
        k = self.scanner.kpis
        target = k.refreshes + k.full_scans + k.errors + n + 1  # one may be under way
        await self.until(lambda: k.refreshes + k.full_scans + k.errors >= target)

    async def act(self, market, action: str, **body) -> None:
        path = f"/markets/{market.condition_id}"
        await self.running.admin("POST", path, {"action": action, **body})


@pytest.fixture
async def scan_rig(start_sim) -> AsyncIterator:
    made: list[ScanRig] = []

    async def make(
        settings: ScannerSettings = FAST, subscriber=None, freshness=None, **sim_options
    ) -> ScanRig:
        sim_options.setdefault("seed", 21)
        sim_options.setdefault("markets", 12)
        sim_options.setdefault("rate", 5)
        running = await start_sim(**sim_options)
        endpoints = Endpoints.from_json(running.endpoints)
        http = HttpClient(endpoints, policy=RetryPolicy(attempts=2, base_s=0.01, cap_s=0.02))
        rig = ScanRig(running, None, http)  # type: ignore[arg-type]
        rig.scanner = Scanner(
            GammaClient(http),
            subscriber if subscriber is not None else Recorder(),
            settings,
            clock=VenueTime(running.sim.clock),
            book_freshness=freshness,
            on_change=rig.changes.append,
        )
        made.append(rig)
        return rig

    yield make
    for rig in made:
        if rig.task is not None:
            rig.task.cancel()
            await asyncio.gather(rig.task, return_exceptions=True)
        await rig.http.aclose()
