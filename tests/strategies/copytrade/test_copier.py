"""The copy-trader: leader deltas become intents sized pro-rata, or records saying why not;
risk verdicts complete the record; fills drive the copy's exits and the KPIs."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from polytui.core.risk import Holding, MarketState, RiskLimits, RiskState, evaluate
from polytui.core.sizer import SizerParams
from polytui.core.strategy import (
    BookRead,
    OrderSide,
    OrderType,
    SizeUnit,
    SnapshotContext,
    Strategy,
    intent_id,
)
from polytui.strategies.copytrade import (
    CopyParams,
    CopyRecord,
    CopyTrader,
    DeltaKind,
    LeaderDelta,
    LeaderParams,
    LeaderScore,
    LeaderSnapshot,
    Outcome,
)
from tests.strategies.copytrade.helpers import ASSET, COND, LEADER, T0, book, fill

NOW = T0 + 10_000
DEEP = book(bids=[("0.48", 100_000)], asks=[("0.50", 100_000)])
SIZER = SizerParams(min_usdc=D(1), max_usdc=D(100), depth_fraction=D("0.25"),
                    max_slippage=D("0.02"))  # fmt: skip
PARAMS = CopyParams(sizer=SIZER, leaders={LEADER: LeaderParams(LEADER, "whale")})


def snapshot(value="90000", cash="10000") -> LeaderSnapshot:
    return LeaderSnapshot(LEADER, T0, D(value), D(cash), False, {}, {})


def score(eligible=True, cap: str | None = "5000", reasons=()) -> LeaderScore:
    return LeaderScore(LEADER, T0, 120, eligible, 0.4, 2.0, 0.6, 1.5, 0.1, 0.05, 0,
                       D(cap) if cap else None, tuple(reasons))  # fmt: skip


def delta(*fills, before="0", after=None) -> LeaderDelta:
    net = sum(f.signed for f in fills)
    after = D(after) if after is not None else D(before) + net
    return LeaderDelta(LEADER, COND, ASSET, tuple(fills), D(before), after, NOW)


BUY_1000 = delta(fill(5, "BUY", 600, "0.50"), fill(6, "BUY", 400, "0.50", tx="0x2"))


def ctx(position="0", live=True, equity="10000") -> SnapshotContext:
    return SnapshotContext(
        NOW,
        books={ASSET: BookRead("LIVE" if live else "SUSPECT", DEEP)},
        positions={ASSET: D(position)},
        equity=D(equity),
    )


def risk_state(c: SnapshotContext, **changes) -> RiskState:
    fields = {
        "now_ms": NOW,
        "books": dict(c.books),
        "markets": {COND: MarketState(end_ms=NOW + 86_400_000)},
        "balance_usdc": D(10_000),
        "allowance_usdc": D(10_000),
        **changes,
    }
    return RiskState(**fields)


@pytest.fixture
def trader() -> tuple[CopyTrader, list[CopyRecord]]:
    records: list[CopyRecord] = []
    t = CopyTrader(PARAMS, on_record=records.append)
    t.on_input(ctx(), snapshot())
    t.on_input(ctx(), score())
    return t, records


def test_a_leader_buy_is_copied_pro_rata_to_the_bankrolls(trader) -> None:
    t, records = trader
    (intent,) = t.on_input(ctx(), BUY_1000)
    # 500 USDC of a 100,000 bankroll is 0.5 %; 0.5 % of our 10,000 is 50 USDC
    assert (intent.side, intent.size, intent.unit) == (OrderSide.BUY, D(50), SizeUnit.USDC)
    assert intent.reference_price == D("0.50") and intent.limit_price == D("0.52")
    assert intent.order_type is OrderType.FAK and intent.expires_ms is None
    assert intent.leader == LEADER and intent.cause == BUY_1000.keys
    assert intent.signal_ms == T0 + 6000 and intent.created_ms == NOW
    assert intent.intent_id == intent_id("copytrade", *BUY_1000.keys)
    assert "copy whale add" not in intent.reason and "copy whale open" in intent.reason
    assert not records  # the record waits for the verdict
    verdict = evaluate(intent, RiskLimits(), risk_state(ctx()))
    record = t.on_verdict(verdict, NOW + 1)
    assert record is not None and record.outcome is Outcome.COPIED and record.gate == ""
    assert record.shares == verdict.shares and records == [record]
    assert t.outcome(BUY_1000.fills[0].key) is record
    assert t.outcome(BUY_1000.fills[1].key) is record
    assert t.on_verdict(verdict, NOW + 2) is None  # once


def test_the_same_delta_again_gives_the_same_intent_id(trader) -> None:
    t, _ = trader
    (a,) = t.on_input(ctx(), BUY_1000)
    again = CopyTrader(PARAMS)  # after a restart, say
    again.on_input(ctx(), snapshot())
    again.on_input(ctx(), score())
    (b,) = again.on_input(ctx(), BUY_1000)
    assert a.intent_id == b.intent_id
    (c,) = again.on_input(ctx(), delta(fill(5, "BUY", 600, "0.50")))
    assert c.intent_id != a.intent_id


@pytest.mark.parametrize(
    ("item", "gate", "reason"),
    [
        (None, "leader_score", "not scored yet"),
        (score(eligible=False, reasons=["drawdown 60.0% at or over the 50% cutoff"]),
         "leader_score", "drawdown 60.0%"),
    ],
)  # fmt: skip
def test_buys_of_an_unscored_or_ineligible_leader_are_skipped(item, gate, reason) -> None:
    records: list[CopyRecord] = []
    t = CopyTrader(PARAMS, on_record=records.append)
    t.on_input(ctx(), snapshot())
    if item is not None:
        t.on_input(ctx(), item)
    assert t.on_input(ctx(), BUY_1000) == []
    (record,) = records
    assert (record.outcome, record.gate) == (Outcome.SKIPPED, gate) and reason in record.reason
    assert record.keys == BUY_1000.keys and record.leader_shares == D(1000)


def test_without_a_bankroll_there_is_nothing_to_size_from() -> None:
    records: list[CopyRecord] = []
    t = CopyTrader(PARAMS, on_record=records.append)
    t.on_input(ctx(), score())
    assert t.on_input(ctx(), BUY_1000) == [] and records[0].gate == "bankroll"


def test_an_unusually_large_trade_is_sized_down_or_skipped(trader) -> None:
    t, records = trader
    t.on_input(ctx(), score(cap="300"))  # the leader's buys are usually at most 300 USDC
    big = BUY_1000  # 500 USDC
    (intent,) = t.on_input(ctx(), big)
    assert intent.size == D(30)  # as if 300: 0.3 % of 100,000 -> 0.3 % of 10,000
    assert "beyond the leader's usual largest trade 300.00" in intent.reason
    record = t.on_verdict(evaluate(intent, RiskLimits(), risk_state(ctx())), NOW)
    assert record is not None and record.outcome is Outcome.RESIZED and record.gate == "sizer"
    skipper = CopyTrader(dataclasses.replace(PARAMS, shape_action="skip"),
                         on_record=records.append)  # fmt: skip
    skipper.on_input(ctx(), snapshot())
    skipper.on_input(ctx(), score(cap="300"))
    assert skipper.on_input(ctx(), big) == []
    assert records[-1].gate == "trade_shape" and records[-1].numbers["usual_max_usdc"] == D(300)


def test_a_flat_window_is_recorded_not_copied(trader) -> None:
    t, records = trader
    flip = delta(fill(5, "BUY", 100), fill(6, "SELL", 100, tx="0x2"), before="0")
    assert flip.kind is DeltaKind.FLAT
    assert t.on_input(ctx(), flip) == []
    assert records[-1].gate == "net_zero" and records[-1].numbers == {"bought": 100, "sold": 100}


def test_a_risk_rejection_is_the_skip_reason(trader) -> None:
    t, records = trader
    (intent,) = t.on_input(ctx(live=False), BUY_1000)
    verdict = evaluate(intent, RiskLimits(), risk_state(ctx(live=False)))
    record = t.on_verdict(verdict, NOW)
    assert record is not None and record.outcome is Outcome.SKIPPED
    assert record.gate == "book_live" and "SUSPECT" in record.reason
    assert t.kpis(ctx())[LEADER]["skipped_by"] == {"book_live": 1}


def test_a_risk_cut_makes_the_copy_resized(trader) -> None:
    t, _ = trader
    (intent,) = t.on_input(ctx(), BUY_1000)
    verdict = evaluate(intent, RiskLimits(), risk_state(ctx(), balance_usdc=D(20)))
    record = t.on_verdict(verdict, NOW)
    assert record is not None and record.outcome is Outcome.RESIZED and record.gate == "funds"
    assert record.shares is not None and record.shares * D("0.52") <= D(20)


def copy_and_fill(t: CopyTrader, d: LeaderDelta, c: SnapshotContext) -> str:
    (intent,) = t.on_input(c, d)
    verdict = evaluate(intent, RiskLimits(), risk_state(c, holdings={}))
    t.on_verdict(verdict, NOW)
    t.on_fill(intent.intent_id, verdict.shares)  # type: ignore[union-attr]
    return intent.intent_id


def test_reductions_follow_the_leaders_share_and_an_exit_exits(trader) -> None:
    t, records = trader
    copy_and_fill(t, BUY_1000, ctx())
    held = t.copied_shares(LEADER, ASSET)
    assert held == D("96.00")  # 50 USDC at .52, in steps a marketable BUY keeps
    quarter = delta(fill(20, "SELL", 250, "0.49"), before="1000")
    (sell,) = t.on_input(ctx(position=str(held)), quarter)
    assert (sell.side, sell.size, sell.unit) == (OrderSide.SELL, D(24), SizeUnit.SHARES)
    assert sell.reduce_only and sell.limit_price == D("0.47")
    held_now = {ASSET: Holding(COND, held, held * D("0.49"))}
    record = t.on_verdict(evaluate(sell, RiskLimits(), risk_state(ctx(), holdings=held_now)), NOW)
    assert record is not None and record.outcome is Outcome.COPIED
    assert record.kind is DeltaKind.REDUCE and record.leader_side is OrderSide.SELL
    t.on_fill(sell.intent_id, D(24))
    assert t.copied_shares(LEADER, ASSET) == D(72)
    out = delta(fill(30, "SELL", 750, "0.48"), before="750")
    (exit_,) = t.on_input(ctx(position="72"), out)
    assert exit_.size == D(72) and "sell 100.00% of 72.00 held" in exit_.reason
    # a leader selling where no bid is near its price: the copy cannot follow at that price
    t.on_input(ctx(position="72"), delta(fill(40, "SELL", 10, "0.60", tx="0x9"), before="750"))
    assert records[-1].gate == "sizer" and "no bids" in records[-1].reason


def test_a_sell_with_nothing_copied_is_skipped_whatever_we_hold(trader) -> None:
    t, records = trader
    sale = delta(fill(20, "SELL", 250, "0.55"), before="1000")
    assert t.on_input(ctx(position="500"), sale) == []  # ours, but not this leader's copy
    assert records[-1].gate == "nothing_held"


def test_gtd_copies_expire_as_soon_as_the_venue_allows() -> None:
    t = CopyTrader(dataclasses.replace(PARAMS, order_type=OrderType.GTD, gtd_slack_ms=5000))
    t.on_input(ctx(), snapshot())
    t.on_input(ctx(), score())
    (intent,) = t.on_input(ctx(), BUY_1000)
    assert intent.order_type is OrderType.GTD and intent.expires_ms == NOW + 65_000


def test_kpis_latency_exposure_and_copy_drift(trader) -> None:
    t, _ = trader
    intent = copy_and_fill(t, BUY_1000, ctx())
    t.on_order_sent(intent, NOW + 50)
    k = t.kpis(ctx())[LEADER]
    assert NOW + 50 - (T0 + 6000) == 4050  # in the (3 s, 5 s] bucket
    assert k["latency_ms"] == {"count": 1, "p50": 5000, "p99": 5000, "max": 4050}
    assert k["outcomes"] == {"copied": 1}
    # planned 50 USDC / .52 = 96.15 shares, 96 filled; marked at the mid .49
    assert k["exposure_usdc"] == D(96) * D("0.49")
    assert k["target_usdc"] == D(50) / D("0.52") * D("0.49")
    assert k["copy_drift_usdc"] == abs(k["target_usdc"] - k["exposure_usdc"])
    assert t.leader_exposure(ctx()) == {LEADER: D(96) * D("0.49")}


def test_the_copy_trader_is_a_strategy_that_reacts_to_its_inputs_only(trader) -> None:
    t, _ = trader
    strategy: Strategy = t
    assert strategy.name == "copytrade"
    assert strategy.on_book(ctx(), ASSET) == [] and strategy.on_timer(ctx()) == []
    assert strategy.on_input(ctx(), "something else") == []
