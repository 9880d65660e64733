"""The tracker's partial-fill policies (replace at the verified touch within the slippage
bound), the plain intent shape, the kill switch's in-memory block, and the venue's faults:
an ambiguous POST (500 after acceptance, a dropped connection), the user channel dropping
during a fill, and a settlement that fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest

from polytui.core.orders import FillStatus, OrderState
from polytui.engine.order_tracker import (
    ApprovedOrder,
    OrderRefused,
    PartialPolicy,
    StrategyPolicy,
    UserFeed,
)
from polytui.protocol.signing import OrderType
from polytui.venue.user_stream import UserStream
from polytui.venue.ws import WsSettings
from tests.engine.order_tracker.conftest import Session, SimMarkets, intent_for, resting_price
from tests.engine.order_tracker.test_tracker import at_venue, size_at
from tests.sim.trading import Trader
from tests.venue.test_ws import MaxRng, eventually

S = OrderState


def _replace_session(db, wallet, slippage: str, live: bool = True) -> Session:  # type: ignore[no-untyped-def]
    policy = StrategyPolicy(PartialPolicy.REPLACE, Decimal(slippage), max_replaces=1)
    return Session(db, wallet, policies={"test": policy}, markets=SimMarkets(wallet, live))


async def _partial_buy(session: Session, intent_id: str):  # type: ignore[no-untyped-def]
    """A GTC BUY at the ask for more than the ask level holds: part fills, the rest rests."""
    wallet = session.wallet
    m = wallet.market()
    _, ask = wallet.best(m)
    at_ask = await size_at(session, m.yes_token, "asks", ask)
    size = (int(at_ask) // 10 + 2) * 10  # the rest is at least the venue's minimum
    view = await session.tracker.submit(intent_for(wallet, m, intent_id, ask, str(size)))
    return m, ask, at_ask, size, view


async def test_replace_reprices_the_rest_at_the_touch_within_the_bound(db, wallet) -> None:  # type: ignore[no-untyped-def]
    session = _replace_session(db, wallet, "0.05")
    await session.open()
    m, ask, at_ask, size, view = await _partial_buy(session, "rep:1")
    model = session.store.model
    original = model.order(view.order_id)
    assert session.alerts == []
    assert original.state is S.CANCELED and original.size_matched == at_ask
    [replacement] = [o for o in model.orders.values() if o.intent_id == "rep:1:replace:1"]
    assert replacement.side == "BUY"
    # The rest, down to what a marketable BUY may be at that price (pUSD to 2 decimals).
    assert size - at_ask - 1 < replacement.size <= size - at_ask
    assert (replacement.size * replacement.price) % Decimal("0.01") == 0
    assert ask < replacement.price <= ask + Decimal("0.05")
    assert replacement.state in (S.FILLED, S.PARTIALLY_FILLED, S.LIVE)
    assert replacement.size_matched > 0  # it took at the new touch
    assert session.tracker.stats["replaced"] == 1
    # One order per intent: the venue got exactly the original and its replacement.
    assert sorted(o["order_id"] for o in await at_venue(session)) == sorted(
        [view.order_id, replacement.order_id]
    )
    await session.close()


async def test_replace_beyond_the_slippage_bound_leaves_the_rest(db, wallet) -> None:  # type: ignore[no-untyped-def]
    session = _replace_session(db, wallet, "0")
    await session.open()
    _, _, at_ask, _, view = await _partial_buy(session, "rep:2")
    order = session.store.model.order(view.order_id)
    assert order.state is S.PARTIALLY_FILLED and order.size_matched == at_ask
    assert [o.id for o in await wallet.trader.open_orders()] == [view.order_id]
    [alert] = [a for a in session.alerts if a.kind == "replace_skipped"]
    assert "beyond the slippage bound" in alert.message
    assert not [o for o in session.store.model.orders.values() if ":replace:" in o.intent_id]
    await session.close()


async def test_replace_without_a_live_book_leaves_the_rest(db, wallet) -> None:  # type: ignore[no-untyped-def]
    session = _replace_session(db, wallet, "0.05", live=False)
    await session.open()
    _, _, _, _, view = await _partial_buy(session, "rep:3")
    assert session.store.model.order(view.order_id).state is S.PARTIALLY_FILLED
    assert [a.kind for a in session.alerts] == ["replace_skipped"]
    assert "no LIVE book" in session.alerts[0].message
    await session.close()


async def test_leave_is_the_default(session: Session) -> None:
    _, _, at_ask, _, view = await _partial_buy(session, "leave:1")
    order = session.store.model.order(view.order_id)
    assert order.state is S.PARTIALLY_FILLED and order.size_matched == at_ask
    assert [o.id for o in await session.wallet.trader.open_orders()] == [view.order_id]


@dataclass
class StrategyIntent:
    """Shaped like the strategy runner's own intent type (polytui.core.strategy)."""

    intent_id: str
    strategy: str
    condition_id: str
    asset: str
    side: str
    size: Decimal
    unit: str
    limit_price: Decimal
    order_type: str
    reason: str


async def test_a_plain_shape_is_an_intent(db, wallet) -> None:  # type: ignore[no-untyped-def]
    session = Session(db, wallet, markets=SimMarkets(wallet))
    tracker = await session.open()
    m = wallet.market()
    price = resting_price(wallet, m)
    view = await tracker.submit(
        StrategyIntent(
            "shape:1",
            "copy",
            m.condition_id,
            m.yes_token,
            "BUY",
            Decimal(5),
            "SHARES",
            price,
            "GTC",
            "a copy",
        )  # fmt: skip
    )
    assert view.state is S.LIVE and view.price == price and view.market == m.condition_id
    mapping = {
        "intent_id": "shape:2",
        "strategy": "copy",
        "market": m.condition_id,
        "asset_id": m.yes_token,
        "side": "buy",
        "price": str(price),
        "size": "5",
    }
    assert (await tracker.submit(mapping)).state is S.LIVE  # tick from Markets
    with pytest.raises(ValueError, match="in shares"):
        await tracker.submit({**mapping, "intent_id": "shape:3", "unit": "USDC"})
    with pytest.raises(ValueError, match="unknown order intent fields"):
        await tracker.submit({**mapping, "intent_id": "shape:4", "colour": "red"})
    with pytest.raises(ValueError, match="missing"):
        await tracker.submit({k: v for k, v in mapping.items() if k != "size"})
    with pytest.raises(ValueError, match="no number"):
        await tracker.submit({**mapping, "intent_id": "shape:5", "price": "cheap"})
    with pytest.raises(ValueError, match="side"):
        await tracker.submit({**mapping, "intent_id": "shape:6", "side": "HOLD"})
    assert "shape:3" not in session.store.model.orders  # bad input loses nothing, sends nothing
    assert len(await at_venue(session)) == 2
    await session.close()


async def test_an_intent_without_a_known_tick_is_refused_before_anything_is_written(
    session: Session,
) -> None:
    m = session.wallet.market()
    intent = ApprovedOrder("notick", "s", m.condition_id, m.yes_token, "BUY", Decimal("0.1"), 5)
    with pytest.raises(ValueError, match="tick size"):
        await session.tracker.submit(intent)
    assert session.store.model.orders == {}


async def test_the_kill_switch_blocks_before_its_event_is_written(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    engaging = asyncio.ensure_future(session.tracker.engage_kill_switch("k", "test", "cli"))
    await asyncio.sleep(0)  # it has started: the block is on before the durable write returns
    assert session.tracker.halted
    with pytest.raises(OrderRefused):
        await session.tracker.submit(intent_for(wallet, m, "blocked", resting_price(wallet, m)))
    assert await engaging == []


async def test_an_order_acked_after_the_kill_switch_is_cancelled(session: Session) -> None:
    wallet, tracker = session.wallet, session.tracker
    m = wallet.market()
    real_post = wallet.trader.post_order

    async def slow_post(*args, **kwargs):  # type: ignore[no-untyped-def]
        await tracker.engage_kill_switch("k2", "while posting", "cli", cancel=False)
        return await real_post(*args, **kwargs)  # the POST was already on its way

    wallet.trader.post_order = slow_post  # type: ignore[method-assign]
    view = await tracker.submit(intent_for(wallet, m, "late", resting_price(wallet, m)))
    assert view.state is S.CANCELED
    assert await wallet.trader.open_orders() == []
    assert tracker.stats["cancelled while halted"] == 1


# ---- the venue's faults -------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["order_5xx", "order_drop"])
async def test_an_ambiguous_post_is_looked_up_and_makes_one_order(
    session: Session, fault: str
) -> None:
    wallet = session.wallet
    m = wallet.market()
    await wallet.running.admin("POST", "/faults", {fault: 1.0})
    view = await session.tracker.submit(
        intent_for(wallet, m, f"amb:{fault}", resting_price(wallet, m))
    )
    await wallet.running.admin("POST", "/faults", {fault: 0.0})
    assert view.state is S.LIVE
    acked = [r.event for r in await session.store.records() if r.kind == "order_acked"]
    assert [a.looked_up for a in acked] == [True]
    assert [o["order_id"] for o in await at_venue(session)] == [view.order_id]


async def test_an_ambiguous_fak_that_filled_keeps_its_fills(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    _, ask = wallet.best(m)
    await wallet.running.admin("POST", "/faults", {"order_5xx": 1.0})
    view = await session.tracker.submit(
        intent_for(wallet, m, "amb:fak", ask, "5", order_type=OrderType.FAK)
    )
    await wallet.running.admin("POST", "/faults", {"order_5xx": 0.0})
    assert view.state is S.FILLED
    assert sum(f.size for f in store.model.fills.values()) == 5
    assert len(await at_venue(session)) == 1


async def test_a_fill_while_the_user_channel_is_down_is_found_after_the_reconnect(
    session: Session,
) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    resynced: list[int] = []
    feed = UserFeed(session.tracker, on_resync=lambda: resynced.append(1))
    settings = WsSettings(
        ping_interval_s=0.2, dead_after_s=5, open_timeout_s=2, backoff_base_s=0.6, backoff_cap_s=1
    )
    stream = UserStream(
        wallet.running.endpoints["ws"] + "/user",
        wallet.trader.creds,
        feed.sink,
        settings=settings,
        rng=MaxRng(),
    )
    await stream.start()
    task = asyncio.ensure_future(feed.run())
    try:
        await eventually(lambda: stream.connected)
        bid, _ = wallet.best(m)
        view = await session.tracker.submit(intent_for(wallet, m, "ws:drop", bid, "5"))
        level = await size_at(session, m.yes_token, "bids", bid)
        other = await Trader.open(wallet.running)
        await wallet.running.admin(
            "POST", f"/wallets/{other.address}", {"positions": {m.yes_token: str(level)}}
        )
        await wallet.running.admin("POST", "/disconnect", {"channel": "user"})
        await other.post(
            await other.signed(m.yes_token, float(bid), float(level), "SELL"), OrderType.FAK
        )
        assert store.model.order(view.order_id).state is S.LIVE  # the channel missed it

        def filled() -> bool:
            return store.model.order(view.order_id).state is S.FILLED

        await eventually(filled, within=5)
        await eventually(lambda: resynced == [1])  # REST found it, after the reconnect
        [fill] = [f for f in store.model.fills.values() if f.order_id == view.order_id]
        assert (fill.role, fill.size) == ("MAKER", 5)
    finally:
        task.cancel()
        await stream.close()


async def test_a_settlement_failure_reverses_the_position(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    _, ask = wallet.best(m)
    await wallet.running.admin("POST", "/faults", {"settle_fail": 1.0})
    view = await session.tracker.submit(
        intent_for(wallet, m, "settle:fail", ask, "5", order_type=OrderType.FAK)
    )
    assert store.model.positions[m.yes_token].size == 5
    await wallet.running.advance(7000)  # RETRYING at 2 s, FAILED at 6 s (simulated)
    await session.tracker.sync()
    fills = [f for f in store.model.fills.values() if f.order_id == view.order_id]
    assert {f.status for f in fills} == {FillStatus.FAILED}
    position = store.model.positions[m.yes_token]
    assert (position.size, position.pending, position.sellable, position.fills) == (0, 0, 0, 0)
