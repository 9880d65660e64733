"""The market stream against the simulator on loopback: initial dumps, dynamic subscriptions,
sharding under a cap, reconnects with backoff after server-side disconnects, and capture."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from polytui.core.clock import FakeClock
from polytui.protocol.wire.market_ws import (
    BestBidAsk,
    Book,
    LastTradePrice,
    MarketEvent,
    PriceChange,
    TickSizeChange,
    decode_market_frame,
)
from polytui.venue.capture import CaptureWriter, Source, read_capture
from polytui.venue.market_stream import MarketStream
from polytui.venue.ws import ConnState, Frame, WsSettings
from tests.sim.conftest import Running
from tests.venue.test_ws import Collector, MaxRng, Recorded, eventually

FAST = WsSettings(
    ping_interval_s=0.2,
    dead_after_s=5.0,
    open_timeout_s=2.0,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
)


def url(running: Running) -> str:
    return running.endpoints["ws"] + "/market"


def pairs(running: Running) -> list[tuple[str, str]]:
    """The two tokens of each tradable market."""
    return [m.tokens for m in running.sim.exchange.markets.values() if m.tradable]


def touched(event: MarketEvent) -> set[str]:
    if isinstance(event, PriceChange):
        return {e.asset_id for e in event.price_changes}
    if isinstance(event, Book | LastTradePrice | TickSizeChange | BestBidAsk):
        return {event.asset_id}
    return set()


async def sim_connections(running: Running) -> list[dict]:
    return (await running.admin("GET", "/stats"))["connections"]


async def test_the_initial_dump_brings_a_book_per_asset(venue):
    (a, b), (c, d) = pairs(venue)[:2]
    clock = FakeClock(start_ms=42_000)
    sink = Collector()
    async with MarketStream(url(venue), sink, settings=FAST, clock=clock) as stream:
        await stream.subscribe([a, b])
        await stream.subscribe([c, d])
        await sink.until(lambda: sink.books() == {a, b, c, d})
        assert sink.items[0] is sink.changes[0]
        first = sink.changes[0]
        assert (first.conn, first.state, first.at_ms) == ("market-1", ConnState.CONNECTED, 42_000)
        assert set(first.subscribed) <= {a, b, c, d}
        assert {f.recv_ms for f in sink.frames} == {42_000}
        assert {f.conn for f in sink.frames} == {"market-1"}
        assert all(f.error is None for f in sink.frames)
        book = next(e for e in sink.events() if isinstance(e, Book) and e.asset_id == a)
        truth = await venue.admin("GET", f"/book?token_id={a}")
        assert [(lv.price, lv.size) for lv in book.bids] == [
            (lv["price"], Decimal(lv["size"])) for lv in truth["bids"]
        ]
        assert book.bids and book.asks
        assert stream.shards == {"market-1": frozenset({a, b, c, d})}
        assert stream.frames == len(sink.frames) and stream.decode_errors == 0


async def test_dynamic_subscribe_and_unsubscribe_on_the_open_socket(venue):
    markets = pairs(venue)
    kept, dropped, late, sync1, sync2 = markets[:5]
    sink = Collector()
    async with MarketStream(url(venue), sink, settings=FAST) as stream:
        await stream.subscribe([*kept, *dropped])
        await sink.until(lambda: sink.books() == {*kept, *dropped})
        await stream.subscribe(late)
        await sink.until(lambda: set(late) <= sink.books())
        assert stream.reconnects == 0 and sink.states() == [ConnState.CONNECTED]

        await stream.unsubscribe(dropped)
        await stream.subscribe(sync1)  # once its book is here, the unsubscribe was applied
        await sink.until(lambda: set(sync1) <= sink.books())
        mark = len(sink.items)
        await venue.advance(5_000, step=1_000)  # the market moves
        await stream.subscribe(sync2)  # and once this book is here, everything before it is
        await sink.until(lambda: set(sync2) <= sink.books(mark))
        after = set().union(*(touched(e) for e in sink.events(mark)))
        assert after & set(kept) and after & set(late)  # the market did move
        assert not after & set(dropped)
        assert stream.shards == {"market-1": frozenset({*kept, *late, *sync1, *sync2})}
        assert stream.reconnects == 0 and sink.states() == [ConnState.CONNECTED]
        (conn,) = await sim_connections(venue)
        assert conn["assets"] == 8


async def test_sharding_respects_the_cap_and_keeps_a_batch_together(venue):
    tokens = [t for pair in pairs(venue) for t in pair]
    singles, batch, batch3 = tokens[:5], tokens[5:7], tokens[7:10]
    sink = Collector()
    settings = WsSettings(ping_interval_s=0.2, max_assets_per_conn=2)
    async with MarketStream(url(venue), sink, settings=settings) as stream:
        for token in singles:
            await stream.subscribe([token])
        await stream.subscribe(batch)
        assert stream.shards == {
            "market-1": frozenset(singles[0:2]),
            "market-2": frozenset(singles[2:4]),
            "market-3": frozenset(singles[4:5]),
            "market-4": frozenset(batch),
        }
        await sink.until(lambda: sink.books() == {*singles, *batch})
        for frame in sink.frames:  # each book came on the connection that carries its asset
            for event in frame.events:
                assert event.asset_id in stream.shards[frame.conn]
        conns = await sim_connections(venue)
        assert sorted(c["assets"] for c in conns) == [1, 2, 2, 2]

        await stream.unsubscribe(batch)
        assert "market-4" not in stream.shards
        down = sink.changes[-1]
        assert (down.conn, down.state, down.reason) == (
            "market-4",
            ConnState.DISCONNECTED,
            "no subscriptions",
        )
        await stream.subscribe(batch3)  # no shard has room for 3: two new ones, 2 + 1
        assert stream.shards["market-5"] | stream.shards["market-6"] == frozenset(batch3)
        assert len(stream.shards["market-5"]) == 2
        assert all(len(assets) <= 2 for assets in stream.shards.values())
        await sink.until(lambda: set(batch3) <= sink.books())

        async def settled() -> bool:
            conns = await sim_connections(venue)
            return sorted(c["assets"] for c in conns) == [1, 1, 2, 2, 2]

        await eventually(settled)

    async def all_gone() -> bool:
        return not await sim_connections(venue)

    await eventually(all_gone)
    assert {c.conn for c in sink.changes if c.reason == "closed by client"} == {
        "market-1",
        "market-2",
        "market-3",
        "market-5",
        "market-6",
    }


async def test_a_server_disconnect_reconnects_with_backoff_and_dumps_again(venue):
    (a, b), *_ = pairs(venue)
    clock = FakeClock()
    sink = Collector()
    sleep = Recorded()
    async with MarketStream(
        url(venue), sink, settings=FAST, clock=clock, rng=MaxRng(), sleep=sleep
    ) as stream:
        await stream.subscribe([a, b])
        await sink.until(lambda: sink.books() == {a, b})
        for round_ in range(1, 4):
            if round_ == 3:
                clock.advance(60_000)  # this session was stable: the backoff starts over
            mark = len(sink.items)
            answer = await venue.admin("POST", "/disconnect")
            assert answer["disconnected"]
            await sink.until(lambda mark=mark: sink.books(mark) == {a, b})
            down, up, *frames = sink.items[mark:]  # the reconnect's frames after both changes
            assert frames and all(isinstance(f, Frame) for f in frames)
            assert (down.state, down.reason) == (
                ConnState.DISCONNECTED,
                "server closed (code 1001)",
            )
            assert (up.state, up.conn, set(up.subscribed)) == (
                ConnState.RECONNECTED,
                "market-1",
                {a, b},
            )
        assert sleep.waits == [0.01, 0.02, 0.01]
        assert stream.reconnects == 3
        assert sink.states() == [
            ConnState.CONNECTED,
            *[ConnState.DISCONNECTED, ConnState.RECONNECTED] * 3,
        ]


async def test_capture_holds_opens_frames_and_closes_but_no_pong(venue, tmp_path):
    (a, b), *_ = pairs(venue)
    capture = CaptureWriter(tmp_path / "cap.jsonl")
    sink = Collector()
    settings = WsSettings(ping_interval_s=0.05, dead_after_s=0.3)
    stream = MarketStream(url(venue), sink, settings=settings, capture=capture)
    async with stream:
        await stream.subscribe([a, b])
        await sink.until(lambda: sink.books() == {a, b})
        await asyncio.sleep(0.6)  # many PINGs answered; alive only because PONGs count
        assert sink.states() == [ConnState.CONNECTED]
    capture.close()
    lines = list(read_capture(tmp_path / "cap.jsonl"))
    assert {line.source for line in lines} == {Source.WS_MARKET}
    assert {line.conn for line in lines} == {"market-1"}
    assert lines[0].event == "open" and lines[-1].event == "close"
    payloads = [line.payload for line in lines[1:-1]]
    assert all(p is not None for p in payloads) and "PONG" not in payloads
    assert len(payloads) == len(sink.frames) == stream.frames
    for line, frame in zip(lines[1:-1], sink.frames, strict=True):
        assert line.recv_ms == frame.recv_ms
        assert tuple(decode_market_frame(line.payload)) == frame.events
