"""The reconciler against the simulator: each kind of drift is found, written as a diff,
alerted and corrected; an empty or failed venue answer never means "flat"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.core import ledger_events as ev
from polytui.core.clock import FakeClock
from polytui.core.orders import FillStatus, OrderState
from polytui.engine.reconciler import Reconciler
from polytui.protocol.signing import OrderType
from polytui.venue.data_api import DataApiClient
from polytui.venue.errors import HttpStatusError
from tests.engine.order_tracker.conftest import Session, intent_for, resting_price
from tests.engine.order_tracker.test_tracker import size_at
from tests.sim.trading import Trader

S = OrderState


def reconciler_for(session: Session, clock: FakeClock, data=None) -> Reconciler:  # type: ignore[no-untyped-def]
    wallet = session.wallet
    return Reconciler(
        session.store,
        wallet.trader,
        data or DataApiClient(wallet.http),
        wallet.signer.address,
        clock,
        data_lag_s=3,
        alert=session.alerts.append,
    )


def diffs(records) -> list[ev.ReconciliationDiff]:  # type: ignore[no-untyped-def]
    return [r.event for r in records if r.kind == "reconciliation_diff"]


async def take(session: Session, intent_id: str, size: str = "5") -> str:
    wallet = session.wallet
    m = wallet.market()
    _, ask = wallet.best(m)
    view = await session.tracker.submit(
        intent_for(wallet, m, intent_id, ask, size, order_type=OrderType.FAK)
    )
    assert view.state is S.FILLED
    return m.yes_token


async def test_a_fill_and_an_order_state_the_ledger_missed_are_recorded(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    bid, _ = wallet.best(m)
    view = await session.tracker.submit(intent_for(wallet, m, "rec:1", bid, "5"))
    level = await size_at(session, m.yes_token, "bids", bid)
    other = await Trader.open(wallet.running)
    await wallet.running.admin(
        "POST", f"/wallets/{other.address}", {"positions": {m.yes_token: str(level)}}
    )
    await other.post(
        await other.signed(m.yes_token, float(bid), float(level), "SELL"), OrderType.FAK
    )
    assert store.model.fills == {}  # no user channel here: the tracker never heard of it
    rec = reconciler_for(session, FakeClock())
    report = await rec.run_once()
    assert (report.fills.diffs, report.orders.diffs) == (1, 1)
    [fill] = store.model.fills.values()
    assert (fill.order_id, fill.size, fill.role) == (view.order_id, 5, "MAKER")
    assert store.model.order(view.order_id).state is S.FILLED
    assert store.model.positions[m.yes_token].size == 5
    assert {d.subject for d in diffs(await store.records())} == {"fill", "order"}
    assert [a.kind for a in session.alerts] == ["fill_missing"]
    again = await rec.run_once()
    assert again.diffs == 0


async def test_an_order_cancelled_behind_the_ledger_is_closed(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    view = await session.tracker.submit(intent_for(wallet, m, "rec:2", resting_price(wallet, m)))
    await wallet.trader.cancel(view.order_id)  # not through the tracker
    report = await reconciler_for(session, FakeClock()).run_once()
    assert report.orders.diffs == 1
    assert store.model.order(view.order_id).state is S.CANCELED


async def test_an_order_open_at_the_venue_but_closed_here_is_corrected(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    view = await session.tracker.submit(intent_for(wallet, m, "rec:3", resting_price(wallet, m)))
    await store.append(
        ev.OrderStateChanged(order_id=view.order_id, state=S.CANCELED, source="a bug")
    )
    report = await reconciler_for(session, FakeClock()).run_once()
    assert report.orders.corrected == 1
    assert store.model.order(view.order_id).state is S.LIVE
    [change] = [
        r.event
        for r in await store.records()
        if r.kind == "order_state_changed" and r.event.correction
    ]
    assert change.ref == report.ref and change.source == "reconciler"
    assert [a.kind for a in session.alerts] == ["order_drift"]


async def test_an_order_no_intent_explains_is_recorded_and_alerted(session: Session) -> None:
    wallet, store = session.wallet, session.store
    m = wallet.market()
    foreign = wallet.resting(m)
    await wallet.trader.post_order(foreign)  # another tool, same wallet
    await reconciler_for(session, FakeClock()).run_once()
    order = store.model.order(foreign.order_id)
    assert order is not None and order.key == f"venue:{foreign.order_id}"
    assert order.state is S.LIVE
    assert [a.kind for a in session.alerts] == ["foreign_order"]


async def test_a_fill_the_venue_never_had_is_reversed_after_two_reads(session: Session) -> None:
    store = session.store
    asset = await take(session, "rec:4")
    [real] = store.model.fills.values()
    await store.append(
        ev.FillRecorded(
            trade_id="phantom",
            order_id=real.order_id,
            market=real.market,
            asset_id=asset,
            side="BUY",
            price=Decimal("0.5"),
            size=Decimal(7),
        )
    )
    assert store.model.positions[asset].size == 12
    rec = reconciler_for(session, FakeClock())
    first = await rec.run_once()
    assert first.fills.confirming == 1 and store.model.positions[asset].size == 12
    second = await rec.run_once()
    assert second.fills.corrected == 1
    assert store.model.fills[f"phantom:{real.order_id}"].status is FillStatus.FAILED
    assert store.model.positions[asset].size == 5
    assert [a.kind for a in session.alerts] == ["fill_unknown_at_venue"]


async def test_a_position_drift_no_fill_explains_is_corrected(session: Session) -> None:
    wallet, store = session.wallet, session.store
    asset = await take(session, "rec:5")
    [fill] = store.model.fills.values()
    # A bug took the fill out here although the venue settled it: the fills cannot say more.
    await store.append(
        ev.FillSettlementChanged(
            trade_id=fill.trade_id, order_id=fill.order_id, status=FillStatus.FAILED
        )
    )
    await wallet.running.advance(7000)  # confirmed at the venue, and in its Data API
    clock = FakeClock()
    rec = reconciler_for(session, clock)
    assert (await rec.run_once()).positions.corrected == 0  # just moved: the index may lag
    clock.advance(4000)
    assert (await rec.run_once()).positions.confirming == 1  # first sighting
    clock.advance(1000)
    report = await rec.run_once()
    assert report.positions.corrected == 1
    position = store.model.positions[asset]
    assert (position.size, position.sellable) == (5, 5)
    [correction] = [r.event for r in await store.records() if r.kind == "position_corrected"]
    assert (correction.delta, correction.venue_size) == (5, 5)
    assert "position_drift" in [a.kind for a in session.alerts]
    clock.advance(1000)
    assert (await rec.run_once()).diffs == 0


class Answers:
    """A Data API whose ``/positions`` answers are scripted (a list, or an exception)."""

    def __init__(self, real: DataApiClient, script: list) -> None:
        self.real, self.script = real, script

    async def all_positions(self, user: str, **filters):  # type: ignore[no-untyped-def]
        answer = self.script.pop(0) if self.script else "real"
        if isinstance(answer, Exception):
            raise answer
        if answer == "real":
            async for row in self.real.all_positions(user, **filters):
                yield row
        else:
            for row in answer:
                yield row


@pytest.mark.parametrize(
    "glitch",
    [[[]], [HttpStatusError("GET", "/positions", 503, "busy")]],
    ids=["one empty answer", "a failed read"],
)
async def test_one_empty_or_failed_answer_changes_nothing(session: Session, glitch) -> None:  # type: ignore[no-untyped-def]
    wallet, store = session.wallet, session.store
    asset = await take(session, "rec:6")
    await wallet.running.advance(7000)
    await session.tracker.sync()
    clock = FakeClock()
    rec = reconciler_for(session, clock, Answers(DataApiClient(wallet.http), ["real"] + glitch))
    await rec.run_once()
    clock.advance(4000)
    report = await rec.run_once()  # the glitch
    assert report.positions.corrected == 0
    clock.advance(1000)
    report = await rec.run_once()  # the venue again agrees
    assert report.positions.corrected == 0
    assert store.model.positions[asset].size == 5
    assert not [r for r in await store.records() if r.kind == "position_corrected"]


async def test_an_empty_answer_twice_is_a_drift_after_all(session: Session) -> None:
    wallet, store = session.wallet, session.store
    asset = await take(session, "rec:7")
    await wallet.running.advance(7000)
    await session.tracker.sync()  # settled: the position stops moving here
    clock = FakeClock()
    rec = reconciler_for(session, clock, Answers(DataApiClient(wallet.http), [[], [], []]))
    await rec.run_once()
    clock.advance(4000)
    assert (await rec.run_once()).positions.confirming == 1
    clock.advance(1000)
    assert (await rec.run_once()).positions.corrected == 1
    assert store.model.positions[asset].size == 0


async def test_a_failed_trades_read_concludes_nothing(session: Session) -> None:
    store = session.store
    await take(session, "rec:8")
    real = session.wallet.trader.trades

    async def down(**kwargs):  # type: ignore[no-untyped-def]
        raise HttpStatusError("GET", "/data/trades", 503, "busy")

    session.wallet.trader.trades = down  # type: ignore[method-assign]
    rec = reconciler_for(session, FakeClock())
    for _ in range(3):
        report = await rec.run_once()
        assert report.fills.failed and report.fills.corrected == 0
    session.wallet.trader.trades = real  # type: ignore[method-assign]
    assert {f.status for f in store.model.fills.values()} == {FillStatus.MATCHED}
