"""The market scanner (architecture §3): Gamma -> the tradable universe -> the mirror's
subscriptions.

    scanner = Scanner(venue.gamma, subscriber, settings.scanner, clock=clock,
                      book_freshness=mirror_freshness(mirror), on_change=...)
    task = asyncio.create_task(scanner.run())
    scanner.on_market_event(event)      # new_market / market_resolved, from the stream sink
    scanner.flags(condition_id)         # what the risk engine, strategies and the UI read
    scanner.tradable(condition_id)      # watched and no flag
    scanner.stats()                     # KPIs, ``stalled`` among them

**Schedule.** At start, and every ``full_scan_s``, a *full scan* lists every open market.
Every ``cadence_s`` in between, a *refresh* reads the markets newer than the newest known
and the watched markets by id; a watched market missing from the open ones is looked up
among the closed ones, and is *unlisted* if neither has it. So a watched market's state is
at most one cadence old and an unwatched market's figures at most ``full_scan_s`` old, for
a few requests per cadence (measured in ``bench/scanner.py``). A ``new_market`` event is
looked up at once; a ``market_resolved`` event flags the market at once and the loop,
woken, unsubscribes it.

**Subscriptions follow the universe** (``core.universe.select``): after each scan, refresh
or event, the markets that left are unsubscribed and those that entered subscribed through
the ``Subscriber`` port; when the selection is unchanged, nothing is called.

**Failure.** A scan or a refresh is one unit, bounded by ``scan_timeout_s``: if a request
fails (after the HTTP client's own retries) or time runs out, nothing it read is applied,
the last good universe stays, and the KPIs say so (``errors``, ``consecutive_errors``,
``last_error``, and ``stalled`` once no refresh succeeded for ``stall_after_s``). A row
that cannot be used (unknown ``version``) is skipped, counted in ``bad_rows`` and logged
once; while a full scan has such rows, no market is unlisted for being absent from it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from polytui.config import ScannerSettings
from polytui.core.clock import Clock, SystemClock
from polytui.core.market_flags import Flag, book_age_ms, describe, flags_of, tradable
from polytui.core.universe import Excluded, Filter, MarketInfo, Selection, exclusion, select
from polytui.engine.scanner.gamma_rows import (
    BadMarket,
    event_tag_words,
    market_info,
    merged,
    resolved_now,
)
from polytui.engine.scanner.reader import GammaReader, id_number
from polytui.engine.scanner.wiring import BookFreshness, MarketEvent, Subscriber
from polytui.protocol.wire import gamma as g
from polytui.protocol.wire import market_ws as mw
from polytui.protocol.wire.errors import WireError
from polytui.venue.errors import VenueError
from polytui.venue.gamma import GammaClient

log = logging.getLogger("polytui.engine.scanner")

PENDING_TRIES = 3  # refreshes a new_market waits for Gamma to list it


@dataclass(frozen=True, slots=True)
class UniverseChanged:
    """Markets entered or left the universe, or watched markets' flags changed (the new
    flags, empty when a market became tradable again)."""

    entered: tuple[str, ...]
    left: tuple[str, ...]
    flags: dict[str, frozenset[Flag]]
    ts_ms: int


@dataclass(slots=True)
class Watched:
    tokens: tuple[str, ...]
    since_ms: int


@dataclass(slots=True)
class ScannerKpis:
    last_ok_ms: int | None = None  # clock ms: end of the last successful scan or refresh
    last_full_scan_ms: int | None = None  # clock ms: end of the last successful full scan
    full_scan_ms: float = 0.0  # duration of the last successful full scan
    refresh_ms: float = 0.0  # duration of the last successful refresh
    seen: int = 0  # open markets Gamma lists, as last read
    eligible: int = 0
    watched: int = 0
    flagged: int = 0  # watched markets with a flag, at the last check
    full_scans: int = 0
    refreshes: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    last_error: str = ""
    bad_rows: int = 0
    events: int = 0  # new_market and market_resolved applied
    subscribed: int = 0  # market subscribe calls
    unsubscribed: int = 0
    excluded: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Update:
    """What one read found, applied only if the whole read succeeded."""

    infos: list[MarketInfo] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)  # condition ids
    event_tags: dict[str, frozenset[str]] = field(default_factory=dict)
    found: set[str] = field(default_factory=set)  # Gamma ids
    asked: set[str] = field(default_factory=set)  # new_market ids this read looked for
    full: bool = False


def filter_of(s: ScannerSettings) -> Filter:
    def lower(words: Iterable[str]) -> frozenset[str]:
        return frozenset(w.lower() for w in words)

    return Filter(
        min_liquidity=s.min_liquidity,
        min_volume_24hr=s.min_volume_24hr,
        max_spread=s.max_spread,
        min_hours_to_end=s.min_hours_to_end,
        max_hours_to_end=s.max_hours_to_end,
        categories=lower(s.categories),
        exclude_categories=lower(s.exclude_categories),
        allow_neg_risk=s.neg_risk,
        allow=frozenset(s.allow),
        deny=frozenset(s.deny),
        max_markets=s.max_markets,
        hysteresis=s.hysteresis,
        stickiness=s.stickiness,
    )


class Scanner:
    def __init__(
        self,
        gamma: GammaClient,
        subscriber: Subscriber,
        settings: ScannerSettings | None = None,
        *,
        clock: Clock | None = None,
        book_freshness: BookFreshness | None = None,
        on_change: Callable[[UniverseChanged], None] | None = None,
    ) -> None:
        self.settings = s = settings or ScannerSettings()
        self.filter = filter_of(s)
        self.reader = GammaReader(gamma, s.page_size, s.page_concurrency, s.ids_per_request)
        self._subscriber = subscriber
        self._clock = clock or SystemClock()
        self._freshness = book_freshness
        self._on_change = on_change
        self.markets: dict[str, MarketInfo] = {}  # condition id -> what is known
        self._by_gamma: dict[str, str] = {}  # Gamma id -> condition id
        self._event_tags: dict[str, frozenset[str]] = {}
        self._max_id = -1
        self.watched: dict[str, Watched] = {}  # condition id -> its subscription
        self.selection = Selection((), 0)
        self._flags: dict[str, frozenset[Flag]] = {}  # last reported, per watched market
        self._pending: dict[str, int] = {}  # Gamma id of a new_market -> tries left
        self._unasked: set[str] = set()  # pending ids not looked up yet: look them up now
        self._dirty = False  # an event changed a market: select again
        self._wake = asyncio.Event()
        self._started: float | None = None  # monotonic
        self._last_ok: float | None = None  # monotonic start of the last good refresh
        self._bad_logged: set[str] = set()
        self.kpis = ScannerKpis()

    # ---- what consumers read -----------------------------------------------------------

    def flags(self, condition_id: str) -> frozenset[Flag]:
        """The market's flags now; ``tradable(flags)`` only when there are none."""
        m = self.markets.get(condition_id)
        w = self.watched.get(condition_id)
        if m is None or w is None:
            return flags_of(m, self._clock.now_ms()) | {Flag.NOT_WATCHED}
        now = self._clock.now_ms()
        age = None
        if self._freshness is not None:
            age = book_age_ms([self._freshness(t) for t in w.tokens], w.since_ms, now)
        return flags_of(m, now, age, int(self.settings.stale_book_s * 1000))

    def tradable(self, condition_id: str) -> bool:
        return tradable(self.flags(condition_id))

    def why_not_watched(self, condition_id: str) -> Excluded | None:
        """The rule that keeps a known market out (``CAP`` when only the cap does)."""
        m = self.markets.get(condition_id)
        if m is None or condition_id in self.watched:
            return None
        reason = exclusion(m, self.filter, self._clock.now_ms())
        return reason or Excluded.CAP

    @property
    def universe(self) -> tuple[str, ...]:
        """The watched markets, best first."""
        return tuple(c for c in self.selection.watched if c in self.watched)

    @property
    def stalled(self) -> bool:
        """No successful refresh for ``stall_after_s``: an alert condition."""
        since = self._last_ok if self._last_ok is not None else self._started
        if since is None:
            return False
        return self._clock.monotonic() - since > self.settings.stall_after_s

    def lag_ms(self) -> float | None:
        """How far behind Gamma the universe may be: the age of the Gamma data behind the
        last successful scan or refresh (measured from its start)."""
        if self._last_ok is None:
            return None
        return round((self._clock.monotonic() - self._last_ok) * 1000, 1)

    def stats(self) -> dict:
        return {
            **dataclasses.asdict(self.kpis),
            "lag_ms": self.lag_ms(),
            "stalled": self.stalled,
            "requests": self.reader.requests,
            "known": len(self.markets),
        }

    # ---- market-channel events ---------------------------------------------------------

    def on_market_event(self, event: MarketEvent) -> None:
        """``new_market`` or ``market_resolved`` from the market stream (each shard sends
        its own copy: repeats change nothing). Never blocks."""
        if isinstance(event, mw.MarketResolved):
            old = self.markets.get(event.market)
            if old is not None and old.resolved:
                return
            self.markets[event.market] = resolved_now(old, event)
            self._by_gamma[event.id] = event.market
            self._dirty = True
        elif isinstance(event, mw.NewMarket):
            if event.id in self._by_gamma or event.id in self._pending:
                return
            self._pending[event.id] = PENDING_TRIES
            self._unasked.add(event.id)
        else:
            return
        self.kpis.events += 1
        self._wake.set()

    # ---- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Scan, refresh and follow events until cancelled."""
        s = self.settings
        self._started = self._clock.monotonic()
        next_full = next_refresh = self._started
        while True:
            began = self._clock.monotonic()
            if began >= next_full:
                ok = await self.scan()
                next_full = began + (s.full_scan_s if ok else s.cadence_s)
                next_refresh = began + s.cadence_s
            elif began >= next_refresh:
                await self.refresh()
                next_refresh = began + s.cadence_s
            await self.catch_up()
            await self._nap(min(next_full, next_refresh))

    async def scan(self) -> bool:
        """One full scan, applied (``run`` calls it; so can a benchmark or a test).
        ``False``: it failed and the last good universe stays."""
        return await self._attempt("full scan", self._read_full)

    async def refresh(self) -> bool:
        """One incremental refresh, applied; ``False`` as for ``scan``."""
        return await self._attempt("refresh", self._read_refresh)

    async def _nap(self, until: float) -> None:
        self._wake.clear()
        if self._unasked or self._dirty:
            return
        await self._clock.wait(self._wake, max(0.0, until - self._clock.monotonic()))

    async def catch_up(self) -> None:
        """Apply what events asked for: look new markets up, select again, report flags."""
        if self._unasked:  # once each: if Gamma does not have it yet, refreshes ask again
            await self._attempt("new market lookup", self._lookup_pending, refresh=False)
        if self._dirty:
            self._dirty = False
            await self._reselect()
        self._report()

    async def _attempt(
        self, kind: str, read: Callable[[], Awaitable[_Update]], refresh: bool = True
    ) -> bool:
        started = self._clock.monotonic()
        try:
            async with asyncio.timeout(self.settings.scan_timeout_s):
                update = await read()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the venue failed or was too slow: keep the last good view
            self._failed(kind, exc)
            return False
        self._apply(update)
        took_ms = round((self._clock.monotonic() - started) * 1000, 1)
        k = self.kpis
        if refresh:
            self._last_ok = started
            k.last_ok_ms = self._clock.now_ms()
            k.consecutive_errors = 0
            if update.full:
                k.full_scans += 1
                k.full_scan_ms = took_ms
                k.last_full_scan_ms = k.last_ok_ms
            else:
                k.refreshes += 1
                k.refresh_ms = took_ms
        await self._reselect()
        return True

    def _failed(self, kind: str, exc: BaseException) -> None:
        k = self.kpis
        k.errors += 1
        k.consecutive_errors += 1
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            detail = f"took longer than {self.settings.scan_timeout_s} s"
        k.last_error = f"{kind}: {detail}"
        log.warning(
            "scanner: %s failed, keeping the last good universe (%d markets watched): %s",
            kind,
            len(self.watched),
            detail,
            exc_info=not _venue_trouble(exc),
        )

    # ---- reads (nothing is applied until a read completes) ------------------------------

    async def _read_full(self) -> _Update:
        """A full scan: every open market, and what became of known ones it did not list
        (offset pages shift when markets close during a scan, so absence proves nothing)."""
        update = _Update(full=True, asked=set(self._pending))
        bad_before = self.kpis.bad_rows
        await self.reader.listing(lambda page: self._convert(page, update))
        await self._fill_tags(update)
        listed = {m.condition_id for m in update.infos}
        gone = [
            m
            for cid, m in self.markets.items()
            if cid not in listed and m.listed and not (m.closed or m.resolved)
        ]
        if gone:  # closed since, or skipped by the paging as markets closed: ask by id
            ids = [m.gamma_id for m in gone]
            for rows in await asyncio.gather(
                self.reader.by_ids(ids), self.reader.by_ids(ids, closed=True)
            ):
                self._convert(rows, update)
            found = {m.condition_id for m in update.infos}
            if self.kpis.bad_rows == bad_before:
                update.unlisted = [m.condition_id for m in gone if m.condition_id not in found]
        return update

    async def _read_refresh(self) -> _Update:
        """The markets newer than the newest known, and the watched ones (and those a
        ``new_market`` named) by id."""
        ids = [self.markets[c].gamma_id for c in self.watched if c in self.markets]
        ids += [i for i in self._pending if i not in ids]
        newest, current = await asyncio.gather(
            self.reader.newest(self._max_id), self.reader.by_ids(ids)
        )
        update = _Update(asked=set(self._pending))
        self._convert([*newest, *current], update)
        missing = [
            self.markets[c].gamma_id
            for c in self.watched
            if c in self.markets and self.markets[c].gamma_id not in update.found
        ]
        if missing:
            self._convert(await self.reader.by_ids(missing, closed=True), update)
            update.unlisted = [
                self._by_gamma[i] for i in missing if i not in update.found and i in self._by_gamma
            ]
        await self._fill_tags(update)
        return update

    async def _lookup_pending(self) -> _Update:
        ids, self._unasked = sorted(self._unasked), set()
        update = _Update(asked=set(ids))
        self._convert(await self.reader.by_ids(ids), update)
        await self._fill_tags(update)
        return update

    def _convert(self, rows: Iterable[g.GammaMarket], update: _Update) -> None:
        for row in rows:
            update.found.add(row.id)
            try:
                update.infos.append(market_info(row, self._event_tags))
            except BadMarket as exc:
                self.kpis.bad_rows += 1
                if row.id not in self._bad_logged:
                    self._bad_logged.add(row.id)
                    log.warning("scanner: skipping a Gamma row: %s", exc)

    async def _fill_tags(self, update: _Update) -> None:
        """Markets whose rows carry no tags take their events' tags, read from ``/events``
        once per event (Gamma leaves tags out of listings unless asked)."""
        wanted = sorted(
            {
                e
                for m in update.infos
                if not m.tags
                for e in m.event_ids
                if e not in self._event_tags
            }
        )
        if not wanted:
            return
        events = await self.reader.events(wanted)
        tags = {e.id: event_tag_words(e) for e in events}
        tags.update({e: frozenset() for e in wanted if e not in tags})
        update.event_tags = tags
        update.infos = [
            dataclasses.replace(m, tags=frozenset().union(*(tags.get(e, ()) for e in m.event_ids)))
            if not m.tags
            else m
            for m in update.infos
        ]

    # ---- applying ----------------------------------------------------------------------

    def _apply(self, update: _Update) -> None:
        self._event_tags.update(update.event_tags)
        if update.full:  # forget what is over and not watched; the rest is read again
            self.markets = {
                c: m
                for c, m in self.markets.items()
                if c in self.watched or (m.listed and not (m.closed or m.resolved))
            }
            self._by_gamma = {m.gamma_id: c for c, m in self.markets.items()}
        for info in update.infos:
            cid = info.condition_id
            self.markets[cid] = merged(self.markets.get(cid), info)
            self._by_gamma[info.gamma_id] = cid
            self._max_id = max(self._max_id, id_number(info.gamma_id))
        for cid in update.unlisted:
            if cid in self.markets:
                self.markets[cid] = dataclasses.replace(self.markets[cid], listed=False)
        for gamma_id in update.asked & self._pending.keys():
            if gamma_id in update.found:
                del self._pending[gamma_id]
            else:
                self._pending[gamma_id] -= 1
                if self._pending[gamma_id] <= 0:
                    del self._pending[gamma_id]
                    log.info("scanner: new market %s is not on Gamma yet", gamma_id)
        self.kpis.seen = sum(
            1 for m in self.markets.values() if m.listed and not (m.closed or m.resolved)
        )

    async def _reselect(self) -> None:
        """Select the universe and bring the subscriptions to it: the leavers first (their
        room on the shards is then free), then the newcomers."""
        now = self._clock.now_ms()
        sel = select(self.markets.values(), self.filter, now, self.watched.keys())
        self.selection = sel
        target = set(sel.watched)
        left = [c for c in self.watched if c not in target]
        entered = []
        for cid in left:
            w = self.watched.pop(cid)
            self._flags.pop(cid, None)
            self.kpis.unsubscribed += 1
            try:
                await self._subscriber.unsubscribe(cid, w.tokens)
            except Exception as exc:
                log.warning("scanner: unsubscribing %s failed: %s", cid[:12], exc)
        for cid in sel.watched:
            if cid in self.watched:
                continue
            tokens = self.markets[cid].tokens
            try:
                await self._subscriber.subscribe(cid, tokens)
            except Exception as exc:
                log.warning("scanner: subscribing %s failed: %s", cid[:12], exc)
                continue  # selected again, and retried, on the next pass
            self.watched[cid] = Watched(tokens, self._clock.now_ms())
            self.kpis.subscribed += 1
            entered.append(cid)
        k = self.kpis
        k.eligible, k.watched = sel.eligible, len(self.watched)
        k.excluded = {r.value: n for r, n in sel.excluded.items()}
        if entered or left:
            log.info(
                "scanner: %d entered, %d left, %d watched of %d eligible",
                len(entered),
                len(left),
                len(self.watched),
                sel.eligible,
            )
        self._report(tuple(entered), tuple(left))

    def _report(self, entered: tuple[str, ...] = (), left: tuple[str, ...] = ()) -> None:
        """Tell ``on_change`` what entered, left, or changed flags since the last report
        (flags also change with time alone: an end date passes, a book goes quiet)."""
        changed: dict[str, frozenset[Flag]] = {}
        for cid in self.watched:
            flags = self.flags(cid)
            if self._flags.get(cid, frozenset()) != flags:
                changed[cid] = flags
                self._flags[cid] = flags
                if flags:
                    log.info("scanner: %s flagged: %s", cid[:12], describe(flags))
        self.kpis.flagged = sum(1 for f in self._flags.values() if f)
        if (entered or left or changed) and self._on_change is not None:
            self._on_change(UniverseChanged(entered, left, changed, self._clock.now_ms()))


def _venue_trouble(exc: BaseException) -> bool:
    """Failures the venue causes (logged without a traceback); anything else is a bug."""
    return isinstance(exc, VenueError | WireError | TimeoutError | OSError)
