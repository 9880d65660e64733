"""The risk engine on the running engine's parts, and the strategy runner: gates with the
mirror's states and the ledger's positions, rejections written, halts that survive, and
strategies that fail alone."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal as D

import msgspec
import pytest

from polytui.core import ledger_events as ev
from polytui.core.clock import FakeClock
from polytui.core.orders import FillStatus
from polytui.core.projections import Projector
from polytui.core.risk import Approved, Gate, Rejected, RiskLimits
from polytui.core.strategy import OrderIntent, OrderSide, OrderType, SizeUnit, intent_id
from polytui.engine.context import EngineView
from polytui.engine.mirror import BookState, Mirror
from polytui.engine.risk_engine import RiskEngine
from polytui.engine.strategy_runner import (
    OrderOutcome,
    StrategyFailed,
    StrategyRunner,
    StrategyStopped,
)
from polytui.protocol.wire.market_ws import decode_market_frame
from polytui.venue.ws import ConnectionChange, ConnState, Frame

M, YES, NO = "0x" + "m" * 64, "1" * 77, "2" * 77
START = 1_795_000_000_000


class Ledger:
    """The projections of the events recorded, as the store would hold them."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.projector = Projector()
        self.seq = 0
        self.events: list[ev.LedgerEvent] = []

    def record(self, event: ev.LedgerEvent) -> None:
        self.seq += 1
        self.events.append(event)
        record = ev.LedgerRecord(
            seq=self.seq, event_id=f"e{self.seq}", ts_ms=self.clock.now_ms(), event=event
        )
        self.projector.apply(record)

    @property
    def model(self):
        return self.projector.model


def primed(clock: FakeClock) -> Mirror:
    mirror = Mirror(clock=clock)
    mirror.track(M, [YES, NO])
    books = [
        {
            "event_type": "book",
            "market": M,
            "asset_id": a,
            "timestamp": str(clock.now_ms()),
            "hash": "h",
            "bids": [{"price": "0.48", "size": "1000"}],
            "asks": [{"price": "0.52", "size": "1000"}],
            "tick_size": "0.01",
        }
        for a in (YES, NO)
    ]
    mirror.process(
        Frame("market-1", clock.now_ms(), tuple(decode_market_frame(msgspec.json.encode(books))))
    )
    assert mirror.state(YES) is BookState.LIVE
    return mirror


def intent(n: int = 1, **changes) -> OrderIntent:
    fields = {
        "intent_id": intent_id("demo", f"signal-{n}"),
        "strategy": "demo",
        "condition_id": M,
        "asset": YES,
        "side": OrderSide.BUY,
        "size": D(10),
        "unit": SizeUnit.USDC,
        "limit_price": D("0.53"),
        "order_type": OrderType.FAK,
        "reference_price": D("0.52"),
        "reason": "test",
        "created_ms": START,
        "signal_ms": START,
    }
    fields.update(changes)
    return OrderIntent(**fields)


def rig(limits: RiskLimits | None = None):
    clock = FakeClock(START)
    mirror = primed(clock)
    ledger = Ledger(clock)
    view = EngineView(clock, mirror, None, model=lambda: ledger.model, cash=lambda: D(1000))
    risk = RiskEngine(
        limits or RiskLimits(categories=frozenset()),
        view,
        clock=clock,
        model=lambda: ledger.model,
        funds=lambda: (D(1000), D(1000)),
        record=ledger.record,
    )
    return clock, mirror, ledger, view, risk


class NoScanner:
    def flags(self, cid):
        return frozenset()

    markets: dict = {}


def test_an_intent_on_a_live_book_is_approved_and_one_on_a_book_out_of_live_is_refused():
    clock, mirror, ledger, view, risk = rig()
    view.scanner = NoScanner()
    verdict = risk.evaluate(intent())
    assert isinstance(verdict, Approved), verdict
    assert verdict.price == D("0.53") and verdict.shares > 0
    mirror.process(
        ConnectionChange("market-1", ConnState.DISCONNECTED, clock.now_ms(), (YES, NO), "x")
    )
    refused = risk.evaluate(intent(2))
    assert isinstance(refused, Rejected) and refused.gate is Gate.BOOK_LIVE
    (written,) = [e for e in ledger.events if isinstance(e, ev.RiskRejected)]
    assert (written.gate, written.intent_id, written.strategy) == (
        "book_live",
        intent(2).intent_id,
        "demo",
    )
    assert risk.stats()["rejects"] == {"book_live": 1} and risk.stats()["approved"] == 1


def test_without_the_scanner_a_market_is_unknown_and_refused():
    _, _, _, _, risk = rig()
    refused = risk.evaluate(intent())
    assert isinstance(refused, Rejected) and refused.gate is Gate.MARKET_TRADABLE


def test_the_kill_switch_in_the_ledger_stops_everything():
    clock, mirror, ledger, view, risk = rig()
    view.scanner = NoScanner()
    ledger.record(ev.KillSwitchEngaged(ref="k1", reason="test", source="test"))
    refused = risk.evaluate(intent())
    assert isinstance(refused, Rejected) and refused.gate is Gate.KILL_SWITCH


def test_a_daily_loss_halts_the_strategy_until_the_period_ends_even_after_a_restart():
    limits = RiskLimits(daily_loss_cap_usdc=D(5), categories=frozenset())
    clock, mirror, ledger, view, risk = rig(limits)
    view.scanner = NoScanner()
    assert risk.needs_snapshot(clock.now_ms())
    # Held 100 shares bought at 0.60, marked at the mid 0.50 now: -10 against a cap of 5.
    ledger.record(risk.snapshot_event(clock.now_ms()))
    ledger.record(
        ev.FillRecorded(
            trade_id="t1",
            order_id="o1",
            market=M,
            asset_id=YES,
            side="BUY",
            price=D("0.60"),
            size=D(100),
            fee=D(0),
            status="CONFIRMED",
            role="TAKER",
            match_time_ms=clock.now_ms(),
        )
    )
    assert not risk.needs_snapshot(clock.now_ms())
    assert risk.daily_pnl(clock.now_ms()) == D("-10.00")
    refused = risk.evaluate(intent())
    assert isinstance(refused, Rejected) and refused.gate is Gate.DAILY_LOSS
    (written,) = [e for e in ledger.events if isinstance(e, ev.RiskRejected)]
    assert written.halt_until_ms is not None and written.halt_until_ms > clock.now_ms()
    assert ledger.model.halts["demo"] == written.halt_until_ms
    # A new engine reading the same ledger keeps the halt, even once the PnL recovers.
    again = RiskEngine(limits, view, clock=clock, model=lambda: ledger.model, record=ledger.record)
    state = again.state(intent(3), None)
    assert state.halted_until_ms == written.halt_until_ms


class Demo:
    name = "demo"

    def __init__(self, intents=(), fail_on_input=False):
        self.intents = list(intents)
        self.fail_on_input = fail_on_input
        self.verdicts = []
        self.sent = []

    def on_input(self, ctx, item):
        if self.fail_on_input:
            raise RuntimeError(f"bad input {item}")
        if not self.intents:
            return []
        now = ctx.now_ms()  # a fresh signal: the freshness gate measures its age
        return [dataclasses.replace(self.intents.pop(0), created_ms=now, signal_ms=now)]

    def on_book(self, ctx, asset):
        return []

    def on_timer(self, ctx):
        return []

    def on_verdict(self, verdict, at_ms):
        self.verdicts.append(verdict)

    def on_order_sent(self, intent_id, at_ms):
        self.sent.append(intent_id)


async def settle(clock: FakeClock, steps: int = 5, ms: int = 1000) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)
        clock.advance(ms)
        await asyncio.sleep(0.01)


async def test_the_runner_takes_intents_through_risk_to_the_order_path():
    clock, mirror, ledger, view, risk = rig()
    view.scanner = NoScanner()
    submitted, events = [], []

    async def submit(approved):
        submitted.append(approved)

    strategy = Demo([intent(1), intent(2, asset=NO, limit_price=D("0.53"))])
    tick = {
        "event_type": "tick_size_change",
        "market": M,
        "asset_id": NO,
        "old_tick_size": "0.01",
        "new_tick_size": "0.001",
        "timestamp": str(clock.now_ms()),
    }  # NO's book is dropped until a snapshot on the new grid: out of LIVE
    mirror.process(
        Frame("market-1", clock.now_ms(), tuple(decode_market_frame(msgspec.json.encode(tick))))
    )
    assert mirror.state(NO) is not BookState.LIVE and mirror.state(YES) is BookState.LIVE
    runner = StrategyRunner([strategy], risk, submit, clock=clock, view=view, publish=events.append)
    task = asyncio.create_task(runner.run())
    runner.put("demo", "go")
    runner.put("demo", "go")
    await settle(clock)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [a.intent.intent_id for a in submitted] == [intent(1).intent_id]
    outcomes = [e for e in events if isinstance(e, OrderOutcome)]
    assert [(o.approved, o.gate) for o in outcomes] == [(True, ""), (False, "book_live")]
    assert strategy.sent == [intent(1).intent_id] and len(strategy.verdicts) == 2
    assert runner.stats()["demo"]["intents"] == 2


async def test_a_failing_strategy_is_restarted_with_backoff_then_stopped_and_alone():
    clock, mirror, ledger, view, risk = rig()
    view.scanner = NoScanner()
    bad, good, events = Demo(fail_on_input=True), Demo([intent(5)]), []
    good.name = "good"
    submitted = []

    async def submit(approved):
        submitted.append(approved)

    runner = StrategyRunner(
        [bad, good],
        risk,
        submit,
        clock=clock,
        view=view,
        publish=events.append,
        max_restarts=2,
        backoff_s=1.0,
    )
    task = asyncio.create_task(runner.run())
    for _ in range(6):
        runner.put("demo", "boom")
        await settle(clock, steps=3, ms=1500)
    runner.put("good", "go")
    await settle(clock)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    failed = [e for e in events if isinstance(e, StrategyFailed)]
    stopped = [e for e in events if isinstance(e, StrategyStopped)]
    assert len(failed) == 3 and [f.restarts for f in failed] == [0, 1, 2]
    assert len(stopped) == 1 and stopped[0].strategy == "demo"
    assert runner.stats()["demo"]["state"] == "stopped"
    assert runner.stats()["good"]["state"] == "running"
    assert [a.intent.intent_id for a in submitted] == [intent(5).intent_id]


def test_two_strategies_may_not_share_a_name():
    clock, mirror, ledger, view, risk = rig()
    with pytest.raises(ValueError, match="share a name"):
        StrategyRunner([Demo(), Demo()], risk, None, clock=clock, view=view)


def test_an_aging_position_is_flagged_once_and_reduced_when_asked():
    from polytui.engine.position_aging import PositionAger, PositionAging

    clock, mirror, ledger, view, risk = rig()
    ledger.record(
        ev.FillRecorded(
            trade_id="t1", order_id="o1", market=M, asset_id=YES, side="BUY", price=D("0.40"),
            size=D(50), fee=D(0), status=FillStatus.CONFIRMED, role="TAKER",
            match_time_ms=clock.now_ms(),
        )
    )  # fmt: skip
    events: list = []
    ager = PositionAger(
        view, lambda: ledger.model, max_age_ms=3_600_000, resolution_buffer_ms=0,
        reduce=True, offset=D("0.01"), publish=events.append, every_ms=1_000,
    )  # fmt: skip
    assert ager.on_timer(view) == []  # fresh
    clock.advance(3_600_001)
    (sell,) = ager.on_timer(view)
    assert sell.side is OrderSide.SELL and sell.size == D(50) and sell.limit_price == D("0.47")
    assert [type(e) for e in events] == [PositionAging] and events[0].reason == "too_old"
    clock.advance(1_000)
    ager.on_timer(view)
    assert len(events) == 1  # flagged once while it lasts
    flag_only = PositionAger(
        view, lambda: ledger.model, max_age_ms=1, resolution_buffer_ms=0, reduce=False,
        offset=D("0.01"), publish=events.append,
    )  # fmt: skip
    assert flag_only.on_timer(view) == [] and len(events) == 2
