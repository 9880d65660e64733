"""The local mirror of the order books (architecture §4): per-token books the engine can trust.

    mirror = Mirror(fetch_books=venue.clob.books, clock=clock)
    stream = MarketStream(endpoints.ws_market, mirror.sink, clock=clock, ...)  # one clock
    mirror.track(market.condition_id, [yes, no]); await stream.subscribe([yes, no])
    asyncio.create_task(mirror.run())
    mirror.live_book(yes)        # a Book only while LIVE, else None

**Flow.** ``sink`` takes what the market stream delivers (frames and connection changes) into
a bounded inbox without blocking; ``run`` applies it in batches on the event loop (``process``
is the synchronous core that a replay or a benchmark calls directly) and keeps three timers:
burst completion, the REST resync worker, and maintenance (truth probes, preventive resyncs,
staleness).

**Trust.** Per token: ``UNPRIMED -> LIVE -> SUSPECT -> RESYNCING -> LIVE`` (``state.py``).
Every entry is checked as it is applied (on the tick grid, inside (0, 1), size >= 0); a
burst (the ``price_change`` messages of one market with one timestamp, which may pass through
a crossed book, protocol §5.4) is checked once complete: not crossed, and the local top of
book equal to the last entry's ``best_bid``/``best_ask`` for each token. A violation makes
the token SUSPECT; it is never patched, always re-snapshotted. A frame shed from a full inbox
makes its tokens SUSPECT (SHED); a delta applied more than ``lag_bound_ms`` after its
exchange time takes its token out of LIVE (LAG); a dropped connection puts its tokens in
RESYNCING (RECONNECT) until the next snapshot; ``tick_size_change`` drops the book (TICK_CHANGE).
REST probes compare the top of book of a rotating sample, quiet tokens included; N
consecutive disagreements make the token SUSPECT (BBO_MISMATCH), an agreement verifies it, and
a token neither updated nor verified for ``stale_after_ms`` is STALE.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from polytui.config import MirrorSettings
from polytui.core.book import (
    _UNITS,
    UNIT,
    BadLevel,
    Book,
    Side,
    price_units,
    spelling_places,
    tick_units,
)
from polytui.core.clock import Clock, SystemClock
from polytui.core.histogram import Histogram
from polytui.engine.mirror.state import BookState, BookStateChanged, Reason
from polytui.engine.mirror.token import Levels, Snapshot, TokenMirror
from polytui.engine.stopping import cancel_and_wait
from polytui.protocol.wire import market_ws as mw
from polytui.protocol.wire.clob import BookSummary, Level
from polytui.protocol.wire.errors import WireError
from polytui.venue.ws import ConnectionChange, ConnState, Frame

log = logging.getLogger("polytui.engine.mirror")

FetchBooks = Callable[[list[str]], Awaitable[Sequence[BookSummary]]]


class ApplyGate(Protocol):
    """When inbox items are applied, for a session record (which notes each batch) or its
    replay (which lets a batch through where the record says it was applied)."""

    def bind(self, wake: Callable[[], None]) -> None:
        """``wake()`` tells the apply loop that more may be applied."""

    def ready(self, waiting: int) -> int:
        """How many of the ``waiting`` items may be applied now."""

    def applied(self, count: int) -> None:
        """``count`` items are being applied."""


BATCH = 256  # inbox items applied between two yields to the event loop
BID, ASK = Side.BID, Side.ASK
SIDES = {"BUY": BID, "SELL": ASK}
PRICE_CHANGE, BOOK = mw.PriceChange, mw.Book  # the hot path's dispatch
LIVE = BookState.LIVE
NEVER = math.inf


_NEVER = 2**63  # a deadline no clock reaches


class _Burst:
    """The ``price_change`` messages of one market with one timestamp, being applied."""

    __slots__ = ("market", "timestamp", "started", "deadline", "tops")

    def __init__(self, market: str, timestamp: int, deadline: int, started: int) -> None:
        self.market = market
        self.timestamp = timestamp
        self.started = started  # receive time (clock ms) of its first message
        self.deadline = deadline  # complete once something later than this was received
        self.tops: dict[str, mw.PriceChangeEntry] = {}  # asset -> its last entry


def levels(side: Sequence[Level | mw.BookLevel]) -> Levels:
    out = []
    for level in side:
        price = level.price
        units = _UNITS.get(price) if type(price) is str else None
        if units is None:
            units = price_units(str(price))
        if units is None:
            raise BadLevel(f"price {level.price} is not on the 0.0001 grid")
        out.append((units, level.size))
    return out


def _holds(book: Book | None, ev: mw.Book) -> bool:
    """Does ``book`` hold exactly the levels of the WS book ``ev``, on the same grid? The
    common case of a ``book`` after a trade, checked without building a second book; any
    doubt (another tick, an odd price, a zero level) says no and takes the full path."""
    if book is None or ev.tick_size is None:
        return False
    tick = book.tick
    if _UNITS.get(ev.tick_size) != tick:
        return False
    if book.counts[0] != len(ev.bids) or book.counts[1] != len(ev.asks):
        return False
    units_of = _UNITS
    for sizes, levels in ((book.bids, ev.bids), (book.asks, ev.asks)):
        for level in levels:
            units = units_of.get(level.price)
            if units is None or units % tick or sizes[units // tick] != level.size:
                return False
    return True


def snapshot_of(book: mw.Book | BookSummary, tick: int | None, source: str) -> Snapshot:
    if book.tick_size is not None:
        tick = tick_units(book.tick_size)
    if tick is None:
        raise BadLevel("a snapshot without a tick size for a token of unknown tick")
    return Snapshot(book.timestamp, tick, levels(book.bids), levels(book.asks), source)


class Mirror:
    def __init__(
        self,
        fetch_books: FetchBooks | None = None,
        *,
        probe_books: FetchBooks | None = None,
        settings: MirrorSettings | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        on_change: Callable[[BookStateChanged], None] | None = None,
        apply_gate: ApplyGate | None = None,
    ) -> None:
        self.settings = s = settings or MirrorSettings()
        self._gate = apply_gate
        self._fetch_books = fetch_books
        self._probe_books = probe_books or fetch_books  # truth probes never change a book
        self._clock = clock or SystemClock()
        self._now_ms, self._monotonic = self._clock.now_ms, self._clock.monotonic  # hot path
        self._rng = rng or random.Random()
        self._on_change = on_change
        self._quiet_s, self._quiet_ms = s.burst_quiet_ms / 1000, s.burst_quiet_ms
        self._burst_max_ms = max(s.burst_max_ms, s.burst_quiet_ms)
        self._lag_bound_ms = s.lag_bound_ms
        self._hash_sample = s.hash_sample
        self.tokens: dict[str, TokenMirror] = {}
        self.markets: dict[str, list[str]] = {}
        self._inbox: deque[Frame | ConnectionChange] = deque()
        self._wake = asyncio.Event()
        if apply_gate is not None:
            apply_gate.bind(self._wake.set)
        self._fetch_wake = asyncio.Event()
        self._bursts: dict[str, _Burst] = {}
        self._soonest = _NEVER  # no open burst's deadline is earlier (a lower bound)
        self._market_seen: dict[str, int] = {}  # newest exchange ms of a delta, per market
        self.resyncs: Counter[Reason] = Counter()
        self.counts: Counter[str] = Counter()  # decode_errors, shed, probes, untracked, ...
        self.apply_lag = Histogram()  # exchange timestamp -> applied, ms, per price_change
        self.recv_lag = Histogram()  # received -> applied, ms, per price_change
        self.max_stall_s = 0.0  # the longest the mirror held the event loop in one go
        self.frames = 0
        self.entries = 0  # price_change entries (level changes) seen
        self._messages = 0  # price_change messages seen (for the hash sample)

    # ---- tokens ------------------------------------------------------------------------------

    def track(
        self,
        market: str,
        asset_ids: Iterable[str],
        *,
        min_order_size: str | None = None,
        neg_risk: bool | None = None,
    ) -> None:
        """Mirror these tokens of ``market`` (before subscribing them). Frames about tokens
        that are not tracked are ignored: a delta never creates a book. The market's minimum
        order size and neg-risk flag, when known, let the book hash be checked before a REST
        book has told them."""
        now = self._clock.now_ms()
        for asset in asset_ids:
            tok = self.tokens.get(asset)
            if tok is None:
                tok = self.tokens[asset] = TokenMirror(asset, market, since_ms=now)
                tok.next_resync_ms = now + self._resync_jitter()
                tok.fetch_after = now + self.settings.prime_timeout_ms
            if min_order_size is not None:
                tok.meta.min_order_size = min_order_size
            if neg_risk is not None:
                tok.meta.neg_risk = neg_risk
            assets = self.markets.setdefault(market, [])
            if asset not in assets:
                assets.append(asset)

    def untrack(self, asset_ids: Iterable[str]) -> None:
        """Stop mirroring these tokens and drop their books (after unsubscribing them)."""
        for asset in asset_ids:
            tok = self.tokens.pop(asset, None)
            if tok is None:
                continue
            assets = self.markets.get(tok.market)
            if assets is not None:
                assets[:] = [a for a in assets if a != asset]
                if not assets:
                    del self.markets[tok.market]
                    self._bursts.pop(tok.market, None)
                    self._market_seen.pop(tok.market, None)

    def live_book(self, asset: str):
        """The token's book while it is LIVE, else ``None``: never trade on anything else."""
        tok = self.tokens.get(asset)
        return tok.book if tok is not None and tok.state is LIVE else None

    def trusted_book(self, asset: str):
        """The token's book if an order may rely on it: LIVE, and not contradicted by the
        venue's hash of its last change (protocol §5.4 item 2: a hash alone never takes a
        book out of LIVE, but it holds back an order). A disagreement asks for a preventive
        resync at the next maintenance turn (``HASH_MISMATCH``), which swaps the venue's book
        in if ours had diverged (a dropped frame below the top of book changes no ``best_*``)
        and keeps it LIVE. ``None`` otherwise."""
        tok = self.tokens.get(asset)
        if tok is None or tok.state is not LIVE:
            return None
        if tok.hash_agrees() is False:
            if not tok.recheck and tok.shadow is None:
                tok.recheck, tok.next_resync_ms = True, 0
            return None
        return tok.book

    def state(self, asset: str) -> BookState | None:
        tok = self.tokens.get(asset)
        return tok.state if tok is not None else None

    # ---- inbound -----------------------------------------------------------------------------

    def sink(self, item: Frame | ConnectionChange) -> None:
        """The market stream's sink: never blocks; a frame beyond the inbox limit is shed."""
        if isinstance(item, Frame) and len(self._inbox) >= self.settings.inbox_limit:
            self.counts["shed"] += 1
            for asset in _assets_of(item.events):
                tok = self.tokens.get(asset)
                if tok is not None:
                    self._suspect(tok, Reason.SHED, "a frame was shed from the full inbox")
            return
        self._inbox.append(item)
        self._wake.set()

    def process(self, item: Frame | ConnectionChange) -> None:
        """Apply one frame or connection change (synchronous: replays and benchmarks call it)."""
        if type(item) is ConnectionChange:
            self._connection(item)
            return
        self.frames += 1
        if item.error is not None:
            self._undecoded(item)
        for event in item.events:
            kind = type(event)
            if kind is PRICE_CHANGE:
                self._price_change(event, item.recv_ms)
            elif kind is BOOK:
                self._ws_book(event, item.conn)
            elif kind is mw.TickSizeChange:
                self._tick_change(event)
            else:
                market = getattr(event, "market", None)
                burst = self._bursts.pop(market, None) if market else None
                if burst is not None:
                    self._complete(burst)
                if kind is mw.LastTradePrice:
                    tok = self.tokens.get(event.asset_id)
                    if tok is not None:
                        tok.meta.last_trade = event.price

    def _price_change(self, ev: mw.PriceChange, recv_ms: int) -> None:
        ts, market = ev.timestamp, ev.market
        bursts = self._bursts
        burst = bursts.get(market)
        deadline = recv_ms + self._quiet_ms  # quiet: nothing of it received for this long
        if burst is None or burst.timestamp != ts:
            if burst is not None:
                self._complete(burst)
            burst = bursts[market] = _Burst(market, ts, deadline, recv_ms)
        else:
            burst.deadline = deadline
        if deadline < self._soonest:
            self._soonest = deadline
        tops = burst.tops
        if ts > self._market_seen.get(market, 0):
            self._market_seen[market] = ts
        tokens, units_of, sides = self.tokens, _UNITS, SIDES
        now_ms = self._now_ms()
        applied = 0
        for e in ev.price_changes:
            tok = tokens.get(e.asset_id)
            if tok is None:
                self.counts["untracked"] += 1
                continue
            units = units_of.get(e.price)
            if units is None:
                units = price_units(e.price)
            size = e.size
            side = sides.get(e.side)
            if units is None or side is None:
                self._suspect(tok, Reason.INVARIANT_FAIL, f"bad entry {e.side} {e.price!r}")
                continue
            if tok.state is not LIVE:
                tok.buffer_delta((ts, side, units, size))
                continue
            try:
                tok.book.set(side, units, size)  # type: ignore[union-attr]
            except BadLevel as exc:
                self._suspect(tok, Reason.INVARIANT_FAIL, str(exc))
                continue
            if tok.shadow is not None:
                tok.shadow.append((ts, side, units, size))
            if tok.watch is not None:
                tok.watch.append((ts, side, units, size))
            tok.venue_hash, tok.venue_hash_ms = e.hash, ts
            k = tok.kpis
            k.deltas += 1
            k.last_delta_ms = now_ms
            k.delta_exchange_ms = ts
            k.last_recv_ms = recv_ms
            tops[e.asset_id] = e
            applied += 1
        self.entries += len(ev.price_changes)
        if applied:
            self._applied(ev, now_ms, recv_ms)

    def _applied(self, ev: mw.PriceChange, now_ms: int, recv_ms: int) -> None:
        """Per message, once some of it was applied: the lags, LAG, the hash sample."""
        lag, recv_lag = now_ms - ev.timestamp, now_ms - recv_ms
        h = self.apply_lag  # Histogram.add, inlined: once per message
        h.counts[bisect_left(h.bounds, lag)] += 1
        if lag > h.max:
            h.max = lag
        h = self.recv_lag
        h.counts[bisect_left(h.bounds, recv_lag)] += 1
        if recv_lag > h.max:
            h.max = recv_lag
        if lag > self._lag_bound_ms:
            for e in ev.price_changes:
                tok = self.tokens.get(e.asset_id)
                if tok is not None and tok.state is LIVE:
                    self._suspect(tok, Reason.LAG, f"applied {lag} ms after the venue")
        self._messages += 1
        if self._hash_sample and self._messages % self._hash_sample == 0:
            self._check_hashes(ev)

    def _check_hashes(self, ev: mw.PriceChange) -> None:
        """Book-hash agreement, a sampled health signal (protocol §5.4 item 2): the hash of
        each token's book now against the one its last entry in ``ev`` carries. Counted,
        never acted on alone: the venue's hash covers a last trade price reported later."""
        last: dict[str, str] = {e.asset_id: e.hash for e in ev.price_changes}
        for asset, expected in last.items():
            tok = self.tokens.get(asset)
            if tok is None or tok.state is not LIVE:
                continue
            mine = tok.book_hash(ev.timestamp)
            if mine is None:
                continue
            tok.kpis.hash_checks += 1
            self.counts["hash_checks"] += 1
            if mine == expected:
                tok.kpis.hash_agreements += 1
                self.counts["hash_agreements"] += 1

    def _complete(self, burst: _Burst) -> None:
        """Layer 1 on a complete burst: not crossed, top of book as the venue says (an empty
        side is ``""``, or ``"0"``/``"1"``: both mean no bid / no ask), and the two tokens of
        the market mirror each other at the top (a bid at p on one is an ask at 1 - p on the
        other, protocol §5.4 item 3)."""
        tokens, units_of = self.tokens, _UNITS
        for asset, entry in burst.tops.items():
            tok = tokens.get(asset)
            if tok is None or tok.state is not LIVE:
                continue
            book = tok.book
            bid_i, ask_i, tick = book.best_bid_i, book.best_ask_i, book.tick
            if bid_i and ask_i < book.slots and bid_i >= ask_i:
                self._suspect(tok, Reason.INVARIANT_FAIL, "crossed after a burst")
                continue
            best_bid, best_ask = entry.best_bid, entry.best_ask
            want_bid = units_of.get(best_bid) if best_bid else 0
            want_ask = units_of.get(best_ask) if best_ask else UNIT
            if want_bid is None:
                want_bid = price_units(best_bid)
            if want_ask is None:
                want_ask = price_units(best_ask)
            if bid_i * tick != want_bid or ask_i * tick != want_ask:
                self._suspect(
                    tok,
                    Reason.INVARIANT_FAIL,
                    f"top {bid_i * tick}/{ask_i * tick} != venue {best_bid!r}/{best_ask!r}",
                )
        pair = self.markets.get(burst.market)
        if pair is not None and len(pair) == 2:
            self._check_pair(tokens.get(pair[0]), tokens.get(pair[1]))

    def _check_pair(self, yes: TokenMirror | None, no: TokenMirror | None) -> None:
        if yes is None or no is None or yes.state is not LIVE or no.state is not LIVE:
            return
        a, b = yes.book, no.book
        if a.tick != b.tick:  # type: ignore[union-attr]
            return  # a tick change is reaching the two tokens one after the other
        a_bid, a_ask = a.best_bid_i * a.tick, a.best_ask_i * a.tick  # type: ignore[union-attr]
        b_bid, b_ask = b.best_bid_i * b.tick, b.best_ask_i * b.tick  # type: ignore[union-attr]
        if a_bid + b_ask != UNIT or a_ask + b_bid != UNIT:
            detail = f"tokens disagree: {a_bid}/{a_ask} vs mirrored {UNIT - b_ask}/{UNIT - b_bid}"
            self._suspect(yes, Reason.INVARIANT_FAIL, detail)
            self._suspect(no, Reason.INVARIANT_FAIL, detail)

    def complete_bursts(self, force: bool = False, now_ms: int | None = None) -> None:
        """Complete the bursts whose quiet time is over (all of them with ``force``).

        Quiet is measured in receive time: a burst is over once something received more than
        ``burst_quiet_ms`` after its last message has been applied (``now_ms``, the receive
        time of the frame just applied), or, with nothing left to apply, once the clock is that
        far past it. Applying late never ends a burst early. Only the quiet time can end a
        burst that may not be over: one that leaves a book crossed while its entries'
        ``best_bid``/``best_ask`` (the settled state, protocol §5.4) say it is not is still
        arriving, and is given up to ``burst_max_ms`` from its first message before it is
        judged; a later message or another event of its market ends it at once."""
        if not self._bursts:
            return
        now = self._now_ms() if now_ms is None else now_ms
        if not force and now <= self._soonest:
            return  # no burst's quiet time is over yet (called on every frame: keep it cheap)
        for market, burst in list(self._bursts.items()):
            if force or burst.deadline < now:
                if not force and now < burst.started + self._burst_max_ms and self._arriving(burst):
                    burst.deadline = now + self._quiet_ms
                    continue
                del self._bursts[market]
                self._complete(burst)
        self._soonest = min((b.deadline for b in self._bursts.values()), default=_NEVER)

    def _arriving(self, burst: _Burst) -> bool:
        for asset, entry in burst.tops.items():
            tok = self.tokens.get(asset)
            book = tok.book if tok is not None and tok.state is LIVE else None
            if book is not None and book.crossed:
                bid, ask = _UNITS.get(entry.best_bid, 0), _UNITS.get(entry.best_ask, UNIT)
                if entry.best_bid and entry.best_ask and (bid or 0) < (ask or UNIT):
                    return True
        return False

    def _ws_book(self, ev: mw.Book, conn: str) -> None:
        burst = self._bursts.pop(ev.market, None)
        if burst is not None:
            self._complete(burst)
        tok = self.tokens.get(ev.asset_id)
        if tok is None:
            self.counts["untracked"] += 1
            return
        tok.conn = conn
        if ev.last_trade_price is not None:
            tok.meta.last_trade = ev.last_trade_price
        if ev.min_order_size is not None:
            tok.meta.min_order_size = str(ev.min_order_size)
        if ev.neg_risk is not None:
            tok.meta.neg_risk = ev.neg_risk
        if tok.state is LIVE and _holds(tok.book, ev):  # the usual case after a trade: agreed
            k = tok.kpis
            k.last_verified_ms = k.last_snapshot_ms = self._now_ms()
            if ev.timestamp > k.snapshot_exchange_ms:
                k.snapshot_exchange_ms = ev.timestamp
            tok.venue_hash, tok.venue_hash_ms = ev.hash, ev.timestamp
            return
        try:
            snap = snapshot_of(ev, tok.tick, "ws")
        except (BadLevel, ValueError) as exc:
            self._suspect(tok, Reason.INVARIANT_FAIL, f"bad WS book: {exc}")
            return
        if tok.meta.places is None and not tok.meta.spelled:
            self._learn_spelling(tok, ev)
        self._snapshot(tok, snap)
        if tok.state is LIVE and tok.book is not None:  # the venue's book as it hashed it
            tok.venue_hash, tok.venue_hash_ms = ev.hash, ev.timestamp

    def _tick_change(self, ev: mw.TickSizeChange) -> None:
        burst = self._bursts.pop(ev.market, None)
        if burst is not None:
            self._complete(burst)
        tok = self.tokens.get(ev.asset_id)
        if tok is None:
            self.counts["untracked"] += 1
            return
        try:
            tok.tick = tick_units(ev.new_tick_size)
        except ValueError:
            tok.tick = None
        if tok.state is LIVE:
            self._count_resync(tok, Reason.TICK_CHANGE)
        tok.book = None
        tok.invalidate()
        self._set(tok, BookState.RESYNCING, Reason.TICK_CHANGE, f"tick {ev.new_tick_size}")
        tok.fetch_after = self._clock.now_ms()
        self._fetch_wake.set()

    def _connection(self, change: ConnectionChange) -> None:
        now = self._clock.now_ms()
        carried = set(change.subscribed)
        for tok in self.tokens.values():
            if tok.asset_id not in carried and tok.conn != change.conn:
                continue
            if change.state is ConnState.DISCONNECTED:
                if tok.state is LIVE:
                    self._count_resync(tok, Reason.RECONNECT)
                if tok.state is not BookState.UNPRIMED:
                    tok.book = None
                    tok.invalidate()
                    self._set(tok, BookState.RESYNCING, Reason.RECONNECT, change.reason)
                tok.fetch_after = NEVER  # the reconnect's book dump re-primes it
            else:
                tok.conn = change.conn
                if tok.state is not LIVE:
                    tok.fetch_after = now + self.settings.prime_timeout_ms
        self._fetch_wake.set()

    def _undecoded(self, frame: Frame) -> None:
        self.counts["decode_errors"] += 1
        error = frame.error
        if error is None:
            return
        for asset in _assets_in_raw(error, self.markets):
            tok = self.tokens.get(asset)
            if tok is not None:
                self._suspect(tok, Reason.UNKNOWN_MESSAGE, error.message[:120])

    # ---- snapshots ---------------------------------------------------------------------------

    def _learn_spelling(self, tok: TokenMirror, book: mw.Book | BookSummary) -> None:
        texts = [str(lv.price) for lv in book.bids] + [str(lv.price) for lv in book.asks]
        if texts:
            tok.meta.places = spelling_places(texts)
            tok.meta.spelled = True

    def _snapshot(self, tok: TokenMirror, snap: Snapshot) -> None:
        """A WS or REST book for ``tok``: install it, swap it in, or refuse it."""
        now = self._clock.now_ms()
        rest = snap.source == "rest"
        if rest and not tok.fresh_enough(snap.timestamp, self.settings.snapshot_slack_ms):
            tok.kpis.stale_snapshots += 1
            tok.shadow = None
            tok.fetch_after = now + self.settings.refetch_backoff_ms
            return
        if tok.state is LIVE:
            if not rest:  # the venue's own view, in stream order: take it as is
                self._replace(tok, snap, [])
            elif tok.shadow is not None:  # a preventive resync
                self._replace(tok, snap, tok.shadow)
                tok.shadow = None
            return
        if tok.reason is Reason.TICK_CHANGE and tok.tick is not None and snap.tick != tok.tick:
            tok.kpis.stale_snapshots += 1  # a book from before the tick change
            tok.fetch_after = now + self.settings.refetch_backoff_ms
            return
        try:
            tok.book = tok.install(snap, tok.buffer if rest else [])
        except BadLevel as exc:
            tok.kpis.stale_snapshots += 1
            tok.fetch_after = now + self.settings.refetch_backoff_ms
            log.warning("%s: unusable %s snapshot: %s", tok.asset_id[:12], snap.source, exc)
            return
        tok.tick = snap.tick
        tok.invalidate()
        tok.fetch_after = NEVER
        k = tok.kpis
        k.last_verified_ms = k.last_snapshot_ms = now
        k.snapshot_exchange_ms = max(k.snapshot_exchange_ms, snap.timestamp)
        k.consecutive_mismatches = 0
        self._set(tok, LIVE, tok.reason, f"{snap.source} snapshot")

    def _replace(self, tok: TokenMirror, snap: Snapshot, deltas: list) -> None:
        try:
            book = tok.install(snap, deltas)
        except BadLevel as exc:
            self._suspect(tok, Reason.INVARIANT_FAIL, f"bad {snap.source} book: {exc}")
            return
        if tok.book is not None and book != tok.book:
            tok.kpis.scheduled_diffs += 1
            self.counts["snapshot_diffs"] += 1
        tok.book, tok.tick = book, snap.tick
        tok.hash_verdict = None  # the book may have changed: its hash is computed again
        k = tok.kpis
        k.last_verified_ms = k.last_snapshot_ms = self._clock.now_ms()
        k.snapshot_exchange_ms = max(k.snapshot_exchange_ms, snap.timestamp)

    def rest_books(self, books: Iterable[BookSummary]) -> None:
        for summary in books:
            tok = self.tokens.get(summary.asset_id)
            if tok is None:
                continue
            self._learn_meta(tok, summary)
            try:
                snap = snapshot_of(summary, tok.tick, "rest")
            except (BadLevel, ValueError) as exc:
                tok.kpis.stale_snapshots += 1
                log.warning("%s: unusable REST book: %s", summary.asset_id[:12], exc)
                continue
            self._snapshot(tok, snap)

    def _learn_meta(self, tok: TokenMirror, summary: BookSummary) -> None:
        meta = tok.meta
        meta.min_order_size = str(summary.min_order_size)
        meta.neg_risk = summary.neg_risk
        self._learn_spelling(tok, summary)

    # ---- state -------------------------------------------------------------------------------

    def _count_resync(self, tok: TokenMirror, reason: Reason) -> None:
        self.resyncs[reason] += 1
        tok.kpis.resyncs[reason] += 1

    def _suspect(self, tok: TokenMirror, reason: Reason, detail: str) -> None:
        if tok.state in (BookState.SUSPECT, BookState.RESYNCING):
            return
        if tok.state is LIVE:
            self._count_resync(tok, reason)
        tok.invalidate()
        tok.fetch_after = self._clock.now_ms()
        self._set(tok, BookState.SUSPECT, reason, detail)
        self._fetch_wake.set()

    def _set(self, tok: TokenMirror, state: BookState, reason: Reason, detail: str) -> None:
        old = tok.state
        tok.state, tok.reason, tok.detail = state, reason, detail
        now = self._clock.now_ms()
        tok.since_ms = now
        if old is not state:
            if state is not LIVE:
                log.info("%s: %s -> %s (%s: %s)", tok.asset_id[:12], old, state, reason, detail)
            if self._on_change is not None:
                self._on_change(BookStateChanged(tok.asset_id, old, state, reason, detail, now))

    def _seen(self, tok: TokenMirror) -> int:
        """The newest exchange time of a delta of the token's market (received, applied or
        not): the two tokens share one book, so a snapshot older than a change of either is
        stale."""
        return self._market_seen.get(tok.market, 0)

    def _resync_jitter(self) -> int:
        return int(self.settings.resync_interval_ms * self._rng.uniform(0.8, 1.2))

    # ---- the running mirror --------------------------------------------------------------------

    async def run(self) -> None:
        """Apply the inbox and run the timers until cancelled."""
        tasks = [asyncio.create_task(self._apply_loop(), name="mirror apply")]
        if self._fetch_books is not None:
            tasks.append(asyncio.create_task(self._fetch_loop(), name="mirror resync"))
            tasks.append(asyncio.create_task(self._maintain_loop(), name="mirror probes"))
        try:
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(tasks)

    def _ready(self) -> int:
        """Inbox items that may be applied now (a session's gate may hold some back)."""
        waiting = len(self._inbox)
        return waiting if self._gate is None or not waiting else self._gate.ready(waiting)

    async def _apply_loop(self) -> None:
        clock = self._clock
        while True:
            count = self._ready()
            if not count:
                self._wake.clear()
                await clock.wait(self._wake, self._quiet_s if self._bursts else None)
                if not self._ready():  # quiet: the time-out, not a frame that may end a burst
                    self.complete_bursts()
                continue
            started = time.perf_counter()  # a stall is wall time, whatever the clock
            self._apply_batch(count)
            self.max_stall_s = max(self.max_stall_s, time.perf_counter() - started)
            await asyncio.sleep(0)

    def _apply_batch(self, count: int) -> None:
        inbox = self._inbox
        received = 0
        count = min(BATCH, count)
        if self._gate is not None:
            self._gate.applied(count)
        for _ in range(count):
            item = inbox.popleft()
            if type(item) is Frame:
                received = item.recv_ms
            try:
                self.process(item)
            except Exception:  # a bug of ours must not stop the mirror; the book is suspect
                log.exception("mirror: applying a frame failed")
                for asset in _assets_of(getattr(item, "events", ())):
                    if asset in self.tokens:
                        self._suspect(self.tokens[asset], Reason.INVARIANT_FAIL, "apply failed")
        self.complete_bursts(now_ms=received if self._ready() else None)

    def catch_up(self) -> None:
        """Apply what waits in the inbox now, as the apply loop would: a strategy about to
        decide sees every frame received so far (and a replay sees the same ones)."""
        while count := self._ready():
            self._apply_batch(count)

    async def _fetch_loop(self) -> None:
        """Fetch REST snapshots for tokens that need one, batched, within the rate budget."""
        assert self._fetch_books is not None
        while True:
            now = self._clock.now_ms()
            due = [
                t
                for t in self.tokens.values()
                if t.state is not LIVE and not t.fetching and t.fetch_after <= now
            ][: self.settings.books_per_request]
            if not due:
                self._fetch_wake.clear()
                await self._clock.wait(self._fetch_wake, 0.1)
                continue
            for tok in due:
                if tok.state is BookState.SUSPECT:
                    self._set(tok, BookState.RESYNCING, tok.reason, tok.detail)
            await self._fetch(due)

    async def _fetch(self, toks: list[TokenMirror]) -> None:
        for tok in toks:
            tok.fetching = True
            tok.asked_seen_ms = self._seen(tok)
        try:
            books = await self._fetch_books([t.asset_id for t in toks])  # type: ignore[misc]
        except Exception as exc:  # venue trouble: the tokens stay out of LIVE and are retried
            log.warning("mirror: fetching %d books failed: %s", len(toks), exc)
            self.counts["fetch_errors"] += 1
            later = self._clock.now_ms() + self.settings.refetch_backoff_ms
            for tok in toks:
                tok.fetch_after = later
            return
        finally:
            for tok in toks:
                tok.fetching = False
        self.rest_books(books)

    async def _maintain_loop(self) -> None:
        while True:
            await self._clock.sleep(self.settings.probe_interval_ms / 1000)
            self._check_stale()
            await self._probe()
            await self._scheduled()

    def _check_stale(self) -> None:
        now = self._clock.now_ms()
        for tok in self.tokens.values():
            if tok.state is LIVE:
                fresh = max(tok.kpis.last_update_ms, tok.kpis.last_verified_ms)
                if now - fresh > self.settings.stale_after_ms:
                    self._suspect(tok, Reason.STALE, f"nothing for {now - fresh} ms")

    async def _probe(self) -> None:
        """Layer 2: compare the least recently verified LIVE tokens with REST, so every
        token, quiet ones included, is verified well within ``stale_after_ms``."""
        live = [t for t in self.tokens.values() if t.state is LIVE]
        if not live:
            return
        s = self.settings
        rounds = max(1, s.stale_after_ms // (3 * s.probe_interval_ms))  # all within a third
        count = min(len(live), max(s.books_per_request, math.ceil(len(live) / rounds)))
        sample = sorted(live, key=lambda t: (t.kpis.last_verified_ms, t.asset_id))[:count]
        for start in range(0, len(sample), s.books_per_request):
            chunk = sample[start : start + s.books_per_request]
            asked = {}
            for tok in chunk:
                tok.watch = []
                asked[tok.asset_id] = tok.kpis.delta_exchange_ms
            try:
                # In token order: the same tokens ask the same request (a replay answers a
                # request it recorded, and verification instants a millisecond apart reorder)
                books = await self._probe_books(sorted(asked))  # type: ignore[misc]
            except Exception as exc:
                log.warning("mirror: probe failed: %s", exc)
                self.counts["probe_errors"] += 1
                for tok in chunk:
                    tok.watch = None
                return
            # Deltas the venue sent before it answered may still be on their way: give them
            # a moment, then compare the answer plus what arrived since it was asked for.
            await self._clock.sleep(s.probe_grace_ms / 1000)
            self.judge_probe(books, asked)
            for tok in chunk:
                tok.watch = None

    def judge_probe(self, books: Iterable[BookSummary], asked: dict[str, int]) -> None:
        """Compare whole books (every level, not only the top: a wrong level deep in the book
        shows at no burst check): the REST answer, plus the deltas received since it was asked
        for that are not older than it, must be the local book. An answer stamped before a
        delta applied before it was asked for proves nothing (the venue may stamp a book with
        the time it served it or with its last change; a stale answer is older still)."""
        now = self._clock.now_ms()
        for summary in books:
            tok = self.tokens.get(summary.asset_id)
            if tok is None or tok.state is not LIVE or tok.book is None or tok.watch is None:
                continue
            self._learn_meta(tok, summary)
            if summary.timestamp + self.settings.snapshot_slack_ms < asked.get(tok.asset_id, 0):
                self.counts["probes_inconclusive"] += 1
                continue
            try:
                truth = tok.install(snapshot_of(summary, tok.tick, "rest"), tok.watch)
            except (BadLevel, ValueError):
                continue
            k = tok.kpis
            k.probes += 1
            self.counts["probes"] += 1
            if truth == tok.book:
                k.consecutive_mismatches = 0
                k.last_verified_ms = now
                continue
            k.probe_mismatches += 1
            k.consecutive_mismatches += 1
            self.counts["probe_mismatches"] += 1
            if k.consecutive_mismatches >= self.settings.probe_mismatches:
                top = (truth.best_bid_units, truth.best_ask_units)
                local = (tok.book.best_bid_units, tok.book.best_ask_units)
                where = "top of book" if top != local else "depth"
                self._suspect(
                    tok, Reason.BBO_MISMATCH, f"REST differs from the local book ({where})"
                )

    async def _scheduled(self) -> None:
        """Layer 3: a preventive resync of the LIVE tokens that are due, staying LIVE."""
        now = self._clock.now_ms()
        due = [
            t
            for t in self.tokens.values()
            if t.state is LIVE and t.next_resync_ms <= now and t.shadow is None
        ][: self.settings.books_per_request]
        if not due:
            return
        for tok in due:
            tok.shadow, tok.asked_seen_ms = [], self._seen(tok)
            tok.next_resync_ms = now + self._resync_jitter()
            self._count_resync(tok, Reason.HASH_MISMATCH if tok.recheck else Reason.SCHEDULED)
            tok.recheck = False
        try:
            books = await self._fetch_books([t.asset_id for t in due])  # type: ignore[misc]
        except Exception as exc:
            log.warning("mirror: preventive resync failed: %s", exc)
            for tok in due:
                tok.shadow = None
            return
        self.rest_books(books)

    # ---- figures -----------------------------------------------------------------------------

    def token_kpis(self, asset: str) -> dict | None:
        """One token's state and health figures (ms of the engine clock)."""
        tok = self.tokens.get(asset)
        if tok is None:
            return None
        k, now = tok.kpis, self._clock.now_ms()
        return {
            "asset_id": asset,
            "market": tok.market,
            "state": tok.state.value,
            "reason": tok.reason.value,
            "detail": tok.detail,
            "since_ms": tok.since_ms,
            "last_update_ms": k.last_update_ms,
            "last_verified_ms": k.last_verified_ms,
            "staleness_ms": now - k.last_update_ms if k.last_update_ms else None,
            "apply_lag_ms": k.apply_lag_ms,
            "recv_lag_ms": k.recv_lag_ms,
            "deltas": k.deltas,
            "probes": k.probes,
            "probe_mismatch_rate": k.probe_mismatches / k.probes if k.probes else 0.0,
            "hash_checks": k.hash_checks,
            "hash_agreement_rate": k.hash_agreements / k.hash_checks if k.hash_checks else None,
            "stale_snapshots": k.stale_snapshots,
            "resyncs": {r.value: n for r, n in k.resyncs.items()},
        }

    def stats(self) -> dict:
        states = Counter(t.state.value for t in self.tokens.values())
        now = self._clock.now_ms()
        staleness = [now - t.kpis.last_update_ms for t in self.tokens.values() if t.live]
        probes, checks = self.counts["probes"], self.counts["hash_checks"]
        return {
            "tokens": len(self.tokens),
            "states": dict(states),
            "resyncs": {r.value: n for r, n in self.resyncs.items()},
            "frames": self.frames,
            "entries": self.entries,
            "decode_errors": self.counts["decode_errors"],
            "untracked": self.counts["untracked"],
            "shed": self.counts["shed"],
            "inbox": len(self._inbox),
            "probes": probes,
            "probe_mismatch_rate": self.counts["probe_mismatches"] / probes if probes else 0.0,
            "hash_checks": checks,
            "hash_agreement_rate": self.counts["hash_agreements"] / checks if checks else None,
            "snapshot_diffs": self.counts["snapshot_diffs"],
            "fetch_errors": self.counts["fetch_errors"] + self.counts["probe_errors"],
            "max_staleness_ms": max(staleness, default=0),
            "apply_lag_ms": self.apply_lag.as_dict(),
            "recv_lag_ms": self.recv_lag.as_dict(),
            "max_stall_ms": round(self.max_stall_s * 1000, 3),
        }


def _assets_of(events: Iterable[object]) -> set[str]:
    out: set[str] = set()
    for event in events:
        if isinstance(event, mw.PriceChange):
            out.update(e.asset_id for e in event.price_changes)
        else:
            asset = getattr(event, "asset_id", None)
            if asset:
                out.add(asset)
    return out


def _assets_in_raw(error: WireError, markets: dict[str, list[str]]) -> set[str]:
    """The tokens an undecodable frame was about, as far as its raw JSON tells."""
    try:
        raw = json.loads(error.raw)
    except ValueError:
        return set()
    out: set[str] = set()
    for obj in raw if isinstance(raw, list) else [raw]:
        if not isinstance(obj, dict):
            continue
        if isinstance(obj.get("asset_id"), str):
            out.add(obj["asset_id"])
        if isinstance(obj.get("market"), str):
            out.update(markets.get(obj["market"], ()))
    return out
