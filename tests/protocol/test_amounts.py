"""Order amounts against the protocol doc's worked examples and py-clob-client-v2's own functions.

The official client rounds on binary floats; ``polytui.protocol.amounts`` rounds exactly. The
float path loses in two places. A direct floor (``floor(x * 10**d)``) of a value such as 0.29,
whose binary form lies just below it: in the random tests the official result must then equal
ours for the value the official client actually floored to, so the difference is exactly that
one float step. And a result so large that the ceil-at-10**-(decimals + 4) fix-up outruns a
float's precision: the random cases stay below that size, and the deviation tests show it.
"""

from __future__ import annotations

import math
import random
from decimal import ROUND_FLOOR, Decimal

import pytest
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder

from polytui.protocol.amounts import (
    ROUNDING_BY_TICK,
    OrderAmounts,
    Side,
    limit_order_amounts,
    market_order_amounts,
)

TICKS = ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")
OFFICIAL = OrderBuilder(signer=None)


def official_limit(price: Decimal, size: Decimal, side: Side, tick: str) -> OrderAmounts:
    _, maker, taker = OFFICIAL.get_order_amounts(
        side.name, float(size), float(price), ROUNDING_CONFIG[tick]
    )
    return OrderAmounts(maker, taker)


def official_market(amount: Decimal, side: Side, price: Decimal, tick: str) -> OrderAmounts:
    _, maker, taker = OFFICIAL.get_market_order_amounts(
        side.name, float(amount), float(price), ROUNDING_CONFIG[tick]
    )
    return OrderAmounts(maker, taker)


def float_floor(value: Decimal, places: int) -> Decimal:
    """The official ``round_down(value, places)``, as the decimal it stands for."""
    return Decimal(math.floor(float(value) * 10**places)).scaleb(-places)


def exact_floor(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)


def random_price(rng: random.Random, tick: str) -> Decimal:
    step = Decimal(tick)
    return step * rng.randint(1, int(1 / step) - 1)


def random_quantity(rng: random.Random) -> Decimal:
    """Up to 100 000 shares or pUSD with 0 to 4 decimals."""
    decimals = rng.randint(0, 4)
    return Decimal(rng.randint(1, 10 ** (5 + decimals))).scaleb(-decimals)


def within_float_precision(result: Decimal, tick: str) -> bool:
    """Whether the official float fix-up of ``result`` (pUSD or shares) can still be exact.

    It takes the ceiling of ``result * 10**(amount decimals + 4)`` on a float; once that exceeds
    2**50 the float's own rounding error reaches a whole unit and the official client can come
    out one base unit short (see the huge-order deviation tests).
    """
    return result * 10 ** (ROUNDING_BY_TICK[Decimal(tick)].amount + 4) < 2**50


def random_limit_case(rng: random.Random) -> tuple[Decimal, Decimal, Side, str]:
    while True:
        tick = rng.choice(TICKS)
        price, size = random_price(rng, tick), random_quantity(rng)
        if within_float_precision(price * size, tick):
            return price, size, rng.choice(list(Side)), tick


def random_market_case(rng: random.Random) -> tuple[Decimal, Decimal, Side, str]:
    while True:
        tick = rng.choice(TICKS)
        price, amount, side = random_price(rng, tick), random_quantity(rng), rng.choice(list(Side))
        result = amount / price if side is Side.BUY else amount * price
        if within_float_precision(result, tick):
            return amount, price, side, tick


@pytest.mark.parametrize(
    ("kind", "quantity", "price", "side", "tick", "maker", "taker"),
    [
        ("limit", "10", "0.45", Side.BUY, "0.01", 4500000, 10000000),
        ("limit", "7.5", "0.55", Side.SELL, "0.01", 7500000, 4125000),
        ("limit", "33.333", "0.123", Side.BUY, "0.001", 4099590, 33330000),
        ("limit", "100.129", "0.0371", Side.SELL, "0.0001", 100120000, 3714452),
        ("market", "25", "0.52", Side.BUY, "0.01", 25000000, 48076900),
        ("market", "40", "0.48", Side.SELL, "0.01", 40000000, 19200000),
    ],
)
def test_worked_examples_of_the_protocol_doc(kind, quantity, price, side, tick, maker, taker):
    if kind == "limit":
        amounts = limit_order_amounts(price, quantity, side, tick)
    else:
        amounts = market_order_amounts(quantity, side, price, tick)
    assert amounts == OrderAmounts(maker, taker)


def test_rounding_table_is_the_official_one():
    assert {str(tick): tuple(r) for tick, r in ROUNDING_BY_TICK.items()} == {
        tick: (c.price, c.size, c.amount) for tick, c in ROUNDING_CONFIG.items()
    }


def test_random_limit_orders_match_the_official_client():
    rng = random.Random(4)
    for _ in range(400):
        price, size, side, tick = random_limit_case(rng)
        official = official_limit(price, size, side, tick)
        ours = limit_order_amounts(price, size, side, tick)
        seen = float_floor(size, 2)
        case = (str(price), str(size), side, tick)
        if seen == exact_floor(size, 2):
            assert ours == official, case
        else:
            assert limit_order_amounts(price, seen, side, tick) == official, case
            shares = ours.taker_amount if side is Side.BUY else ours.maker_amount
            assert shares == int(exact_floor(size, 2) * 1_000_000), case


def test_random_market_orders_match_the_official_client():
    rng = random.Random(5)
    for _ in range(400):
        amount, price, side, tick = random_market_case(rng)
        decimals = ROUNDING_BY_TICK[Decimal(tick)].price
        official = official_market(amount, side, price, tick)
        ours = market_order_amounts(amount, side, price, tick)
        seen_amount, seen_price = float_floor(amount, 2), float_floor(price, decimals)
        case = (str(amount), str(price), side, tick)
        if (seen_amount, seen_price) == (exact_floor(amount, 2), exact_floor(price, decimals)):
            assert ours == official, case
        else:
            assert market_order_amounts(seen_amount, side, seen_price, tick) == official, case
            assert ours != official, case


def test_the_official_float_floor_drops_a_cent_of_shares_and_ours_does_not():
    # 0.29 * 100 == 28.999999999999996 in binary floating point.
    assert official_limit(Decimal("0.5"), Decimal("0.29"), Side.BUY, "0.01") == (140000, 280000)
    assert limit_order_amounts("0.5", "0.29", Side.BUY, "0.01") == (145000, 290000)


def test_the_official_market_price_floor_loses_a_tick_and_ours_does_not():
    assert official_market(Decimal("10"), Side.SELL, Decimal("0.29"), "0.01") == (
        10000000,
        2800000,
    )
    assert market_order_amounts("10", Side.SELL, "0.29", "0.01") == (10000000, 2900000)


def test_the_official_float_product_loses_a_unit_on_a_huge_order_and_ours_does_not():
    # 4933630 * 0.5275 = 2602489.825 exactly; as floats the product is 2602489.8249999997 and
    # the ceil-to-10-decimals fix-up cannot absorb the error at that magnitude.
    size, price = Decimal(4933630), Decimal("0.5275")
    assert official_limit(price, size, Side.SELL, "0.0025").taker_amount == 2602489824999
    assert limit_order_amounts(price, size, Side.SELL, "0.0025").taker_amount == 2602489825000


def test_the_official_float_quotient_loses_a_unit_on_a_big_cheap_buy_and_ours_does_not():
    # $98 385 at 0.035 buys exactly 2 811 000 shares.
    amount, price = Decimal(98385), Decimal("0.035")
    assert official_market(amount, Side.BUY, price, "0.0025").taker_amount == 2810999999999
    assert market_order_amounts(amount, Side.BUY, price, "0.0025").taker_amount == 2811000000000


@pytest.mark.parametrize("price", ["0.125", "0.375", "0.625", "0.875"])
def test_an_off_grid_limit_price_rounds_half_to_even_like_the_official_round(price):
    # Binary-exact halves, so the official float round() is well defined: half to even.
    ours = limit_order_amounts(price, "100", Side.BUY, "0.01")
    assert ours == official_limit(Decimal(price), Decimal(100), Side.BUY, "0.01")
    assert ours.maker_amount == int(Decimal(price).quantize(Decimal("0.01")) * 100_000_000)


def test_a_market_price_is_rounded_down_to_the_tick_decimals():
    assert market_order_amounts("10", Side.SELL, "0.479", "0.01") == (10000000, 4700000)


def test_a_market_buy_quotient_is_truncated_to_the_amount_decimals():
    # 10 / 0.3 = 33.3333...: truncated to the 4 pUSD-amount decimals of tick 0.1... as shares.
    assert market_order_amounts("10", Side.BUY, "0.3", "0.1") == (10000000, 33333000)


@pytest.mark.parametrize(("tick", "low", "high"), [("0.01", "0.01", "0.99"), ("0.1", "0.1", "0.9")])
def test_prices_on_the_bounds_are_accepted(tick, low, high):
    assert limit_order_amounts(low, "10", Side.BUY, tick).maker_amount > 0
    assert market_order_amounts("10", Side.SELL, high, tick).taker_amount > 0


@pytest.mark.parametrize("price", ["0", "0.0099", "0.9901", "1", "-0.5", "1.5"])
def test_prices_outside_tick_and_one_minus_tick_are_refused(price):
    with pytest.raises(ValueError, match=r"invalid price .* min: 0\.01 - max: 0\.99"):
        limit_order_amounts(price, "10", Side.BUY, "0.01")
    with pytest.raises(ValueError, match="invalid price"):
        market_order_amounts("10", Side.BUY, price, "0.01")


def test_float_inputs_are_refused_because_they_are_not_exact():
    with pytest.raises(TypeError, match="Decimal or a decimal string"):
        limit_order_amounts(0.29, "10", Side.BUY, "0.01")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("price", "size", "tick", "message"),
    [
        ("0.5", "10", "0.02", "unknown tick size"),
        ("0.5", "abc", "0.01", "not a decimal number"),
        ("0.5", "NaN", "0.01", "must be finite"),
        ("0.5", "0.009", "0.01", "positive quantity"),
        ("0.5", "-3", "0.01", "positive quantity"),
        ("0.5", "1e90", "0.01", "out of range"),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_message(price, size, tick, message):
    with pytest.raises(ValueError, match=message):
        limit_order_amounts(price, size, Side.BUY, tick)


def test_a_side_must_be_a_side():
    with pytest.raises(ValueError, match="is not a valid Side"):
        limit_order_amounts("0.5", "10", "BUY", "0.01")  # type: ignore[arg-type]


def test_ticks_given_with_trailing_zeros_are_the_same_tick():
    assert limit_order_amounts("0.45", "10", Side.BUY, "0.010") == (4500000, 10000000)
