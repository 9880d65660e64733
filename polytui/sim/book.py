"""One order-level book per binary market, kept in YES terms.

Both tokens share it: a BUY of YES at p is a bid at p, a BUY of NO at q is an ask of YES at 1-q.
The NO token's levels are this book mirrored, so the two tokens can never disagree. The book
allows a crossed state on purpose: a taker is placed, then matched level by level, which is how
real trade bursts pass through crossed states (protocol §5.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sortedcontainers import SortedDict

from polytui.sim.units import PRICE_SCALE

BID, ASK = 0, 1  # YES-terms book sides


@dataclass(slots=True)
class RestingOrder:
    order_id: str
    owner: str
    side: int  # BID or ASK, in YES terms
    price: int
    size: int  # remaining, size units
    original: int
    created_ms: int


@dataclass(slots=True)
class Level:
    total: int = 0
    orders: dict[str, RestingOrder] = field(default_factory=dict)  # insertion order = time priority


@dataclass(slots=True)
class Fill:
    maker: RestingOrder
    price: int  # YES terms
    size: int


class Book:
    __slots__ = ("bids", "asks", "orders")

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # price -> Level
        self.asks: SortedDict = SortedDict()
        self.orders: dict[str, RestingOrder] = {}

    def side(self, side: int) -> SortedDict:
        return self.bids if side == BID else self.asks

    def best_bid(self) -> int | None:
        return self.bids.keys()[-1] if self.bids else None

    def best_ask(self) -> int | None:
        return self.asks.keys()[0] if self.asks else None

    def total(self, side: int, price: int) -> int:
        level = self.side(side).get(price)
        return level.total if level else 0

    def add(self, order: RestingOrder) -> int:
        """Rest ``order``; returns the new total of its level."""
        book_side = self.side(order.side)
        level = book_side.get(order.price)
        if level is None:
            level = book_side[order.price] = Level()
        level.orders[order.order_id] = order
        level.total += order.size
        self.orders[order.order_id] = order
        return level.total

    def reduce(self, order_id: str, amount: int) -> int:
        """Take ``amount`` off a resting order (gone at zero); returns its level's new total."""
        order = self.orders[order_id]
        book_side = self.side(order.side)
        level = book_side[order.price]
        amount = min(amount, order.size)
        order.size -= amount
        level.total -= amount
        if order.size == 0:
            del level.orders[order_id]
            del self.orders[order_id]
        if not level.orders:
            del book_side[order.price]
            return 0
        return level.total

    def remove(self, order_id: str) -> int:
        return self.reduce(order_id, self.orders[order_id].size)

    def makers(self, taker_side: int, limit: int) -> list[tuple[int, Level]]:
        """Levels a taker on ``taker_side`` with ``limit`` can trade with, best first."""
        if taker_side == BID:
            return [(p, self.asks[p]) for p in self.asks.irange(maximum=limit)]
        return [(p, self.bids[p]) for p in self.bids.irange(minimum=limit, reverse=True)]

    def depth(self, taker_side: int, limit: int) -> int:
        return sum(level.total for _, level in self.makers(taker_side, limit))

    def clear(self) -> list[RestingOrder]:
        gone = list(self.orders.values())
        self.bids.clear()
        self.asks.clear()
        self.orders.clear()
        return gone


def token_levels(book: Book, is_yes: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(bids ascending, asks descending) of (price, size) in the token's terms: wire order."""
    if is_yes:
        bids = [(p, lv.total) for p, lv in book.bids.items()]
        asks = [(p, lv.total) for p, lv in reversed(book.asks.items())]
    else:
        bids = [(PRICE_SCALE - p, lv.total) for p, lv in reversed(book.asks.items())]
        asks = [(PRICE_SCALE - p, lv.total) for p, lv in book.bids.items()]
    return bids, asks


def token_best(book: Book, is_yes: bool) -> tuple[int | None, int | None]:
    bid, ask = book.best_bid(), book.best_ask()
    if is_yes:
        return bid, ask
    return (
        PRICE_SCALE - ask if ask is not None else None,
        PRICE_SCALE - bid if bid is not None else None,
    )


def to_book(is_yes: bool, token_side_bid: bool, price: int) -> tuple[int, int]:
    """A token-terms (side, price) to the YES book's (side, price)."""
    if is_yes:
        return (BID if token_side_bid else ASK), price
    return (ASK if token_side_bid else BID), PRICE_SCALE - price
