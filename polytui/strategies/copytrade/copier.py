"""The copy-trading strategy: leader deltas in, order intents out, and a record of every
leader trade saying whether it was copied, resized or skipped, and why.

    trader = CopyTrader(CopyParams.of(settings.copytrade, settings.risk), on_record=ledger_sink)
    intents = trader.on_input(ctx, item)        # each item the LeaderFeed gave its sink
    for intent in intents:
        verdict = risk.evaluate(intent, limits, state)
        trader.on_verdict(verdict, clock.now_ms())   # -> the "why not copied" record
        ...sign and post an approved one...
        trader.on_order_sent(intent.intent_id, sent_ms)   # latency KPI
    trader.on_fill(intent_id, shares)           # each fill of a copy (attribution per leader)

**Buys** (a leader opening or adding): only from an eligible, scored leader with a known
bankroll. The leader's USDC (cut to its usual largest trade by the trade-shape check, or the
copy skipped) is sized pro-rata to its bankroll (``core.sizer.size_buy``: x % of its bankroll
-> x % of ours, times the leader's ``scale``, Kelly-damped if set, clipped to the trade range,
at most a share of the depth within the slippage bound), as a BUY in USDC at the leader's
price plus ``price_offset``.

**Sells** (a leader reducing or exiting): the same share of what *copies of this leader*
bought and still hold (``on_fill`` keeps the count; never more than our position), so an
exit of the leader exits our copy; whatever the leader's score, since a copy must be able to
follow the leader out. A SELL in shares at the leader's price minus ``price_offset``.

Copies react to an event, so they carry a deadline (architecture §5): FAK by default, or GTD
with the shortest expiry the venue takes (now + 60 s + ``gtd_slack_ms``). An intent's id is
derived from the keys of the leader fills it copies, so a re-delivered delta gives the same id.

**KPIs** (:meth:`CopyTrader.kpis`), per leader: outcomes, latency from the leader's fill to
our order (p50/p99; the Data API says seconds, so it is good to a second), our copied
exposure, the target exposure (what copies would hold had every copy filled as sized), and
the copy drift between them in USDC.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polytui.core.book import UNIT
from polytui.core.histogram import Histogram
from polytui.core.risk import Approved, Gate, Verdict
from polytui.core.sizer import NotSized, reduce_fraction, size_buy, size_sell
from polytui.core.strategy import (
    OrderIntent,
    OrderSide,
    OrderType,
    SizeUnit,
    StrategyContext,
    intent_id,
)
from polytui.strategies.copytrade.aggregate import DeltaKind, LeaderDelta
from polytui.strategies.copytrade.feed import LeaderSnapshot
from polytui.strategies.copytrade.params import CopyParams, LeaderParams
from polytui.strategies.copytrade.scoring import LeaderScore

ZERO = Decimal(0)
ONE = Decimal(1)
GTD_FLOOR_MS = 60_000  # the venue refuses a GTD expiring sooner than now + 60 s
DEFAULT_TICK = Decimal("0.01")
IN_FLIGHT_LIMIT = 10_000  # intents kept for their verdict, copies for their fills
LATENCY_BOUNDS_MS = (250, 500, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 30_000, 60_000,
                     120_000, 300_000)  # fmt: skip

Numbers = Mapping[str, Decimal | int | str]


class Outcome(StrEnum):
    COPIED = "copied"
    RESIZED = "resized"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CopyRecord:
    """The fate of one leader delta (one or more leader fills, ``keys``).

    ``gate`` is the risk gate that rejected or cut the copy, or the copier's own step:
    ``net_zero``, ``leader_score``, ``bankroll``, ``trade_shape``, ``sizer``,
    ``nothing_held``; empty for a copy that went out as sized."""

    leader: str
    keys: tuple[str, ...]
    condition_id: str
    asset: str
    kind: DeltaKind
    leader_side: OrderSide
    leader_shares: Decimal
    leader_price: Decimal
    outcome: Outcome
    gate: str
    reason: str
    numbers: Numbers
    at_ms: int
    intent_id: str | None = None
    shares: Decimal | None = None  # what went out, for a copy


@dataclass(slots=True)
class _Copy:
    delta: LeaderDelta
    intent: OrderIntent
    steps: tuple[str, ...]
    changed: bool  # a step beyond plain pro-rata changed the size


@dataclass
class _LeaderStats:
    outcomes: Counter[str] = field(default_factory=Counter)
    gates: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BOUNDS_MS))


class CopyTrader:
    """A :class:`~polytui.core.strategy.Strategy` that copies leaders' deltas."""

    def __init__(
        self,
        params: CopyParams,
        on_record: Callable[[CopyRecord], object] | None = None,
        keep: int = 1000,
    ) -> None:
        self.params = params
        self.name = params.strategy
        self.on_record = on_record
        self.scores: dict[str, LeaderScore] = {}
        self.snapshots: dict[str, LeaderSnapshot] = {}
        self._records: deque[CopyRecord] = deque(maxlen=keep)
        self._by_key: dict[str, CopyRecord] = {}
        self._pending: dict[str, _Copy] = {}  # intents waiting for their verdict
        self._live: dict[str, _Copy] = {}  # approved copies: fills and latency
        self._copied: dict[tuple[str, str], Decimal] = {}  # (leader, asset) -> shares held
        self._target: dict[tuple[str, str], Decimal] = {}
        self._last_price: dict[str, Decimal] = {}
        self._stats: dict[str, _LeaderStats] = {}

    # ---- the Strategy protocol --------------------------------------------------------------

    def on_input(self, ctx: StrategyContext, item: object) -> list[OrderIntent]:
        if isinstance(item, LeaderDelta):
            return self._copy(ctx, item)
        if isinstance(item, LeaderSnapshot):
            self.snapshots[item.leader] = item
        elif isinstance(item, LeaderScore):
            self.scores[item.leader] = item
        return []

    def on_book(self, ctx: StrategyContext, asset: str) -> list[OrderIntent]:
        return []

    def on_timer(self, ctx: StrategyContext) -> list[OrderIntent]:
        return []

    # ---- what the engine reports back -------------------------------------------------------

    def on_verdict(self, verdict: Verdict, at_ms: int) -> CopyRecord | None:
        """The risk engine's answer for one of our intents: the record of its leader trades."""
        copy = self._pending.pop(verdict.intent_id, None)
        if copy is None:
            return None
        delta = copy.delta
        if isinstance(verdict, Approved):
            cuts = [r for r in verdict.resized if r.gate is not Gate.VENUE_RULES]
            changed = copy.changed or bool(cuts)
            reasons = [copy.intent.reason, *(f"{r.gate}: {r.reason}" for r in cuts)]
            gate = cuts[0].gate.value if cuts else ("sizer" if copy.changed else "")
            numbers = {
                **(cuts[0].numbers if cuts else {}),
                "shares": verdict.shares,
                "price": verdict.price,
                "usdc": verdict.notional,
            }
            _put(self._live, verdict.intent_id, copy)
            return self._record(
                delta,
                Outcome.RESIZED if changed else Outcome.COPIED,
                gate,
                "; ".join(reasons),
                numbers,
                at_ms,
                verdict.intent_id,
                verdict.shares,
            )
        return self._record(
            delta,
            Outcome.SKIPPED,
            verdict.gate.value,
            verdict.reason,
            verdict.numbers,
            at_ms,
            verdict.intent_id,
        )

    def on_order_sent(self, intent_id: str, sent_ms: int) -> None:
        copy = self._live.get(intent_id)
        if copy is not None:
            stats = self._stats_of(copy.delta.leader)
            stats.latency.add(max(0, sent_ms - copy.delta.last_ms))

    def on_fill(self, intent_id: str, shares: Decimal) -> None:
        """``shares`` of one of our copies filled: they count as held by copies of its
        leader (a sell's take them away)."""
        copy = self._live.get(intent_id)
        if copy is None:
            return
        key = (copy.delta.leader, copy.delta.asset)
        signed = shares if copy.intent.side is OrderSide.BUY else -shares
        self._copied[key] = max(ZERO, self._copied.get(key, ZERO) + signed)

    def on_done(self, intent_id: str) -> None:
        """The copy's order is final (filled, cancelled, expired): forget it."""
        self._live.pop(intent_id, None)

    # ---- reads ------------------------------------------------------------------------------

    def records(self, leader: str | None = None) -> list[CopyRecord]:
        """The latest records, oldest first (``leader``: of that leader only)."""
        if leader is None:
            return list(self._records)
        return [r for r in self._records if r.leader == leader.lower()]

    def outcome(self, key: str) -> CopyRecord | None:
        """The record of the leader fill with this key."""
        return self._by_key.get(key)

    def copied_shares(self, leader: str, asset: str) -> Decimal:
        return self._copied.get((leader.lower(), asset), ZERO)

    def leader_exposure(self, ctx: StrategyContext) -> dict[str, Decimal]:
        """USDC held by copies of each leader, at the mark: for ``RiskState.leader_exposure``."""
        out: dict[str, Decimal] = {}
        for (leader, asset), shares in self._copied.items():
            out[leader] = out.get(leader, ZERO) + shares * self._mark(ctx, asset)
        return out

    def kpis(self, ctx: StrategyContext) -> dict[str, dict]:
        out: dict[str, dict] = {}
        leaders = {k[0] for k in (*self._copied, *self._target)} | set(self._stats)
        for leader in sorted(leaders):
            ours = target = drift = ZERO
            for asset in {a for (who, a) in (*self._copied, *self._target) if who == leader}:
                mark = self._mark(ctx, asset)
                held = self._copied.get((leader, asset), ZERO) * mark
                want = self._target.get((leader, asset), ZERO) * mark
                ours, target, drift = ours + held, target + want, drift + abs(held - want)
            stats = self._stats_of(leader)
            out[leader] = {
                "outcomes": dict(stats.outcomes),
                "skipped_by": dict(stats.gates),
                "exposure_usdc": ours,
                "target_usdc": target,
                "copy_drift_usdc": drift,
                "latency_ms": stats.latency.as_dict(),  # leader fill -> our order
            }
        return out

    # ---- copying ----------------------------------------------------------------------------

    def _copy(self, ctx: StrategyContext, delta: LeaderDelta) -> list[OrderIntent]:
        now = ctx.now_ms()
        self._last_price[delta.asset] = delta.price
        leader = self.params.leaders.get(delta.leader) or LeaderParams(delta.leader)
        if delta.kind is DeltaKind.FLAT:
            bought = sum((f.size for f in delta.fills if f.side is OrderSide.BUY), ZERO)
            self._skip(
                delta,
                "net_zero",
                f"the leader's {len(delta.fills)} fills cancel out within the window",
                {"bought": bought, "sold": bought - delta.net},
                now,
            )
            return []
        if delta.side is OrderSide.BUY:
            return self._buy(ctx, delta, leader, now)
        return self._sell(ctx, delta, leader, now)

    def _buy(
        self, ctx: StrategyContext, delta: LeaderDelta, leader: LeaderParams, now: int
    ) -> list[OrderIntent]:
        score = self.scores.get(delta.leader)
        if score is None:
            return self._skip(delta, "leader_score", "the leader is not scored yet", {}, now)
        if not score.eligible:
            numbers = {"trades": score.trades, "loss_streak": score.loss_streak}
            if score.score is not None:
                numbers["score"] = f"{score.score:.3f}"
            numbers["drawdown"] = f"{score.drawdown:.3f}"
            return self._skip(delta, "leader_score", "; ".join(score.reasons), numbers, now)
        snapshot = self.snapshots.get(delta.leader)
        if snapshot is None or snapshot.bankroll <= ZERO:
            return self._skip(delta, "bankroll", "the leader's bankroll is not known", {}, now)
        leader_usdc, steps = delta.notional, []
        cap = score.shape_cap_usdc
        if cap is not None and leader_usdc > cap:
            numbers = {"leader_usdc": leader_usdc, "usual_max_usdc": cap}
            why = f"{leader_usdc:.2f} USDC is beyond the leader's usual largest trade {cap:.2f}"
            if self.params.shape_action == "skip":
                return self._skip(delta, "trade_shape", why, numbers, now)
            steps.append(f"{why}: sized as {cap:.2f}")
            leader_usdc = cap
        read = ctx.book(delta.asset)
        sizer = self.params.sizer
        sized = size_buy(
            sizer,
            leader_usdc=leader_usdc,
            leader_bankroll=snapshot.bankroll,
            our_bankroll=self._bankroll(ctx),
            book=read.book,
            reference=delta.price,
            scale=leader.scale,
            edge=score.edge if sizer.kelly_fraction is not None else None,
        )
        if isinstance(sized, NotSized):
            return self._skip(delta, "sizer", sized.reason, sized.numbers, now)
        tick = _tick(read.book)
        limit = min(delta.price + self.params.price_offset, ONE - tick)
        steps = [*steps, *sized.steps]
        intent = self._intent(delta, leader, OrderSide.BUY, sized.amount, SizeUnit.USDC, limit,
                              steps, now)  # fmt: skip
        key = (delta.leader, delta.asset)
        self._target[key] = self._target.get(key, ZERO) + sized.amount / limit
        _put(self._pending, intent.intent_id, _Copy(delta, intent, tuple(steps), len(steps) > 1))
        return [intent]

    def _sell(
        self, ctx: StrategyContext, delta: LeaderDelta, leader: LeaderParams, now: int
    ) -> list[OrderIntent]:
        key = (delta.leader, delta.asset)
        fraction = reduce_fraction(delta.before, delta.after)
        if key in self._target:
            self._target[key] *= ONE - fraction
        held = min(self._copied.get(key, ZERO), ctx.position(delta.asset))
        numbers = {"copied": self._copied.get(key, ZERO), "fraction": fraction}
        if held <= ZERO:
            why = "copies of this leader hold no shares of the asset to sell"
            return self._skip(delta, "nothing_held", why, numbers, now)
        read = ctx.book(delta.asset)
        sized = size_sell(
            self.params.sizer, held=held, fraction=fraction, book=read.book, reference=delta.price
        )
        if isinstance(sized, NotSized):
            return self._skip(delta, "sizer", sized.reason, {**numbers, **sized.numbers}, now)
        tick = _tick(read.book)
        limit = max(delta.price - self.params.price_offset, tick)
        intent = self._intent(delta, leader, OrderSide.SELL, sized.amount, SizeUnit.SHARES, limit,
                              list(sized.steps), now)  # fmt: skip
        _put(
            self._pending, intent.intent_id, _Copy(delta, intent, sized.steps, len(sized.steps) > 1)
        )
        return [intent]

    def _intent(
        self,
        delta: LeaderDelta,
        leader: LeaderParams,
        side: OrderSide,
        size: Decimal,
        unit: SizeUnit,
        limit: Decimal,
        steps: list[str],
        now: int,
    ) -> OrderIntent:
        order_type = self.params.order_type
        expires = (
            now + GTD_FLOOR_MS + self.params.gtd_slack_ms if order_type is OrderType.GTD else None
        )
        what = f"{delta.side} {abs(delta.net)} @ {delta.price:.4f} ({delta.notional:.2f} USDC)"
        reason = f"copy {leader.label} {delta.kind}: leader {what}; " + "; ".join(steps)
        return OrderIntent(
            intent_id=intent_id(self.name, *delta.keys),
            strategy=self.name,
            condition_id=delta.condition_id,
            asset=delta.asset,
            side=side,
            size=size,
            unit=unit,
            limit_price=limit,
            order_type=order_type,
            reference_price=delta.price,
            reason=reason,
            created_ms=now,
            signal_ms=delta.last_ms,
            leader=delta.leader,
            reduce_only=side is OrderSide.SELL,
            expires_ms=expires,
            cause=delta.keys,
        )

    # ---- helpers ------------------------------------------------------------------------------

    def _skip(
        self, delta: LeaderDelta, gate: str, reason: str, numbers: Numbers, now: int
    ) -> list[OrderIntent]:
        self._record(delta, Outcome.SKIPPED, gate, reason, numbers, now)
        return []

    def _record(
        self,
        delta: LeaderDelta,
        outcome: Outcome,
        gate: str,
        reason: str,
        numbers: Numbers,
        at_ms: int,
        intent: str | None = None,
        shares: Decimal | None = None,
    ) -> CopyRecord:
        record = CopyRecord(
            delta.leader,
            delta.keys,
            delta.condition_id,
            delta.asset,
            delta.kind,
            delta.side,
            abs(delta.net),
            delta.price,
            outcome,
            gate,
            reason,
            dict(numbers),
            at_ms,
            intent,
            shares,
        )
        if len(self._records) == self._records.maxlen:
            for key in self._records[0].keys:
                self._by_key.pop(key, None)
        self._records.append(record)
        for key in record.keys:
            self._by_key[key] = record
        stats = self._stats_of(delta.leader)
        stats.outcomes[outcome.value] += 1
        if outcome is Outcome.SKIPPED:
            stats.gates[gate] += 1
        if self.on_record is not None:
            self.on_record(record)
        return record

    def _stats_of(self, leader: str) -> _LeaderStats:
        stats = self._stats.get(leader)
        if stats is None:
            stats = self._stats[leader] = _LeaderStats()
        return stats

    def _bankroll(self, ctx: StrategyContext) -> Decimal:
        return (
            self.params.bankroll_usdc if self.params.bankroll_usdc is not None else ctx.bankroll()
        )

    def _mark(self, ctx: StrategyContext, asset: str) -> Decimal:
        book = ctx.book(asset).book
        if book is not None and book.best_bid is not None and book.best_ask is not None:
            return (book.best_bid.price + book.best_ask.price) / 2
        return self._last_price.get(asset, ZERO)


def _tick(book) -> Decimal:
    return Decimal(book.tick) / UNIT if book is not None else DEFAULT_TICK


def _put(table: dict[str, _Copy], key: str, copy: _Copy) -> None:
    """Insert, dropping the oldest entry beyond ``IN_FLIGHT_LIMIT`` (an engine that never
    reports back must not grow memory without end)."""
    table[key] = copy
    if len(table) > IN_FLIGHT_LIMIT:
        del table[next(iter(table))]
