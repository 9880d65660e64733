"""The order tracker against the simulator: persist before post, one order per intent,
fills and settlement from the user channel and REST, restarts, the kill switch."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from polytui.core.clock import FakeClock
from polytui.core.orders import FillStatus, OrderState
from polytui.engine.order_tracker import (
    OrderRefused,
    PartialPolicy,
    TrackerTimeouts,
    UserFeed,
)
from polytui.protocol.signing import OrderType, intent_metadata
from polytui.venue.errors import NoAnswer, OrderOutcomeUnknown
from polytui.venue.user_stream import UserStream
from polytui.venue.ws import WsSettings
from tests.engine.order_tracker.conftest import Session, intent_for, resting_price
from tests.sim.trading import Trader
from tests.venue.test_ws import eventually

S = OrderState


async def at_venue(session: Session) -> list[dict]:
    """Every order the simulator received from the wallet, accepted ones only."""
    rows = await session.wallet.running.admin(
        "GET", f"/orders?signer={session.wallet.signer.address}"
    )
    return [o for o in rows if o["status"] != "rejected"]


async def test_an_intent_is_persisted_before_its_order_is_posted(session: Session) -> None:
    tracker, store, wallet = session.tracker, session.store, session.wallet
    m = wallet.market()
    seen_before_post: list[str] = []
    real_post = wallet.trader.post_order

    async def post(order, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen_before_post.extend(r.kind for r in await store.records())
        return await real_post(order, *args, **kwargs)

    wallet.trader.post_order = post  # type: ignore[method-assign]
    view = await tracker.submit(intent_for(wallet, m, "copy:leader:1", resting_price(wallet, m)))
    assert seen_before_post == ["intent_recorded", "order_signed", "order_submitted"]
    assert view.state is S.LIVE
    [row] = await at_venue(session)
    assert row["order_id"] == view.order_id
    assert row["metadata"] == intent_metadata("copy:leader:1")


async def test_the_same_intent_never_makes_a_second_order(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    intent = intent_for(wallet, m, "sig:1", resting_price(wallet, m))
    first = await session.tracker.submit(intent)
    again = await session.tracker.submit(intent)
    assert again.order_id == first.order_id
    await session.restart()
    third = await session.tracker.submit(intent)
    assert third.order_id == first.order_id
    assert len(await at_venue(session)) == 1


async def test_a_refused_order_is_rejected_with_the_venue_s_reason(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    view = await session.tracker.submit(
        intent_for(wallet, m, "tiny", resting_price(wallet, m), "1")
    )
    assert view.state is S.REJECTED
    assert "lower than the minimum" in view.reason


async def test_a_crossing_fak_records_its_fills_from_rest(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    _, ask = wallet.best(m)
    view = await session.tracker.submit(
        intent_for(wallet, m, "fak:1", ask, "5", order_type=OrderType.FAK)
    )
    assert view.state is S.FILLED
    fills = [f for f in store.model.fills.values() if f.order_id == view.order_id]
    assert sum(f.size for f in fills) == Decimal(5)
    assert {f.role for f in fills} == {"TAKER"}
    position = store.model.positions[m.yes_token]
    assert (position.size, position.settled, position.sellable) == (5, 0, 0)


async def size_at(session: Session, token: str, side: str, price: Decimal) -> Decimal:
    book = await session.wallet.running.admin("GET", f"/book?token_id={token}")
    return sum(
        (Decimal(level["size"]) for level in book[side] if Decimal(level["price"]) == price),
        Decimal(0),
    )


async def feed_for(session: Session):  # type: ignore[no-untyped-def]
    creds = session.wallet.trader.creds
    feed = UserFeed(session.tracker)
    settings = WsSettings(
        ping_interval_s=0.2,
        dead_after_s=5,
        open_timeout_s=2,
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
    )
    stream = UserStream(
        session.wallet.running.endpoints["ws"] + "/user", creds, feed.sink, settings=settings
    )
    await stream.start()
    await eventually(lambda: stream.connected)
    task = asyncio.ensure_future(feed.run())
    return stream, feed, task


async def test_a_maker_fill_and_its_settlement_arrive_on_the_user_channel(
    session: Session,
) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    stream, feed, task = await feed_for(session)
    try:
        bid, _ = wallet.best(m)
        view = await session.tracker.submit(intent_for(wallet, m, "maker:1", bid, "5"))
        assert view.state is S.LIVE  # joined the best bid, behind the others there
        # Someone sells the whole level, ours included.
        level = await size_at(session, m.yes_token, "bids", bid)
        other = await Trader.open(wallet.running)
        await wallet.running.admin(
            "POST", f"/wallets/{other.address}", {"positions": {m.yes_token: str(level)}}
        )
        await other.post(
            await other.signed(m.yes_token, float(bid), float(level), "SELL"), OrderType.FAK
        )

        async def filled() -> bool:
            order = store.model.order(view.order_id)
            return order is not None and order.state is S.FILLED

        await eventually(filled)
        [fill] = [f for f in store.model.fills.values() if f.order_id == view.order_id]
        assert (fill.role, fill.side, fill.size, fill.status) == ("MAKER", "BUY", 5, "MATCHED")
        await wallet.running.advance(7000)  # mined at 2 s, confirmed at 6 s (simulated)

        async def confirmed() -> bool:
            return store.model.fills[fill.key].status is FillStatus.CONFIRMED

        await eventually(confirmed)
        assert store.model.positions[m.yes_token].sellable == 5
    finally:
        task.cancel()
        await stream.close()


async def test_a_failed_settlement_reverses_the_position(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    _, ask = wallet.best(m)
    view = await session.tracker.submit(
        intent_for(wallet, m, "fak:fail", ask, "5", order_type=OrderType.FAK)
    )
    assert store.model.positions[m.yes_token].size == 5
    [fill] = [f for f in store.model.fills.values() if f.order_id == view.order_id]
    await wallet.running.admin("POST", f"/trades/{fill.trade_id}", {"action": "fail"})
    await session.tracker.sync()
    assert store.model.fills[fill.key].status is FillStatus.FAILED
    position = store.model.positions[m.yes_token]
    assert (position.size, position.fills) == (0, 0)


async def test_a_crash_before_the_post_fails_the_order_on_restart(db, wallet) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(start_ms=1_795_000_000_000)
    session = Session(db, wallet, clock=clock)
    tracker = await session.open()
    m = wallet.market()

    class Crash(BaseException):
        pass

    async def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Crash

    real = wallet.trader.post_order
    wallet.trader.post_order = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await tracker.submit(intent_for(wallet, m, "crash:1", resting_price(wallet, m)))
    wallet.trader.post_order = real  # type: ignore[method-assign]
    tracker = await session.restart()
    [order] = session.store.model.unresolved_orders()
    assert order.state is S.SUBMITTED
    await tracker.start()  # too soon to call it lost: the POST might still land
    assert session.store.model.order(order.order_id).state is S.SUBMITTED
    clock.advance(11_000)
    await tracker.start()
    assert session.store.model.order(order.order_id).state is S.FAILED
    assert await at_venue(session) == []
    again = await tracker.submit(intent_for(wallet, m, "crash:1", resting_price(wallet, m)))
    assert again.state is S.FAILED  # the intent is settled: never re-sent
    assert await at_venue(session) == []
    await session.close()


async def test_a_crash_after_the_post_finds_the_order_on_restart(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()

    class Crash(BaseException):
        pass

    real = wallet.trader.post_order

    async def post_then_crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        await real(*args, **kwargs)
        raise Crash

    wallet.trader.post_order = post_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await session.tracker.submit(intent_for(wallet, m, "crash:2", resting_price(wallet, m)))
    wallet.trader.post_order = real  # type: ignore[method-assign]
    tracker = await session.restart()
    await tracker.start()
    [order] = [o for o in session.store.model.orders.values() if o.key == "crash:2"]
    assert order.state is S.LIVE
    assert [o["order_id"] for o in await at_venue(session)] == [order.order_id]


async def test_an_unknown_outcome_is_resolved_by_lookup_never_by_resending(
    session: Session,
) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    real_post = wallet.trader.post_order

    async def lost_answer(order, *args, **kwargs):  # type: ignore[no-untyped-def]
        await real_post(order, *args, **kwargs)  # it lands...
        cause = NoAnswer("POST", "/order", "timeout", "read timeout", reached=True)
        raise OrderOutcomeUnknown([order.order_id], cause)  # ...but nobody could tell

    wallet.trader.post_order = lost_answer  # type: ignore[method-assign]
    view = await session.tracker.submit(intent_for(wallet, m, "amb:1", resting_price(wallet, m)))
    wallet.trader.post_order = real_post  # type: ignore[method-assign]
    assert view.state is S.UNKNOWN
    await session.tracker.resolve()
    assert store.model.order(view.order_id).state is S.LIVE
    assert len(await at_venue(session)) == 1


async def test_cancel_rest_policy_cancels_a_partial_fill(db, wallet) -> None:  # type: ignore[no-untyped-def]
    session = Session(db, wallet, policies={"test": PartialPolicy.CANCEL_REST})
    tracker = await session.open()
    m = wallet.market()
    _, ask = wallet.best(m)
    at_ask = await size_at(session, m.yes_token, "asks", ask)
    # A multiple of 10 shares keeps the marketable pUSD amount to 2 decimals on any tick.
    size = (int(at_ask) // 10 + 1) * 10
    view = await tracker.submit(intent_for(wallet, m, "part:1", ask, str(size)))
    assert view.state in (S.PARTIALLY_FILLED, S.CANCELED)
    order = session.store.model.order(view.order_id)
    assert order.state is S.CANCELED and order.size_matched == at_ask
    assert (await wallet.trader.open_orders()) == []
    await session.close()


async def test_the_kill_switch_cancels_everything_and_blocks_new_orders(
    session: Session,
) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    price = resting_price(wallet, m)
    for n in range(3):
        await session.tracker.submit(intent_for(wallet, m, f"ks:{n}", price))
    assert len(await wallet.trader.open_orders()) == 3
    left = await session.tracker.engage_kill_switch("k1", "test", "cli")
    assert left == []
    assert await wallet.trader.open_orders() == []
    assert {o.state for o in store.model.orders.values()} == {S.CANCELED}
    tracker = await session.restart()  # it survives a restart
    with pytest.raises(OrderRefused):
        await tracker.submit(intent_for(wallet, m, "ks:after", price))
    assert session.store.model.stats.risk_rejections == {"kill_switch": 1}
    await tracker.release_kill_switch("r1", "cli")
    view = await tracker.submit(intent_for(wallet, m, "ks:after2", price))
    assert view.state is S.LIVE


async def test_a_batch_is_one_durable_write_and_one_post(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    price = resting_price(wallet, m)
    views = await session.tracker.submit_batch(
        [intent_for(wallet, m, f"batch:{n}", price) for n in range(4)]
    )
    assert [v.state for v in views] == [S.LIVE] * 4
    kinds = [r.kind for r in await store.records()]
    assert kinds[:8] == ["intent_recorded", "order_signed"] * 4
    assert len(await at_venue(session)) == 4


async def test_timeouts_alert_once(db, wallet) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(start_ms=1_795_000_000_000)
    session = Session(db, wallet, clock=clock, timeouts=TrackerTimeouts(unknown_s=5))
    tracker = await session.open()
    m = wallet.market()

    async def lost(order, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OrderOutcomeUnknown([order.order_id], NoAnswer("POST", "/", "timeout", "", True))

    wallet.trader.post_order = lost  # type: ignore[method-assign]
    view = await tracker.submit(intent_for(wallet, m, "to:1", resting_price(wallet, m)))
    assert tracker.check_timeouts() == []
    clock.advance(6000)
    [alert] = tracker.check_timeouts()
    assert (alert.kind, alert.key) == ("order_unknown", view.order_id)
    assert tracker.check_timeouts() == []
    assert session.alerts == [alert]
    await session.close()
