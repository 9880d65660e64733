"""The copy path's pure stages: leader delta -> intent (strategy + sizer), intent -> verdict
(the risk gates + the venue fit), per call, p50 and p99.

    python bench/risk.py [--intents N] [--levels L] [--seed N]

Books are synthetic and deep (``--levels`` levels a side on the 0.01 and the 0.001 grid),
every gate has work to do (held positions in other markets, open buys, a rate window half
full, dynamic limits on with a mid history), and the deltas are random buys and sells of
one leader. No I/O: this is the CPU the engine spends between a leader delta and a signed
order, against the issue's budget of 1 ms p99 for the whole internal path.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui.core.book import Book, tick_units  # noqa: E402
from polytui.core.risk import (  # noqa: E402
    Approved,
    Holding,
    MarketState,
    RiskLimits,
    RiskState,
    evaluate,  # noqa: E402
)
from polytui.core.strategy import (  # noqa: E402
    BookRead,
    OrderSide,  # noqa: E402
    SnapshotContext,
)
from polytui.strategies.copytrade import (  # noqa: E402
    CopyParams,
    CopyTrader,
    LeaderDelta,
    LeaderFill,
    LeaderParams,
    LeaderScore,
    LeaderSnapshot,
)
from polytui.strategies.copytrade.fills import base_key  # noqa: E402

LEADER = "0x" + "1" * 40
NOW = 1_795_000_000_000


def book(tick: str, levels: int, rng: random.Random) -> Book:
    t = tick_units(tick)
    mid = 5000 // t * t
    levels = min(levels, mid // t - 1)
    bids = [(mid - t * (i + 1), D(rng.randint(50, 5000))) for i in range(levels)]
    asks = [(mid + t * i, D(rng.randint(50, 5000))) for i in range(levels)]
    return Book.of(t, bids, asks)


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--intents", type=int, default=20_000)
    ap.add_argument("--levels", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    assets = {f"{i:077d}": ("0.01" if i % 2 else "0.001") for i in range(1, 9)}
    books = {a: book(t, args.levels, rng) for a, t in assets.items()}
    markets = {f"0xm{a[-1]}": MarketState(end_ms=NOW + 86_400_000, tick=D(t), min_size=D(5))
               for a, t in assets.items()}  # fmt: skip
    cond_of = {a: f"0xm{a[-1]}" for a in assets}
    holdings = {a: Holding(cond_of[a], D(400), D(200)) for a in list(assets)[:4]}
    reads = {a: BookRead("LIVE", b) for a, b in books.items()}
    mids = {a: [(NOW - 1000 * i, D("0.5") + D(rng.randint(-5, 5)) / 1000) for i in range(60)]
            for a in assets}  # fmt: skip
    state = RiskState(
        now_ms=NOW, books=reads, markets=markets, holdings=holdings,
        open_buys_usdc={"0xm1": D(50)}, balance_usdc=D(100_000), allowance_usdc=D(100_000),
        leader_exposure={LEADER: D(300)}, recent_orders_ms=tuple(NOW - 2000 * i for i in range(15)),
        mids=mids,
    )  # fmt: skip
    limits = RiskLimits(dynamic_limits=True, thin_depth_usdc=D(500))
    ctx = SnapshotContext(NOW, books=reads, positions={a: D(400) for a in assets},
                          equity=D(10_000))  # fmt: skip
    trader = CopyTrader(CopyParams(leaders={LEADER: LeaderParams(LEADER, "bench")}))
    trader.on_input(ctx, LeaderSnapshot(LEADER, NOW, D(90_000), D(10_000), False, {}, {}))
    trader.on_input(ctx, LeaderScore(LEADER, NOW, 120, True, 0.4, 2.0, 0.6, 1.5, 0.1, 0.05, 0,
                                     D(5000)))  # fmt: skip

    deltas = []
    for n in range(args.intents):
        asset = rng.choice(list(assets))
        side = "BUY" if rng.random() < 0.7 else "SELL"
        size, price = D(rng.randint(100, 4000)), D(rng.randint(480, 520)) / 1000
        f = LeaderFill(base_key(f"0x{n:x}", asset, side, size, price), LEADER, cond_of[asset],
                       asset, OrderSide(side), size, price, NOW - 3000)  # fmt: skip
        before = D(5000)
        after = before + (size if side == "BUY" else -size)
        deltas.append(LeaderDelta(LEADER, cond_of[asset], asset, (f,), before, after, NOW))
        trader._copied[(LEADER, asset)] = D(400)

    strategy_us, risk_us, approved = [], [], 0
    for delta in deltas:
        t0 = time.perf_counter()
        intents = trader.on_input(ctx, delta)
        t1 = time.perf_counter()
        strategy_us.append((t1 - t0) * 1e6)
        for intent in intents:
            t2 = time.perf_counter()
            verdict = evaluate(intent, limits, state)
            risk_us.append((time.perf_counter() - t2) * 1e6)
            approved += isinstance(verdict, Approved)
            trader.on_verdict(verdict, NOW)

    print(f"{len(deltas)} deltas, {len(risk_us)} intents, {approved} approved, "
          f"{args.levels} levels a side")  # fmt: skip
    print(f"{'stage':<34}{'p50 us':>10}{'p99 us':>10}")
    for name, samples in (("strategy + sizer (on_input)", strategy_us),
                          ("risk gates + venue fit (evaluate)", risk_us)):  # fmt: skip
        p50, p99 = quantiles(samples)
        print(f"{name:<34}{p50:>10.1f}{p99:>10.1f}")
    total = [a + b for a, b in zip(strategy_us, risk_us, strict=False)]
    p50, p99 = quantiles(total)
    print(f"{'both':<34}{p50:>10.1f}{p99:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
