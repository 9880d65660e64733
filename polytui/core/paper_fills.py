"""Paper fills: how an order that is never sent would have filled (pure rules, no I/O).

Paper mode (``polytui --paper``) keeps the engine's whole order path and replaces only the
venue's matching, with these rules applied to the verified (LIVE) book and to the market's own
trades:

**Marketable orders walk the book at its current depth**, best level first, one fill per price
level at that level's price (as the venue reports one trade per maker level):

- a BUY for ``shares`` (GTC, GTD) takes asks at or below its limit until it has them; the rest
  rests at the limit;
- a FAK/FOK BUY spends its pUSD (``maker_amount``): at each level as many whole 0.0001 shares
  as the pUSD left buys, as the venue fills a market buy (:func:`walk_spend`);
- a SELL gives ``shares`` to bids at or above its limit.

**Resting orders fill when the market trades through their price**, with their place in the
queue at that price estimated from the level's size changes (:class:`QueueSpot`): an order
joins behind the size shown at its price; a trade at its price consumes the queue ahead of it
first and fills it with the excess; a trade beyond its price (the level emptied) fills it with
that trade's size; a shrinking level that no trade explains is cancels, taken out of the queue
ahead in proportion (cancels are as likely ahead as behind); a growing level joins behind it.
A level change and the trade print that caused it may come in either order within one venue
timestamp; the two are matched so a trade is counted once.

Prices are in price units (``polytui.core.book``: 1e-4), sizes in shares (``Decimal``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from polytui.core.book import UNIT, Level

ZERO = Decimal(0)
SHARE_STEP = Decimal("0.0001")  # a market buy receives shares to 4 decimals
USDC_STEP = Decimal("0.000001")  # pUSD base unit
BASE = Decimal(1_000_000)  # base units per pUSD or per share


@dataclass(frozen=True, slots=True)
class PaperFill:
    """One price level of a fill: ``shares`` at ``units`` (price units)."""

    units: int
    shares: Decimal

    @property
    def price(self) -> Decimal:
        return Decimal(self.units) / UNIT

    @property
    def usdc(self) -> Decimal:
        return self.shares * self.price


def order_terms(buy: bool, maker_amount: int, taker_amount: int) -> tuple[Decimal, Decimal]:
    """(limit price, shares) of a signed order's two amounts (base units): a BUY gives
    ``maker_amount`` pUSD for ``taker_amount`` shares, a SELL the other way round."""
    if maker_amount <= 0 or taker_amount <= 0:
        raise ValueError("an order's amounts must be positive")
    usdc, shares = (maker_amount, taker_amount) if buy else (taker_amount, maker_amount)
    return Decimal(usdc) / Decimal(shares), Decimal(shares) / BASE


def crosses(buy: bool, limit_units: int, best_units: int | None) -> bool:
    """Does a limit at ``limit_units`` reach the best opposite level (ask for a BUY)?"""
    if best_units is None:
        return False
    return limit_units >= best_units if buy else limit_units <= best_units


def _reachable(levels: Iterable[Level], buy: bool, limit_units: int) -> Iterable[Level]:
    for level in levels:
        if (level.units > limit_units) if buy else (level.units < limit_units):
            return
        if level.size > ZERO:
            yield level


def walk_shares(levels: Iterable[Level], buy: bool, limit_units: int, shares: Decimal):
    """Take up to ``shares`` from ``levels`` (the opposite side, best first) within the limit."""
    left, out = shares, []
    for level in _reachable(levels, buy, limit_units):
        if left <= ZERO:
            break
        take = min(left, level.size)
        out.append(PaperFill(level.units, take))
        left -= take
    return out


def walk_spend(levels: Iterable[Level], limit_units: int, usdc: Decimal) -> list[PaperFill]:
    """A market BUY of ``usdc``: at each ask within the limit, the whole 0.0001 shares the
    pUSD left buys; stops at the first level it cannot empty."""
    left, out = usdc, []
    for level in _reachable(levels, True, limit_units):
        price = Decimal(level.units) / UNIT
        take = min(level.size, (left / price).quantize(SHARE_STEP, rounding=ROUND_FLOOR))
        if take <= ZERO:
            break
        out.append(PaperFill(level.units, take))
        left -= take * price
        if take < level.size:
            break
    return out


def spends_all(fills: list[PaperFill], usdc: Decimal) -> bool:
    """A FOK BUY is filled when what is left would not buy one more 0.0001 share at the
    worst price it reached."""
    if not fills:
        return False
    left = usdc - sum((f.usdc for f in fills), ZERO)
    return left < SHARE_STEP * fills[-1].price


def filled_shares(fills: Iterable[PaperFill]) -> Decimal:
    return sum((f.shares for f in fills), ZERO)


def filled_usdc(fills: Iterable[PaperFill]) -> Decimal:
    """pUSD of the fills, to the base unit (rounded down, as the venue reports it)."""
    total = sum((f.usdc for f in fills), ZERO)
    return total.quantize(USDC_STEP, rounding=ROUND_FLOOR)


class QueueSpot:
    """A resting order's estimated place in the queue at its price, and what it fills.

    ``ahead`` is the size estimated to stand before it; ``level`` the size the venue shows at
    its price (its own size is not there: the order was never sent). Feed it, in arrival
    order, the level's new sizes (:meth:`level`) and the trades at its price (:meth:`trade`)
    or beyond it (:meth:`through`), each with the venue timestamp; each trade returns the
    shares it filled.
    """

    __slots__ = ("remaining", "ahead", "shown", "_ts", "_unexplained", "_printed")

    def __init__(self, remaining: Decimal, shown: Decimal) -> None:
        self.remaining = remaining
        self.ahead = max(ZERO, shown)  # joins behind everyone at its price
        self.shown = max(ZERO, shown)
        self._ts: int | None = None
        self._unexplained = ZERO  # level decrease in this timestamp no trade has explained yet
        self._printed = ZERO  # trade volume in this timestamp no level decrease has shown yet

    def _at(self, ts: int) -> None:
        if ts != self._ts:
            self.settle()
            self._ts = ts

    def settle(self) -> None:
        """The timestamp is over: what shrank without a trade was cancels, spread over the
        queue ahead and behind alike."""
        if self._unexplained > ZERO:
            before = self.shown + self._unexplained
            self.ahead = self.ahead * self.shown / before if before > ZERO else ZERO
        self.ahead = min(self.ahead, self.shown)
        self._unexplained = self._printed = ZERO

    def level(self, ts: int, size: Decimal) -> None:
        """The venue's new total at the order's price."""
        self._at(ts)
        drop = self.shown - size
        if drop > ZERO:
            explained = min(drop, self._printed)
            self._printed -= explained
            self._unexplained += drop - explained
        self.shown = max(ZERO, size)

    def trade(self, ts: int, size: Decimal) -> Decimal:
        """A trade of ``size`` at the order's price: the queue ahead goes first."""
        self._at(ts)
        fill = min(self.remaining, max(ZERO, size - self.ahead))
        self.ahead = max(ZERO, self.ahead - size)
        absorbed = min(size, self._unexplained)
        self._unexplained -= absorbed
        self._printed += size - absorbed
        self.remaining -= fill
        return fill

    def through(self, size: Decimal) -> Decimal:
        """A trade of ``size`` beyond the order's price: everything at its price went first,
        so the order would have filled before the trade reached that price."""
        fill = min(self.remaining, max(ZERO, size))
        self.remaining -= fill
        self.ahead = ZERO
        return fill
