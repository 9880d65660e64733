"""The venue heartbeat against the simulator (whose clock is held and advanced by the test):
beating keeps resting orders, silence for 10 simulated seconds cancels them, a stale id is
retried with the one the venue names, and beats happen only while orders are open."""

from __future__ import annotations

from decimal import Decimal

from polytui.core.clock import FakeClock
from polytui.core.orders import OrderState
from polytui.engine.venue_heartbeat import VenueHeartbeat
from tests.engine.order_tracker.conftest import Session, intent_for


async def test_beats_keep_orders_and_silence_cancels_them(session: Session) -> None:
    wallet = session.wallet
    m = wallet.market()
    clock = FakeClock()
    heartbeat = VenueHeartbeat(wallet.trader, clock, lambda: True, interval_s=5)
    far = Decimal(m.tick) / 10_000  # the lowest bid there is: nobody sells into it
    view = await session.tracker.submit(intent_for(wallet, m, "hb:1", far, "100"))
    assert await heartbeat.beat()
    for _ in range(3):  # 24 simulated seconds, a beat every 8
        await wallet.running.advance(8000)
        assert await heartbeat.beat()
    assert [o.id for o in await wallet.trader.open_orders()] == [view.order_id]
    await wallet.running.advance(11_000)  # polytui "died": no beat for 11 s
    assert await wallet.trader.open_orders() == []
    await session.tracker.sync()
    assert session.store.model.order(view.order_id).state is OrderState.CANCELED


async def test_a_stale_id_is_retried_with_the_one_the_venue_expects(session: Session) -> None:
    trader = session.wallet.trader
    first = VenueHeartbeat(trader, FakeClock(), lambda: True)
    assert await first.beat()
    restarted = VenueHeartbeat(trader, FakeClock(), lambda: True)  # a new process: no id
    assert await restarted.beat()
    assert (restarted.stale, restarted.beats, restarted.failures) == (1, 1, 0)
    assert await restarted.beat()  # chained from there on
    assert restarted.stale == 1


async def test_it_beats_only_while_orders_are_open_and_a_while_after(session: Session) -> None:
    clock = FakeClock()
    open_orders = [False]
    heartbeat = VenueHeartbeat(
        session.wallet.trader, clock, lambda: open_orders[0], interval_s=5, idle_grace_s=15
    )
    await heartbeat.tick()
    assert heartbeat.beats == 0
    open_orders[0] = True
    await heartbeat.tick()
    open_orders[0] = False
    clock.advance(5000)
    await heartbeat.tick()  # within the grace: the venue's session stays fed
    clock.advance(16_000)
    await heartbeat.tick()
    assert heartbeat.beats == 2


async def test_before_a_post_it_beats_only_when_the_last_beat_is_old(session: Session) -> None:
    clock = FakeClock()
    heartbeat = VenueHeartbeat(session.wallet.trader, clock, lambda: False, interval_s=5)
    await heartbeat.ensure_fresh()
    await heartbeat.ensure_fresh()
    assert heartbeat.beats == 1
    clock.advance(5000)
    await heartbeat.ensure_fresh()
    assert heartbeat.beats == 2


async def test_failing_beats_raise_one_alert_per_streak(session: Session) -> None:
    from polytui.venue.errors import NoAnswer

    alerts: list = []
    trader = session.wallet.trader

    async def down(_id=None):  # type: ignore[no-untyped-def]
        raise NoAnswer("POST", "/v1/heartbeats", "connect", "refused", reached=False)

    heartbeat = VenueHeartbeat(trader, FakeClock(), lambda: True, alert=alerts.append)
    trader.heartbeat = down  # type: ignore[method-assign]
    for _ in range(4):
        assert not await heartbeat.beat()
    assert [a.kind for a in alerts] == ["heartbeat_failing"]
    assert heartbeat.stats()["consecutive_failures"] == 4
