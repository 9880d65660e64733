"""The sizer: pro-rata, Kelly damping, clipping, depth, and the venue's rounding rules."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polytui.core.book import Book, price_units, tick_units
from polytui.core.sizer import (
    SHARE_DECIMALS,
    Edge,
    NotSized,
    Sized,
    SizerParams,
    VenueOrder,
    VenueRefusal,
    depth_within,
    fit_venue,
    kelly,
    marketable_shares,
    price_to_tick,
    pro_rata_usdc,
    reduce_fraction,
    size_buy,
    size_sell,
    take_within,
)
from polytui.core.strategy import OrderSide
from polytui.protocol.amounts import ROUNDING_BY_TICK, Side, limit_order_amounts

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def book(bids=(), asks=(), tick="0.01") -> Book:
    def levels(rows):
        return [(price_units(p), D(s)) for p, s in rows]

    return Book.of(tick_units(tick), levels(bids), levels(asks))


BOOK = book(bids=[("0.40", 100), ("0.39", 50)], asks=[("0.42", 10), ("0.43", 20), ("0.45", 100)])


def test_share_decimals_agree_with_the_official_rounding_table() -> None:
    assert {r.size for r in ROUNDING_BY_TICK.values()} == {SHARE_DECIMALS}


def test_pro_rata_puts_the_leaders_share_of_bankroll_into_ours() -> None:
    assert pro_rata_usdc(D(1500), D(100_000), D(10_000)) == D(150)  # 1.5 % of each
    assert pro_rata_usdc(D(1500), D(100_000), D(10_000), scale=D("0.5")) == D(75)
    assert pro_rata_usdc(D(1500), D(0), D(10_000)) == 0
    assert pro_rata_usdc(D(1500), D(100_000), D(0)) == 0


@pytest.mark.parametrize(
    ("w", "b", "f"),
    [("0.6", "1", "0.2"), ("0.5", "1", "0"), ("0.4", "2", "0.1"), ("0.3", "1", "-0.4")],
)
def test_kelly_fraction(w: str, b: str, f: str) -> None:
    assert kelly(D(w), D(b)) == D(f)
    assert kelly(D("0.9"), D(0)) < 0  # no payoff: no edge


@pytest.mark.parametrize(
    ("price", "tick", "side", "expected"),
    [
        ("0.456", "0.01", BUY, "0.45"),  # a BUY never pays more than asked
        ("0.451", "0.01", SELL, "0.46"),  # a SELL never asks less
        ("0.45", "0.01", BUY, "0.45"),
        ("0.0004", "0.001", SELL, "0.001"),  # within [tick, 1 - tick]
        ("0.9999", "0.01", BUY, "0.99"),
        ("0.4567", "0.001", BUY, "0.456"),
    ],
)
def test_price_to_tick(price: str, tick: str, side: OrderSide, expected: str) -> None:
    assert price_to_tick(D(price), D(tick), side) == D(expected)


@pytest.mark.parametrize(
    ("shares", "price", "side", "expected"),
    [
        ("10.01", "0.45", BUY, "10.00"),  # maker 0.45 x m/100 needs m % 20 == 0
        ("10.99", "0.45", BUY, "10.80"),
        ("10.99", "0.37", BUY, "10.00"),  # 37 is prime to 100: whole shares
        ("10.99", "0.50", BUY, "10.98"),
        ("10.99", "0.453", BUY, "10.00"),  # tick 0.001: multiples of 10 shares
        ("10.99", "0.45", SELL, "10.99"),  # tick 0.01: a SELL's taker has 4 decimals anyway
        ("10.99", "0.453", SELL, "10.90"),
    ],
)
def test_marketable_shares(shares: str, price: str, side: OrderSide, expected: str) -> None:
    assert marketable_shares(D(shares), D(price), side) == D(expected)


@given(
    m=st.integers(min_value=1, max_value=10**7),
    k=st.integers(min_value=1, max_value=999),
    side=st.sampled_from([BUY, SELL]),
    tick=st.sampled_from(["0.01", "0.001"]),
)
def test_marketable_amounts_meet_the_venue_precision_rule(
    m: int, k: int, side: OrderSide, tick: str
) -> None:
    places = 2 if tick == "0.01" else 3
    price = D(k % 10**places or 1).scaleb(-places)
    shares = marketable_shares(D(m).scaleb(-2), price, side)
    assert D(m).scaleb(-2) - shares >= 0
    if shares <= 0:
        return
    maker, taker = limit_order_amounts(price, shares, Side[side.value], tick)
    assert maker % 10**4 == 0  # maker: at most 2 decimals of 6
    assert taker % 10**2 == 0  # taker: at most 4 decimals


def test_fit_venue_rounds_and_refuses_with_the_numbers() -> None:
    fit = fit_venue(BUY, D("13.337"), D("0.456"), D("0.01"), D(5), marketable=False)
    assert fit == VenueOrder(D("13.33"), D("0.45"), D("13.33") * D("0.45"))
    fit = fit_venue(BUY, D("13.337"), D("0.456"), D("0.01"), D(5), marketable=True)
    assert fit == VenueOrder(D("13.20"), D("0.45"), D("5.94"))
    small = fit_venue(BUY, D("4.99"), D("0.5"), D("0.01"), D(5), marketable=False)
    assert isinstance(small, VenueRefusal) and "minimum size 5" in small.reason
    assert small.numbers["shares"] == D("4.99")
    cheap = fit_venue(BUY, D("6"), D("0.10"), D("0.01"), D(5), marketable=True)
    assert isinstance(cheap, VenueRefusal) and "$1 minimum" in cheap.reason
    assert isinstance(fit_venue(BUY, D("6"), D("0.10"), D("0.01"), D(5), False), VenueOrder)
    assert isinstance(fit_venue(SELL, D("6"), D("0.10"), D("0.01"), D(5), True), VenueOrder)


def test_depth_within_counts_only_levels_inside_the_bound() -> None:
    assert depth_within(BOOK, BUY, D("0.43")) == (D(30), D("12.8"))
    assert depth_within(BOOK, BUY, D("0.41")) == (0, 0)
    assert depth_within(BOOK, SELL, D("0.395")) == (D(100), D(40))


def test_take_within_stops_at_the_limit_and_the_vwap_bound() -> None:
    everything = take_within(BOOK, BUY, D(1000), D("0.99"))
    assert everything.shares == D(130)
    assert take_within(BOOK, BUY, D(100), D("0.43")).shares == D(30)
    held = take_within(BOOK, BUY, D(100), D("0.99"), vwap_bound=D("0.43"))
    assert held.vwap is not None and held.vwap <= D("0.43")
    assert held.shares == D(35)  # 10 @ .42 + 20 @ .43 + 5 @ .45 averages exactly .43
    assert take_within(BOOK, SELL, D(120), D("0.39"), D("0.397")).shares == D(120)
    assert take_within(BOOK, SELL, D(150), D("0.39"), D("0.397")).shares == D("142.85")
    assert take_within(BOOK, BUY, D(5), D("0.99")) == (D(5), D("2.1"))


PARAMS = SizerParams(
    min_usdc=D(1), max_usdc=D(100), depth_fraction=D("0.5"), max_slippage=D("0.02")
)


def test_size_buy_is_pro_rata_then_clipped_then_depth_capped() -> None:
    deep = book(asks=[("0.42", 10_000)])
    sized = size_buy(
        PARAMS,
        leader_usdc=D(300),
        leader_bankroll=D(100_000),
        our_bankroll=D(10_000),
        book=deep,
        reference=D("0.42"),
    )
    assert sized == Sized(D(30), ("pro-rata 30.00 USDC",), sized.numbers)  # type: ignore[union-attr]
    big = size_buy(
        PARAMS,
        leader_usdc=D(5000),
        leader_bankroll=D(10_000),
        our_bankroll=D(10_000),
        book=deep,
        reference=D("0.42"),
    )
    assert isinstance(big, Sized) and big.amount == D(100)
    assert "clipped to the 100 USDC maximum" in big.steps
    tiny = size_buy(
        PARAMS,
        leader_usdc=D(1),
        leader_bankroll=D(100_000),
        our_bankroll=D(10_000),
        book=deep,
        reference=D("0.42"),
    )
    assert isinstance(tiny, Sized) and tiny.amount == D(1)  # raised to the range
    thin = size_buy(
        PARAMS,
        leader_usdc=D(300),
        leader_bankroll=D(100_000),
        our_bankroll=D(10_000),
        book=BOOK,
        reference=D("0.42"),
    )
    # within 0.42 + 0.02: 10 @ .42 + 20 @ .43 = 12.8 USDC; half of it
    assert isinstance(thin, Sized) and thin.amount == D("6.4")
    assert thin.numbers["depth_usdc"] == D("12.8")


def test_size_buy_skips_on_a_thin_book_or_no_bankroll() -> None:
    empty = book(asks=[("0.60", 100)])
    out = size_buy(
        PARAMS,
        leader_usdc=D(300),
        leader_bankroll=D(100_000),
        our_bankroll=D(10_000),
        book=empty,
        reference=D("0.42"),
    )
    assert isinstance(out, NotSized) and out.reason.startswith("thin book")
    none = size_buy(
        PARAMS,
        leader_usdc=D(300),
        leader_bankroll=D(0),
        our_bankroll=D(10_000),
        book=empty,
        reference=D("0.42"),
    )
    assert isinstance(none, NotSized) and "bankroll" in none.reason


def test_kelly_damping_caps_the_stake_or_skips_without_edge() -> None:
    params = SizerParams(max_usdc=D(10_000), kelly_fraction=D("0.5"))
    common = {
        "leader_usdc": D(5000),
        "leader_bankroll": D(10_000),
        "our_bankroll": D(1000),
        "book": None,
        "reference": D("0.5"),
    }
    damped = size_buy(params, edge=Edge(D("0.6"), D(1)), **common)  # f* = 0.2
    assert isinstance(damped, Sized) and damped.amount == D(100)  # 0.5 x 0.2 x 1000
    assert any("Kelly" in s for s in damped.steps)
    undamped = size_buy(params, edge=Edge(D("0.9"), D(3)), **{**common, "leader_usdc": D(1000)})
    assert isinstance(undamped, Sized) and undamped.amount == D(100)  # under 0.5 x 0.87 x 1000
    no_edge = size_buy(params, edge=Edge(D("0.4"), D(1)), **common)
    assert isinstance(no_edge, NotSized) and "no edge" in no_edge.reason
    off = size_buy(SizerParams(max_usdc=D(10_000)), edge=Edge(D("0.4"), D(1)), **common)
    assert isinstance(off, Sized) and off.amount == D(500)


def test_reductions_follow_the_share_the_leader_sold() -> None:
    assert reduce_fraction(D(100), D(75)) == D("0.25")
    assert reduce_fraction(D(100), D(0)) == 1
    assert reduce_fraction(D(100), D(-3)) == 1  # an exit, whatever dust the index shows
    assert reduce_fraction(D(0), D(0)) == 0
    deep = book(bids=[("0.40", 10_000)])
    sold = size_sell(PARAMS, held=D("33.33"), fraction=D("0.25"), book=deep, reference=D("0.4"))
    assert isinstance(sold, Sized) and sold.amount == D("8.33")
    capped = size_sell(PARAMS, held=D(1000), fraction=D(1), book=BOOK, reference=D("0.40"))
    assert isinstance(capped, Sized) and capped.amount == D(75)  # half of 150 bid within .38
    none = size_sell(PARAMS, held=D("0.01"), fraction=D("0.25"), book=deep, reference=D("0.4"))
    assert isinstance(none, NotSized) and "nothing to sell" in none.reason
    dry = size_sell(
        PARAMS, held=D(10), fraction=D(1), book=book(bids=[("0.2", 9)]), reference=D("0.4")
    )
    assert isinstance(dry, NotSized) and "no bids" in dry.reason
