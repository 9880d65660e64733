"""polytui's trading client against the simulator: keys, orders signed by polytui's own signer,
cancels, queries, heartbeats, and the ambiguous POST that must never make a second order."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import msgspec
import pytest

from polytui.protocol.signing import OrderType
from polytui.venue.errors import HttpStatusError, OrderOutcomeUnknown
from polytui.venue.trading import OrderRequest, StaleHeartbeat, derive_api_key
from tests.venue.wallet import CHAIN_ID, Wallet


@pytest.fixture
async def wallet(venue, http_for) -> Wallet:
    return await Wallet.open(venue, http_for(venue), lookup_delay_s=0, sleep=http_for_sleep)


async def http_for_sleep(seconds: float) -> None:
    """Trading tests do not wait for real: backoffs are recorded by the HTTP client's sleep."""


async def received(venue, wallet: Wallet, order_id: str) -> list[dict]:
    """Every time the simulator received this order, accepted or refused."""
    everything = await venue.admin("GET", f"/orders?signer={wallet.signer.address}")
    return [o for o in everything if o["order_id"] == order_id]


async def accepted_at_venue(venue, wallet: Wallet, order_id: str) -> list[dict]:
    return [o for o in await received(venue, wallet, order_id) if o["status"] != "rejected"]


async def test_keys_are_derived_the_same_and_listed(venue, wallet):
    again = await derive_api_key(wallet.http, wallet.key, CHAIN_ID)
    assert again == wallet.trader.creds
    assert await wallet.trader.api_keys() == (wallet.trader.creds.api_key,)
    assert await wallet.trader.closed_only() is False


async def test_an_order_rests_is_listed_and_is_cancelled(venue, wallet):
    m = wallet.market()
    order = wallet.resting(m, "5")
    ack = await wallet.trader.post_order(order, OrderType.GTC)
    assert ack.accepted and not ack.looked_up
    assert ack.order_id == order.order_id == ack.response.order_id
    assert ack.response.status == "live"
    listed = await wallet.trader.open_orders(market=m.condition_id)
    assert [o.id for o in listed] == [order.order_id]
    assert listed[0].original_size == Decimal(5) and listed[0].status == "LIVE"
    one = await wallet.trader.order(order.order_id)
    assert one is not None and one.id == order.order_id and one.order_type == "GTC"
    cancelled = await wallet.trader.cancel(order.order_id)
    assert cancelled.canceled == (order.order_id,)
    again = await wallet.trader.cancel(order.order_id)  # idempotent: says why, changes nothing
    assert again.canceled == () and order.order_id in again.not_canceled
    assert await wallet.trader.open_orders() == []


async def test_a_crossing_order_fills_and_shows_in_trades_and_balances(venue, wallet):
    m = wallet.market()
    _, ask = wallet.best(m)
    before = await wallet.trader.balance_allowance()
    ack = await wallet.trader.post_order(wallet.sign(m, ask, "5"), OrderType.FAK)
    assert ack.accepted and ack.response.status == "matched" and ack.response.trade_ids
    trades = await wallet.trader.trades(market=m.condition_id)
    assert {t.id for t in trades} == set(ack.response.trade_ids)
    assert sum(t.size for t in trades) == Decimal(5)
    after = await wallet.trader.balance_allowance()
    assert after.balance < before.balance
    shares = await wallet.trader.balance_allowance("CONDITIONAL", m.yes_token)
    assert shares.balance == 5_000_000
    assert (await wallet.trader.update_balance_allowance()).balance == after.balance


async def test_batch_post_and_every_cancel(venue, wallet):
    m = wallet.market()
    orders = [wallet.resting(m, str(5 + i)) for i in range(4)]
    acks = await wallet.trader.post_orders([OrderRequest(o) for o in orders])
    assert [a.order_id for a in acks] == [o.order_id for o in orders]
    assert all(a.accepted for a in acks)
    some = await wallet.trader.cancel_orders([orders[0].order_id])
    assert some.canceled == (orders[0].order_id,)
    by_market = await wallet.trader.cancel_market_orders(asset_id=m.yes_token)
    assert set(by_market.canceled) == {o.order_id for o in orders[1:3]} | {orders[3].order_id}
    assert (await wallet.trader.cancel_all()).canceled == ()
    with pytest.raises(ValueError, match="1 to 15"):
        await wallet.trader.post_orders([OrderRequest(orders[0])] * 16)


async def test_a_rejected_order_is_an_ack_that_says_why(venue, wallet):
    m = wallet.market()
    ack = await wallet.trader.post_order(wallet.sign(m, "0.5", "0.5"))  # under the minimum size
    assert not ack.accepted and "lower than the minimum" in ack.response.error_msg


async def test_a_tampered_order_is_refused_by_the_simulator(venue, wallet):
    m = wallet.market()
    order = wallet.resting(m, "5")
    tampered = msgspec.structs.replace(order, maker_amount=order.maker_amount - 1)
    ack = await wallet.trader.post_order(tampered)
    assert not ack.accepted and ack.response.error_msg == "invalid signature"
    assert await accepted_at_venue(venue, wallet, order.order_id) == []
    assert (await wallet.trader.post_order(order)).accepted  # the genuine one still goes


async def test_heartbeats_chain_and_a_stale_id_names_the_expected_one(venue, wallet):
    first = await wallet.trader.heartbeat()
    second = await wallet.trader.heartbeat(first)
    assert second and second != first
    with pytest.raises(StaleHeartbeat) as info:
        await wallet.trader.heartbeat(first)
    assert info.value.expected_id == second


async def test_bad_credentials_are_a_401_not_a_retry(venue, wallet):
    from dataclasses import replace

    wallet.trader.creds = replace(wallet.trader.creds, passphrase="wrong")
    with pytest.raises(HttpStatusError) as info:
        await wallet.trader.open_orders()
    assert info.value.status == 401 and not info.value.retryable
    assert "wrong" not in str(info.value)


# ---- the ambiguous POST ------------------------------------------------------------------


async def test_an_accepted_order_answered_with_500_is_looked_up_not_resent(venue, wallet):
    m = wallet.market()
    order = wallet.resting(m)
    await venue.admin("POST", "/faults", {"order_5xx": 1})
    ack = await wallet.trader.post_order(order)
    assert ack.looked_up and ack.accepted and ack.response.status == "live"
    assert len(await received(venue, wallet, order.order_id)) == 1  # never sent again
    assert wallet.http.stats["orders looked up"] == 1


async def test_a_dropped_connection_after_acceptance_is_looked_up(venue, wallet):
    m = wallet.market()
    order = wallet.resting(m)
    await venue.admin("POST", "/faults", {"order_drop": 1})
    ack = await wallet.trader.post_order(order)
    assert ack.looked_up and ack.accepted
    received = await venue.admin("GET", f"/orders?signer={wallet.signer.address}")
    assert [o["order_id"] for o in received] == [order.order_id]  # sent exactly once


async def test_a_5xx_before_acceptance_sends_the_same_order_again(venue, http_for):
    """The venue failed before taking the order: the lookup finds nothing, and the very same
    signed order (same id) is sent again once the venue is back."""

    async def recover(seconds: float) -> None:
        await venue.admin("POST", "/faults", {"http5xx": 0})

    wallet = await Wallet.open(venue, http_for(venue), lookup_delay_s=0.01, sleep=recover)
    m = wallet.market()
    order = wallet.resting(m)
    await venue.admin("POST", "/faults", {"http5xx": 1})
    ack = await wallet.trader.post_order(order)
    assert ack.accepted and not ack.looked_up and ack.order_id == order.order_id
    assert wallet.http.stats["orders ambiguous"] == 1
    assert len(await received(venue, wallet, order.order_id)) == 1  # the first never got in


async def test_a_repeat_of_a_landed_order_ends_in_a_lookup(venue, wallet):
    """What a re-send finds when the lost first attempt landed after all: 'Duplicated.'."""
    m = wallet.market()
    order = wallet.resting(m)
    assert (await wallet.trader.post_order(order)).accepted
    again = await wallet.trader.post_order(order)
    assert again.looked_up and again.accepted and again.order_id == order.order_id
    assert len(await accepted_at_venue(venue, wallet, order.order_id)) == 1


async def test_a_batch_answered_with_500_is_looked_up_order_by_order(venue, wallet):
    m = wallet.market()
    orders = [wallet.resting(m, str(5 + i)) for i in range(3)]
    await venue.admin("POST", "/faults", {"order_5xx": 1})
    acks = await wallet.trader.post_orders([OrderRequest(o) for o in orders])
    assert all(a.looked_up and a.accepted for a in acks)
    for o in orders:
        assert len(await received(venue, wallet, o.order_id)) == 1


async def test_an_unsettled_outcome_is_reported_with_the_ids(venue, http_for):
    """The answer is lost and the lookup cannot reach the venue either: the caller learns
    which orders are in doubt, and nothing is sent twice."""
    real = httpx.AsyncHTTPTransport()

    class LookupsFail(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/data/order/"):
                raise httpx.ConnectError("lookups are down")
            return await real.handle_async_request(request)

    http = http_for(venue, transport=LookupsFail())
    wallet = await Wallet.open(venue, http, lookup_delay_s=0)
    m = wallet.market()
    order = wallet.resting(m)
    await venue.admin("POST", "/faults", {"order_5xx": 1})
    with pytest.raises(OrderOutcomeUnknown) as info:
        await wallet.trader.post_order(order)
    assert info.value.order_ids == [order.order_id]
    assert len(await received(venue, wallet, order.order_id)) == 1
    await real.aclose()


async def test_concurrent_orders_share_one_pool(venue, wallet):
    m = wallet.market()
    orders = [wallet.resting(m, str(5 + i)) for i in range(10)]
    acks = await asyncio.gather(*(wallet.trader.post_order(o) for o in orders))
    assert all(a.accepted for a in acks)
    assert len(await wallet.trader.open_orders()) == 10


async def test_notifications_and_deleting_the_api_key(venue, wallet):
    assert await wallet.trader.notifications() == ()
    await wallet.trader.delete_api_key()
    with pytest.raises(HttpStatusError) as info:
        await wallet.trader.api_keys()  # the key is gone: every L2 call is refused
    assert info.value.status == 401
