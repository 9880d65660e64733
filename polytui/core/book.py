"""One token's L2 order book, exact and fast: integer price units, Decimal sizes.

Prices are held as integer **units** of 1/10,000 (``0.0001``, the finest tick Polymarket uses),
so ``"0.37"`` is ``3700``; :func:`price_units` turns the venue's decimal strings into units
exactly (and caches them: a market uses at most a few thousand distinct price strings).

Each side is an array indexed by price level on the book's tick grid (``units // tick``),
holding the level's total size (``Decimal``) or ``None``. Setting a level is O(1); the best
price is tracked, so reading it is O(1); removing the best level scans to the next one, which
is a few steps in a real book (and at most the grid, 10,000 / tick). Depth, VWAP and the worst
price of a size walk the array from the best level.

This module is pure: no I/O, no clock. The mirror (``polytui.engine.mirror``) decides when a
book may be trusted; a ``Book`` only refuses what can never be a level (off the grid, outside
(0, 1), a negative size) by raising ``BadLevel``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from enum import IntEnum
from typing import NamedTuple

UNIT = 10_000  # price units per 1.0
ZERO = Decimal(0)
_ONE = Decimal(1)

_UNITS: dict[str, int] = {}
# Scaling a price must be exact: the default context would round "0.37000000000000000000000000001"
# (29 digits) onto the grid. Trapping Inexact refuses it instead (and an underflow, which is
# inexact too); rounding that only drops zeros is not inexact, so long exact strings still pass.
_EXACT = Context(traps=[InvalidOperation, Inexact, Overflow])


def price_units(text: str) -> int | None:
    """``"0.37"`` -> 3700; ``None`` for anything that is not a price in [0, 1] on the 0.0001 grid
    (so also for a negative or a too large number: it can never be a price)."""
    units = _UNITS.get(text)
    if units is not None:
        return units
    try:
        price = Decimal(text)
        if not ZERO <= price <= _ONE:  # before any arithmetic: "1e900000" would take seconds
            return None
        scaled = _EXACT.multiply(price, UNIT)
    except (ArithmeticError, TypeError, ValueError):  # NaN compares with InvalidOperation
        return None
    if scaled != scaled.to_integral_value():
        return None
    units = int(scaled)
    _UNITS[text] = units
    return units


def units_price(units: int) -> Decimal:
    """3700 -> Decimal("0.37")."""
    return (Decimal(units) / UNIT).normalize() if units else ZERO


def _spell(units: int, places: int | None) -> str:
    whole, frac = divmod(units, UNIT)
    if places is None:  # normalised: "0.37", "0.001", "1", "0"
        return f"{whole}.{frac:04d}".rstrip("0") if frac else str(whole)
    digits = f"{frac:04d}"
    if any(d != "0" for d in digits[places:]):  # more precise than the style: say it exactly
        return _spell(units, None)
    return f"{whole}.{digits[:places]}" if places else str(whole)


_NORMAL = [_spell(u, None) for u in range(UNIT + 1)]


def price_text(units: int, places: int | None = None) -> str:
    """The decimal string of a price: normalised (``None``: ``"0.4"``), or with ``places``
    decimals (``2``: ``"0.40"``) as a venue that pads to its tick spells it."""
    if places is None and 0 <= units <= UNIT:
        return _NORMAL[units]
    return _spell(units, places)


def spelling_places(texts: Iterable[str]) -> int | None:
    """How a venue spells prices, from some it sent: the decimals it pads to, or ``None`` when
    it drops trailing zeros (no text ending in ``0`` after the point)."""
    places = None
    for text in texts:
        point = text.find(".")
        if point >= 0 and text.endswith("0"):
            places = max(places or 0, len(text) - point - 1)
    return places


def tick_units(tick: Decimal | str) -> int:
    """A tick size as units; raises ValueError for a tick that is not a whole number of units."""
    units = price_units(str(tick))
    if units is None or units <= 0 or UNIT % units:
        raise ValueError(f"unsupported tick size {tick!r}")
    return units


class Side(IntEnum):
    BID = 0  # BUY orders rest here
    ASK = 1


_BID = Side.BID  # the hot path compares with it


class BadLevel(ValueError):
    """A level that can never be in a book: off the tick grid, outside (0, 1), size < 0."""


class Level(NamedTuple):
    units: int
    size: Decimal

    @property
    def price(self) -> Decimal:
        return units_price(self.units)


class Fill(NamedTuple):
    """The cost of taking ``size`` from one side: what filled, at what average and worst price."""

    filled: Decimal
    notional: Decimal  # sum of price x size over the levels taken
    worst_units: int | None  # the last (worst) level touched; None when nothing filled

    @property
    def vwap(self) -> Decimal | None:
        return self.notional / self.filled if self.filled else None


class Book:
    """The levels of one token. ``tick`` is in units (``tick_units("0.01")`` = 100)."""

    __slots__ = ("tick", "slots", "bids", "asks", "best_bid_i", "best_ask_i", "counts")

    def __init__(self, tick: int) -> None:
        if tick <= 0 or UNIT % tick:
            raise ValueError(f"tick {tick} is not a divisor of {UNIT}")
        self.tick = tick
        self.slots = UNIT // tick  # level indexes 1 .. slots-1 are prices in (0, 1)
        self.bids: list[Decimal | None] = [None] * (self.slots + 1)
        self.asks: list[Decimal | None] = [None] * (self.slots + 1)
        self.best_bid_i = 0  # 0: no bid
        self.best_ask_i = self.slots  # slots: no ask
        self.counts = [0, 0]  # levels on each side (by Side), kept as they come and go

    # ---- changes ---------------------------------------------------------------------------

    def index(self, units: int) -> int:
        """The level index of a price; raises BadLevel off the grid or outside (0, 1)."""
        if units <= 0 or units >= UNIT or units % self.tick:
            raise BadLevel(f"price {units_price(units)} is off the {units_price(self.tick)} grid")
        return units // self.tick

    def set(self, side: Side, units: int, size: Decimal) -> None:
        """A level's new total (``0`` removes it), as the venue sends it."""
        tick = self.tick
        if units <= 0 or units >= UNIT or units % tick:  # self.index, inlined: the hot path
            raise BadLevel(f"price {units_price(units)} is off the {units_price(tick)} grid")
        i = units // tick
        if not size.is_finite():  # NaN would not even compare; Infinity is no number of shares
            raise BadLevel(f"size {size} at {units_price(units)}")
        if size > ZERO:
            if side is _BID:
                bids = self.bids
                if bids[i] is None:
                    self.counts[0] += 1
                bids[i] = size
                if i > self.best_bid_i:
                    self.best_bid_i = i
            else:
                asks = self.asks
                if asks[i] is None:
                    self.counts[1] += 1
                asks[i] = size
                if i < self.best_ask_i:
                    self.best_ask_i = i
        elif size == ZERO:
            self.remove(side, i)
        else:
            raise BadLevel(f"negative size {size} at {units_price(units)}")

    def remove(self, side: Side, i: int) -> None:
        if side is _BID:
            bids = self.bids
            if bids[i] is not None:
                self.counts[0] -= 1
            bids[i] = None
            if i == self.best_bid_i:
                while i > 0 and bids[i] is None:
                    i -= 1
                self.best_bid_i = i
        else:
            asks, end = self.asks, self.slots
            if asks[i] is not None:
                self.counts[1] -= 1
            asks[i] = None
            if i == self.best_ask_i:
                while i < end and asks[i] is None:
                    i += 1
                self.best_ask_i = i

    def replace(self, bids: Iterable[tuple[int, Decimal]], asks: Iterable[tuple[int, Decimal]]):
        """Load a snapshot (levels in any order; a size of 0 is skipped). All or nothing:
        a bad level raises BadLevel and leaves the book as it was."""
        new = Book.of(self.tick, bids, asks)
        self.bids, self.asks = new.bids, new.asks
        self.best_bid_i, self.best_ask_i = new.best_bid_i, new.best_ask_i
        self.counts = new.counts

    @classmethod
    def of(
        cls, tick: int, bids: Iterable[tuple[int, Decimal]], asks: Iterable[tuple[int, Decimal]]
    ) -> Book:
        """A book holding these levels (any order; size 0 skipped); raises BadLevel."""
        book = cls(tick)
        best = [0, book.slots]  # the best index of each side, from the levels themselves:
        # scanning the grid for it would cost up to 10,000 / tick steps per snapshot
        for s, (sizes, levels) in enumerate(((book.bids, bids), (book.asks, asks))):
            top = best[s]
            for units, size in levels:
                if units <= 0 or units >= UNIT or units % tick:
                    raise BadLevel(
                        f"price {units_price(units)} is off the {units_price(tick)} grid"
                    )
                if not size.is_finite():
                    raise BadLevel(f"size {size} at {units_price(units)}")
                if size > ZERO:
                    i = units // tick
                    if sizes[i] is None:
                        book.counts[s] += 1
                    sizes[i] = size
                    if (i > top) if s == 0 else (i < top):
                        top = i
                elif size < ZERO:
                    raise BadLevel(f"negative size {size} at {units_price(units)}")
            best[s] = top
        book.best_bid_i, book.best_ask_i = best
        return book

    # ---- reads -----------------------------------------------------------------------------

    @property
    def best_bid(self) -> Level | None:
        i = self.best_bid_i
        return Level(i * self.tick, self.bids[i]) if i > 0 else None  # type: ignore[arg-type]

    @property
    def best_ask(self) -> Level | None:
        i = self.best_ask_i
        return Level(i * self.tick, self.asks[i]) if i < self.slots else None  # type: ignore[arg-type]

    @property
    def best_bid_units(self) -> int | None:
        return self.best_bid_i * self.tick if self.best_bid_i > 0 else None

    @property
    def best_ask_units(self) -> int | None:
        return self.best_ask_i * self.tick if self.best_ask_i < self.slots else None

    @property
    def crossed(self) -> bool:
        """Bid at or above ask (a locked book counts: the venue would have matched it)."""
        return (
            self.best_bid_i > 0
            and self.best_ask_i < self.slots
            and (self.best_bid_i >= self.best_ask_i)
        )

    def levels(self, side: Side, depth: int | None = None) -> list[Level]:
        """Levels best first, at most ``depth`` of them."""
        return list(self._walk(side, depth))

    def _walk(self, side: Side, depth: int | None = None) -> Iterator[Level]:
        tick, left = self.tick, depth if depth is not None else self.slots
        if side is Side.BID:
            sizes, i, stop, step = self.bids, self.best_bid_i, 0, -1
        else:
            sizes, i, stop, step = self.asks, self.best_ask_i, self.slots, 1
        while i != stop and left > 0:
            size = sizes[i]
            if size is not None:
                yield Level(i * tick, size)
                left -= 1
            i += step

    def size_at(self, side: Side, units: int) -> Decimal:
        sizes = self.bids if side is Side.BID else self.asks
        size = sizes[self.index(units)]
        return size if size is not None else ZERO

    def take(self, side: Side, size: Decimal) -> Fill:
        """Walk ``side`` (ASK to buy, BID to sell) for ``size`` shares, best level first.
        A size of 0 or less fills nothing."""
        left, notional, worst = size, ZERO, None
        if size <= ZERO:
            return Fill(ZERO, ZERO, None)
        for level in self._walk(side):
            part = min(left, level.size)
            notional += part * level.units
            left -= part
            worst = level.units
            if left <= ZERO:  # done: do not scan on for a level that is not needed
                break
        return Fill(size - left, notional / UNIT, worst)

    def __len__(self) -> int:
        return self.counts[0] + self.counts[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Book):
            return NotImplemented
        if self.tick == other.tick:  # same grid: compare the arrays (at C speed)
            return self.bids == other.bids and self.asks == other.asks
        return self.levels(Side.BID) == other.levels(Side.BID) and self.levels(
            Side.ASK
        ) == other.levels(Side.ASK)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        bid, ask = self.best_bid, self.best_ask
        top = f"{bid.price if bid else '-'} / {ask.price if ask else '-'}"
        return f"<Book tick={units_price(self.tick)} {top} levels={len(self)}>"
