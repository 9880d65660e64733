"""Every risk gate: what passes, what is cut, what is refused, at the boundaries, in order."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from polytui.core.book import Book, price_units, tick_units
from polytui.core.market_flags import Flag
from polytui.core.risk import (
    GATES,
    Approved,
    Gate,
    Holding,
    MarketState,
    Rejected,
    RiskLimits,
    RiskState,
    evaluate,
    loss_halt,
    period_bounds,
    volatility,
)
from polytui.core.strategy import (
    BookRead,
    OrderIntent,
    OrderSide,
    OrderType,
    SizeUnit,
    intent_id,
)

NOW = 1_795_000_000_000  # 2026-11-18 11:06:40 UTC
DAY = 86_400_000
ASSET, OTHER, COND = "1" * 77, "2" * 77, "0x" + "c" * 64
LEADER = "0x" + "a" * 40


def book(bids=(), asks=(), tick="0.01") -> Book:
    def levels(rows):
        return [(price_units(p), D(s)) for p, s in rows]

    return Book.of(tick_units(tick), levels(bids), levels(asks))


DEEP = book(bids=[("0.48", 1000)], asks=[("0.50", 1000)])


def intent(**changes) -> OrderIntent:
    fields = {
        "intent_id": intent_id("copy", "trade-1"),
        "strategy": "copy",
        "condition_id": COND,
        "asset": ASSET,
        "side": OrderSide.BUY,
        "size": D(20),
        "unit": SizeUnit.USDC,
        "limit_price": D("0.52"),
        "order_type": OrderType.FAK,
        "reference_price": D("0.50"),
        "reason": "copy leader buy",
        "created_ms": NOW,
        "signal_ms": NOW - 1000,
        "leader": LEADER,
    }
    fields.update(changes)
    return OrderIntent(**fields)


def sell(**changes) -> OrderIntent:
    changes = {
        "side": OrderSide.SELL,
        "size": D(10),
        "unit": SizeUnit.SHARES,
        "limit_price": D("0.46"),
        "reference_price": D("0.48"),
        **changes,
    }
    return intent(**changes)


HELD = {ASSET: Holding(COND, D(100), D(48))}


def state(**changes) -> RiskState:
    fields = {
        "now_ms": NOW,
        "books": {ASSET: BookRead("LIVE", DEEP), OTHER: BookRead("LIVE", DEEP)},
        "markets": {COND: MarketState(end_ms=NOW + DAY, tags=frozenset({"politics"}))},
        "balance_usdc": D(1000),
        "allowance_usdc": D(1000),
    }
    fields.update(changes)
    return RiskState(**fields)


LIMITS = RiskLimits()


def rejected(verdict, gate: Gate) -> Rejected:
    assert isinstance(verdict, Rejected), verdict
    assert verdict.gate is gate, (verdict.gate, verdict.reason)
    assert verdict.reason and verdict.intent_id
    return verdict


def approved(verdict) -> Approved:
    assert isinstance(verdict, Approved), verdict
    return verdict


def test_a_clean_intent_is_approved_in_shares_at_its_limit() -> None:
    a = approved(evaluate(intent(), LIMITS, state()))
    # 20 USDC / 0.52 = 38.46 shares; a marketable BUY's maker amount keeps 2 decimals, so
    # 0.52 x shares needs shares in steps of 0.25
    assert (a.shares, a.price, a.notional) == (D("38.25"), D("0.52"), D("19.89"))
    assert a.marketable and a.requested_shares == D("38.46") and a.was_resized
    assert [r.gate for r in a.resized] == [Gate.VENUE_RULES]


def test_the_gates_run_in_the_documented_order() -> None:
    assert [g for g, _ in GATES] == [
        Gate.KILL_SWITCH, Gate.BOOK_LIVE, Gate.MARKET_TRADABLE, Gate.RESOLUTION,
        Gate.TRADE_SIZE, Gate.DAILY_LOSS, Gate.POSITION_CAP, Gate.OPEN_POSITIONS,
        Gate.TOTAL_EXPOSURE, Gate.LEADER_EXPOSURE, Gate.CATEGORY, Gate.FUNDS,
        Gate.FRESHNESS, Gate.SLIPPAGE, Gate.RATE_LIMIT,
    ]  # fmt: skip
    everything_wrong = state(
        kill_switch=True,
        books={ASSET: BookRead("SUSPECT", DEEP)},
        markets={COND: MarketState(flags=frozenset({Flag.CLOSED}))},
    )
    rejected(evaluate(intent(), LIMITS, everything_wrong), Gate.KILL_SWITCH)
    rejected(
        evaluate(intent(), LIMITS, dataclasses.replace(everything_wrong, kill_switch=False)),
        Gate.BOOK_LIVE,
    )


def test_kill_switch_stops_exits_too() -> None:
    v = rejected(evaluate(sell(), LIMITS, state(kill_switch=True, holdings=HELD)), Gate.KILL_SWITCH)
    assert "kill switch" in v.reason


@pytest.mark.parametrize("book_state", ["UNPRIMED", "SUSPECT", "RESYNCING"])
def test_no_order_unless_every_book_it_depends_on_is_live(book_state: str) -> None:
    v = rejected(
        evaluate(intent(), LIMITS, state(books={ASSET: BookRead(book_state, DEEP)})),
        Gate.BOOK_LIVE,
    )
    assert v.numbers == {"asset": ASSET, "state": book_state}
    rejected(
        evaluate(sell(), LIMITS, state(books={ASSET: BookRead(book_state, DEEP)}, holdings=HELD)),
        Gate.BOOK_LIVE,
    )
    two = intent(depends_on=(OTHER,))
    assert isinstance(evaluate(two, LIMITS, state()), Approved)
    v = rejected(
        evaluate(two, LIMITS, state(books={ASSET: BookRead("LIVE", DEEP)})), Gate.BOOK_LIVE
    )
    assert v.numbers["state"] == "UNTRACKED" and v.numbers["asset"] == OTHER
    rejected(
        evaluate(intent(), LIMITS, state(books={ASSET: BookRead("LIVE", None)})), Gate.BOOK_LIVE
    )


def test_a_flagged_or_unknown_market_is_not_traded() -> None:
    flagged = state(markets={COND: MarketState(flags=frozenset({Flag.PAST_END, Flag.INACTIVE}))})
    v = rejected(evaluate(intent(), LIMITS, flagged), Gate.MARKET_TRADABLE)
    assert "past its end date" in v.reason and "paused" in v.reason
    assert v.numbers["flags"] == "inactive,past_end_date"
    v = rejected(evaluate(intent(), LIMITS, state(markets={})), Gate.MARKET_TRADABLE)
    assert v.numbers["flags"] == "unknown"


def test_no_new_exposure_near_resolution_but_reductions_pass() -> None:
    near = state(markets={COND: MarketState(end_ms=NOW + 599_999)}, holdings=HELD)
    v = rejected(evaluate(intent(), LIMITS, near), Gate.RESOLUTION)
    assert v.numbers == {"ms_to_end": 599_999, "buffer_ms": 600_000}
    approved(evaluate(sell(), LIMITS, near))
    approved(evaluate(intent(), LIMITS, state(markets={COND: MarketState(end_ms=NOW + 600_000)})))
    approved(evaluate(intent(), LIMITS, state(markets={COND: MarketState(end_ms=None)})))
    custom = dataclasses.replace(LIMITS, resolution_buffer_ms=60_000)
    approved(evaluate(intent(), custom, near))


def test_per_trade_usdc_range() -> None:
    big = approved(evaluate(intent(size=D(250)), LIMITS, state()))
    assert big.notional <= D(100) and big.resized[0].gate is Gate.TRADE_SIZE
    assert "100.00 USDC per-trade maximum" in big.resized[0].reason
    v = rejected(evaluate(intent(size=D("0.99")), LIMITS, state()), Gate.TRADE_SIZE)
    assert v.numbers["min_usdc"] == 1 and "minimum" in v.reason
    exact = RiskLimits(min_trade_usdc=D("5.2"))
    approved(evaluate(intent(size=D(10), unit=SizeUnit.SHARES), exact, state()))  # 5.20 USDC
    under = rejected(
        evaluate(intent(size=D("9.99"), unit=SizeUnit.SHARES), exact, state()), Gate.TRADE_SIZE
    )
    # 5.1948 USDC: never shown as "5.19" or "5.20" next to a 5.2 minimum
    assert under.reason.startswith("5.1948 USDC is under the 5.2 USDC"), under.reason
    # a reduction is not held to the per-trade range
    approved(evaluate(sell(size=D(100)), RiskLimits(max_trade_usdc=D(10)), state(holdings=HELD)))


def test_daily_loss_cap_trips_a_halt_until_the_next_period() -> None:
    limits = RiskLimits(daily_loss_cap_usdc=D(200), daily_reset_hour_utc=6)
    v = rejected(evaluate(intent(), limits, state(daily_pnl=D(-200))), Gate.DAILY_LOSS)
    start, end = period_bounds(NOW, 6)
    assert v.halt_until_ms == end == NOW - (5 * 3600 + 6 * 60 + 40) * 1000 + DAY
    assert start == end - DAY and "halted until 2026-11-19 06:00 UTC" in v.reason
    assert v.numbers["daily_pnl"] == D(-200)
    approved(evaluate(intent(), limits, state(daily_pnl=D("-199.99"))))
    # the persisted halt holds even once the PnL recovers, until it ends
    halted = state(daily_pnl=D(50), halted_until_ms=NOW + 1)
    assert (
        "halted by the daily loss cap"
        in rejected(evaluate(intent(), limits, halted), Gate.DAILY_LOSS).reason
    )
    approved(evaluate(intent(), limits, state(halted_until_ms=NOW)))
    # reductions go on while halted, unless the settings say otherwise
    approved(evaluate(sell(), limits, dataclasses.replace(halted, holdings=HELD)))
    strict = dataclasses.replace(limits, reduce_when_halted=False)
    rejected(evaluate(sell(), strict, dataclasses.replace(halted, holdings=HELD)), Gate.DAILY_LOSS)
    approved(evaluate(intent(), RiskLimits(daily_loss_cap_usdc=None), state(daily_pnl=D(-1e6))))


def test_period_bounds_and_loss_halt() -> None:
    midnight = NOW - (11 * 3600 + 6 * 60 + 40) * 1000
    assert period_bounds(NOW, 0) == (midnight, midnight + DAY)
    start, _ = period_bounds(NOW, 12)  # 12:00 today is still ahead: the period began yesterday
    assert start == NOW + (53 * 60 + 20) * 1000 - DAY
    assert loss_halt(RiskLimits(), NOW, D(-199)) is None
    assert loss_halt(RiskLimits(), NOW, D(-201)) == period_bounds(NOW, 0)[1]


def test_position_cap_per_market_cuts_or_refuses() -> None:
    limits = RiskLimits(max_position_usdc=D(500))
    held = {ASSET: Holding(COND, D(980), D(490))}
    cut = approved(evaluate(intent(), limits, state(holdings=held)))
    assert cut.notional <= D(10) and cut.resized[0].gate is Gate.POSITION_CAP
    assert cut.resized[0].numbers["held_usdc"] == D(490)
    full = {ASSET: Holding(COND, D(999), D("499.5"))}
    v = rejected(evaluate(intent(), limits, state(holdings=full)), Gate.POSITION_CAP)
    assert v.numbers["room_usdc"] == D("0.5")
    # open buys count; the other token of the market too
    other = {OTHER: Holding(COND, D(10), D(300))}
    rejected(
        evaluate(intent(), limits, state(holdings=other, open_buys_usdc={COND: D(200)})),
        Gate.POSITION_CAP,
    )


def test_max_open_positions_refuses_only_a_new_market() -> None:
    limits = RiskLimits(max_open_positions=2)
    two = {f"{i}": Holding(f"0xm{i}", D(1), D(1)) for i in range(2)}
    v = rejected(evaluate(intent(), limits, state(holdings=two)), Gate.OPEN_POSITIONS)
    assert v.numbers == {"open": 2, "max_open": 2}
    same = {**dict(list(two.items())[:1]), ASSET: Holding(COND, D(1), D(1))}
    approved(evaluate(intent(), limits, state(holdings=same)))
    pending = state(holdings=dict(list(two.items())[:1]), open_buys_usdc={"0xother": D(5)})
    rejected(evaluate(intent(), limits, pending), Gate.OPEN_POSITIONS)


def test_total_exposure_cap() -> None:
    limits = RiskLimits(max_total_exposure_usdc=D(100))
    held = {"x": Holding("0xm", D(100), D(90))}
    cut = approved(evaluate(intent(), limits, state(holdings=held)))
    assert cut.resized[0].gate is Gate.TOTAL_EXPOSURE and cut.notional <= D(10)
    rejected(
        evaluate(intent(), limits, state(holdings=held, open_buys_usdc={"0xn": D(10)})),
        Gate.TOTAL_EXPOSURE,
    )


def test_per_leader_exposure_cap_with_an_override() -> None:
    limits = RiskLimits(max_leader_exposure_usdc=D(50), leader_caps={LEADER: D(1000)})
    approved(evaluate(intent(), limits, state(leader_exposure={LEADER: D(900)})))
    tight = RiskLimits(max_leader_exposure_usdc=D(50))
    cut = approved(evaluate(intent(), tight, state(leader_exposure={LEADER: D(40)})))
    assert cut.resized[0].gate is Gate.LEADER_EXPOSURE and cut.notional <= D(10)
    v = rejected(
        evaluate(intent(), tight, state(leader_exposure={LEADER: D(50)})), Gate.LEADER_EXPOSURE
    )
    assert LEADER in v.reason
    approved(evaluate(intent(leader=None), tight, state(leader_exposure={LEADER: D(50)})))


def test_category_allow_list() -> None:
    limits = RiskLimits(categories=frozenset({"sports", "crypto"}))
    v = rejected(evaluate(intent(), limits, state()), Gate.CATEGORY)
    assert "politics" in v.reason
    approved(evaluate(intent(), RiskLimits(categories=frozenset({"politics"})), state()))
    approved(evaluate(sell(), limits, state(holdings=HELD)))


def test_funds_cut_a_buy_to_balance_and_allowance_and_a_sell_to_shares_held() -> None:
    cut = approved(evaluate(intent(), LIMITS, state(balance_usdc=D(30), reserved_usdc=D(20))))
    assert cut.resized[0].gate is Gate.FUNDS and cut.notional <= D(10)
    cut = approved(evaluate(intent(), LIMITS, state(allowance_usdc=D(5))))
    assert cut.notional <= D(5)
    v = rejected(evaluate(intent(), LIMITS, state(allowance_usdc=D("0.5"))), Gate.FUNDS)
    assert v.numbers["allowance_usdc"] == D("0.5")
    v = rejected(evaluate(sell(), LIMITS, state()), Gate.FUNDS)
    assert "no free shares" in v.reason
    locked = {ASSET: Holding(COND, D(100), D(48), locked=D(94))}
    part = approved(evaluate(sell(), LIMITS, state(holdings=locked)))
    assert part.shares == D(6) and part.resized[0].gate is Gate.FUNDS


def test_signal_freshness_age_and_chase() -> None:
    limits = RiskLimits(max_signal_age_ms=30_000, max_chase=D("0.03"))
    v = rejected(evaluate(intent(signal_ms=NOW - 30_001), limits, state()), Gate.FRESHNESS)
    assert v.numbers["age_ms"] == 30_001
    approved(evaluate(intent(signal_ms=NOW - 30_000), limits, state()))
    ran = book(asks=[("0.54", 1000)])
    v = rejected(
        evaluate(
            intent(limit_price=D("0.60")), limits, state(books={ASSET: BookRead("LIVE", ran)})
        ),
        Gate.FRESHNESS,
    )
    assert v.numbers["moved"] == D("0.04") and "chase" in v.reason
    at_limit = book(asks=[("0.53", 1000)])
    approved(
        evaluate(
            intent(limit_price=D("0.60")),
            RiskLimits(max_slippage=D("0.05")),
            state(books={ASSET: BookRead("LIVE", at_limit)}),
        )
    )
    cheaper = book(asks=[("0.40", 1000)])  # the price moved our way: no chase
    approved(evaluate(intent(), limits, state(books={ASSET: BookRead("LIVE", cheaper)})))
    no_asks = book(bids=[("0.40", 1000)])
    rejected(
        evaluate(intent(), limits, state(books={ASSET: BookRead("LIVE", no_asks)})), Gate.FRESHNESS
    )
    # an exit of an old leader trade still goes out
    approved(evaluate(sell(signal_ms=NOW - DAY), limits, state(holdings=HELD)))


STEEP = book(bids=[("0.48", 1000)], asks=[("0.50", 20), ("0.51", 20), ("0.56", 1000)])


def test_slippage_shrinks_to_the_bound_or_skips() -> None:
    big = intent(size=D(100), unit=SizeUnit.SHARES, limit_price=D("0.60"))
    steep = state(books={ASSET: BookRead("LIVE", STEEP)})
    cut = approved(evaluate(big, RiskLimits(max_slippage=D("0.02")), steep))
    note = cut.resized[0]
    assert note.gate is Gate.SLIPPAGE and note.numbers["bound"] == D("0.52")
    assert cut.shares == D(55)  # 20 @ .50 + 20 @ .51 + 15 @ .56 averages .52
    skip = RiskLimits(max_slippage=D("0.02"), slippage_action="skip")
    v = rejected(evaluate(big, skip, steep), Gate.SLIPPAGE)
    assert v.numbers["vwap"] > D("0.52")
    # a FAK larger than the book up to its limit is cut to what fills
    shallow = approved(
        evaluate(
            intent(size=D(100), unit=SizeUnit.SHARES, limit_price=D("0.51")), RiskLimits(), steep
        )
    )
    assert shallow.shares == D(40) and shallow.resized[0].gate is Gate.SLIPPAGE
    # a resting GTC below the ask takes nothing now: no slippage to measure
    resting = intent(
        size=D(100), unit=SizeUnit.SHARES, limit_price=D("0.49"), order_type=OrderType.GTC
    )
    gtc = approved(evaluate(resting, skip, steep))
    assert gtc.shares == D(100) and not gtc.marketable
    # a crossing GTD whose rest rests at a limit beyond the bound is cut
    gtd = intent(
        size=D(100),
        unit=SizeUnit.SHARES,
        limit_price=D("0.60"),
        order_type=OrderType.GTD,
        expires_ms=NOW + 70_000,
    )
    assert approved(evaluate(gtd, RiskLimits(), steep)).shares == D(55)
    tiny_room = RiskLimits(max_slippage=D("0"), min_trade_usdc=D(20))
    rejected(evaluate(big, tiny_room, steep), Gate.SLIPPAGE)


def test_slippage_applies_to_exits_too() -> None:
    thin_bids = book(bids=[("0.48", 5), ("0.30", 1000)], asks=[("0.50", 10)])
    exit_all = sell(size=D(100), limit_price=D("0.01"))
    v = approved(
        evaluate(exit_all, LIMITS, state(books={ASSET: BookRead("LIVE", thin_bids)}, holdings=HELD))
    )
    # 5 @ .48 + 0.62 @ .30 averages just above the .46 bound
    assert v.shares == D("5.62") and v.resized[-1].gate is Gate.SLIPPAGE


def test_order_rate_limit() -> None:
    limits = RiskLimits(max_orders_per_window=3, rate_window_ms=60_000)
    busy = state(recent_orders_ms=(NOW - 1, NOW - 2, NOW - 59_999))
    v = rejected(evaluate(intent(), limits, busy), Gate.RATE_LIMIT)
    assert v.numbers == {"sent": 3, "max_orders": 3}
    approved(evaluate(intent(), limits, state(recent_orders_ms=(NOW - 1, NOW - 2, NOW - 60_000))))
    rejected(evaluate(sell(), limits, dataclasses.replace(busy, holdings=HELD)), Gate.RATE_LIMIT)


def test_venue_rules_come_last() -> None:
    small = {ASSET: Holding(COND, D(4), D(2))}
    v = rejected(evaluate(sell(size=D(4)), LIMITS, state(holdings=small)), Gate.VENUE_RULES)
    assert "minimum size 5" in v.reason
    fine = state(markets={COND: MarketState(end_ms=NOW + DAY, min_size=D(1))}, holdings=small)
    assert approved(evaluate(sell(size=D(4)), LIMITS, fine)).shares == D(4)


def test_volatility_is_the_stdev_of_mid_changes_in_the_window() -> None:
    mids = [
        (NOW - 400_000, D("0.9")),
        (NOW - 4000, D("0.50")),
        (NOW - 3000, D("0.52")),
        (NOW - 2000, D("0.50")),
        (NOW - 1000, D("0.52")),
        (NOW, D("0.50")),
    ]
    assert volatility(mids, NOW, 300_000) == D("0.02")
    assert volatility(mids[:3], NOW, 300_000) is None


def test_dynamic_limits_scale_size_and_caps_and_say_so() -> None:
    limits = RiskLimits(dynamic_limits=True, volatility_ref=D("0.01"))
    jumpy = [
        (NOW - 4000, D("0.50")),
        (NOW - 3000, D("0.52")),
        (NOW - 2000, D("0.50")),
        (NOW - 1000, D("0.52")),
        (NOW, D("0.50")),
    ]  # stdev 0.02: half size
    a = approved(
        evaluate(intent(size=D(10), unit=SizeUnit.SHARES), limits, state(mids={ASSET: jumpy}))
    )
    assert a.shares == D(5) and "volatility 0.0200 > 0.01: x0.50" in a.resized[0].reason
    capped = approved(evaluate(intent(size=D(250)), limits, state(mids={ASSET: jumpy})))
    assert capped.notional <= D(50)  # the 100 USDC maximum, halved
    v = rejected(evaluate(intent(size=D(1)), limits, state(mids={ASSET: jumpy})), Gate.TRADE_SIZE)
    assert "x0.50" in v.reason and v.numbers["scale"] == D("0.5")
    calm = approved(evaluate(intent(size=D(10), unit=SizeUnit.SHARES), limits, state()))
    assert calm.shares == D(10)
    thin = RiskLimits(dynamic_limits=True, thin_depth_usdc=D(1000))
    a = approved(evaluate(intent(size=D(10), unit=SizeUnit.SHARES), thin, state()))
    assert a.shares == D(5) and "depth 500.00 < 1000 USDC" in a.resized[0].reason
    # exits are never scaled
    assert approved(evaluate(sell(), thin, state(holdings=HELD))).shares == D(10)


def test_limits_from_a_settings_section() -> None:
    class Section:
        resolution_buffer_s = 120.0
        max_trade_usdc = D(50)
        categories = ("Sports",)
        max_signal_age_s = 5

    limits = RiskLimits.of(Section(), max_open_positions=3)
    assert limits.resolution_buffer_ms == 120_000 and limits.max_signal_age_ms == 5000
    assert limits.max_trade_usdc == D(50) and limits.categories == {"sports"}
    assert limits.max_open_positions == 3 and limits.min_trade_usdc == D(1)
