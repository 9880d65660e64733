"""The official py-clob-client-v2 trades against the simulator unchanged: keys, resting and crossing
orders, queries, cancels, and the real venue's exact errors. The clock is held (``time_scale=0``)
so nothing moves between a call and the check that follows it."""

from __future__ import annotations

import math

import pytest
from py_clob_client_v2.clob_types import (
    CreateOrderOptions,
    MarketOrderArgsV2,
    OpenOrderParams,
    OrderArgsV2,
    OrderMarketCancelParams,
    OrderPayload,
    OrderType,
    PartialCreateOrderOptions,
    PostOrdersV2Args,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException

from tests.sim.trading import WARMUP_MS, Trader, call


@pytest.fixture
async def venue(start_sim):
    running = await start_sim(seed=3, markets=8, rate=100)
    await running.advance(WARMUP_MS)
    return running


async def rejected(coro) -> tuple[int, str]:
    with pytest.raises(PolyApiException) as info:
        await coro
    return info.value.status_code, info.value.error_msg["error"]


async def test_keys_are_created_then_derived_deterministically(venue):
    trader = await Trader.open(venue)
    again = await call(trader.client.create_or_derive_api_key)  # create says 400, derive works
    assert again == trader.creds
    assert len(trader.creds.api_key) == 36 and trader.creds.api_passphrase
    keys = await call(trader.client.get_api_keys)
    assert keys == {"apiKeys": [trader.creds.api_key]}


async def test_resting_order_is_listed_then_cancelled(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    placed = await trader.order(m.yes_token, round(bid - 0.02, 2), 10)
    assert placed["success"] and placed["status"] == "live" and placed["tradeIDs"] == []
    oid = placed["orderID"]
    assert oid.startswith("0x") and len(oid) == 66
    listed = await call(trader.client.get_open_orders, OpenOrderParams(market=m.condition_id))
    assert [o["id"] for o in listed] == [oid]
    assert listed[0]["original_size"] == "10" and listed[0]["status"] == "LIVE"
    assert (await call(trader.client.get_order, oid))["price"] == str(round(bid - 0.02, 2))
    truth = venue.sim.exchange.books[m.condition_id]
    assert oid in truth.orders  # resting in the shared book
    done = await call(trader.client.cancel_order, OrderPayload(orderID=oid))
    assert done == {"canceled": [oid], "not_canceled": {}}
    again = await call(trader.client.cancel_order, OrderPayload(orderID=oid))
    assert again == {"canceled": [], "not_canceled": {oid: "already canceled or matched"}}
    assert await call(trader.client.get_open_orders) == []
    assert oid not in truth.orders


async def test_crossing_order_matches_with_hashes_and_lists_its_trade(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    _, ask = trader.best(m)
    before = venue.sim.accounts.wallet(trader.address).usd
    answer = await trader.order(m.yes_token, ask, 5)
    assert answer["status"] == "matched"
    assert answer["takingAmount"] == "5"
    assert answer["makingAmount"] == str(round(5 * ask, 4)).rstrip("0").rstrip(".")
    assert len(answer["transactionsHashes"]) == 1 and len(answer["tradeIDs"]) == 1
    trades = await call(trader.client.get_trades, TradeParams(market=m.condition_id))
    assert [t["id"] for t in trades] == answer["tradeIDs"]
    trade = trades[0]
    assert trade["trader_side"] == "TAKER" and trade["side"] == "BUY"
    assert trade["transaction_hash"] == answer["transactionsHashes"][0]
    assert trade["status"] == "TRADE_STATUS_MATCHED"
    wallet = venue.sim.accounts.wallet(trader.address)
    assert before - wallet.usd == round(5 * ask * 1_000_000)
    assert wallet.positions[m.yes_token] == 5_000_000


async def test_no_token_buy_matches_yes_bids_of_the_shared_book(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    yes_bid, _ = trader.best(m)
    _, no_ask = trader.best(m, m.no_token)
    assert no_ask == pytest.approx(1 - yes_bid)
    answer = await trader.order(m.no_token, no_ask, 5)
    assert answer["status"] == "matched"
    trade = (await call(trader.client.get_trades, TradeParams(id=answer["tradeIDs"][0])))[0]
    assert trade["asset_id"] == m.no_token and trade["outcome"] == "No"
    assert trade["maker_orders"][0]["side"] == "SELL"


async def test_partial_fill_rests_the_rest(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    book = venue.sim.exchange.books[m.condition_id]
    ask = book.best_ask()
    at_touch = book.asks[ask].total / 1_000_000
    size = math.ceil(at_touch) + 7  # whole shares keep a crossing BUY's pUSD at 2 decimals
    answer = await trader.order(m.yes_token, ask / 10_000, size)
    assert answer["status"] == "matched"
    (live,) = await call(trader.client.get_open_orders)
    assert live["id"] == answer["orderID"]
    assert float(live["size_matched"]) == pytest.approx(at_touch)
    assert venue.sim.exchange.best(m, m.yes_token)[0] == ask  # its rest is now the best bid


async def test_market_orders_fok_fill_or_die(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    answer = await call(
        trader.client.create_and_post_market_order,
        MarketOrderArgsV2(token_id=m.yes_token, amount=3, side="BUY"),
        order_type=OrderType.FOK,
    )
    assert answer["status"] == "matched" and float(answer["makingAmount"]) == pytest.approx(3, 1e-4)
    depth = sum(lv.total for lv in venue.sim.exchange.books[m.condition_id].asks.values())
    status, msg = await rejected(
        call(
            trader.client.create_and_post_market_order,
            MarketOrderArgsV2(
                token_id=m.yes_token, amount=depth / 1e6 + 10, side="BUY", price=0.99
            ),
            order_type=OrderType.FOK,
        )
    )
    assert (status, msg) == (
        400,
        "order couldn't be fully filled. FOK orders are fully filled or killed.",
    )


async def test_fak_without_liquidity_is_killed(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    order = await trader.signed(m.yes_token, round(bid - 0.05, 2), 10)
    status, msg = await rejected(trader.post(order, OrderType.FAK))
    assert status == 400
    assert msg == (
        "no orders found to match with FAK order. FAK orders are partially filled or killed "
        "if no match is found."
    )


async def test_batch_orders_and_cancels(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    orders = [await trader.signed(m.yes_token, round(bid - 0.01 * k, 2), 6) for k in (2, 3, 4)]
    answers = await call(
        trader.client.post_orders,
        [PostOrdersV2Args(order=o, orderType=OrderType.GTC) for o in orders],
    )
    assert [a["status"] for a in answers] == ["live"] * 3
    ids = [a["orderID"] for a in answers]
    assert (await call(trader.client.cancel_orders, ids[:1]))["canceled"] == ids[:1]
    by_market = await call(
        trader.client.cancel_market_orders, OrderMarketCancelParams(market=m.condition_id)
    )
    assert sorted(by_market["canceled"]) == sorted(ids[1:])
    more = await trader.order(m.yes_token, round(bid - 0.02, 2), 6)
    assert (await call(trader.client.cancel_all))["canceled"] == [more["orderID"]]


async def test_batch_over_15_is_refused(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    order = await trader.signed(m.yes_token, round(bid - 0.03, 2), 6)
    args = [PostOrdersV2Args(order=order, orderType=OrderType.GTC)] * 16
    status, msg = await rejected(call(trader.client.post_orders, args))
    assert (status, msg) == (400, "Too many orders in payload: 16, max allowed: 15")


async def test_wrong_signature_is_refused(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    order = await trader.signed(m.yes_token, round(bid - 0.02, 2), 10)
    sig = bytearray(bytes.fromhex(order.signature[2:]))
    sig[5] ^= 0xFF
    order.signature = "0x" + sig.hex()
    assert await rejected(trader.post(order)) == (400, "invalid signature")
    received = await venue.admin("GET", "/orders")
    assert received[-1]["status"] == "rejected" and received[-1]["reason"] == "invalid signature"


async def test_order_signed_for_the_other_exchange_is_refused(venue):
    trader = await Trader.open(venue)
    m = trader.market(neg_risk=False)
    bid, _ = trader.best(m)
    args = OrderArgsV2(token_id=m.yes_token, price=round(bid - 0.02, 2), size=10, side="BUY")
    options = PartialCreateOrderOptions(tick_size="0.01", neg_risk=True)
    order = await call(trader.client.create_order, args, options)
    assert await rejected(trader.post(order)) == (400, "invalid signature")


async def test_wrong_hmac_is_401(venue):
    trader = await Trader.open(venue)
    forged = trader.with_secret("A" * 43 + "=")
    status, msg = await rejected(call(forged.get_open_orders))
    assert (status, msg) == (401, "Unauthorized/Invalid api key")


async def test_off_tick_price_is_refused_with_the_venue_message(venue):
    trader = await Trader.open(venue)
    m = trader.market(tick=100)
    bid, _ = trader.best(m)
    price = round(bid - 0.015, 3)
    args = OrderArgsV2(token_id=m.yes_token, price=price, size=10, side="BUY")
    # the client refuses a finer tick than the market's, so sign with its own builder directly
    order = await call(
        trader.client.builder.build_order,
        args,
        CreateOrderOptions(tick_size="0.001", neg_risk=m.neg_risk),
    )
    status, msg = await rejected(trader.post(order))
    oid = (await venue.admin("GET", "/orders"))[-1]["order_id"]
    assert status == 400
    assert msg == f"order {oid} is invalid. Price ({price}) breaks minimum tick size rule: 0.01"


async def test_too_small_size_is_refused_with_the_venue_message(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    status, msg = await rejected(trader.order(m.yes_token, round(bid - 0.02, 2), 3))
    oid = (await venue.admin("GET", "/orders"))[-1]["order_id"]
    assert (status, msg) == (400, f"order {oid} is invalid. Size (3) lower than the minimum: 5")


async def test_post_only_crossing_and_balance_and_duplicates(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, ask = trader.best(m)
    crossing = await trader.signed(m.yes_token, ask, 10)
    status, msg = await call(lambda: _post_only(trader, crossing))
    assert (status, msg) == (400, "invalid post-only order: order crosses book")
    resting = await trader.signed(m.yes_token, round(bid - 0.02, 2), 10)
    first = await trader.post(resting)
    assert await rejected(trader.post(resting)) == (
        400,
        f"order {first['orderID']} is invalid. Duplicated.",
    )
    await venue.admin("POST", f"/wallets/{trader.address}", {"usd": "1"})
    assert await rejected(trader.order(m.yes_token, round(bid - 0.02, 2), 10)) == (
        400,
        "not enough balance / allowance",
    )
    assert await rejected(trader.order(m.no_token, 0.5, 10, side="SELL")) == (
        400,
        "not enough balance / allowance",
    )


def _post_only(trader: Trader, order) -> tuple[int, str]:
    try:
        trader.client.post_order(order, OrderType.GTC, post_only=True)
    except PolyApiException as exc:
        return exc.status_code, exc.error_msg["error"]
    raise AssertionError("post-only crossing order was accepted")


async def test_marketable_precision_and_dollar_minimum(venue):
    trader = await Trader.open(venue)
    m = trader.market(tick=100)
    _, ask = trader.best(m)
    # 5.57 shares at a whole-cent price cost pUSD with 3-4 decimals: too fine when crossing
    assert await rejected(trader.order(m.yes_token, ask, 5.57)) == (
        400,
        "invalid amounts, the market buy orders maker amount supports a max accuracy of "
        "2 decimals, taker amount a max of 4 decimals",
    )
    bid, _ = trader.best(m)
    assert (await trader.order(m.yes_token, round(bid - 0.01, 2), 5.57))["status"] == "live"
    status, msg = await rejected(
        call(
            trader.client.create_and_post_market_order,
            MarketOrderArgsV2(token_id=m.yes_token, amount=0.84, side="BUY", price=0.15),
            order_type=OrderType.FOK,
        )
    )
    assert (status, msg) == (400, "invalid amount for a marketable BUY order ($0.84), min size: $1")


async def test_gtd_needs_a_minute_and_expires(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    now_s = venue.sim.clock.now_ms() // 1000
    far = max(0.01, round(bid / 3, 2))  # far below the touch: nobody trades it in 90 s
    short = OrderArgsV2(token_id=m.yes_token, price=far, size=10, side="BUY", expiration=now_s + 30)
    order = await call(trader.client.create_order, short)
    assert await rejected(trader.post(order, OrderType.GTD)) == (400, "invalid expiration")
    longer = OrderArgsV2(
        token_id=m.yes_token, price=far, size=10, side="BUY", expiration=now_s + 90
    )
    live = await trader.post(await call(trader.client.create_order, longer), OrderType.GTD)
    assert live["status"] == "live"
    await venue.advance(91_000, step=1_000)
    assert venue.sim.trading.orders[live["orderID"]].status == "CANCELED_EXPIRED_ORDER"
    assert await call(trader.client.get_open_orders) == []
