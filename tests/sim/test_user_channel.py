"""The user channel follows an order from placement through partial and full fills, and its trades
through settlement to CONFIRMED, or to FAILED with the provisional position undone. Also the
trading-side faults and heartbeats."""

from __future__ import annotations

import pytest
from py_clob_client_v2.exceptions import PolyApiException

from polytui.sim.trading import Settlement
from tests.sim.conftest import MarketClient
from tests.sim.trading import WARMUP_MS, Trader, UserChannel, call


@pytest.fixture
async def venue(start_sim):
    running = await start_sim(
        seed=3, markets=8, rate=0, settlement=Settlement(mined_ms=1_000, confirmed_ms=3_000)
    )
    await running.advance(WARMUP_MS)
    return running


async def test_order_placement_partial_full_fill_and_confirmation(venue):
    maker, taker = await Trader.open(venue), await Trader.open(venue)
    m = maker.market()
    price, _ = maker.best(m)
    channel = await UserChannel.connect(venue.endpoints["ws"], maker.creds, [m.condition_id])
    placed = await maker.order(m.yes_token, price, 20)  # joins the bid, behind the others
    oid = placed["orderID"]
    level = venue.sim.exchange.books[m.condition_id].bids[round(price * 10_000)]
    ahead = (level.total - 20_000_000) / 1_000_000
    await venue.admin("POST", f"/wallets/{taker.address}", {"positions": {m.yes_token: "10000"}})
    await taker.order(m.yes_token, price, ahead + 8, side="SELL")  # the queue, then 8 of ours
    await taker.order(m.yes_token, price, 12, side="SELL")
    await channel.sync()
    orders = channel.of("order", id=oid)
    assert [(o["type"], o["size_matched"], o["status"]) for o in orders] == [
        ("PLACEMENT", "0", "LIVE"),
        ("UPDATE", "8", "LIVE"),
        ("UPDATE", "20", "MATCHED"),
    ]
    assert orders[0]["original_size"] == "20" and orders[0]["side"] == "BUY"
    matched = channel.of("trade", status="MATCHED")
    assert len(matched) == 2
    assert all(t["trader_side"] == "MAKER" and t["side"] == "SELL" for t in matched)
    ours = [[mo for mo in t["maker_orders"] if mo["order_id"] == oid] for t in matched]
    assert [mo["matched_amount"] for (mo,) in ours] == ["8", "12"]
    assert orders[2]["associate_trades"] == [t["id"] for t in matched]
    await venue.advance(3_000, step=500)
    await channel.sync()
    for trade in matched:
        steps = [t["status"] for t in channel.of("trade", id=trade["id"])]
        assert steps == ["MATCHED", "MINED", "CONFIRMED"]
    rest = await call(maker.client.get_trades)
    assert {t["status"] for t in rest} == {"TRADE_STATUS_CONFIRMED"}
    await channel.close()


async def test_failed_trade_reverses_the_provisional_position(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    _, ask = trader.best(m)
    channel = await UserChannel.connect(venue.endpoints["ws"], trader.creds)
    usd_before = venue.sim.accounts.wallet(trader.address).usd
    answer = await trader.order(m.yes_token, ask, 5)
    (trade_id,) = answer["tradeIDs"]
    assert venue.sim.accounts.wallet(trader.address).positions[m.yes_token] == 5_000_000
    await venue.admin("POST", f"/trades/{trade_id}", {"action": "fail"})
    await channel.sync()
    steps = [t["status"] for t in channel.of("trade", id=trade_id)]
    assert steps == ["MATCHED", "RETRYING", "FAILED"]
    wallet = venue.sim.accounts.wallet(trader.address)
    assert wallet.positions[m.yes_token] == 0 and wallet.usd == usd_before
    await venue.advance(5_000)  # the scheduled MINED/CONFIRMED must not revive it
    await channel.sync()
    assert [t["status"] for t in channel.of("trade", id=trade_id)][-1] == "FAILED"
    await channel.close()


async def test_settle_fail_fault_fails_trades(venue):
    await venue.admin("POST", "/faults", {"settle_fail": 1})
    trader = await Trader.open(venue)
    m = trader.market()
    _, ask = trader.best(m)
    channel = await UserChannel.connect(venue.endpoints["ws"], trader.creds)
    (trade_id,) = (await trader.order(m.yes_token, ask, 5))["tradeIDs"]
    await venue.advance(3_000, step=500)
    await channel.sync()
    assert [t["status"] for t in channel.of("trade", id=trade_id)] == [
        "MATCHED",
        "RETRYING",
        "FAILED",
    ]


async def test_user_channel_refuses_bad_credentials_and_filters_by_wallet(venue):
    a, b = await Trader.open(venue), await Trader.open(venue)
    forged = type(a.creds)(a.creds.api_key, "A" * 43 + "=", a.creds.api_passphrase)
    bad = await UserChannel.connect(venue.endpoints["ws"], forged)
    with pytest.raises(Exception, match="1008"):
        await bad.sync()
    channel_b = await UserChannel.connect(venue.endpoints["ws"], b.creds)
    m = a.market()
    bid, _ = a.best(m)
    await a.order(m.yes_token, round(bid - 0.02, 2), 10)
    assert await channel_b.sync() == []


async def test_delayed_user_events_arrive_late(venue):
    await venue.admin("POST", "/faults", {"user_delay_ms": 2_000})
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    channel = await UserChannel.connect(venue.endpoints["ws"], trader.creds)
    await trader.order(m.yes_token, round(bid - 0.02, 2), 10)
    assert await channel.sync() == []
    await venue.advance(2_000)
    assert [e["type"] for e in await channel.sync()] == ["PLACEMENT"]


async def test_heartbeats_keep_orders_and_their_absence_cancels_them(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    placed = await trader.order(m.yes_token, round(bid - 0.02, 2), 10)
    beat = await call(trader.client.post_heartbeat, "")
    for _ in range(4):  # 20 s of beats every 5 s: orders stay
        await venue.advance(5_000)
        beat = await call(trader.client.post_heartbeat, beat["heartbeat_id"])
    assert venue.sim.trading.orders[placed["orderID"]].status == "LIVE"
    with pytest.raises(PolyApiException) as info:
        await call(trader.client.post_heartbeat, "stale")
    assert info.value.status_code == 400
    assert info.value.error_msg == {
        "error_msg": "Invalid Heartbeat ID",
        "heartbeat_id": beat["heartbeat_id"],
    }
    await venue.advance(10_000, step=1_000)
    assert venue.sim.trading.orders[placed["orderID"]].status == "CANCELED"
    assert await call(trader.client.get_open_orders) == []


async def test_ambiguous_order_answers_still_place_the_order(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    await venue.admin("POST", "/faults", {"order_5xx": 1})
    order = await trader.signed(m.yes_token, round(bid - 0.02, 2), 10)
    with pytest.raises(PolyApiException) as info:
        await trader.post(order)
    assert info.value.status_code == 500
    await venue.admin("POST", "/faults", {"order_5xx": 0, "order_drop": 1})
    dropped = await trader.signed(m.yes_token, round(bid - 0.03, 2), 10)
    with pytest.raises(PolyApiException) as info:
        await trader.post(dropped)
    assert info.value.error_msg == "Request exception!"  # the client saw no answer at all
    await venue.admin("POST", "/faults", {"order_drop": 0})
    live = await call(trader.client.get_open_orders)
    assert len(live) == 2  # both were accepted: the client must look them up, not resend
    received = await venue.admin("GET", f"/orders?signer={trader.address}")
    assert [r["status"] for r in received] == ["live", "live"]


async def test_order_sent_while_the_view_diverged_is_reported(venue):
    trader, other = await Trader.open(venue), await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    feed = await MarketClient.connect(venue.endpoints["ws"], [m.yes_token])
    await feed.sync()
    before = await trader.order(m.yes_token, round(bid - 0.03, 2), 10)  # view agrees: not listed
    await feed.sync()
    await venue.admin("POST", "/faults", {"drop": 1})
    await other.order(m.yes_token, round(bid - 0.02, 2), 10)  # its frame is lost: view is wrong
    placed = await trader.order(m.yes_token, round(bid - 0.02, 2), 10)
    report = await venue.admin("GET", "/divergence")
    hits = [h for h in report["orders_while_diverged"] if h["token"] == m.yes_token]
    assert [h["order_id"] for h in hits] == [placed["orderID"]]
    assert hits[0]["cause"] == "drop" and before["orderID"] != placed["orderID"]
    await feed.close()
