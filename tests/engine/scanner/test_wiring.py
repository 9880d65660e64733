"""The scanner wired to the real pieces: the mirror, the sharded market stream, and the
stream's custom events reaching the scanner as they arrive."""

from __future__ import annotations

import asyncio
import random

from polytui.core.market_flags import Flag
from polytui.engine.mirror import BookState, Mirror
from polytui.engine.scanner import MirrorSubscriber, mirror_freshness, with_market_events
from polytui.venue.clob import ClobClient
from polytui.venue.market_stream import MarketStream
from polytui.venue.ws import WsSettings
from tests.engine.mirror.conftest import FAST as FAST_MIRROR
from tests.engine.mirror.conftest import VenueTime
from tests.engine.scanner.conftest import FAST


async def test_events_move_the_mirror_and_the_stream_before_the_next_refresh(scan_rig):
    slow = FAST.model_copy(update={"cadence_s": 30, "max_markets": 6})  # only events act
    rig = await scan_rig(slow, subscriber=None, markets=8)
    clock = VenueTime(rig.running.sim.clock)
    mirror = Mirror(
        ClobClient(rig.http).books, settings=FAST_MIRROR, clock=clock, rng=random.Random(1)
    )
    scanner = rig.scanner
    sink = with_market_events(mirror.sink, scanner.on_market_event)
    stream = MarketStream(
        rig.running.endpoints["ws"] + "/market",
        sink,
        settings=WsSettings(ping_interval_s=0.5, max_assets_per_conn=4),  # 2 markets a shard
        clock=clock,  # frames stamped on the mirror's clock
    )
    scanner._subscriber = MirrorSubscriber(mirror, stream)
    scanner._freshness = mirror_freshness(mirror)
    mirror_task = asyncio.create_task(mirror.run())
    await stream.start()
    try:
        rig.task = asyncio.create_task(scanner.run())
        await rig.until(lambda: scanner.kpis.full_scans == 1)
        tokens = {t for cid in scanner.universe for t in scanner.watched[cid].tokens}
        assert stream.assets == tokens == set(mirror.tokens)
        assert len(stream.shards) == 3  # 6 markets, 2 per shard, each market's pair together
        await rig.until(lambda: all(mirror.state(t) is BookState.LIVE for t in tokens))
        assert all(scanner.tradable(cid) for cid in scanner.universe)

        gone = scanner.universe[0]
        await rig.running.admin("POST", f"/markets/{gone}", {"action": "resolve"})
        await rig.until(lambda: gone not in scanner.watched, within_s=5)
        assert Flag.RESOLVED in scanner.flags(gone)
        assert not set(rig.exchange.markets[gone].tokens) & (stream.assets | set(mirror.tokens))

        opened = await rig.running.admin("POST", "/markets", {"action": "open", "size": 1})
        new = opened[0]["condition_id"]
        await rig.until(lambda: new in scanner.watched, within_s=5)
        assert set(opened[0]["tokens"]) <= stream.assets
        await rig.until(lambda: all(mirror.state(t) is BookState.LIVE for t in opened[0]["tokens"]))
        assert scanner.tradable(new)
        assert scanner.kpis.refreshes == 0  # all of it from the events, none from a refresh
        assert scanner.kpis.events == 2
    finally:
        await stream.close()
        mirror_task.cancel()
        await asyncio.gather(mirror_task, return_exceptions=True)
