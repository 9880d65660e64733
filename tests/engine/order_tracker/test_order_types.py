"""Every order type through the tracker against the simulator: FOK filled or killed, GTD
resting then expiring, a post-only order that would cross, and the cancels."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from polytui.core.orders import OrderState
from polytui.protocol.signing import OrderType
from tests.engine.order_tracker.conftest import Session, intent_for, resting_price
from tests.engine.order_tracker.test_tracker import size_at

S = OrderState


async def test_a_fok_that_fills_is_filled(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    _, ask = wallet.best(m)
    view = await session.tracker.submit(
        intent_for(wallet, m, "fok:1", ask, "5", order_type=OrderType.FOK)
    )
    assert view.state is S.FILLED and view.size_matched == 5


async def test_a_fok_that_cannot_fill_whole_is_rejected_and_leaves_nothing(
    session: Session,
) -> None:
    wallet = session.wallet
    m = wallet.market()
    _, ask = wallet.best(m)
    too_much = (int(await size_at(session, m.yes_token, "asks", ask)) // 10 + 2) * 10
    view = await session.tracker.submit(
        intent_for(wallet, m, "fok:2", ask, str(too_much), order_type=OrderType.FOK)
    )
    assert view.state is S.REJECTED and "fully filled or killed" in view.reason
    assert session.store.model.fills == {}


async def test_a_gtd_rests_then_expires(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    now_s = wallet.running.sim.exchange.now_ms // 1000
    far = Decimal(m.tick) / 10_000  # the lowest bid there is: nobody sells into it
    intent = dataclasses.replace(
        intent_for(wallet, m, "gtd:1", far, "100", order_type=OrderType.GTD),
        expiration_s=now_s + 90,
    )
    view = await session.tracker.submit(intent)
    assert view.state is S.LIVE
    await wallet.running.advance(91_000, step=10_000)
    await session.tracker.sync()
    assert session.store.model.order(view.order_id).state is S.EXPIRED


async def test_a_post_only_order_that_would_cross_is_rejected(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    _, ask = wallet.best(m)
    intent = dataclasses.replace(intent_for(wallet, m, "po:1", ask), post_only=True)
    view = await session.tracker.submit(intent)
    assert view.state is S.REJECTED and "crosses book" in view.reason


async def test_cancels_of_one_and_of_all(session: Session) -> None:
    wallet, tracker = session.wallet, session.tracker
    m = wallet.market()
    views = [
        await tracker.submit(intent_for(wallet, m, f"c:{n}", resting_price(wallet, m)))
        for n in range(3)
    ]
    assert await tracker.cancel([views[0].order_id]) == [views[0].order_id]
    assert await tracker.cancel_all() == []
    assert {session.store.model.order(v.order_id).state for v in views} == {S.CANCELED}
    assert await wallet.trader.open_orders() == []
