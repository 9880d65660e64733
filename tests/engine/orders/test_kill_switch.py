"""The kill switch over the tracker and the simulator: it blocks at once, records, clears the
venue and checks it is clear (retrying through failures), survives a restart, and releases."""

from __future__ import annotations

import asyncio

import pytest

from polytui.core.clock import SystemClock
from polytui.core.orders import OrderState
from polytui.engine.kill_switch import KillSwitch, KillSwitchChanged
from polytui.engine.order_tracker import OrderRefused
from polytui.venue.errors import NoAnswer
from tests.engine.order_tracker.conftest import Session, intent_for, resting_price


def switch(session: Session, published: list | None = None) -> KillSwitch:
    return KillSwitch(
        session.tracker,
        SystemClock(),
        retry_base_s=0.01,
        retry_cap_s=0.02,
        alert=session.alerts.append,
        publish=(published if published is not None else []).append,
    )


async def test_engage_blocks_records_and_clears_the_venue(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    for n in range(4):
        await session.tracker.submit(intent_for(wallet, m, f"k:{n}", resting_price(wallet, m)))
    published: list = []
    ks = switch(session, published)
    ref = await ks.engage("drawdown", "tui")
    assert ks.engaged and store.model.kill_switch.engaged
    assert (store.model.kill_switch.reason, store.model.kill_switch.source) == ("drawdown", "tui")
    assert await ks.wait_clear(5)
    assert await wallet.trader.open_orders() == []
    assert {o.state for o in store.model.orders.values()} == {OrderState.CANCELED}
    stats = ks.stats()  # what the health file, the alert and the UI say
    assert (stats["engaged"], stats["reason"], stats["source"]) == (True, "drawdown", "tui")
    assert [(e.engaged, e.ref) for e in published if isinstance(e, KillSwitchChanged)] == [
        (True, ref)
    ]
    with pytest.raises(OrderRefused):
        await session.tracker.submit(intent_for(wallet, m, "k:after", resting_price(wallet, m)))
    assert await ks.engage("again", "cli") != ref  # nothing new recorded, the venue re-checked
    assert sum(r.kind == "kill_switch_engaged" for r in await store.records()) == 1
    await ks.close()


async def test_clearing_retries_until_the_venue_confirms(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    view = await session.tracker.submit(intent_for(wallet, m, "k:r", resting_price(wallet, m)))
    real = wallet.trader.cancel_all
    calls = []

    async def flaky():  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) < 4:
            raise NoAnswer("DELETE", "/cancel-all", "timeout", "read timeout", reached=True)
        return await real()

    wallet.trader.cancel_all = flaky  # type: ignore[method-assign]
    ks = switch(session)
    await ks.engage("test", "cli")
    assert await ks.wait_clear(5)
    assert len(calls) == 4
    assert [a.kind for a in session.alerts] == ["kill_switch_not_clear"]
    assert await wallet.trader.open_orders() == []
    assert session.store.model.order(view.order_id).state is OrderState.CANCELED
    await ks.close()


async def test_it_survives_a_restart_and_is_released(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    ks = switch(session)
    await ks.engage("test", "signal")
    assert await ks.wait_clear(5)
    await ks.close()
    await session.restart()
    ks = switch(session)
    assert ks.engaged  # from the ledger
    await ks.resume_engaged()
    assert await ks.wait_clear(5)
    with pytest.raises(OrderRefused):
        await session.tracker.submit(intent_for(wallet, m, "k:x", resting_price(wallet, m)))
    assert await ks.release("cli") is not None
    assert not ks.engaged and not session.store.model.kill_switch.engaged
    view = await session.tracker.submit(intent_for(wallet, m, "k:y", resting_price(wallet, m)))
    assert view.state is OrderState.LIVE
    assert await ks.release("cli") is None  # not engaged: nothing written
    await ks.close()


async def test_an_order_on_its_way_when_engaged_does_not_stay_open(session: Session) -> None:
    wallet, tracker = session.wallet, session.tracker
    m = wallet.market()
    real_post = wallet.trader.post_order
    gate = asyncio.Event()

    async def slow_post(*args, **kwargs):  # type: ignore[no-untyped-def]
        await gate.wait()
        return await real_post(*args, **kwargs)

    wallet.trader.post_order = slow_post  # type: ignore[method-assign]
    posting = asyncio.ensure_future(
        tracker.submit(intent_for(wallet, m, "k:flight", resting_price(wallet, m)))
    )
    await asyncio.sleep(0.05)
    ks = switch(session)
    await ks.engage("test", "cli")
    assert not await ks.wait_clear(0.2)  # an order is still in flight: not confirmed yet
    gate.set()
    view = await posting
    assert await ks.wait_clear(5)
    # Cancelled by the tracker when its answer came, or by the next cancel-all: either way.
    assert session.store.model.order(view.order_id).state is OrderState.CANCELED
    assert await wallet.trader.open_orders() == []
    await ks.close()
