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
from dataclasses import dataclass, field
from decimal import Decimal

from polytui.core.book import Book, Side
from polytui.engine.mirror.state import BookState, Reason

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
    last_update_ms: int = 0  # local time the book last changed
    last_verified_ms: int = 0  # local time a snapshot or probe last agreed with it
    last_exchange_ms: int = 0  # exchange time of the last delta applied
    apply_lag_ms: int = 0  # exchange timestamp -> applied, last delta
    recv_lag_ms: int = 0  # received -> applied, last delta
    deltas: int = 0
    probes: int = 0
    probe_mismatches: int = 0
    consecutive_mismatches: int = 0
    stale_snapshots: int = 0
    scheduled_diffs: int = 0  # fresh snapshots (WS, preventive) unlike the book they replaced


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
    seen_ms: int = 0  # newest exchange ms of any delta received
    asked_seen_ms: int = 0  # seen_ms when the last REST snapshot was asked for
    shadow: list[Delta] | None = None  # deltas since a preventive resync began
    fetching: bool = False
    fetch_after: float = math.inf  # local ms from which a REST snapshot is wanted
    next_resync_ms: int = 0
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
        self.shadow = None

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
