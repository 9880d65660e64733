"""The market channel (protocol §5.1, §5.2): books and level changes of subscribed tokens,
sharded over as many connections as the per-connection asset cap needs.

    stream = MarketStream(endpoints.ws_market, sink, settings=WsSettings(), clock=clock)
    async with stream:
        await stream.subscribe([yes_token, no_token])  # one market: kept on one connection

Sharding keeps the tokens of one ``subscribe`` call together (a ``price_change`` carries both
tokens of a market, so both belong on the same socket): the first shard with room for the
whole batch takes it, otherwise the batch opens new shards of at most
``max_assets_per_conn`` assets each. A shard is a :class:`~polytui.venue.ws.WsConnection`
with a stable id (``market-1``, ``market-2``...); it reconnects on its own and resubscribes
its whole set. A shard whose last asset is unsubscribed is closed (``DISCONNECTED``,
reason ``no subscriptions``) and its id is not reused.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable

import msgspec

from polytui.core.clock import Clock, SystemClock
from polytui.protocol.wire.market_ws import decode_market_frame
from polytui.venue.capture import CaptureWriter, Source
from polytui.venue.ws import (
    Channel,
    ConnectionFactory,
    CountedStream,
    Sink,
    Sleep,
    StreamStats,
    WsConnection,
    WsSettings,
    default_rng,
)

CHANNEL = Channel(Source.WS_MARKET, decode_market_frame)
_encode = msgspec.json.Encoder().encode


def subscribe_frame(assets: Iterable[str]) -> str:
    """The initial subscription of a (re)opened market socket: books of all ``assets``."""
    msg = {
        "type": "market",
        "assets_ids": list(assets),
        "initial_dump": True,
        "custom_feature_enabled": True,
    }
    return _encode(msg).decode()


class _Shard:
    def __init__(self, stream: MarketStream, conn_id: str) -> None:
        self.assets: dict[str, None] = {}  # insertion-ordered set
        self.conn = stream.connection(
            conn_id,
            stream.url,
            CHANNEL,
            initial=lambda: subscribe_frame(self.assets),
            subscribed=lambda: tuple(self.assets),
            sink=stream.sink,
            settings=stream.settings,
            clock=stream.clock,
            rng=stream.rng,
            sleep=stream.sleep,
            capture=stream.capture,
            stats=stream.counters,
        )


class MarketStream(CountedStream):
    """The market channel: ``start()``/``close()`` (or ``async with``), ``subscribe`` and
    ``unsubscribe`` at any time (before start, while a shard is down: the set is kept and the
    next subscribe frame carries it)."""

    def __init__(
        self,
        url: str,
        sink: Sink,
        *,
        settings: WsSettings = WsSettings(),  # noqa: B008 - frozen
        clock: Clock = SystemClock(),  # noqa: B008 - stateless
        rng: random.Random | None = None,
        capture: CaptureWriter | None = None,
        sleep: Sleep = asyncio.sleep,
        connection: ConnectionFactory = WsConnection,
    ) -> None:
        self.url = url
        self.sink = sink
        self.settings = settings
        self.clock = clock
        self.rng = default_rng(rng)
        self.capture = capture
        self.sleep = sleep
        self.connection = connection
        self.counters = StreamStats()
        self._shards: dict[str, _Shard] = {}
        self._owner: dict[str, _Shard] = {}  # asset -> the shard that carries it
        self._numbered = 0
        self._started = False
        self._closed = False

    async def __aenter__(self) -> MarketStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("a closed stream cannot be started again")
        self._started = True
        for shard in self._shards.values():
            shard.conn.start()

    async def close(self) -> None:
        """Close every shard (each open one reports ``DISCONNECTED``, ``closed by client``)."""
        self._closed = True
        await asyncio.gather(*(s.conn.close() for s in self._shards.values()))

    # ---- subscriptions -----------------------------------------------------------------------

    async def subscribe(self, assets: Iterable[str]) -> None:
        """Add ``assets`` (already subscribed ones are ignored), kept together on one shard
        when one has room for all of them."""
        if self._closed:
            raise RuntimeError("the stream is closed")
        new = [a for a in dict.fromkeys(assets) if a not in self._owner]
        if not new:
            return
        cap = self.settings.max_assets_per_conn
        shard = next((s for s in self._shards.values() if len(s.assets) + len(new) <= cap), None)
        if shard is not None:
            self._assign(shard, new)
            msg = {"operation": "subscribe", "assets_ids": new, "custom_feature_enabled": True}
            await shard.conn.send(_encode(msg).decode())  # not open: the next initial frame has it
            return
        for i in range(0, len(new), cap):
            shard = self._new_shard()
            self._assign(shard, new[i : i + cap])
            if self._started:
                shard.conn.start()

    async def unsubscribe(self, assets: Iterable[str]) -> None:
        """Drop ``assets`` (unknown ones are ignored); a shard left empty is closed."""
        by_shard: dict[str, list[str]] = {}
        for asset in dict.fromkeys(assets):
            shard = self._owner.pop(asset, None)
            if shard is not None:
                del shard.assets[asset]
                by_shard.setdefault(shard.conn.id, []).append(asset)
        emptied = [self._shards.pop(cid) for cid in by_shard if not self._shards[cid].assets]
        for shard in emptied:
            del by_shard[shard.conn.id]
            await shard.conn.close("no subscriptions")
        for conn_id, gone in by_shard.items():
            msg = {"operation": "unsubscribe", "assets_ids": gone}
            await self._shards[conn_id].conn.send(_encode(msg).decode())

    def _new_shard(self) -> _Shard:
        self._numbered += 1
        shard = _Shard(self, f"market-{self._numbered}")
        self._shards[shard.conn.id] = shard
        return shard

    def _assign(self, shard: _Shard, assets: list[str]) -> None:
        for asset in assets:
            shard.assets[asset] = None
            self._owner[asset] = shard

    # ---- inspection --------------------------------------------------------------------------

    @property
    def shards(self) -> dict[str, frozenset[str]]:
        """Connection id -> the assets it carries."""
        return {cid: frozenset(s.assets) for cid, s in self._shards.items()}

    @property
    def assets(self) -> frozenset[str]:
        return frozenset(self._owner)

    def stats(self) -> dict[str, int]:
        return {
            **self.counters.as_dict(),
            "shards": len(self._shards),
            "connected": sum(1 for s in self._shards.values() if s.conn.connected),
            "assets": len(self._owner),
        }
