"""One token's mirror: its book, its state, the deltas buffered while it waits for a snapshot,
and its health figures. Pure bookkeeping: the ``Mirror`` feeds it and does the I/O.

**Snapshots and buffered deltas.** While a token is not LIVE every delta is buffered.

* A WS ``book`` comes in stream order: every buffered delta came before it and is already in
  it, so it is installed as is.
* A REST ``/book`` is stamped with the venue's time; it holds every change up to the moment
  it was served. It is installed only if it is not older than the newest delta seen when it
  was asked for (``asked_seen_ms``, give or take ``slack_ms``: the venue stamps a snapshot a
  few ms before a delta it already holds, protocol §5.4 item 5), which is what a stale or
  cached answer fails. Then the buffered deltas at or after its time are applied (a delta is
  a level's new total, so one the snapshot already holds changes nothing) and the token is
  LIVE. A refused snapshot is counted (``stale_snapshots``) and another one is fetched.

A preventive resync of a LIVE token keeps it LIVE: deltas are applied *and* recorded in a
shadow list while the snapshot is fetched; the snapshot plus the shadow deltas then replace
the book in one step, and a difference from the book it replaces is counted.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from polytui.core.book import Book, Side, price_text
from polytui.engine.mirror.state import BookState, Reason
from polytui.protocol.book_hash import book_hash

BUFFER_LIMIT = 20_000  # deltas kept while waiting for a snapshot; beyond: start over

Delta = tuple[int, Side, int, Decimal]  # (exchange ms, side, price units, new total size)
Levels = list[tuple[int, Decimal]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    timestamp: int  # exchange ms
    tick: int  # price units
    bids: Levels
    asks: Levels
    source: str  # "ws" | "rest"


@dataclass(slots=True)
class TokenKpis:
    """Health figures of one token. Times are the engine clock's epoch ms unless named
    ``exchange``; lags are derived from the last delta so the hot path stores only times."""

    last_delta_ms: int = 0  # when the last delta was applied
    last_snapshot_ms: int = 0  # when the last snapshot was installed or swapped in
    last_verified_ms: int = 0  # when a snapshot or probe last agreed with the book
    snapshot_exchange_ms: int = 0  # exchange time of the newest snapshot applied
    last_recv_ms: int = 0  # receive time of the frame of the last delta
    delta_exchange_ms: int = 0  # exchange time of the last delta
    deltas: int = 0
    probes: int = 0
    probe_mismatches: int = 0
    consecutive_mismatches: int = 0
    stale_snapshots: int = 0
    scheduled_diffs: int = 0  # fresh snapshots (WS, preventive) unlike the book they replaced
    hash_checks: int = 0
    hash_agreements: int = 0
    resyncs: Counter[Reason] = field(default_factory=Counter)

    @property
    def last_exchange_ms(self) -> int:
        """Exchange time of the newest delta or snapshot applied."""
        return max(self.delta_exchange_ms, self.snapshot_exchange_ms)

    @property
    def last_update_ms(self) -> int:
        """When the book last changed (a delta or a snapshot)."""
        return max(self.last_delta_ms, self.last_snapshot_ms)

    @property
    def apply_lag_ms(self) -> int:
        """Exchange timestamp -> applied, for the last delta."""
        return self.last_delta_ms - self.delta_exchange_ms if self.deltas else 0

    @property
    def recv_lag_ms(self) -> int:
        """Received -> applied, for the last delta."""
        return self.last_delta_ms - self.last_recv_ms if self.deltas else 0


@dataclass(slots=True)
class Meta:
    """What the book hash covers beyond the levels (protocol §2.14): the market's minimum size
    and neg-risk flag (REST books carry them, WS books do not), the last trade price, and how
    the venue spells prices (``None``: normalised; else padded to that many decimals)."""

    min_order_size: str | None = None
    neg_risk: bool | None = None
    last_trade: Decimal | None = None  # as served (its str() is the venue's spelling)
    places: int | None = None
    spelled: bool = False  # places learnt from a book the venue sent

    @property
    def complete(self) -> bool:
        return self.min_order_size is not None and self.neg_risk is not None


@dataclass(slots=True)
class TokenMirror:
    asset_id: str
    market: str = ""
    conn: str = ""  # the market-channel connection carrying it
    state: BookState = BookState.UNPRIMED
    reason: Reason = Reason.PRIME
    detail: str = ""
    since_ms: int = 0  # local time of the last state change
    book: Book | None = None
    tick: int | None = None
    buffer: list[Delta] = field(default_factory=list)
    asked_seen_ms: int = 0  # seen_ms when the last REST snapshot was asked for
    shadow: list[Delta] | None = None  # deltas since a preventive resync began
    watch: list[Delta] | None = None  # deltas since a truth probe was sent
    fetching: bool = False
    fetch_after: float = math.inf  # local ms from which a REST snapshot is wanted
    next_resync_ms: int = 0
    venue_hash: str = ""  # the venue's hash of this book after the last change applied live
    venue_hash_ms: int = 0  # that change's exchange time (the hash covers it)
    hash_verdict: tuple[tuple[str, object], bool | None] | None = None  # cached agreement
    recheck: bool = False  # a resync is due because the hash disagreed before an order
    meta: Meta = field(default_factory=Meta)
    kpis: TokenKpis = field(default_factory=TokenKpis)

    @property
    def live(self) -> bool:
        return self.state is BookState.LIVE

    def buffer_delta(self, delta: Delta) -> None:
        if len(self.buffer) >= BUFFER_LIMIT:  # only a snapshot from after here can help now
            self.buffer.clear()
            self.asked_seen_ms = max(self.asked_seen_ms, delta[0])
        self.buffer.append(delta)

    def invalidate(self) -> None:
        """Forget the book's trust: deltas are buffered from now on."""
        self.buffer.clear()
        self.shadow = self.watch = None
        self.venue_hash, self.hash_verdict = "", None

    def hash_agrees(self) -> bool | None:
        """Does the book hash as the venue's last change said it would? ``None`` when that
        cannot be told: no change since the last snapshot, or the market facts the hash
        covers are unknown. Computed once per change (the verdict is cached)."""
        if not self.venue_hash or self.book is None:
            return None
        key = (self.venue_hash, self.meta.last_trade)
        if self.hash_verdict is not None and self.hash_verdict[0] == key:
            return self.hash_verdict[1]
        mine = self.book_hash(self.venue_hash_ms)
        verdict = None if mine is None else mine == self.venue_hash
        self.hash_verdict = (key, verdict)
        return verdict

    def fresh_enough(self, snapshot_ms: int, slack_ms: int) -> bool:
        """Is a REST snapshot stamped ``snapshot_ms`` at least as new as what we had seen
        when we asked for it?"""
        return snapshot_ms + slack_ms >= self.asked_seen_ms

    def install(self, snap: Snapshot, deltas: list[Delta]) -> Book:
        """The book ``snap`` plus the ``deltas`` at or after its time (raises BadLevel)."""
        book = Book.of(snap.tick, snap.bids, snap.asks)
        for ts, side, units, size in deltas:
            if ts >= snap.timestamp:
                book.set(side, units, size)
        return book

    def book_hash(self, timestamp: int) -> str | None:
        """The venue's hash of this book as of ``timestamp``, or ``None`` while the book or
        the market facts the hash covers are unknown."""
        book, meta = self.book, self.meta
        if book is None or not meta.complete:
            return None
        places, tick = meta.places, book.tick
        # every level of each array in index order: bids ascend and asks descend (best
        # last), as the venue lists them
        bids = [
            (price_text(i * tick, places), str(size))
            for i, size in enumerate(book.bids)
            if size is not None
        ]
        asks = [
            (price_text(i * tick, places), str(size))
            for i, size in enumerate(book.asks)
            if size is not None
        ]
        asks.reverse()
        return book_hash(
            self.market,
            self.asset_id,
            str(timestamp),
            bids,
            asks,
            meta.min_order_size or "",
            price_text(book.tick),
            bool(meta.neg_risk),
            "" if meta.last_trade is None else str(meta.last_trade),
        )
