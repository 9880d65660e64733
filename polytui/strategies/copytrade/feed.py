"""The leader feed: polls each leader's fills, dedupes them, rebuilds its positions, gathers
its fills into deltas, re-syncs against ``/positions`` and scores it on a schedule.

    feed = LeaderFeed(DataApiSource(data_api_client, clock), params.leaders.values(),
                      params.feed, clock, sink=queue.put_nowait)
    task = asyncio.create_task(feed.run())      # prime, then the schedule below
    # the strategy runner drains the queue into CopyTrader.on_input(ctx, item)

Everything it learns goes to ``sink`` as it happens, in this order for one leader:

- a :class:`LeaderSnapshot` after priming and each re-sync (positions, ``/value``, the cash
  component, the bankroll, and the drift between rebuilt and reported positions);
- a :class:`~polytui.strategies.copytrade.scoring.LeaderScore` after priming and every
  ``score_ms``;
- a :class:`~polytui.strategies.copytrade.aggregate.LeaderDelta` as each window closes.

**Priming** reads a leader's history (``history_ms``; for scoring and the cash estimate,
never copied), its positions and value; the watermark starts past the history. A leader that
cannot be primed (the venue fails) is retried at the next poll; it is not polled before.

**Schedule** (on the injected clock): every ``poll_ms`` a poll of every leader, at once;
windows close as they fall due (the loop wakes for them between polls); every ``resync_ms``
positions and value; every ``score_ms`` a rescore. A failure of one leader's read is
counted, logged and retried on the next turn: it stops neither the others nor the loop.

**Re-sync.** The rebuilt position of an asset that differs from ``/positions`` is reported
as drift; when the same asset still differs at the next re-sync (not a fill in flight
between two indexers) the rebuilt position takes the reported one.

**KPIs** (:meth:`LeaderFeed.kpis`): fills seen, duplicates and late fills dropped, polls and
errors, the indexing lag (a fill's time to when we saw it) p50/p99, and the drift.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from polytui.core.clock import Clock
from polytui.core.histogram import Histogram
from polytui.strategies.copytrade.aggregate import Aggregator, LeaderBook, LeaderDelta
from polytui.strategies.copytrade.fills import LeaderFill
from polytui.strategies.copytrade.params import FeedParams, LeaderParams
from polytui.strategies.copytrade.scoring import LeaderScore, estimate_cash, score_leader
from polytui.strategies.copytrade.source import FillSource, LeaderHolding
from polytui.strategies.copytrade.watermark import Watermark

log = logging.getLogger("polytui.strategies.copytrade.feed")
ZERO = Decimal(0)
DRIFT_DUST = Decimal("0.01")
LAG_BOUNDS_MS = (250, 500, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000,
                 300_000)  # fmt: skip


@dataclass(frozen=True)
class LeaderSnapshot:
    leader: str
    at_ms: int
    value: Decimal  # /value: its positions at current prices
    cash: Decimal  # configured, or estimated from its history
    cash_estimated: bool
    positions: Mapping[str, Decimal]  # the rebuilt positions after this re-sync
    drift: Mapping[str, tuple[Decimal, Decimal]]  # asset -> (rebuilt, reported)

    @property
    def bankroll(self) -> Decimal:
        return self.value + self.cash


FeedItem = LeaderDelta | LeaderSnapshot | LeaderScore


@dataclass
class _Leader:
    params: LeaderParams
    watermark: Watermark
    book: LeaderBook = field(default_factory=LeaderBook)
    history: deque[LeaderFill] = field(default_factory=deque)
    primed: bool = False
    value: Decimal = ZERO
    marks: dict[str, Decimal] = field(default_factory=dict)
    suspect: set[str] = field(default_factory=set)  # assets that drifted at the last re-sync
    drift: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    lag: Histogram = field(default_factory=lambda: Histogram(LAG_BOUNDS_MS))
    fills: int = 0
    polls: int = 0
    errors: int = 0
    last_error: str = ""
    score: LeaderScore | None = None


class LeaderFeed:
    def __init__(
        self,
        source: FillSource,
        leaders: Iterable[LeaderParams],
        params: FeedParams,
        clock: Clock,
        sink: Callable[[FeedItem], object],
    ) -> None:
        self.source = source
        self.params = params
        self.clock = clock
        self.sink = sink
        self.leaders = {
            p.address.lower(): _Leader(p, Watermark(params.lookback_ms)) for p in leaders
        }
        self.aggregator = Aggregator(params.window_ms)

    # ---- one turn of each job (public: tests and the bench drive them) ------------------------

    async def prime(self) -> None:
        """Prime every leader not primed yet."""
        await asyncio.gather(*(self._prime(s) for s in self.leaders.values() if not s.primed))

    async def poll(self) -> list[LeaderDelta]:
        """Read every primed leader's new fills once (priming the others), then close the
        windows that are due. The closed deltas are also given to the sink."""
        before = self.clock.now_ms()
        answered = await asyncio.gather(*(self._poll(s) for s in self.leaders.values()))
        # As of the last answer, not of whenever this task resumes after the gather: other
        # tasks' inputs may come in between, and a recorded session's replay must close the
        # same windows.
        return self.close_due(max(answered, default=before))

    def close_due(self, now_ms: int | None = None) -> list[LeaderDelta]:
        books = {a: s.book for a, s in self.leaders.items()}
        deltas = self.aggregator.due(self.clock.now_ms() if now_ms is None else now_ms, books)
        for delta in deltas:
            self.sink(delta)
        return deltas

    async def resync(self) -> None:
        await asyncio.gather(*(self._resync(s) for s in self.leaders.values() if s.primed))

    def rescore(self) -> None:
        now = self.clock.now_ms()
        for s in self.leaders.values():
            if s.primed:
                self._score(s, now)

    async def run(self) -> None:
        """Prime, then poll, close windows, re-sync and rescore on the schedule, until
        cancelled."""
        await self.prime()
        p = self.params
        now = self.clock.monotonic()
        next_poll = now + p.poll_ms / 1000
        next_resync = now + p.resync_ms / 1000
        next_score = now + p.score_ms / 1000
        now_ms = self.clock.now_ms()
        while True:
            # Waits are measured from the instant this loop last woke (or polled), never
            # from a clock read after an await that other tasks' inputs may have moved.
            due_ms = self.aggregator.next_due_ms()
            wait = next_poll - now
            if due_ms is not None:
                wait = min(wait, (due_ms - now_ms) / 1000)
            if wait > 0:
                await self.clock.sleep(wait)
                now, now_ms = self.clock.monotonic(), self.clock.now_ms()
            if now >= next_poll:
                next_poll = max(next_poll + p.poll_ms / 1000, now)
                await self.poll()
            else:
                self.close_due(now_ms)
            if now >= next_resync:
                next_resync = max(next_resync + p.resync_ms / 1000, now)
                await self.resync()
            if now >= next_score:
                next_score = max(next_score + p.score_ms / 1000, now)
                self.rescore()

    # ---- per leader -------------------------------------------------------------------------

    async def _prime(self, s: _Leader) -> None:
        address = s.params.address
        try:
            now = self.clock.now_ms()
            history = await self.source.fills(address, now - self.params.history_ms)
            holdings = await self.source.holdings(address)
            value = await self.source.value(address)
        except Exception as exc:  # noqa: BLE001 - any venue failure: try again next turn
            self._failed(s, "prime", exc)
            return
        s.watermark.mark(history)
        s.watermark.begin(now)
        s.history.extend(history)
        s.book = LeaderBook({h.asset: h.shares for h in holdings})
        for h in holdings:
            s.book.markets[h.asset] = h.condition_id
        self._marks(s, holdings)
        s.value = value
        s.primed = True
        self.sink(self._snapshot(s, now, {}))
        self._score(s, now)

    async def _poll(self, s: _Leader) -> int:
        """Poll one leader; the instant of its answer (or of the failure)."""
        if not s.primed:
            await self._prime(s)
            return self.clock.now_ms()
        try:
            got = await self.source.fills(s.params.address, s.watermark.since_ms())
        except Exception as exc:  # noqa: BLE001
            self._failed(s, "poll", exc)
            return self.clock.now_ms()
        s.polls += 1
        now = self.clock.now_ms()
        for fill in s.watermark.admit(got):
            s.fills += 1
            s.lag.add(max(0, fill.seen_ms - fill.ts_ms))
            s.history.append(fill)
            before = s.book.apply(fill)
            self.aggregator.add(fill, before, now)
        self._trim(s, now)
        return now

    async def _resync(self, s: _Leader) -> None:
        try:
            holdings = await self.source.holdings(s.params.address)
            value = await self.source.value(s.params.address)
        except Exception as exc:  # noqa: BLE001
            self._failed(s, "resync", exc)
            return
        reported = {h.asset: h.shares for h in holdings}
        drift: dict[str, tuple[Decimal, Decimal]] = {}
        for asset in set(reported) | set(s.book.shares):
            rebuilt, venue = s.book.get(asset), reported.get(asset, ZERO)
            if abs(rebuilt - venue) >= DRIFT_DUST:
                drift[asset] = (rebuilt, venue)
        for asset in set(drift) & s.suspect:  # drifted twice in a row: the venue is right
            s.book.rebase(asset, reported.get(asset, ZERO))
        for h in holdings:
            s.book.markets[h.asset] = h.condition_id
        s.suspect = set(drift)
        s.drift = drift
        s.value = value
        self._marks(s, holdings)
        self.sink(self._snapshot(s, self.clock.now_ms(), drift))

    def _score(self, s: _Leader, now: int) -> None:
        snapshot = self._snapshot(s, now, s.drift)
        s.score = score_leader(
            s.params.address, list(s.history), s.marks, snapshot.bankroll, now, self.params.score
        )
        self.sink(s.score)

    # ---- helpers ------------------------------------------------------------------------------

    def _snapshot(
        self, s: _Leader, now: int, drift: Mapping[str, tuple[Decimal, Decimal]]
    ) -> LeaderSnapshot:
        configured = s.params.cash_usdc
        cash = configured if configured is not None else estimate_cash(s.history)
        return LeaderSnapshot(
            s.params.address,
            now,
            s.value,
            cash,
            configured is None,
            dict(s.book.shares),
            dict(drift),
        )

    @staticmethod
    def _marks(s: _Leader, holdings: Iterable[LeaderHolding]) -> None:
        s.marks.update({h.asset: h.price for h in holdings if h.price is not None})

    def _trim(self, s: _Leader, now: int) -> None:
        floor = now - self.params.history_ms
        while s.history and s.history[0].ts_ms < floor:
            s.history.popleft()

    def _failed(self, s: _Leader, what: str, exc: Exception) -> None:
        s.errors += 1
        s.last_error = f"{what}: {type(exc).__name__}: {exc}"
        log.warning("leader %s %s failed: %s", s.params.label, what, exc)

    def positions(self, leader: str) -> Mapping[str, Decimal]:
        return dict(self.leaders[leader.lower()].book.shares)

    def kpis(self) -> dict[str, dict]:
        out = {}
        for address, s in self.leaders.items():
            out[address] = {
                "name": s.params.label,
                "primed": s.primed,
                "fills": s.fills,
                "duplicates": s.watermark.duplicates,
                "late": s.watermark.late,
                "polls": s.polls,
                "errors": s.errors,
                "last_error": s.last_error,
                "index_lag_ms": s.lag.as_dict(),  # a fill's time -> when we saw it
                "drift": {a: {"rebuilt": r, "reported": v} for a, (r, v) in s.drift.items()},
                "open_windows": self.aggregator.open_for(address),
            }
        return out
