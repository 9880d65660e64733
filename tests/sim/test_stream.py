"""The market channel, replayed into a plain book, agrees with the simulator's truth to the byte."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.sim.conftest import MarketClient, events
from tests.sim.replay_book import ReplayBook


async def _books(running, tokens) -> dict[str, ReplayBook]:
    books = {}
    for token in tokens:
        rest = (
            await running.http.get(running.endpoints["clob"] + "/book", params={"token_id": token})
        ).json()
        books[token] = ReplayBook(rest["market"], token, rest["min_order_size"], rest["neg_risk"])
    return books


async def test_replayed_stream_matches_truth_books_and_hashes(start_sim):
    running = await start_sim(seed=3, markets=8, rate=400)
    tokens = running.tokens()
    books = await _books(running, tokens)
    client = await MarketClient.connect(running.endpoints["ws"], tokens)
    stats = {"hash_ok": 0, "mid_burst_crossed": 0, "bursts": 0, "book": 0}
    pending: dict[
        str, tuple[str, list[dict]]
    ] = {}  # market -> (timestamp, entries of its open burst)

    def close_burst(market: str) -> None:
        ts, entries = pending.pop(market)
        stats["bursts"] += 1
        last = {e["asset_id"]: e for e in entries}  # several events may share a millisecond
        for asset, entry in last.items():
            book = books[asset]
            assert not book.crossed(), f"book crossed after its burst at {ts}"
            assert book.best() == (entry["best_bid"], entry["best_ask"])

    for _ in range(40):
        await running.advance(100)
        for ev in events(await client.sync()):
            kind, market = ev["event_type"], ev.get("market")
            if market in pending and (
                kind != "price_change" or ev["timestamp"] != pending[market][0]
            ):
                close_burst(market)
            if kind == "book":
                books[ev["asset_id"]].load(ev)
                assert books[ev["asset_id"]].hash(ev["timestamp"]) == ev["hash"]
                stats["book"] += 1
            elif kind == "price_change":
                for entry in ev["price_changes"]:
                    books[entry["asset_id"]].apply(entry)
                for entry in ev["price_changes"]:
                    assert books[entry["asset_id"]].hash(ev["timestamp"]) == entry["hash"]
                    stats["hash_ok"] += 1
                stats["mid_burst_crossed"] += any(
                    books[e["asset_id"]].crossed() for e in ev["price_changes"]
                )
                pending.setdefault(market, (ev["timestamp"], []))[1].extend(ev["price_changes"])
            elif kind == "last_trade_price":
                books[ev["asset_id"]].last_trade = ev["price"]
            elif kind == "tick_size_change":
                books[ev["asset_id"]].tick = ev["new_tick_size"]
    for market in list(pending):
        close_burst(market)

    truth = await running.admin("GET", "/books")
    for token in tokens:
        bids, asks = books[token].wire()
        assert (bids, asks) == (truth[token]["bids"], truth[token]["asks"]), token
    await client.close()
    assert stats["hash_ok"] > 1000
    assert stats["mid_burst_crossed"] > 0, "trade bursts should pass through crossed states"
    assert stats["bursts"] > 100


async def test_price_change_carries_both_tokens_mirrored(start_sim):
    running = await start_sim(seed=5, markets=3, rate=200)
    client = await MarketClient.connect(running.endpoints["ws"], running.tokens())
    await client.sync()
    await running.advance(500)
    changes = [e for e in events(await client.sync()) if e["event_type"] == "price_change"]
    assert changes
    for ev in changes:
        market = running.sim.exchange.markets[ev["market"]]
        by_asset: dict[str, list[dict]] = {}
        for entry in ev["price_changes"]:
            by_asset.setdefault(entry["asset_id"], []).append(entry)
        assert set(by_asset) == set(market.tokens)
        yes, no = by_asset[market.yes_token], by_asset[market.no_token]
        for y, n in zip(yes, no, strict=True):
            assert Decimal(y["price"]) + Decimal(n["price"]) == 1
            assert y["size"] == n["size"]
            assert {y["side"], n["side"]} == {"BUY", "SELL"}
    await client.close()


async def test_subscribe_dump_is_an_array_of_books_in_wire_order(start_sim):
    running = await start_sim(seed=2, markets=4)
    tokens = running.tokens()
    client = await MarketClient.connect(running.endpoints["ws"], tokens)
    frames = await client.sync()
    assert isinstance(frames[0], list)
    dump = frames[0]
    assert {b["asset_id"] for b in dump} == set(tokens)
    for book in dump:
        assert book["event_type"] == "book"
        bids = [Decimal(b["price"]) for b in book["bids"]]
        asks = [Decimal(a["price"]) for a in book["asks"]]
        assert bids == sorted(bids)
        assert asks == sorted(asks, reverse=True)
        assert "min_order_size" not in book
        assert "neg_risk" not in book
    await client.close()


async def test_dynamic_subscribe_and_unsubscribe(start_sim):
    running = await start_sim(seed=4, markets=4, rate=300)
    tokens = running.tokens()
    first, rest = tokens[:2], tokens[2:]
    client = await MarketClient.connect(running.endpoints["ws"], first)
    dump = (await client.sync())[0]
    assert {b["asset_id"] for b in dump} == set(first)

    await client.ws.send(json.dumps({"operation": "subscribe", "assets_ids": rest}))
    dumped = {b["asset_id"] for f in await client.sync() if isinstance(f, list) for b in f}
    assert dumped == set(rest)

    await client.ws.send(json.dumps({"operation": "unsubscribe", "assets_ids": tokens}))
    await client.sync()
    await running.advance(1000)
    after = events(await client.sync())
    assert not [e for e in after if e["event_type"] in ("price_change", "book", "last_trade_price")]
    await client.close()


async def test_ping_pong_and_malformed_frames_do_not_break_the_channel(start_sim):
    running = await start_sim(seed=4, markets=2, rate=100)
    client = await MarketClient.connect(running.endpoints["ws"], running.tokens())
    await client.ws.send("not json")
    await client.ws.send('{"hello": 1}')
    await client.sync()  # PING answered with PONG after everything queued before it
    await running.advance(500)
    assert [e for e in events(await client.sync()) if e["event_type"] == "price_change"]
    assert running.sim.feed.malformed == 2
    await client.close()
