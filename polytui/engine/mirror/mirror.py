"""The local mirror of the order books (architecture §4): per-token books the engine can trust.

    mirror = Mirror(fetch_books=venue.clob.books, clock=clock)
    stream = MarketStream(endpoints.ws_market, mirror.sink, ...)
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
import contextlib
import json
import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from polytui.core.book import _UNITS, UNIT, BadLevel, Side, price_units, tick_units
from polytui.core.clock import Clock, SystemClock
from polytui.engine.mirror.state import BookState, BookStateChanged, Reason
from polytui.engine.mirror.token import Levels, Snapshot, TokenMirror
from polytui.protocol.wire import market_ws as mw
from polytui.protocol.wire.clob import BookSummary, Level
from polytui.protocol.wire.errors import WireError
from polytui.venue.ws import ConnectionChange, ConnState, Frame

log = logging.getLogger("polytui.engine.mirror")

FetchBooks = Callable[[list[str]], Awaitable[Sequence[BookSummary]]]
BATCH = 256  # inbox items applied between two yields to the event loop
BID, ASK = Side.BID, Side.ASK
NEVER = math.inf


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    inbox_limit: int = 20_000  # frames waiting to be applied; beyond, frames are shed
    burst_quiet_ms: int = 50  # a burst with no follow-up for this long is complete
    lag_bound_ms: int = 5_000  # exchange time -> applied, beyond: LAG
    stale_after_ms: int = 60_000  # neither updated nor verified for this long: STALE
    prime_timeout_ms: int = 2_000  # no WS book this long after (re)subscribing: fetch REST
    snapshot_slack_ms: int = 50  # a snapshot may be stamped this much before a delta it holds
    probe_interval_ms: int = 2_000
    probe_mismatches: int = 2  # consecutive probe disagreements before BBO_MISMATCH
    resync_interval_ms: int = 300_000  # preventive resync of each token, +-20 % jitter
    books_per_request: int = 20  # tokens per POST /books
    refetch_backoff_ms: int = 500  # after a failed or refused snapshot


@dataclass(slots=True)
class _Burst:
    market: str
    timestamp: int
    deadline: float  # monotonic seconds
    tops: dict[str, tuple[str, str]] = field(default_factory=dict)  # asset -> best bid/ask


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
        settings: MirrorSettings | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        on_change: Callable[[BookStateChanged], None] | None = None,
    ) -> None:
        self.settings = settings or MirrorSettings()
        self._fetch_books = fetch_books
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._on_change = on_change
        self.tokens: dict[str, TokenMirror] = {}
        self.markets: dict[str, list[str]] = {}
        self._inbox: deque[Frame | ConnectionChange] = deque()
        self._wake = asyncio.Event()
        self._fetch_wake = asyncio.Event()
        self._bursts: dict[str, _Burst] = {}
        self.resyncs: Counter[Reason] = Counter()
        self.counts: Counter[str] = Counter()  # frames, entries, decode_errors, shed, ...
        self.max_stall_s = 0.0  # the longest the mirror held the event loop in one go
        self.frames = 0
        self.entries = 0  # price_change entries (level changes) seen

    # ---- tokens ------------------------------------------------------------------------------

    def track(self, market: str, asset_ids: Iterable[str]) -> None:
        """Mirror these tokens of ``market`` (before subscribing them)."""
        now = self._clock.now_ms()
        for asset in asset_ids:
            tok = self._token(asset, market)
            tok.fetch_after = now + self.settings.prime_timeout_ms

    def untrack(self, asset_ids: Iterable[str]) -> None:
        for asset in asset_ids:
            tok = self.tokens.pop(asset, None)
            if tok is not None and tok.market in self.markets:
                self.markets[tok.market] = [a for a in self.markets[tok.market] if a != asset]

    def _token(self, asset: str, market: str = "") -> TokenMirror:
        tok = self.tokens.get(asset)
        if tok is None:
            tok = self.tokens[asset] = TokenMirror(asset, market, since_ms=self._clock.now_ms())
            tok.fetch_after = NEVER
            tok.next_resync_ms = self._clock.now_ms() + self._resync_jitter()
        if market and not tok.market:
            tok.market = market
        if tok.market:
            self.markets.setdefault(tok.market, [])
            if asset not in self.markets[tok.market]:
                self.markets[tok.market].append(asset)
        return tok

    def live_book(self, asset: str):
        """The token's book while it is LIVE, else ``None``: never trade on anything else."""
        tok = self.tokens.get(asset)
        return tok.book if tok is not None and tok.state is BookState.LIVE else None

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
        if isinstance(item, ConnectionChange):
            self._connection(item)
            return
        self.frames += 1
        if item.error is not None:
            self._undecoded(item)
        for event in item.events:
            kind = type(event)
            if kind is mw.PriceChange:
                self._price_change(event, item.recv_ms, item.conn)
            elif kind is mw.Book:
                self._ws_book(event, item.conn)
            elif kind is mw.TickSizeChange:
                self._tick_change(event)
            else:
                market = getattr(event, "market", None)
                burst = self._bursts.pop(market, None) if market else None
                if burst is not None:
                    self._complete(burst)

    def _price_change(self, ev: mw.PriceChange, recv_ms: int, conn: str) -> None:
        ts, market = ev.timestamp, ev.market
        burst = self._bursts.get(market)
        if burst is not None and burst.timestamp != ts:
            del self._bursts[market]
            self._complete(burst)
            burst = None
        clock = self._clock
        if burst is None:
            deadline = clock.monotonic() + self.settings.burst_quiet_ms / 1000
            burst = self._bursts[market] = _Burst(market, ts, deadline)
        tops = burst.tops
        tokens, units_of = self.tokens, _UNITS
        now_ms = clock.now_ms()
        late = now_ms - ts > self.settings.lag_bound_ms
        for e in ev.price_changes:
            tok = tokens.get(e.asset_id)
            if tok is None:
                tok = self._token(e.asset_id, market)
            tok.conn = conn
            if ts > tok.seen_ms:
                tok.seen_ms = ts
            units = units_of.get(e.price)
            if units is None:
                units = price_units(e.price)
            side = BID if e.side == "BUY" else ASK if e.side == "SELL" else None
            if units is None or side is None:
                self._suspect(tok, Reason.INVARIANT_FAIL, f"bad entry {e.side} {e.price!r}")
                continue
            if tok.state is not BookState.LIVE:
                tok.buffer_delta((ts, side, units, e.size))
                continue
            try:
                tok.book.set(side, units, e.size)  # type: ignore[union-attr]
            except BadLevel as exc:
                self._suspect(tok, Reason.INVARIANT_FAIL, str(exc))
                continue
            if tok.shadow is not None:
                tok.shadow.append((ts, side, units, e.size))
            k = tok.kpis
            k.deltas += 1
            k.last_update_ms = now_ms
            k.last_exchange_ms = ts
            k.apply_lag_ms = now_ms - ts
            k.recv_lag_ms = now_ms - recv_ms
            tops[e.asset_id] = (e.best_bid, e.best_ask)
            if late:
                self._suspect(tok, Reason.LAG, f"applied {now_ms - ts} ms after the venue")
        self.entries += len(ev.price_changes)

    def _complete(self, burst: _Burst) -> None:
        """Layer 1 on a complete burst: not crossed, top of book as the venue says (an empty
        side is ``""``, or ``"0"``/``"1"``: both mean no bid / no ask)."""
        tokens, units_of = self.tokens, _UNITS
        for asset, (best_bid, best_ask) in burst.tops.items():
            tok = tokens.get(asset)
            if tok is None or tok.state is not BookState.LIVE:
                continue
            book = tok.book
            bid_i, ask_i, tick = book.best_bid_i, book.best_ask_i, book.tick
            if bid_i and ask_i < book.slots and bid_i >= ask_i:
                self._suspect(tok, Reason.INVARIANT_FAIL, "crossed after a burst")
                continue
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

    def complete_bursts(self, force: bool = False) -> None:
        """Complete the bursts whose quiet time is over (all of them with ``force``)."""
        if not self._bursts:
            return
        now = self._clock.monotonic()
        for market, burst in list(self._bursts.items()):
            if force or burst.deadline <= now:
                del self._bursts[market]
                self._complete(burst)

    def _ws_book(self, ev: mw.Book, conn: str) -> None:
        burst = self._bursts.pop(ev.market, None)
        if burst is not None:
            self._complete(burst)
        tok = self._token(ev.asset_id, ev.market)
        tok.conn = conn
        try:
            snap = snapshot_of(ev, tok.tick, "ws")
        except (BadLevel, ValueError) as exc:
            self._suspect(tok, Reason.INVARIANT_FAIL, f"bad WS book: {exc}")
            return
        self._snapshot(tok, snap)

    def _tick_change(self, ev: mw.TickSizeChange) -> None:
        burst = self._bursts.pop(ev.market, None)
        if burst is not None:
            self._complete(burst)
        tok = self._token(ev.asset_id, ev.market)
        try:
            tok.tick = tick_units(ev.new_tick_size)
        except ValueError:
            tok.tick = None
        tok.book = None
        tok.invalidate()
        self._set(tok, BookState.RESYNCING, Reason.TICK_CHANGE, f"tick {ev.new_tick_size}")
        self.resyncs[Reason.TICK_CHANGE] += 1
        tok.fetch_after = self._clock.now_ms()
        self._fetch_wake.set()

    def _connection(self, change: ConnectionChange) -> None:
        now = self._clock.now_ms()
        carried = set(change.subscribed)
        for tok in self.tokens.values():
            if tok.asset_id not in carried and tok.conn != change.conn:
                continue
            if change.state is ConnState.DISCONNECTED:
                if tok.state is BookState.LIVE:
                    self.resyncs[Reason.RECONNECT] += 1
                if tok.state is not BookState.UNPRIMED:
                    tok.book = None
                    tok.invalidate()
                    self._set(tok, BookState.RESYNCING, Reason.RECONNECT, change.reason)
                tok.fetch_after = NEVER  # the reconnect's book dump re-primes it
            else:
                tok.conn = change.conn
                if tok.state is not BookState.LIVE:
                    tok.fetch_after = now + self.settings.prime_timeout_ms

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

    def _snapshot(self, tok: TokenMirror, snap: Snapshot) -> None:
        """A WS or REST book for ``tok``: install it, swap it in, or refuse it."""
        now = self._clock.now_ms()
        rest = snap.source == "rest"
        if rest and not tok.fresh_enough(snap.timestamp, self.settings.snapshot_slack_ms):
            tok.kpis.stale_snapshots += 1
            tok.shadow = None
            tok.fetch_after = now + self.settings.refetch_backoff_ms
            return
        if tok.state is BookState.LIVE:
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
        tok.kpis.last_verified_ms = tok.kpis.last_update_ms = now
        tok.kpis.last_exchange_ms = max(tok.kpis.last_exchange_ms, snap.timestamp)
        tok.kpis.consecutive_mismatches = 0
        self._set(tok, BookState.LIVE, tok.reason, f"{snap.source} snapshot")

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
        now = self._clock.now_ms()
        tok.kpis.last_verified_ms = tok.kpis.last_update_ms = now

    def rest_books(self, books: Iterable[BookSummary]) -> None:
        for summary in books:
            tok = self.tokens.get(summary.asset_id)
            if tok is None:
                continue
            try:
                snap = snapshot_of(summary, tok.tick, "rest")
            except (BadLevel, ValueError) as exc:
                tok.kpis.stale_snapshots += 1
                log.warning("%s: unusable REST book: %s", summary.asset_id[:12], exc)
                continue
            self._snapshot(tok, snap)

    # ---- state -------------------------------------------------------------------------------

    def _suspect(self, tok: TokenMirror, reason: Reason, detail: str) -> None:
        if tok.state in (BookState.SUSPECT, BookState.RESYNCING):
            return
        if tok.state is BookState.LIVE:
            self.resyncs[reason] += 1
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
            if state is not BookState.LIVE:
                log.info("%s: %s -> %s (%s: %s)", tok.asset_id[:12], old, state, reason, detail)
            if self._on_change is not None:
                self._on_change(BookStateChanged(tok.asset_id, old, state, reason, detail, now))

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
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _apply_loop(self) -> None:
        inbox = self._inbox
        quiet = self.settings.burst_quiet_ms / 1000
        while True:
            if not inbox:
                self._wake.clear()
                timeout = quiet if self._bursts else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self.complete_bursts()
                continue
            started = time.perf_counter()
            for _ in range(min(BATCH, len(inbox))):
                item = inbox.popleft()
                try:
                    self.process(item)
                except Exception:  # a bug of ours must not stop the mirror; the book is suspect
                    log.exception("mirror: applying a frame failed")
                    for asset in _assets_of(getattr(item, "events", ())):
                        if asset in self.tokens:
                            self._suspect(self.tokens[asset], Reason.INVARIANT_FAIL, "apply failed")
            self.complete_bursts()
            self.max_stall_s = max(self.max_stall_s, time.perf_counter() - started)
            await asyncio.sleep(0)

    async def _fetch_loop(self) -> None:
        """Fetch REST snapshots for tokens that need one, batched, within the rate budget."""
        assert self._fetch_books is not None
        while True:
            now = self._clock.now_ms()
            due = [
                t
                for t in self.tokens.values()
                if t.state is not BookState.LIVE and not t.fetching and t.fetch_after <= now
            ][: self.settings.books_per_request]
            if not due:
                self._fetch_wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._fetch_wake.wait(), 0.1)
                continue
            for tok in due:
                if tok.state is BookState.SUSPECT:
                    self._set(tok, BookState.RESYNCING, tok.reason, tok.detail)
            await self._fetch(due)

    async def _fetch(self, toks: list[TokenMirror]) -> None:
        for tok in toks:
            tok.fetching = True
            tok.asked_seen_ms = tok.seen_ms
        try:
            books = await self._fetch_books([t.asset_id for t in toks])  # type: ignore[misc]
        except Exception as exc:  # venue trouble: the tokens stay out of LIVE and are retried
            log.warning("mirror: fetching %d books failed: %s", len(toks), exc)
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
            await asyncio.sleep(self.settings.probe_interval_ms / 1000)
            self._check_stale()
            await self._probe()
            await self._scheduled()

    def _check_stale(self) -> None:
        now = self._clock.now_ms()
        for tok in self.tokens.values():
            if tok.state is BookState.LIVE:
                fresh = max(tok.kpis.last_update_ms, tok.kpis.last_verified_ms)
                if now - fresh > self.settings.stale_after_ms:
                    self._suspect(tok, Reason.STALE, f"nothing for {now - fresh} ms")

    async def _probe(self) -> None:
        """Layer 2: compare the top of book of the least recently verified LIVE tokens."""
        live = [t for t in self.tokens.values() if t.state is BookState.LIVE]
        if not live:
            return
        s = self.settings
        rounds = max(1, s.stale_after_ms // (3 * s.probe_interval_ms))  # all within a third
        count = min(len(live), max(s.books_per_request, math.ceil(len(live) / rounds)))
        sample = sorted(live, key=lambda t: t.kpis.last_verified_ms)[:count]
        for start in range(0, len(sample), s.books_per_request):
            chunk = sample[start : start + s.books_per_request]
            try:
                books = await self._fetch_books([t.asset_id for t in chunk])  # type: ignore[misc]
            except Exception as exc:
                log.warning("mirror: probe failed: %s", exc)
                return
            self._judge(books)

    def _judge(self, books: Iterable[BookSummary]) -> None:
        """Compare whole books (every level, not only the top: a wrong level deep in the book
        shows at no burst check) when the probe is at least as new as the local book."""
        now = self._clock.now_ms()
        for summary in books:
            tok = self.tokens.get(summary.asset_id)
            if tok is None or tok.state is not BookState.LIVE or tok.book is None:
                continue
            if summary.timestamp < tok.kpis.last_exchange_ms:
                continue  # the local book is newer than the probe: nothing to conclude
            try:
                truth = tok.install(snapshot_of(summary, tok.tick, "rest"), [])
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
            if t.state is BookState.LIVE and t.next_resync_ms <= now and t.shadow is None
        ][: self.settings.books_per_request]
        if not due:
            return
        for tok in due:
            tok.shadow, tok.asked_seen_ms = [], tok.seen_ms
            tok.next_resync_ms = now + self._resync_jitter()
            self.resyncs[Reason.SCHEDULED] += 1
        try:
            books = await self._fetch_books([t.asset_id for t in due])  # type: ignore[misc]
        except Exception as exc:
            log.warning("mirror: preventive resync failed: %s", exc)
            for tok in due:
                tok.shadow = None
            return
        self.rest_books(books)

    # ---- figures -----------------------------------------------------------------------------

    def stats(self) -> dict:
        states = Counter(t.state.value for t in self.tokens.values())
        now = self._clock.now_ms()
        staleness = [now - t.kpis.last_update_ms for t in self.tokens.values() if t.live]
        probes = self.counts["probes"]
        return {
            "tokens": len(self.tokens),
            "states": dict(states),
            "resyncs": {r.value: n for r, n in self.resyncs.items()},
            "frames": self.frames,
            "entries": self.entries,
            "decode_errors": self.counts["decode_errors"],
            "shed": self.counts["shed"],
            "inbox": len(self._inbox),
            "probes": probes,
            "probe_mismatch_rate": self.counts["probe_mismatches"] / probes if probes else 0.0,
            "snapshot_diffs": self.counts["snapshot_diffs"],
            "max_staleness_ms": max(staleness, default=0),
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
