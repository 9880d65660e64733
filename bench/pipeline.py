"""The order pipeline's internal latency, per stage, from what the venue sent to the signed
order handed to the HTTP client: p50 and p99, against the issue's budget (total p99 < 1 ms,
without the network and the durable write, which is reported on its own).

    python bench/pipeline.py [--samples N] [--markets N] [--seed N]

1. Records, from an in-process simulator on loopback (held clock): the market channel's
   frames for every token (book dump, then ``price_change`` frames while the clock moves) and
   the leaders' Data API ``/activity`` rows.
2. **Market path**, per ``price_change`` frame: *decode* (``decode_market_frame``), *mirror*
   (``Mirror.process``: state machine, checks, KPIs), *strategy* (a strategy that buys the
   touch of the book that moved, through the engine's view: LIVE books only), *gates* (the
   engine's ``RiskEngine.evaluate``: state assembled from the mirror and the ledger, every
   gate, the sizer's venue fit), *sign* (as the order tracker does: exact amounts, EIP-712
   digest, secp256k1 signature, the ``POST /order`` body serialised to the bytes httpx sends).
3. **Leader path**, per leader fill: *decode* (one ``/activity`` row, typed), *strategy +
   sizer* (the copy-trader's ``on_input`` on the fill's delta: pro-rata, shape and depth
   checks, intent), then the same *gates* and *sign*.
4. *persist*: the durable write the tracker makes before posting (intent and signed order in
   one fsynced SQLite transaction, ``Store.append_many``), measured apart.

Every stage runs the engine's own code on realistic input; only the network is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui.core import ledger_events as ev  # noqa: E402
from polytui.core.clock import FakeClock  # noqa: E402
from polytui.core.market_flags import Flag  # noqa: E402
from polytui.core.risk import Approved, RiskLimits  # noqa: E402
from polytui.core.strategy import OrderIntent, OrderSide, OrderType, SizeUnit, intent_id  # noqa: E402
from polytui.engine.context import EngineView  # noqa: E402
from polytui.engine.mirror import Mirror  # noqa: E402
from polytui.engine.risk_engine import RiskEngine  # noqa: E402
from polytui.protocol.amounts import Side, limit_order_amounts  # noqa: E402
from polytui.protocol.signing import Exchange, OrderSigner, intent_metadata, official_salt  # noqa: E402
from polytui.protocol.wire.codec import decode  # noqa: E402
from polytui.protocol.wire.data_api import Activity  # noqa: E402
from polytui.protocol.wire.market_ws import PriceChange, decode_market_frame  # noqa: E402
from polytui.store.store import Store  # noqa: E402
from polytui.strategies.copytrade import (  # noqa: E402
    CopyParams,
    CopyTrader,
    LeaderParams,
    LeaderScore,
    LeaderSnapshot,
)
from polytui.strategies.copytrade.aggregate import LeaderBook, LeaderDelta  # noqa: E402
from polytui.strategies.copytrade.fills import fills_from_activity  # noqa: E402
from polytui.venue.ws import Frame  # noqa: E402

BUDGET_US = 1000.0
KEY = "0x" + "11" * 32
OWNER = "00000000-1111-2222-3333-444444444444"


async def record(markets: int, frames: int, seed: int):
    import httpx
    from websockets.asyncio.client import connect

    from polytui.sim.server import Simulator

    sim = Simulator(
        seed=seed,
        markets=markets,
        rate=200,
        start_ms=1_795_000_000_000,
        time_scale=0,
        leader_activity=200,
        data_lag_ms=0,
    )
    endpoints = await sim.start()
    out: list[tuple[int, bytes]] = []
    try:
        async with httpx.AsyncClient() as http:
            await http.post(endpoints["admin"] + "/clock", json={"advance_ms": 20_000})
            tracked = {
                m.condition_id: list(m.tokens)
                for m in sim.exchange.markets.values()
                if not m.closed
            }
            tokens = [t for ts in tracked.values() for t in ts]
            async with connect(endpoints["ws"] + "/market", max_size=None) as ws:
                await ws.send(
                    json.dumps(
                        {
                            "type": "market",
                            "assets_ids": tokens,
                            "initial_dump": True,
                            "custom_feature_enabled": True,
                        }
                    )
                )
                changes = 0
                while changes < frames:
                    await http.post(endpoints["admin"] + "/clock", json={"advance_ms": 200})
                    await ws.send("PING")
                    while (raw := await ws.recv()) != "PONG":
                        data = raw.encode() if isinstance(raw, str) else raw
                        out.append((sim.clock.now_ms(), data))
                        changes += b'"price_change"' in data
            leaders = (await http.get(endpoints["admin"] + "/leaders")).json()
            rows: list[bytes] = []
            for leader in leaders:
                page = (
                    await http.get(
                        endpoints["data"] + "/activity",
                        params={"user": leader["address"], "limit": 500},
                    )
                ).json()
                rows += [json.dumps([row]).encode() for row in page if row.get("type") == "TRADE"]
            now = sim.clock.now_ms()
    finally:
        await sim.stop()
    return out, tracked, rows, now


class Touch:
    """The market path's strategy: buy 10 USDC at the touch of the book that just moved."""

    name = "touch"

    def __init__(self, markets: dict[str, str]) -> None:
        self.market_of = markets
        self.n = 0

    def on_book(self, ctx, asset: str) -> list[OrderIntent]:
        read = ctx.book(asset)
        if not read.live or read.book.best_ask_units is None:
            return []
        ask = D(read.book.best_ask_units) / 10_000
        if not D("0.02") < ask < D("0.98"):
            return []
        self.n += 1
        now = ctx.now_ms()
        return [
            OrderIntent(
                intent_id=intent_id(self.name, str(self.n)),
                strategy=self.name,
                condition_id=self.market_of[asset],
                asset=asset,
                side=OrderSide.BUY,
                size=D(10),
                unit=SizeUnit.USDC,
                limit_price=ask,
                order_type=OrderType.FAK,
                reference_price=ask,
                reason="bench touch",
                created_ms=now,
                signal_ms=now,
            )
        ]


class Flags:
    markets: dict = {}

    def flags(self, cid: str) -> set[Flag]:
        return set()


def sign(signer: OrderSigner, approved: Approved, tick: D, rng: random.Random, now: int) -> bytes:
    """What the order tracker does between an approved intent and the HTTP client."""
    i = approved.intent
    side = Side[i.side.value]
    order = signer.sign(
        token_id=i.asset,
        side=side,
        amounts=limit_order_amounts(approved.price, approved.shares, side, tick),
        salt=official_salt(now, rng.random),
        timestamp_ms=now,
        exchange=Exchange.CTF,
        metadata=intent_metadata(i.intent_id),
    )
    body = order.post_body(OWNER, i.order_type.value)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


def report(title: str, stages: dict[str, list[float]]) -> float:
    print(f"\n{title}")
    print(f"  {'stage':<30}{'p50 us':>10}{'p99 us':>10}{'n':>8}")
    for name, samples in stages.items():
        if samples:
            p50, p99 = quantiles(samples)
            print(f"  {name:<30}{p50:>10.1f}{p99:>10.1f}{len(samples):>8}")
    total = stages["total"]
    return quantiles(total)[1] if total else float("nan")


async def market_path(frames, view, mirror, risk, signer, rng, store, clock):
    """Per price_change frame: decode, mirror, strategy, gates, sign; and the durable write."""
    perf = time.perf_counter_ns
    touch = Touch({t: cid for cid, ts in mirror.markets.items() for t in ts})
    names = ("decode", "mirror", "strategy", "gates", "sign", "total")
    stages: dict[str, list[float]] = {k: [] for k in names}
    persist: list[float] = []
    for recv_ms, raw in frames:
        clock._now_ms = recv_ms  # the frame's receive time
        t0 = perf()
        events = tuple(decode_market_frame(raw))
        t1 = perf()
        mirror.process(Frame("market-1", recv_ms, events))
        t2 = perf()
        changes = [e for e in events if type(e) is PriceChange]
        if not changes:
            continue
        intents = touch.on_book(view, changes[0].price_changes[0].asset_id)
        t3 = perf()
        if not intents:
            continue
        verdict = risk.evaluate(intents[0])
        t4 = perf()
        risk._sent.clear()  # each order as if alone in its rate window (30 a minute at most)
        if not isinstance(verdict, Approved):
            continue
        tick = view.market(verdict.intent.condition_id, verdict.intent.asset).tick
        sign(signer, verdict, tick, rng, recv_ms)
        t5 = perf()
        for name, a, b in zip(
            names, (t0, t1, t2, t3, t4, t0), (t1, t2, t3, t4, t5, t5), strict=True
        ):
            stages[name].append((b - a) / 1000)
        if len(persist) < 300:
            t6 = perf()
            await store.append_many(ledger_events(verdict, len(persist)))
            persist.append((perf() - t6) / 1000)
    return stages, persist


def ledger_events(verdict: Approved, n: int) -> list:
    """The intent and its signed order, as the tracker writes them before the POST."""
    i = verdict.intent
    return [
        ev.IntentRecorded(
            intent_id=i.intent_id,
            strategy=i.strategy,
            market=i.condition_id,
            asset_id=i.asset,
            side=i.side.value,
            price=verdict.price,
            size=verdict.shares,
            order_type=i.order_type.value,
            reason=i.reason,
        ),
        ev.OrderSigned(
            intent_id=i.intent_id,
            order_id="0x" + f"{n:064x}",
            metadata=intent_metadata(i.intent_id),
            order={},
        ),
    ]


def leader_path(rows, now, view, risk, signer, rng, clock):
    """Per leader fill: decode, strategy + sizer, gates, sign."""
    perf = time.perf_counter_ns
    names = ("decode", "strategy + sizer", "gates", "sign", "total")
    stages: dict[str, list[float]] = {k: [] for k in names}
    leaders: dict[str, list[bytes]] = {}
    for raw in rows:
        row = decode(tuple[Activity, ...], raw)[0]
        leaders.setdefault(row.proxy_wallet.lower(), []).append(raw)
    scale = D(25)  # the simulator's leaders hold ~100x our bankroll: copies above the minimum
    copier = CopyTrader(
        CopyParams(leaders={a: LeaderParams(a, "bench", scale=scale) for a in leaders})
    )
    for a in leaders:  # each leader known, scored and with a bankroll, as the feed would say
        copier.on_input(view, LeaderSnapshot(a, now, D(1_000_000), D(0), False, {}, {}))
        score = LeaderScore(a, now, 120, True, 0.4, 2.0, 0.6, 1.5, 0.1, 0.05, 0, D(5000))
        copier.on_input(view, score)
    books = {a: LeaderBook() for a in leaders}
    refused: dict[str, int] = {}
    for leader, raws in leaders.items():
        for raw in raws:
            t0 = perf()
            fills = fills_from_activity(decode(tuple[Activity, ...], raw), now)
            t1 = perf()
            if not fills:
                continue
            fill = fills[0]
            before = books[leader].get(fill.asset)
            after = books[leader].apply(fill)
            delta = LeaderDelta(leader, fill.condition_id, fill.asset, (fill,), before, after, now)
            clock._now_ms = max(now, fill.ts_ms)
            t1b = perf()
            intents = copier.on_input(view, delta)
            t2 = perf()
            for intent in intents:
                verdict = risk.evaluate(intent)
                t3 = perf()
                risk._sent.clear()
                copier.on_verdict(verdict, clock.now_ms())
                if not isinstance(verdict, Approved):
                    refused[verdict.gate.value] = refused.get(verdict.gate.value, 0) + 1
                    continue
                tick = view.market(intent.condition_id, intent.asset).tick
                sign(signer, verdict, tick, rng, clock.now_ms())
                t4 = perf()
                spans = (t1 - t0, t2 - t1b, t3 - t2, t4 - t3, (t1 - t0) + (t4 - t1b))
                for name, ns in zip(names, spans, strict=True):
                    stages[name].append(ns / 1000)
    print(f"leader path: copies refused by gate {refused}")
    return stages


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3000, help="price_change frames to time")
    ap.add_argument("--markets", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"recording {args.samples} price_change frames and the leaders' fills ...")
    frames, tracked, rows, now = await record(args.markets, args.samples, args.seed)

    clock = FakeClock(start_ms=now)
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db", clock)  # the durable writes go here
        ledger = await Store.open(Path(tmp) / "ledger.db", clock)  # what the gates read: empty
        mirror = Mirror(clock=clock)
        for cid, tokens in tracked.items():
            mirror.track(cid, tokens)
        view = EngineView(clock, mirror, Flags(), model=lambda: ledger.model, cash=lambda: D(10**4))
        limits = RiskLimits(  # every gate runs; none refuses for the bench's own volume
            max_signal_age_ms=10**12,
            max_chase=D("0.5"),
            max_open_positions=10**6,
            max_total_exposure_usdc=D(10**9),
            max_position_usdc=D(10**9),
            max_leader_exposure_usdc=D(10**9),
        )
        funds = (D(10**6), D(10**6))
        risk = RiskEngine(limits, view, clock=clock, model=lambda: store.model, funds=lambda: funds)
        signer = OrderSigner(KEY, 137)
        rng = random.Random(args.seed)
        market, persist = await market_path(frames, view, mirror, risk, signer, rng, store, clock)
        leader = leader_path(rows, now, view, risk, signer, rng, clock)
        await store.close()
        await ledger.close()

    print(f"{len(frames)} market frames, {len(rows)} leader fills; python {sys.version.split()[0]}")
    p99_market = report("market frame -> signed order (approved intents only)", market)
    p99_leader = report("leader fill -> signed order (approved copies only)", leader)
    if persist:
        p50, p99 = quantiles(persist)
        print(
            f"\ndurable write (intent + signed order, one fsynced transaction): "
            f"p50 {p50:.0f} us, p99 {p99:.0f} us ({len(persist)} writes)"
        )
    ok = True
    for what, p99 in (("market path", p99_market), ("leader path", p99_leader)):
        passed = p99 < BUDGET_US
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}: {what} total p99 {p99:.0f} us < {BUDGET_US:.0f} us")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
