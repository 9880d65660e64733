"""The engine's composition root (architecture §2): one clock, the venue's clients, and the
components built around them. Headless and the UI build the same ``Engine``.

    async with connect_venue(endpoints, settings.venue) as venue:
        engine = Engine(settings, venue)
        engine.bus.subscribe(print)          # BookStateChanged, UniverseChanged, ...
        await engine.run()                   # until cancelled

Today it runs the market data side of the pipeline (§3): the scanner picks the universe and
keeps the subscriptions of the market stream in step, and the mirror keeps a book per token
that it trusts only while LIVE. Nothing here knows which venue it talks to.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from polytui.config import Settings
from polytui.core.clock import Clock, SystemClock
from polytui.engine.mirror import Mirror
from polytui.engine.scanner import Scanner
from polytui.engine.scanner.wiring import MirrorSubscriber, mirror_freshness, with_market_events
from polytui.engine.startup import ws_settings
from polytui.venue.clients import VenueClients
from polytui.venue.market_stream import MarketStream

log = logging.getLogger("polytui.engine")

Subscriber = Callable[[Any], None]


class Bus:
    """Engine events to whoever listens (the headless log, the UI bridge, tests), in order.
    A listener that fails is logged and kept out of the engine's way."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: object) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("an engine event listener failed on %s", type(event).__name__)


class Engine:
    def __init__(
        self,
        settings: Settings,
        venue: VenueClients,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.venue = venue
        self.clock = clock or SystemClock()
        rng = rng or random.Random()
        self.bus = Bus()
        self.mirror = Mirror(
            venue.clob.books,
            settings=settings.mirror,
            clock=self.clock,
            rng=random.Random(rng.random()),
            on_change=self.bus.publish,
        )
        self.stream = MarketStream(
            venue.endpoints.ws_market,
            with_market_events(self.mirror.sink, self._market_event),
            settings=ws_settings(settings.venue),
            clock=self.clock,
            rng=random.Random(rng.random()),
            capture=venue.http.capture,
        )
        self.scanner = Scanner(
            venue.gamma,
            MirrorSubscriber(self.mirror, self.stream),
            settings.scanner,
            clock=self.clock,
            book_freshness=mirror_freshness(self.mirror),
            on_change=self.bus.publish,
        )

    def _market_event(self, event: Any) -> None:
        self.scanner.on_market_event(event)

    async def run(self) -> None:
        """Run every component until cancelled; a component that fails stops the engine with
        its error (the caller decides what that means for the process)."""
        await self.stream.start()
        tasks = [
            asyncio.create_task(self.mirror.run(), name="mirror"),
            asyncio.create_task(self.scanner.run(), name="scanner"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.stream.close()

    def health(self) -> dict[str, Any]:
        """Every component's figures, for the heartbeat, the status file and the UI."""
        return {
            "mirror": self.mirror.stats(),
            "scanner": self.scanner.stats(),
            "market_stream": self.stream.stats(),
            "http": dict(self.venue.http.stats),
        }

    def summary(self) -> dict[str, Any]:
        """The few figures a heartbeat line carries."""
        mirror, scanner = self.mirror.stats(), self.scanner.stats()
        return {
            "books": mirror["states"],
            "resyncs": mirror["resyncs"],
            "watched": scanner["watched"],
            "scanner_stalled": scanner["stalled"],
            "apply_lag_p99_ms": mirror["apply_lag_ms"]["p99"],
            "max_stall_ms": mirror["max_stall_ms"],
        }
