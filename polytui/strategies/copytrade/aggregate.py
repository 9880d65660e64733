"""Copy the intent, not the trades: a leader's fills in one asset within a time window become
one net position delta.

A leader's one decision reaches the Data API as many rows: an order split over price
levels, partial fills of a resting order, a quick in-and-out. Copying each row would pay the
spread and the fees many times over and could leave us long after the leader is flat. So
fills of one leader in one asset are gathered from the first one seen until ``window_ms``
later (our clock: the indexing lag delays every row alike), and the window closes into one
:class:`LeaderDelta`: the net shares, what the leader paid or got for them, and its position
before and after, which say whether it opened, added, reduced or exited. A window whose
fills cancel out is a ``flat`` delta: nothing to copy, but still recorded.

The leader's position per asset (:class:`LeaderBook`) is rebuilt from its ``/positions`` at
start and every fill since; the feed re-syncs it against ``/positions`` on a schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polytui.core.strategy import OrderSide
from polytui.strategies.copytrade.fills import LeaderFill

ZERO = Decimal(0)
DUST = Decimal("0.01")  # less than this is no position (the venue's share step)


class DeltaKind(StrEnum):
    OPEN = "open"  # from no position
    ADD = "add"
    REDUCE = "reduce"
    EXIT = "exit"  # down to no position
    FLAT = "flat"  # the window's fills cancel out


@dataclass(frozen=True, slots=True)
class LeaderDelta:
    """What a leader did in one asset within one window."""

    leader: str
    condition_id: str
    asset: str
    fills: tuple[LeaderFill, ...]
    before: Decimal  # the leader's shares before the first fill
    after: Decimal  # and after the last
    closed_ms: int  # when the window closed (our clock)
    net: Decimal = field(init=False)  # signed shares over the window
    price: Decimal = field(init=False)
    """The leader's average price in the net direction (what it paid for a net buy, got for a
    net sell): the reference price of a copy."""

    def __post_init__(self) -> None:
        if not self.fills:
            raise ValueError("a delta needs at least one fill")
        net = sum((f.signed for f in self.fills), ZERO)
        side = OrderSide.BUY if net > ZERO else OrderSide.SELL
        same = [f for f in self.fills if f.side is side] or list(self.fills)
        price = sum((f.notional for f in same), ZERO) / sum((f.size for f in same), ZERO)
        object.__setattr__(self, "net", net)
        object.__setattr__(self, "price", price)

    @property
    def side(self) -> OrderSide:
        return OrderSide.BUY if self.net > ZERO else OrderSide.SELL

    @property
    def kind(self) -> DeltaKind:
        net = self.net
        if abs(net) < DUST:
            return DeltaKind.FLAT
        if net > ZERO:
            return DeltaKind.OPEN if self.before < DUST else DeltaKind.ADD
        return DeltaKind.EXIT if self.after < DUST else DeltaKind.REDUCE

    @property
    def notional(self) -> Decimal:
        """USDC of the net change at the leader's price."""
        return abs(self.net) * self.price

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fills)

    @property
    def first_ms(self) -> int:
        return min(f.ts_ms for f in self.fills)

    @property
    def last_ms(self) -> int:
        """The leader's latest fill in the window: the signal time of a copy."""
        return max(f.ts_ms for f in self.fills)

    @property
    def seen_ms(self) -> int:
        return min(f.seen_ms for f in self.fills)


class LeaderBook:
    """A leader's shares per asset, rebuilt from fills."""

    def __init__(self, positions: Mapping[str, Decimal] | None = None) -> None:
        self.shares: dict[str, Decimal] = dict(positions or {})
        self.markets: dict[str, str] = {}  # asset -> condition id

    def get(self, asset: str) -> Decimal:
        return self.shares.get(asset, ZERO)

    def apply(self, fill: LeaderFill) -> Decimal:
        """Book ``fill``; the position before it. A sell never takes a position below 0 (a
        sell of shares we never saw bought leaves 0)."""
        before = self.get(fill.asset)
        self.shares[fill.asset] = max(ZERO, before + fill.signed)
        self.markets[fill.asset] = fill.condition_id
        return before

    def rebase(self, asset: str, shares: Decimal) -> None:
        self.shares[asset] = shares


@dataclass(slots=True)
class _Window:
    opened_ms: int
    before: Decimal
    fills: list[LeaderFill] = field(default_factory=list)


class Aggregator:
    """Gathers fills per (leader, asset) into windows of ``window_ms``."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._open: dict[tuple[str, str], _Window] = {}

    def add(self, fill: LeaderFill, before: Decimal, now_ms: int) -> None:
        """Add ``fill``; ``before`` is the leader's position before it."""
        key = (fill.leader, fill.asset)
        window = self._open.get(key)
        if window is None:
            window = self._open[key] = _Window(now_ms, before)
        window.fills.append(fill)

    def due(self, now_ms: int, book: Mapping[str, LeaderBook]) -> list[LeaderDelta]:
        """Close the windows open for ``window_ms`` or longer, oldest first. ``book`` gives
        each leader's positions now (the ``after`` of its deltas)."""
        out = []
        for key, window in sorted(self._open.items(), key=lambda kv: kv[1].opened_ms):
            if now_ms - window.opened_ms >= self.window_ms:
                out.append(self._close(key, window, now_ms, book))
        for delta in out:
            del self._open[(delta.leader, delta.asset)]
        return out

    def next_due_ms(self) -> int | None:
        """When the oldest open window closes."""
        if not self._open:
            return None
        return min(w.opened_ms for w in self._open.values()) + self.window_ms

    def flush(self, now_ms: int, book: Mapping[str, LeaderBook]) -> list[LeaderDelta]:
        """Close every window now."""
        out = [self._close(k, w, now_ms, book) for k, w in self._open.items()]
        self._open.clear()
        return out

    def _close(
        self, key: tuple[str, str], w: _Window, now_ms: int, book: Mapping[str, LeaderBook]
    ) -> LeaderDelta:
        leader, asset = key
        positions = book.get(leader)
        after = positions.get(asset) if positions is not None else ZERO
        fills = tuple(w.fills)
        return LeaderDelta(leader, fills[0].condition_id, asset, fills, w.before, after, now_ms)

    def open_for(self, leader: str) -> int:
        return sum(1 for who, _ in self._open if who == leader)

    def __len__(self) -> int:
        return len(self._open)
