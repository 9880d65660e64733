"""makerAmount / takerAmount of a CLOB V2 order, in 6-decimal base units.

The venue checks the price implied by the two signed integers, so the integers must come out
exactly as the official client (py-clob-client-v2 1.2.1, ``OrderBuilder.get_order_amounts`` and
``get_market_order_amounts``) computes them: the same rounding table per tick size, the same
round-then-fix-up steps, the same downward rounding of a market order's price.

The official client does that arithmetic on binary floats. Here every step is exact
``Decimal`` arithmetic, so a quantity such as 0.29 shares stays 0.29 shares (the float path
floors ``0.29 * 100 = 28.999999999999996`` to 0.28), and $98 385 at 0.035 buys 2 811 000 shares
(the float path: 2 810 999.999999). Wherever the float steps are exact the two agree to the
unit; tests prove it against the official functions.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import IntEnum
from typing import NamedTuple

TOKEN_DECIMALS = 6
"""pUSD and outcome tokens both have 6 decimals."""

# Enough digits that no intermediate value is ever rounded by the context itself (only the
# explicit quantize steps below round), given quantities below _QUANTITY_LIMIT.
_QUANTITY_LIMIT = Decimal(10) ** 60
_CONTEXT = decimal.Context(
    prec=80,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


class Side(IntEnum):
    """Order side; the integer is the value signed in the EIP-712 struct."""

    BUY = 0
    SELL = 1


class Rounding(NamedTuple):
    """Decimal places kept for the price, the share quantity and the pUSD amount."""

    price: int
    size: int
    amount: int


ROUNDING_BY_TICK: dict[Decimal, Rounding] = {
    Decimal("0.1"): Rounding(price=1, size=2, amount=3),
    Decimal("0.01"): Rounding(price=2, size=2, amount=4),
    Decimal("0.005"): Rounding(price=3, size=2, amount=5),
    Decimal("0.0025"): Rounding(price=4, size=2, amount=6),
    Decimal("0.001"): Rounding(price=3, size=2, amount=5),
    Decimal("0.0001"): Rounding(price=4, size=2, amount=6),
}
"""The official client's ROUNDING_CONFIG, keyed by tick size."""


class OrderAmounts(NamedTuple):
    """The two signed integers of an order, in base units (1 pUSD or 1 share = 10**6)."""

    maker_amount: int
    taker_amount: int


def limit_order_amounts(
    price: Decimal | str, size: Decimal | str, side: Side, tick: Decimal | str
) -> OrderAmounts:
    """Amounts of a limit order for ``size`` shares at ``price``.

    The price is rounded half-to-even to the tick's price decimals (the official client uses
    Python's ``round``), the size is floored to whole hundredths of a share.
    """
    rounding, tick_value = _rounding(tick)
    exact_price = _checked_price(price, tick_value)
    rounded_price = _quantize(exact_price, rounding.price, ROUND_HALF_EVEN)
    shares = _quantity(size, "size", rounding.size)
    usd = _fit_precision(_CONTEXT.multiply(shares, rounded_price), rounding.amount)
    if Side(side) is Side.BUY:
        return OrderAmounts(_base_units(usd), _base_units(shares))
    return OrderAmounts(_base_units(shares), _base_units(usd))


def market_order_amounts(
    amount: Decimal | str, side: Side, price: Decimal | str, tick: Decimal | str
) -> OrderAmounts:
    """Amounts of a market order: spend ``amount`` pUSD (BUY) or sell ``amount`` shares (SELL).

    ``price`` is the worst acceptable price. The V2 client rounds it *down* to the tick's price
    decimals (V1 rounded half-up), and so does this function.
    """
    rounding, tick_value = _rounding(tick)
    worst_price = _quantize(_checked_price(price, tick_value), rounding.price, ROUND_FLOOR)
    given = _quantity(amount, "amount", rounding.size)
    if Side(side) is Side.BUY:
        shares = _fit_precision(_CONTEXT.divide(given, worst_price), rounding.amount)
        return OrderAmounts(_base_units(given), _base_units(shares))
    usd = _fit_precision(_CONTEXT.multiply(given, worst_price), rounding.amount)
    return OrderAmounts(_base_units(given), _base_units(usd))


def _rounding(tick: Decimal | str) -> tuple[Rounding, Decimal]:
    tick_value = _decimal(tick, "tick")
    rounding = ROUNDING_BY_TICK.get(tick_value)
    if rounding is None:
        known = ", ".join(str(t) for t in ROUNDING_BY_TICK)
        raise ValueError(f"unknown tick size {tick}; expected one of {known}")
    return rounding, tick_value


def _checked_price(price: Decimal | str, tick: Decimal) -> Decimal:
    """The official client refuses prices outside [tick, 1 - tick] before any rounding."""
    value = _decimal(price, "price")
    if not tick <= value <= 1 - tick:
        raise ValueError(f"invalid price ({price}), min: {tick} - max: {1 - tick}")
    return value


def _fit_precision(value: Decimal, places: int) -> Decimal:
    """The official fix-up of a pUSD or share amount to ``places`` decimals, done exactly.

    The official client ceils to ``places + 4`` decimals and then floors to ``places``: the
    ceiling only absorbs float noise. Exactly, the ceiling can never reach the next whole
    ``places``-decimal value, so the fix-up is a plain floor. A product of a 2-decimal quantity
    and a price never has more than price decimals + 2 = ``places`` decimals (every tick's
    rounding has that shape). A quotient ``amount / (k / 10**d)`` with k < 10**4 is either on
    the ``places`` grid or at least 1/k > 10**-4 of a grid step below the next point, which is
    more than a ceiling at ``places + 4`` decimals can move it.
    """
    return _quantize(value, places, ROUND_FLOOR)


def _base_units(value: Decimal) -> int:
    """Exact: no rounding table keeps more than TOKEN_DECIMALS decimals."""
    return int(value.scaleb(TOKEN_DECIMALS, _CONTEXT))


def _quantize(value: Decimal, places: int, rounding: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=_CONTEXT)


def _quantity(value: Decimal | str, name: str, places: int) -> Decimal:
    """A size or pUSD amount floored to ``places`` decimals, which must leave it positive."""
    exact = _decimal(value, name)
    if exact >= _QUANTITY_LIMIT:
        raise ValueError(f"{name} {value} is out of range")
    floored = _quantize(exact, places, ROUND_FLOOR)
    if floored <= 0:
        raise ValueError(f"{name} rounds down to {floored}; an order needs a positive quantity")
    return floored


def _decimal(value: Decimal | str, name: str) -> Decimal:
    """Accept exact inputs only: a float such as 0.29 is already 0.28999999999999998002."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValueError(f"{name} {value!r} is not a decimal number") from None
    else:
        raise TypeError(f"{name} must be a Decimal or a decimal string, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{name} must be finite, got {value}")
    return result


MARKETABLE_USD_PLACES = {Side.BUY: 2, Side.SELL: 4}
"""A marketable order's pUSD amount (protocol §4.4): at most 2 decimals for a BUY (its maker
amount), 4 for a SELL (its taker amount); its shares at most 2 (SELL) or 4 (BUY)."""
_SHARE_STEP = Decimal("0.01")


def marketable_size(size: Decimal, price: Decimal, side: Side) -> Decimal:
    """The largest size up to ``size`` (in hundredths of a share) whose pUSD amount at
    ``price`` fits the venue's precision for a marketable order; ``0`` if none within ten
    shares of it (there always is one for the tick sizes the venue uses)."""
    places = MARKETABLE_USD_PLACES[Side(side)]
    grid = Decimal(1).scaleb(-places)
    shares = _quantize(_decimal(size, "size"), 2, ROUND_FLOOR)
    for _ in range(1000):
        if shares <= 0:
            break
        usd = _CONTEXT.multiply(shares, _decimal(price, "price"))
        if usd == usd.quantize(grid, rounding=ROUND_FLOOR, context=_CONTEXT):
            return shares
        shares -= _SHARE_STEP
    return Decimal(0)
