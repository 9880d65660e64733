"""How big an order is: pro-rata to a leader, damped, liquidity-aware, fitted to venue rules.

Pure functions over exact ``Decimal``; the copy-trader sizes its intents with them and the
risk engine fits every approved order to the venue with :func:`fit_venue`.

**Pro-rata** (:func:`pro_rata_usdc`): a leader that put x % of its bankroll into a trade makes
us put x % of ours. The leader's bankroll is its Data API ``/value`` (positions) plus a cash
component, configured per leader or estimated (``copytrade.scoring.estimate_cash``).

**Kelly damping** (optional): the Kelly fraction of a bettor who wins ``w`` of the time and
wins ``b`` times what it loses is ``f* = w - (1 - w) / b``; we never stake more than
``kelly_fraction x f*`` of our bankroll on one copy, and nothing when ``f*`` is not positive.
``w`` and ``b`` come from the leader's closed trades.

**Liquidity** (:func:`depth_within`): never more than ``depth_fraction`` of the USDC offered
at prices within the slippage bound of the reference price, so one copy cannot walk the book.

**Venue rules** (:func:`fit_venue`, protocol §4.4): the price goes onto the tick grid (down
for a BUY, up for a SELL: never worse than asked), shares are floored to 2 decimals (every
tick of the official client's rounding table keeps 2; ``tests/core/test_sizer.py`` checks
``polytui.protocol.amounts`` agrees), the market's minimum size holds, and a marketable order
(FOK/FAK, or one that crosses) keeps the venue's precision rule, maker amount at most 2
decimals and taker amount at most 4, and a BUY spends at least $1. The result is signed as a
limit order (shares at price) with the intent's order type.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import NamedTuple

from polytui.core.book import UNIT, Book
from polytui.core.strategy import OrderSide

ZERO = Decimal(0)
ONE = Decimal(1)
SHARE_DECIMALS = 2
"""Shares of an order keep 2 decimals at every tick (py-clob-client-v2 ROUNDING_CONFIG)."""
SHARE_STEP = Decimal(1).scaleb(-SHARE_DECIMALS)
MIN_MARKETABLE_BUY_USDC = ONE  # the venue refuses a marketable BUY under $1
MARKETABLE_MAKER_DECIMALS = 2
MARKETABLE_TAKER_DECIMALS = 4
_UNIT = Decimal(UNIT)

Numbers = Mapping[str, Decimal | int | str]


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_CEILING) * step


def floor_shares(shares: Decimal) -> Decimal:
    return floor_to(shares, SHARE_STEP) if shares > ZERO else ZERO


def price_to_tick(price: Decimal, tick: Decimal, side: OrderSide) -> Decimal:
    """``price`` on the tick grid, never worse for ``side`` (a BUY floors, a SELL ceils),
    within the venue's ``[tick, 1 - tick]``."""
    on_grid = floor_to(price, tick) if side is OrderSide.BUY else ceil_to(price, tick)
    return min(max(on_grid, tick), ONE - tick)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def marketable_shares(shares: Decimal, price: Decimal, side: OrderSide) -> Decimal:
    """The most shares, at most ``shares`` (2 decimals), whose limit-order amounts meet the
    venue's precision rule for marketable orders: a BUY's maker amount (``shares x price``)
    has at most 2 decimals, a SELL's taker amount (the same product) at most 4.

    With ``shares = m / 100`` and ``price = k / 10**d``, the product has ``2 + d`` decimals
    and must keep ``2`` (BUY) or ``4`` (SELL), so ``m`` must be a multiple of
    ``10**e / gcd(k, 10**e)`` with ``e = d`` (BUY) or ``d - 2`` (SELL)."""
    d = _places(price)
    keep = MARKETABLE_MAKER_DECIMALS if side is OrderSide.BUY else MARKETABLE_TAKER_DECIMALS
    e = SHARE_DECIMALS + d - keep
    if e <= 0:
        return floor_shares(shares)
    k = int(price.scaleb(d))
    step = 10**e // math.gcd(k, 10**e)
    m = int(floor_shares(shares).scaleb(SHARE_DECIMALS))
    return Decimal(m - m % step).scaleb(-SHARE_DECIMALS)


class VenueOrder(NamedTuple):
    shares: Decimal
    price: Decimal
    notional: Decimal  # shares x price: the most a BUY pays, what a SELL asks


class VenueRefusal(NamedTuple):
    reason: str
    numbers: Numbers


def fit_venue(
    side: OrderSide,
    shares: Decimal,
    price: Decimal,
    tick: Decimal,
    min_size: Decimal,
    marketable: bool,
) -> VenueOrder | VenueRefusal:
    """The order the venue accepts closest to (never above) ``shares`` at (never worse than)
    ``price``, or why none is."""
    p = price_to_tick(price, tick, side)
    s = marketable_shares(shares, p, side) if marketable else floor_shares(shares)
    numbers = {"shares": s, "price": p, "min_size": min_size}
    if s <= ZERO or s < min_size:
        return VenueRefusal(
            f"{s} shares (from {shares}) is below the market's minimum size {min_size}", numbers
        )
    notional = s * p
    if marketable and side is OrderSide.BUY and notional < MIN_MARKETABLE_BUY_USDC:
        return VenueRefusal(
            f"a marketable BUY of ${notional} is below the venue's $1 minimum",
            {**numbers, "notional": notional},
        )
    return VenueOrder(s, p, notional)


# ---- the book ---------------------------------------------------------------------------------


def offers(book: Book, side: OrderSide) -> Iterator[tuple[int, Decimal]]:
    """``(price units, size)`` of the levels an order of ``side`` takes, best first, lazily:
    the walks below stop at their bound, and ``Book.levels`` would list the whole side."""
    tick = book.tick
    if side is OrderSide.BUY:
        sizes, i, stop, step = book.asks, book.best_ask_i, book.slots, 1
    else:
        sizes, i, stop, step = book.bids, book.best_bid_i, 0, -1
    while i != stop:
        size = sizes[i]
        if size is not None:
            yield i * tick, size
        i += step


def _bound_units(side: OrderSide, bound: Decimal) -> int:
    """The worst price level (in units) no worse than ``bound``."""
    scaled = bound * _UNIT
    whole = int(scaled.to_integral_value(ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING))
    return whole


def _within(side: OrderSide, units: int, bound_units: int) -> bool:
    return units <= bound_units if side is OrderSide.BUY else units >= bound_units


def depth_within(book: Book, side: OrderSide, bound: Decimal) -> tuple[Decimal, Decimal]:
    """Shares and USDC the book offers to ``side`` at prices no worse than ``bound``."""
    shares = notional = ZERO
    edge = _bound_units(side, bound)
    for units, size in offers(book, side):
        if not _within(side, units, edge):
            break
        shares += size
        notional += size * units
    return shares, notional / _UNIT


class Take(NamedTuple):
    shares: Decimal
    notional: Decimal

    @property
    def vwap(self) -> Decimal | None:
        return self.notional / self.shares if self.shares else None


def take_within(
    book: Book, side: OrderSide, shares: Decimal, limit: Decimal, vwap_bound: Decimal | None = None
) -> Take:
    """What an order for ``shares`` fills now, walking levels no worse than ``limit``, and
    stopping where its average price would pass ``vwap_bound`` (a BUY's VWAP stays at or
    below it, a SELL's at or above). Shares floored to 2 decimals, which only helps the VWAP:
    the shares given up are the worst ones."""
    bound = limit if vwap_bound is None else vwap_bound
    buy = side is OrderSide.BUY
    limit_units, bound_units = _bound_units(side, limit), _bound_units(side, bound)
    taken = notional = ZERO
    for units, size in offers(book, side):
        left = shares - taken
        if left <= ZERO or not _within(side, units, limit_units):
            break
        price = units / _UNIT
        part = min(left, size)
        if not _within(side, units, bound_units):
            # the most x of this level keeping (notional + price x) / (taken + x) in bound
            room = (bound * taken - notional) if buy else (notional - bound * taken)
            part = min(part, room / abs(price - bound))
            taken += part
            break
        taken += part
        notional += part * price
    return cost_of(book, side, floor_shares(taken))


def cost_of(book: Book, side: OrderSide, shares: Decimal) -> Take:
    """Shares and USDC of taking ``shares`` from the book, best level first."""
    fill = book.take(side.takes, shares)
    return Take(fill.filled, fill.notional)


# ---- sizing a copy ----------------------------------------------------------------------------


def pro_rata_usdc(
    leader_usdc: Decimal, leader_bankroll: Decimal, our_bankroll: Decimal, scale: Decimal = ONE
) -> Decimal:
    """x % of our bankroll for a leader trade of x % of its bankroll (times ``scale``)."""
    if leader_bankroll <= ZERO or our_bankroll <= ZERO:
        return ZERO
    return leader_usdc / leader_bankroll * our_bankroll * scale


def kelly(win_rate: Decimal, payoff: Decimal) -> Decimal:
    """The Kelly fraction ``w - (1 - w) / b``; 0 or less means no edge."""
    if payoff <= ZERO:
        return -ONE
    return win_rate - (ONE - win_rate) / payoff


class Edge(NamedTuple):
    """A leader's record for Kelly damping: share of winning closed trades, and the average
    win over the average loss."""

    win_rate: Decimal
    payoff: Decimal


@dataclass(frozen=True, slots=True)
class SizerParams:
    min_usdc: Decimal = ONE
    max_usdc: Decimal = Decimal(100)
    depth_fraction: Decimal = Decimal("0.25")  # of the USDC within the slippage bound
    max_slippage: Decimal = Decimal("0.02")  # price units from the reference price
    kelly_fraction: Decimal | None = None  # None: no Kelly damping


@dataclass(frozen=True, slots=True)
class Sized:
    """A size, with each step that changed it said in words for the "why" record."""

    amount: Decimal  # USDC to spend (a BUY) or shares to sell (a SELL)
    steps: tuple[str, ...] = ()
    numbers: Numbers = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotSized:
    reason: str
    numbers: Numbers = field(default_factory=dict)


def slippage_bound(side: OrderSide, reference: Decimal, max_slippage: Decimal) -> Decimal:
    return reference + max_slippage if side is OrderSide.BUY else reference - max_slippage


def size_buy(
    params: SizerParams,
    *,
    leader_usdc: Decimal,
    leader_bankroll: Decimal,
    our_bankroll: Decimal,
    book: Book | None,
    reference: Decimal,
    scale: Decimal = ONE,
    edge: Edge | None = None,
) -> Sized | NotSized:
    """USDC for copying a leader's buy of ``leader_usdc``: pro-rata, Kelly-damped, clipped
    to ``[min_usdc, max_usdc]``, then at most ``depth_fraction`` of the book's USDC within
    the slippage bound."""
    raw = pro_rata_usdc(leader_usdc, leader_bankroll, our_bankroll, scale)
    numbers: dict[str, Decimal | int | str] = {
        "leader_usdc": leader_usdc,
        "leader_bankroll": leader_bankroll,
        "our_bankroll": our_bankroll,
        "pro_rata_usdc": raw,
    }
    if raw <= ZERO:
        return NotSized("no bankroll to size from (ours or the leader's is 0)", numbers)
    usdc, steps = raw, [f"pro-rata {raw:.2f} USDC"]
    if params.kelly_fraction is not None and edge is not None:
        f = kelly(edge.win_rate, edge.payoff)
        numbers["kelly"] = f
        if f <= ZERO:
            return NotSized(f"the leader shows no edge (Kelly fraction {f:.3f})", numbers)
        cap = params.kelly_fraction * f * our_bankroll
        if usdc > cap:
            usdc = cap
            steps.append(f"Kelly-damped to {cap:.2f} ({params.kelly_fraction} x {f:.3f})")
    if usdc > params.max_usdc:
        usdc = params.max_usdc
        steps.append(f"clipped to the {params.max_usdc} USDC maximum")
    elif usdc < params.min_usdc:
        usdc = params.min_usdc
        steps.append(f"raised to the {params.min_usdc} USDC minimum")
    if book is not None:
        bound = slippage_bound(OrderSide.BUY, reference, params.max_slippage)
        _, depth = depth_within(book, OrderSide.BUY, bound)
        cap = depth * params.depth_fraction
        numbers["depth_usdc"] = depth
        if usdc > cap:
            if cap < params.min_usdc:
                return NotSized(
                    f"thin book: {depth:.2f} USDC offered up to {bound:.4f}, "
                    f"{params.depth_fraction} of it is under the {params.min_usdc} minimum",
                    numbers,
                )
            usdc = cap
            steps.append(f"cut to {params.depth_fraction} of {depth:.2f} USDC depth to {bound:.4f}")
    numbers["usdc"] = usdc
    return Sized(usdc, tuple(steps), numbers)


def reduce_fraction(leader_before: Decimal, leader_after: Decimal) -> Decimal:
    """The share of its position a leader sold: 1 for an exit."""
    if leader_before <= ZERO:
        return ZERO
    return min(ONE, max(ZERO, (leader_before - max(leader_after, ZERO)) / leader_before))


def size_sell(
    params: SizerParams,
    *,
    held: Decimal,
    fraction: Decimal,
    book: Book | None,
    reference: Decimal,
) -> Sized | NotSized:
    """Shares to sell of ``held`` when the leader sold ``fraction`` of its position, at most
    ``depth_fraction`` of the shares bid within the slippage bound."""
    shares = floor_shares(held * fraction)
    numbers: dict[str, Decimal | int | str] = {"held": held, "fraction": fraction}
    if shares <= ZERO:
        return NotSized(f"nothing to sell: {held} held x {fraction:.4f}", numbers)
    steps = [f"sell {fraction:.2%} of {held} held"]
    if book is not None:
        bound = slippage_bound(OrderSide.SELL, reference, params.max_slippage)
        depth, _ = depth_within(book, OrderSide.SELL, bound)
        cap = floor_shares(depth * params.depth_fraction)
        numbers["depth_shares"] = depth
        if shares > cap:
            if cap <= ZERO:
                return NotSized(f"no bids within the slippage bound {bound}", numbers)
            shares = cap
            steps.append(f"cut to {params.depth_fraction} of {depth} shares bid to {bound}")
    numbers["shares"] = shares
    return Sized(shares, tuple(steps), numbers)
