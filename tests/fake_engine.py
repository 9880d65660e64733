"""A seeded, frozen engine for view, preview and UI tests and for snapshots: the real mirror
(with books installed), a real ledger read model, a fixed clock, and a scanner and health
figures that never move. No Textual here (``tests/ui/fake_host.py`` runs it under the App)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from polytui.config import Settings, load_settings
from polytui.core.book import Book, tick_units
from polytui.core.clock import FakeClock
from polytui.core.market_flags import Flag
from polytui.core.orders import FillStatus, OrderState
from polytui.core.projections import (
    Changes,
    FillView,
    KillSwitchView,
    LedgerStats,
    OrderView,
    PositionView,
    ReadModel,
)
from polytui.core.universe import MarketInfo
from polytui.engine.kernel import Bus
from polytui.engine.mirror import BookState, Mirror, Reason

START_MS = 1_795_000_000_000
QUESTIONS = (
    "Will BTC be up on the day?",
    "Will it rain in London tomorrow?",
    "Will the Fed cut rates in December?",
    "Will Arsenal win their next game?",
    "Will ETH close above its 30-day high?",
    "Will the mayor resign?",
)


class FakeScanner:
    def __init__(self, infos: list[MarketInfo]) -> None:
        self.markets = {i.condition_id: i for i in infos}
        self.universe = tuple(self.markets)
        self.watched = dict.fromkeys(self.markets)
        self.marked: dict[str, frozenset[Flag]] = {}

    def flags(self, condition_id: str) -> frozenset[Flag]:
        return self.marked.get(condition_id, frozenset())

    def stats(self) -> dict:
        return {
            "watched": len(self.universe),
            "seen": len(self.universe) + 4,
            "lag_ms": 1500.0,
            "stalled": False,
            "consecutive_errors": 0,
            "last_error": "",
        }


@dataclass
class CopyRecordStub:
    leader: str
    condition_id: str
    asset: str
    leader_side: str
    leader_shares: Decimal
    leader_price: Decimal
    outcome: str
    gate: str
    reason: str
    at_ms: int
    shares: Decimal | None = None


@dataclass
class FakeCopyTrader:
    rows: list[CopyRecordStub] = field(default_factory=list)

    def records(self) -> list[CopyRecordStub]:
        return list(self.rows)


class FakeEngine:
    """What ``polytui.engine.views`` and the bridge read of an engine, seeded."""

    def __init__(
        self,
        seed: int = 7,
        markets: int = 6,
        *,
        ledger: bool = True,
        manual_orders: bool = False,
        settings: Settings | None = None,
    ) -> None:
        rng = random.Random(seed)
        self.settings = settings or load_settings()
        self.clock = FakeClock(START_MS)
        self.bus = Bus()
        self.venue = None
        self.mirror = Mirror(settings=self.settings.mirror, clock=self.clock)
        infos = []
        for i in range(markets):
            cid = f"0x{rng.getrandbits(64):016x}{i:02d}"
            tokens = (str(rng.getrandbits(60)), str(rng.getrandbits(60)))
            infos.append(
                MarketInfo(
                    condition_id=cid,
                    gamma_id=str(1000 + i),
                    slug=f"market-{i}",
                    question=QUESTIONS[i % len(QUESTIONS)],
                    tokens=tokens,
                    end_ms=START_MS + (i + 1) * 7 * 3_600_000,
                    volume_24hr=1500.0 * (markets - i),
                    liquidity=5000.0,
                    tags=frozenset({"crypto"}),
                )
            )
            self.mirror.track(cid, tokens, min_order_size="5", neg_risk=False)
            self._install(rng, cid, tokens, i)
        self.scanner = FakeScanner(infos)
        if markets > 2:
            self.scanner.marked[infos[2].condition_id] = frozenset({Flag.STALE_BOOK})
        self.kills: list[dict] = []
        self.resumes: list[dict] = []
        self.submitted: list[Any] = []
        self.store = SimpleNamespace(model=ReadModel()) if ledger else None
        if ledger:
            self._seed_ledger(infos)
        if manual_orders:
            self.submit_manual = self._submit_manual
        pnl, self.pnl_history = Decimal(0), []
        for t in range(60, 0, -1):  # the session so far, one point a second
            pnl += Decimal(rng.randrange(-80, 90)) / 100
            self.pnl_history.append((START_MS - t * 1000, pnl))

    def _install(self, rng: random.Random, cid: str, tokens: tuple[str, str], i: int) -> None:
        tick = tick_units("0.01")
        mid = 20 + rng.randrange(60)  # cents
        bids = [((mid - k) * 100, Decimal(rng.randrange(50, 900))) for k in range(1, 13)]
        asks = [((mid + k) * 100, Decimal(rng.randrange(50, 900))) for k in range(0, 12)]
        for n, asset in enumerate(tokens):
            tok = self.mirror.tokens[asset]
            if n == 0:
                tok.book = Book.of(tick, bids, asks)
            else:  # the complement: NO bids are 1 - YES asks
                tok.book = Book.of(
                    tick, [(10_000 - u, s) for u, s in asks], [(10_000 - u, s) for u, s in bids]
                )
            tok.tick = tick
            state = BookState.LIVE
            if i == 1:
                state = BookState.SUSPECT if n == 0 else BookState.LIVE
            if i == 4:
                state = BookState.RESYNCING
            tok.state = state
            tok.reason = Reason.BBO_MISMATCH if state is not BookState.LIVE else Reason.PRIME
            tok.detail = "REST differs from the local book (top of book)" if i == 1 else ""
            k = tok.kpis
            k.last_snapshot_ms = START_MS - 60_000
            k.last_delta_ms = START_MS - 150 - 40 * i
            k.delta_exchange_ms = k.last_delta_ms - 12
            k.deltas = 100 + i
            k.last_verified_ms = START_MS - 1_200 - 100 * i

    def _seed_ledger(self, infos: list[MarketInfo]) -> None:
        a = infos[0].tokens[0]
        b = infos[3].tokens[1]
        orders = (
            _order(
                "i1", "o1", infos[0].condition_id, a, "BUY", "0.45", "100", OrderState.LIVE, "0", 10
            ),
            _order(
                "i2",
                "o2",
                infos[0].condition_id,
                a,
                "BUY",
                "0.47",
                "50",
                OrderState.PARTIALLY_FILLED,
                "20",
                12,
            ),
            _order(
                "i3",
                "o3",
                infos[3].condition_id,
                b,
                "SELL",
                "0.61",
                "30",
                OrderState.FILLED,
                "30",
                14,
            ),
            _order(
                "i4",
                "",
                infos[3].condition_id,
                b,
                "BUY",
                "0.90",
                "500",
                OrderState.REJECTED,
                "0",
                15,
                "risk: position_cap",
            ),
        )
        fills = (
            _fill(
                "t1", "o2", infos[0].condition_id, a, "BUY", "0.47", "20", FillStatus.CONFIRMED, 11
            ),
            _fill("t2", "o3", infos[3].condition_id, b, "SELL", "0.61", "20", FillStatus.MINED, 13),
            _fill(
                "t3", "o3", infos[3].condition_id, b, "SELL", "0.61", "10", FillStatus.MATCHED, 14
            ),
        )
        positions = (
            PositionView(
                a,
                infos[0].condition_id,
                Decimal(120),
                Decimal(100),
                Decimal(0),
                Decimal("0.44"),
                Decimal("3.20"),
                Decimal(0),
                Decimal(120),
                Decimal(0),
                3,
                11,
            ),
            PositionView(
                b,
                infos[3].condition_id,
                Decimal(40),
                Decimal(40),
                Decimal(30),
                Decimal("0.52"),
                Decimal("-1.10"),
                Decimal(0),
                Decimal(70),
                Decimal(30),
                4,
                14,
            ),
        )
        self.store.model.merge(Changes(orders=orders, fills=fills, positions=positions))
        self.store.model.stats = LedgerStats(events=15, last_seq=15)

    def health(self) -> dict:
        return {
            "mirror": self.mirror.stats(),
            "scanner": self.scanner.stats(),
            "market_stream": {"shards": 1, "connected": 1, "reconnects": 2, "assets": 12},
            "http": {"requests": 420, "status 200": 418, "status 429": 1, "retry 429": 1},
        }

    async def kill(self, reason: str, source: str = "engine") -> str:
        self.kills.append({"reason": reason, "source": source})
        if self.store is not None:
            self.store.model.kill_switch = KillSwitchView(True, "k1", reason, source, 99, START_MS)
        return "k1"

    async def resume(self, source: str = "engine") -> str:
        self.resumes.append({"source": source})
        if self.store is not None:
            self.store.model.kill_switch = KillSwitchView()
        return "r1"

    async def _submit_manual(self, intent: Any) -> str:
        self.submitted.append(intent)
        return f"order for intent {intent.intent_id[:8]} accepted"


def _order(key, order_id, market, asset, side, price, size, state, matched, seq, reason=""):  # noqa: ANN001, ANN202
    return OrderView(
        key,
        key,
        order_id,
        "manual",
        market,
        asset,
        side,
        Decimal(price),
        Decimal(size),
        "GTC",
        state,
        Decimal(matched),
        "",
        reason,
        seq,
        seq,
        START_MS - (20 - seq) * 1000,
    )


def _fill(trade, order_id, market, asset, side, price, size, status, seq):  # noqa: ANN001, ANN202
    return FillView(
        trade,
        order_id,
        market,
        asset,
        side,
        Decimal(price),
        Decimal(size),
        Decimal("0.00"),
        status,
        "TAKER",
        START_MS - (20 - seq) * 1000,
        "",
        seq,
        seq,
    )
