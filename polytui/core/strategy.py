"""The strategy API: what a strategy reads, and the order intents it emits. Pure types.

A strategy never talks to the venue. It reads a :class:`StrategyContext` (books with their
mirror state, our positions, market flags, the time) and its own inputs (a copy-trader gets
leader deltas), and answers with :class:`OrderIntent` objects, each with a reason. The risk
engine (``polytui.core.risk``) approves, resizes or rejects each intent; only an approved one
becomes a signed order. So a buggy strategy can propose anything and still never trade on a
book that is not LIVE, beyond a cap, or after the kill switch::

    class Strategy(Protocol):
        name: str
        def on_input(self, ctx, item) -> Sequence[OrderIntent]: ...   # its own inputs
        def on_book(self, ctx, asset) -> Sequence[OrderIntent]: ...    # a book it reads changed
        def on_timer(self, ctx) -> Sequence[OrderIntent]: ...          # the runner's tick

**Idempotency.** An intent's id is derived from its cause (:func:`intent_id`: the strategy's
name and the keys of the leader trades or the signal behind it), never from a counter or the
clock, so the same cause seen twice (a restart, a re-delivered trade) gives the same id and
the ledger refuses the second (architecture §5).

**Sizes.** An intent asks for ``size`` in shares or in USDC (``unit``); the risk engine turns
USDC into shares at the limit price (the most it may pay), so an approved order never costs
more than the USDC asked. Prices and sizes are exact ``Decimal``; token ids are strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol

from polytui.core.book import Book, Side
from polytui.core.market_flags import Flag

ZERO = Decimal(0)
ONE = Decimal(1)

LIVE = "LIVE"
"""The mirror's state in which a book may be traded on (``BookState.LIVE``'s value)."""
UNVERIFIED = "UNVERIFIED"
"""A LIVE book the venue's hash of its last change contradicts: no order may rely on it."""


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def takes(self) -> Side:
        """The book side this order takes from: a BUY lifts asks, a SELL hits bids."""
        return Side.ASK if self is OrderSide.BUY else Side.BID


class OrderType(StrEnum):
    GTC = "GTC"  # rests until cancelled: resting strategy orders only
    GTD = "GTD"  # rests until ``expires_ms``: the venue wants at least now + 60 s
    FOK = "FOK"  # all now or nothing
    FAK = "FAK"  # what fills now; the rest is cancelled

    @property
    def immediate(self) -> bool:
        """Never rests on the book: the venue's marketable-order rules apply."""
        return self in (OrderType.FOK, OrderType.FAK)


class SizeUnit(StrEnum):
    SHARES = "SHARES"
    USDC = "USDC"


def intent_id(strategy: str, *cause: str) -> str:
    """The deterministic id of the intent ``strategy`` derives from ``cause`` (leader trade
    keys, or a signal key): 64 hex digits of sha256. The parts are separated by a byte that
    no key contains, so ``("ab", "c")`` and ``("a", "bc")`` differ."""
    if not cause:
        raise ValueError("an intent needs a cause to derive its id from")
    raw = "\x1f".join((strategy, *cause)).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy wants, before the risk engine: the order and why.

    ``reference_price`` is the price the strategy's decision was based on: the leader's fill
    price for a copy, the strategy's stated price otherwise. The risk engine measures chase
    and slippage against it. ``limit_price`` is the worst price the strategy accepts.
    ``signal_ms`` is when the cause happened (the leader's fill), ``created_ms`` when the
    strategy made the intent; freshness gates use the first, latency KPIs both.

    ``reduce_only`` marks an intent that only reduces a position we hold (an exit, or
    following a leader's reduction): caps on new exposure let it through. Every SELL
    reduces (the venue sells only tokens held); a BUY reduces only when flagged.

    ``depends_on`` names further assets whose books the decision read; the golden rule
    (architecture §4) requires every one of them, and ``asset`` itself, to be LIVE.
    """

    intent_id: str
    strategy: str
    condition_id: str
    asset: str
    side: OrderSide
    size: Decimal
    unit: SizeUnit
    limit_price: Decimal
    order_type: OrderType
    reference_price: Decimal
    reason: str
    created_ms: int
    signal_ms: int
    leader: str | None = None  # the leader wallet (lower case) a copy follows
    reduce_only: bool = False
    expires_ms: int | None = None  # GTD only
    depends_on: tuple[str, ...] = ()
    cause: tuple[str, ...] = ()  # the keys the id was derived from (leader trade keys)

    def __post_init__(self) -> None:
        if not self.size.is_finite() or self.size <= ZERO:
            raise ValueError(f"intent size must be positive, got {self.size}")
        for name in ("limit_price", "reference_price"):
            price = getattr(self, name)
            if not price.is_finite() or not ZERO < price < ONE:
                raise ValueError(f"{name} must be in (0, 1), got {price}")
        if (self.order_type is OrderType.GTD) != (self.expires_ms is not None):
            raise ValueError("expires_ms is required for GTD orders and only for them")

    @property
    def opening(self) -> bool:
        """Adds exposure (a BUY not flagged ``reduce_only``)."""
        return self.side is OrderSide.BUY and not self.reduce_only

    @property
    def books(self) -> tuple[str, ...]:
        """Every asset whose book must be LIVE for this order to go out."""
        return tuple(dict.fromkeys((self.asset, *self.depends_on)))


class BookRead(NamedTuple):
    """A book as a strategy may read it: the mirror's state for it and its levels.

    A strategy may look at a book in any state (to keep its own signals warm); only the risk
    engine decides whether an order may rely on it, and it requires ``LIVE``."""

    state: str  # the mirror's BookState value: "LIVE", "SUSPECT", ... or "UNTRACKED"
    book: Book | None

    @property
    def live(self) -> bool:
        return self.state == LIVE and self.book is not None


UNTRACKED = BookRead("UNTRACKED", None)


class StrategyContext(Protocol):
    """What a strategy may read. The engine implements it over the mirror, the scanner and
    the ledger's projections; tests use :class:`SnapshotContext`."""

    def now_ms(self) -> int:
        """The engine clock's time (epoch ms)."""
        ...

    def book(self, asset: str) -> BookRead:
        """The book of ``asset`` with its state (``UNTRACKED`` when none is kept)."""
        ...

    def position(self, asset: str) -> Decimal:
        """Shares of ``asset`` we hold (0 when none)."""
        ...

    def flags(self, condition_id: str) -> frozenset[Flag]:
        """Why the market may not be traded now (``market_flags``); empty: tradable."""
        ...

    def bankroll(self) -> Decimal:
        """Our equity in USDC: cash plus the marked value of our positions."""
        ...


@dataclass(frozen=True)
class SnapshotContext:
    """A :class:`StrategyContext` over fixed values: for tests, replays and simple hosts."""

    now: int
    books: Mapping[str, BookRead] = field(default_factory=dict)
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    market_flags: Mapping[str, frozenset[Flag]] = field(default_factory=dict)
    equity: Decimal = ZERO

    def now_ms(self) -> int:
        return self.now

    def book(self, asset: str) -> BookRead:
        return self.books.get(asset, UNTRACKED)

    def position(self, asset: str) -> Decimal:
        return self.positions.get(asset, ZERO)

    def flags(self, condition_id: str) -> frozenset[Flag]:
        return self.market_flags.get(condition_id, frozenset((Flag.UNKNOWN,)))

    def bankroll(self) -> Decimal:
        return self.equity


class Strategy(Protocol):
    """A strategy: reads a context, emits intents with reasons, never calls the venue.

    The runner calls it from one task at a time; an exception stops that strategy only.
    Each method returns the intents it wants now (often none)."""

    name: str

    def on_input(self, ctx: StrategyContext, item: object) -> Sequence[OrderIntent]:
        """One of the strategy's own inputs arrived (for a copy-trader: a leader delta)."""
        ...

    def on_book(self, ctx: StrategyContext, asset: str) -> Sequence[OrderIntent]:
        """A book the strategy follows changed."""
        ...

    def on_timer(self, ctx: StrategyContext) -> Sequence[OrderIntent]:
        """The runner's periodic tick."""
        ...
