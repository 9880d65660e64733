"""A mirror fed by polytui's own market stream and REST client, on an in-process simulator."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from polytui.core.book import Side, price_units
from polytui.core.clock import SystemClock
from polytui.engine.mirror import BookState, BookStateChanged, Mirror, MirrorSettings
from polytui.venue.clob import ClobClient
from polytui.venue.endpoints import Endpoints
from polytui.venue.http import HttpClient
from polytui.venue.market_stream import MarketStream
from polytui.venue.retry import RetryPolicy
from polytui.venue.ws import WsSettings
from tests.sim.conftest import Running, start_sim
from tests.sim.trading import WARMUP_MS

__all__ = ["start_sim"]

FAST = MirrorSettings(
    probe_interval_ms=200, probe_grace_ms=50, prime_timeout_ms=300, refetch_backoff_ms=50
)


class VenueTime(SystemClock):
    """The simulator's (held) clock for exchange times, the host's for intervals and timers."""

    def __init__(self, sim_clock) -> None:
        self._sim = sim_clock

    def now_ms(self) -> int:
        return self._sim.now_ms()


@dataclass
class Rig:
    running: Running
    mirror: Mirror
    stream: MarketStream
    http: HttpClient
    changes: list[BookStateChanged] = field(default_factory=list)

    def markets(self, n: int) -> list:
        return [m for m in self.running.sim.exchange.markets.values() if m.tradable][:n]

    async def follow(self, markets) -> list[str]:
        tokens = []
        for m in markets:
            self.mirror.track(m.condition_id, m.tokens)
            await self.stream.subscribe(m.tokens)
            tokens += m.tokens
        return tokens

    async def until(self, predicate, within_s: float = 10.0) -> None:
        """Poll the mirror (state changed by another task) until ``predicate()`` holds."""
        async with asyncio.timeout(within_s):
            while not predicate():  # noqa: ASYNC110 - polling state, not waiting on an event
                await asyncio.sleep(0.02)

    async def all_live(self, tokens, within_s: float = 10.0) -> None:
        await self.until(
            lambda: all(self.mirror.state(t) is BookState.LIVE for t in tokens), within_s
        )

    async def truth(self, token: str) -> tuple[list, list]:
        book = await self.running.admin("GET", f"/book?token_id={token}")
        bids = [(price_units(lv["price"]), lv["size"]) for lv in reversed(book["bids"])]
        asks = [(price_units(lv["price"]), lv["size"]) for lv in reversed(book["asks"])]
        return bids, asks

    def local(self, token: str) -> tuple[list, list]:
        book = self.mirror.tokens[token].book
        assert book is not None
        return (
            [(lv.units, format(lv.size.normalize(), "f")) for lv in book.levels(Side.BID)],
            [(lv.units, format(lv.size.normalize(), "f")) for lv in book.levels(Side.ASK)],
        )


@pytest.fixture
async def rig(start_sim) -> AsyncIterator:
    made: list[Rig] = []

    async def make(settings: MirrorSettings = FAST, **sim_options) -> Rig:
        sim_options.setdefault("seed", 11)
        sim_options.setdefault("markets", 6)
        sim_options.setdefault("rate", 50)
        running = await start_sim(**sim_options)
        await running.advance(WARMUP_MS)
        endpoints = Endpoints.from_json(running.endpoints)
        http = HttpClient(endpoints, policy=RetryPolicy(attempts=3, base_s=0.01, cap_s=0.05))
        changes: list[BookStateChanged] = []
        clock = VenueTime(running.sim.clock)  # the stream stamps frames on the mirror's clock
        mirror = Mirror(
            ClobClient(http).books,
            settings=settings,
            clock=clock,
            rng=random.Random(1),
            on_change=changes.append,
        )
        ws = WsSettings(ping_interval_s=0.5, backoff_base_s=0.01, backoff_cap_s=0.05)
        stream = MarketStream(endpoints.ws_market, mirror.sink, settings=ws, clock=clock)
        rig = Rig(running, mirror, stream, http, changes)
        rig.task = asyncio.create_task(mirror.run())
        await stream.start()
        made.append(rig)
        return rig

    yield make
    for r in made:
        await r.stream.close()
        r.task.cancel()
        await asyncio.gather(r.task, return_exceptions=True)
        await r.http.aclose()
