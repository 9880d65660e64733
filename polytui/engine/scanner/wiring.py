"""How the scanner meets the rest of the engine without owning any of it.

* ``Subscriber`` is the scanner's port for subscriptions: it says which markets enter and
  leave, never touches a socket. ``MirrorSubscriber`` is the adapter the composition root
  uses: a market entering is tracked by the mirror, then subscribed on the market stream
  (one call per market, so both tokens share a shard); a market leaving is unsubscribed,
  then its books are dropped.
* ``mirror_freshness`` reads, per token, when the mirror's book last changed or was last
  verified by a probe: what the scanner needs to flag a stale book, and nothing more.
* ``with_market_events`` wraps the market stream's sink so ``new_market`` and
  ``market_resolved`` reach the scanner as they arrive, while every item still goes to the
  mirror.

    subscriber = MirrorSubscriber(mirror, stream)
    scanner = Scanner(venue.gamma, subscriber, settings.scanner, clock=clock,
                      book_freshness=mirror_freshness(mirror))
    stream = MarketStream(url, with_market_events(mirror.sink, scanner.on_market_event), ...)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from polytui.engine.mirror import Mirror
from polytui.protocol.wire import market_ws as mw
from polytui.venue.market_stream import MarketStream
from polytui.venue.ws import ConnectionChange, Frame, Sink

BookFreshness = Callable[[str], int | None]
"""``book_freshness(asset)``: local ms of the token's last book update or successful probe,
``None`` when the mirror has none."""

MarketEvent = mw.NewMarket | mw.MarketResolved


class Subscriber(Protocol):
    async def subscribe(self, market: str, assets: Sequence[str]) -> None: ...

    async def unsubscribe(self, market: str, assets: Sequence[str]) -> None: ...


class MirrorSubscriber:
    """Drives ``Mirror.track``/``untrack`` and ``MarketStream.subscribe``/``unsubscribe``."""

    def __init__(self, mirror: Mirror, stream: MarketStream) -> None:
        self.mirror = mirror
        self.stream = stream

    async def subscribe(self, market: str, assets: Sequence[str]) -> None:
        self.mirror.track(market, assets)  # before the socket, so no frame finds it unknown
        await self.stream.subscribe(assets)

    async def unsubscribe(self, market: str, assets: Sequence[str]) -> None:
        await self.stream.unsubscribe(assets)
        self.mirror.untrack(assets)


def mirror_freshness(mirror: Mirror) -> BookFreshness:
    def freshness(asset: str) -> int | None:
        tok = mirror.tokens.get(asset)
        if tok is None:
            return None
        fresh = max(tok.kpis.last_update_ms, tok.kpis.last_verified_ms)
        return fresh or None

    return freshness


def with_market_events(sink: Sink, on_event: Callable[[MarketEvent], None]) -> Sink:
    """``sink`` plus ``on_event`` for each ``new_market``/``market_resolved`` in a frame."""

    def tee(item: Frame | ConnectionChange) -> None:
        sink(item)
        if isinstance(item, Frame):
            for event in item.events:
                if isinstance(event, mw.NewMarket | mw.MarketResolved):
                    on_event(event)

    return tee
