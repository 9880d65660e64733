"""Whether a leader is worth copying, from its history: pure functions.

**Trades.** A leader's history is a list of fills; consecutive fills of one asset and side
within ``window_ms`` of the first are one trade, as the live aggregation sees them, so the
sample size and the trade-shape check count decisions, not price levels.

**Results.** Fills are replayed at average cost per asset. A sell closes shares at a profit
or a loss (a *closed trade*: the win rate, the payoff ratio and the loss streak come from
these); an equity curve (realised PnL plus open positions at their latest price: the last
fill price seen, and at the end the current price from ``/positions``) is sampled at each UTC
day end. Daily returns are the curve's daily changes over the leader's bankroll.

**The composite score**, in [-1, 1], weighs three signs of skill:

    score = 0.5 x tanh(sharpe / 2)                          # Sharpe of daily returns, annualised
          + 0.3 x (2 x win_rate - 1)                        # more wins than losses
          + 0.2 x (1 - 2 x min(1, max_drawdown / cutoff))   # drawdown against the cutoff

A missing part (no closed trade, a flat curve) counts 0. A leader is **eligible** with at
least ``min_trades`` trades, a score of at least ``min_score``, a current drawdown under
``max_drawdown`` and a loss streak under ``max_loss_streak`` (the per-leader cutoffs: both
recover as the leader does). ``reasons`` says what failed.

**Trade shape.** The ``shape_quantile`` (default 95th percentile) of the leader's buy sizes
in USDC is its usual largest trade; a copy of a larger one is sized as if it were that big,
or skipped (``shape_action``), because an outlier is as likely a mistake, a hedge or a
transfer as a conviction.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from polytui.core.sizer import Edge
from polytui.core.strategy import OrderSide
from polytui.strategies.copytrade.fills import LeaderFill
from polytui.strategies.copytrade.params import ScoreParams

ZERO = Decimal(0)
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Trade:
    """One leader decision: consecutive fills of one asset and side."""

    asset: str
    side: OrderSide
    shares: Decimal
    usdc: Decimal
    ts_ms: int


def group_trades(fills: Iterable[LeaderFill], window_ms: int) -> list[Trade]:
    """Fills (any order) as trades, oldest first."""
    trades: list[Trade] = []
    open_: dict[tuple[str, OrderSide], int] = {}  # (asset, side) -> index of its last trade
    for f in sorted(fills, key=lambda f: f.ts_ms):
        i = open_.get((f.asset, f.side))
        if i is not None and i == len(trades) - 1 and f.ts_ms - trades[i].ts_ms <= window_ms:
            t = trades[i]
            trades[i] = Trade(t.asset, t.side, t.shares + f.size, t.usdc + f.notional, t.ts_ms)
            continue
        open_[(f.asset, f.side)] = len(trades)
        trades.append(Trade(f.asset, f.side, f.size, f.notional, f.ts_ms))
    return trades


@dataclass(frozen=True)
class Replay:
    """What a leader's fills add up to."""

    closed: tuple[Decimal, ...]  # PnL of each closing sell, in order
    curve: tuple[Decimal, ...]  # equity (realised + unrealised) at each day end, then now
    invested_peak: Decimal  # the most USDC it had in positions at once (at cost)
    invested_now: Decimal


def replay(fills: Iterable[LeaderFill], marks: Mapping[str, Decimal], now_ms: int) -> Replay:
    fills = sorted(fills, key=lambda f: f.ts_ms)
    shares: dict[str, Decimal] = {}
    cost: dict[str, Decimal] = {}
    last: dict[str, Decimal] = {}
    realised = ZERO
    closed: list[Decimal] = []
    curve: list[Decimal] = []
    invested = peak = ZERO

    def equity(prices: Mapping[str, Decimal]) -> Decimal:
        open_value = sum((s * prices.get(a, last.get(a, ZERO)) for a, s in shares.items()), ZERO)
        return realised + open_value - sum(cost.values(), ZERO)

    day_end = ((fills[0].ts_ms // DAY_MS) + 1) * DAY_MS if fills else now_ms
    for f in fills:
        while f.ts_ms >= day_end and day_end <= now_ms:
            curve.append(equity({}))
            day_end += DAY_MS
        held, basis = shares.get(f.asset, ZERO), cost.get(f.asset, ZERO)
        if f.side is OrderSide.BUY:
            shares[f.asset], cost[f.asset] = held + f.size, basis + f.notional
            invested += f.notional
        elif held > ZERO:
            sold = min(f.size, held)
            part = basis * sold / held
            pnl = sold * f.price - part
            realised += pnl
            closed.append(pnl)
            shares[f.asset], cost[f.asset] = held - sold, basis - part
            invested -= part
        last[f.asset] = f.price
        peak = max(peak, invested)
    while day_end <= now_ms:
        curve.append(equity({}))
        day_end += DAY_MS
    curve.append(equity(marks))
    return Replay(tuple(closed), tuple(curve), peak, invested)


def estimate_cash(fills: Iterable[LeaderFill]) -> Decimal:
    """A lower bound of a leader's cash: USDC it once had in positions (at cost) and has
    since taken out. It had at least its peak investment; what is not invested now is cash,
    unless withdrawn. ``/value`` covers the positions."""
    r = replay(fills, {}, 0)
    return max(ZERO, r.invested_peak - r.invested_now)


@dataclass(frozen=True)
class LeaderScore:
    leader: str
    at_ms: int
    trades: int
    eligible: bool
    score: float | None  # None below the sample floor
    sharpe: float | None
    win_rate: float | None
    payoff: float | None  # average win / average loss
    max_drawdown: float  # of the bankroll, over the history
    drawdown: float  # now, from the peak
    loss_streak: int  # losing closed trades in a row, up to now
    shape_cap_usdc: Decimal | None  # the usual largest buy
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def edge(self) -> Edge | None:
        """For Kelly damping: the win rate and the payoff ratio, when both are known."""
        if self.win_rate is None or self.payoff is None:
            return None
        return Edge(Decimal(str(self.win_rate)), Decimal(str(self.payoff)))


def _sharpe(curve: Sequence[Decimal], bankroll: Decimal) -> float | None:
    returns = [float((b - a) / bankroll) for a, b in zip(curve, curve[1:], strict=False)]
    if len(returns) < 2:
        return None
    sd = statistics.stdev(returns)
    if sd == 0:
        return None
    return statistics.fmean(returns) / sd * math.sqrt(365)


def _drawdowns(curve: Sequence[Decimal], bankroll: Decimal) -> tuple[float, float]:
    peak, worst = curve[0], ZERO
    for point in curve:
        peak = max(peak, point)
        worst = max(worst, peak - point)
    return float(worst / bankroll), float((peak - curve[-1]) / bankroll)


def _loss_streak(closed: Sequence[Decimal]) -> int:
    n = 0
    for pnl in reversed(closed):
        if pnl >= ZERO:
            break
        n += 1
    return n


def shape_cap(trades: Sequence[Trade], quantile: float) -> Decimal | None:
    """The ``quantile`` of the buy sizes (USDC), interpolated; ``None`` with under 2 buys."""
    sizes = sorted(t.usdc for t in trades if t.side is OrderSide.BUY)
    if len(sizes) < 2:
        return None
    cuts = statistics.quantiles(sizes, n=1000, method="inclusive")
    return cuts[min(len(cuts) - 1, max(0, round(quantile * 1000) - 1))]


def score_leader(
    leader: str,
    fills: Sequence[LeaderFill],
    marks: Mapping[str, Decimal],
    bankroll: Decimal,
    now_ms: int,
    params: ScoreParams,
) -> LeaderScore:
    trades = group_trades(fills, params.window_ms)
    r = replay(fills, marks, now_ms)
    wins = [p for p in r.closed if p > ZERO]
    losses = [-p for p in r.closed if p < ZERO]
    decided = len(wins) + len(losses)
    win_rate = len(wins) / decided if decided else None
    payoff = float(statistics.fmean(wins) / statistics.fmean(losses)) if wins and losses else None
    base = bankroll if bankroll > ZERO else max(r.invested_peak, Decimal(1))
    sharpe = _sharpe(r.curve, base)
    max_dd, dd = _drawdowns(r.curve, base)
    streak = _loss_streak(r.closed)
    reasons: list[str] = []
    score = None
    if len(trades) < params.min_trades:
        reasons.append(f"{len(trades)} trades, under the {params.min_trades} needed to score")
    else:
        score = (
            0.5 * math.tanh((sharpe or 0.0) / 2)
            + 0.3 * ((2 * win_rate - 1) if win_rate is not None else 0.0)
            + 0.2 * (1 - 2 * min(1.0, max_dd / params.max_drawdown))
        )
        if score < params.min_score:
            reasons.append(f"score {score:.3f} under the {params.min_score} threshold")
    if dd >= params.max_drawdown:
        reasons.append(f"drawdown {dd:.1%} at or over the {params.max_drawdown:.0%} cutoff")
    if streak >= params.max_loss_streak:
        reasons.append(f"{streak} losing trades in a row (cutoff {params.max_loss_streak})")
    return LeaderScore(
        leader=leader,
        at_ms=now_ms,
        trades=len(trades),
        eligible=not reasons,
        score=score,
        sharpe=sharpe,
        win_rate=win_rate,
        payoff=payoff,
        max_drawdown=max_dd,
        drawdown=dd,
        loss_streak=streak,
        shape_cap_usdc=shape_cap(trades, params.shape_quantile),
        reasons=tuple(reasons),
    )
