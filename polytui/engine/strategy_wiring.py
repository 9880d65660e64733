"""The strategy side of the engine, built by the kernel once the order side is up: the risk
engine, the strategies the settings name (copy-trading first), their inputs, and the jobs
that keep the risk engine's picture current. The one place that knows both the engine's
parts and the strategies.

    side = StrategySide.build(engine)        # None: no order side, or no strategy configured
    side.schedule(engine.scheduler)
    await side.run()                         # leader feeds + the runner, until cancelled

**The demo.** In sim mode (or paper mode on the simulator's data) with no strategy configured
(no leader in ``copytrade.leaders``, the test strategy off) and ``copytrade.demo`` on, the
simulator's own leader wallets are copied, with the cash the simulator says they hold: a first
``polytui`` shows the whole pipeline working within seconds. Its admin API is read through the
venue's HTTP client like any venue answer, so a session record holds it and a replay answers
it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polytui.config import LeaderSettings
from polytui.core.orders import TERMINAL_ORDER_STATES
from polytui.core.risk import Approved, RiskLimits
from polytui.engine.context import EngineView
from polytui.engine.position_aging import PositionAger
from polytui.engine.risk_engine import RiskEngine
from polytui.engine.strategy_runner import StrategyRunner
from polytui.strategies.copytrade import (
    CopyParams,
    CopyRecord,
    CopyTrader,
    DataApiSource,
    LeaderFeed,
)
from polytui.venue.errors import VenueError
from polytui.venue.http import HttpClient

if TYPE_CHECKING:
    from polytui.engine.kernel import Engine
    from polytui.engine.scheduler import Scheduler

log = logging.getLogger("polytui.engine.strategies")

ZERO = Decimal(0)
USDC = Decimal(1_000_000)  # base units of pUSD
DEMO_LEADERS = 4
DEMO_SCALE = Decimal(25)  # the simulator's leaders hold ~100x our bankroll: copies worth a look


class StrategySide:
    def __init__(self, engine: Engine, copy_settings: Any) -> None:
        self.engine = engine
        s, clock = engine.settings, engine.clock
        assert engine.store is not None and engine.tracker is not None
        store = engine.store
        self.cash, self.allowance = ZERO, ZERO
        self.view = EngineView(
            clock, engine.mirror, engine.scanner, model=lambda: store.model, cash=lambda: self.cash
        )
        params = CopyParams.of(copy_settings, s.risk)
        self.risk = RiskEngine(
            RiskLimits.of(s.risk, leader_caps=params.leader_caps()),
            self.view,
            clock=clock,
            model=lambda: store.model,
            funds=lambda: (self.cash, self.allowance),
            record=store.append_buffered,
            kill_switch=lambda: engine.kill_switch is not None and engine.kill_switch.engaged,
        )
        self.copier = CopyTrader(params, on_record=engine.bus.publish) if params.leaders else None
        self.ager = PositionAger(
            self.view,
            lambda: store.model,
            max_age_ms=None
            if s.risk.max_position_age_s is None
            else round(s.risk.max_position_age_s * 1000),
            resolution_buffer_ms=round(s.risk.resolution_buffer_s * 1000),
            reduce=s.risk.aging_action == "reduce",
            offset=s.risk.aging_offset,
            publish=engine.bus.publish,
        )
        strategies = [self.ager] + ([self.copier] if self.copier is not None else [])
        self.runner = StrategyRunner(
            strategies,
            self.risk,
            self._submit,
            clock=clock,
            view=self.view,
            publish=engine.bus.publish,
            before_step=self._before_step,
        )
        self.feed = None
        if self.copier is not None:
            name = self.copier.name
            self.feed = LeaderFeed(
                DataApiSource(engine.venue.data, clock),
                params.leaders.values(),
                params.feed,
                clock,
                sink=lambda item: self.runner.put(name, item),
            )
        self._matched: dict[str, Decimal] = {}  # intent id -> shares seen filled

    @classmethod
    async def build(cls, engine: Engine) -> StrategySide | None:
        if engine.store is None or engine.tracker is None:
            return None
        copy, settings = engine.settings.copytrade, engine.settings
        demo = copy.demo and settings.run.mode in ("sim", "paper")
        if not copy.leaders and demo and not settings.test_strategy.enabled:
            leaders = await demo_leaders(engine.venue.http)
            if leaders:
                copy = copy.model_copy(update={"leaders": tuple(leaders)})
                log.info("copying the simulator's %d leaders (copytrade.demo)", len(leaders))
        return cls(engine, copy)

    def _before_step(self, strategy: str) -> None:
        """A strategy is about to handle an input or a tick: a session record notes the
        instant (a replay catches up with it), and it sees every market frame received so
        far."""
        on_step = self.engine.hooks.on_step
        if on_step is not None:
            on_step(strategy)
        self.engine.mirror.catch_up()

    # ---- the order path ------------------------------------------------------------------------

    async def _submit(self, approved: Approved) -> object:
        assert self.engine.tracker is not None
        i = approved.intent
        return await self.engine.tracker.submit(
            {
                "intent_id": i.intent_id,
                "strategy": i.strategy,
                "market": i.condition_id,
                "asset_id": i.asset,
                "side": i.side.value,
                "price": approved.price,
                "size": approved.shares,
                "order_type": i.order_type.value,
                "expires_ms": i.expires_ms,
                "reason": i.reason,
            }
        )

    # ---- jobs --------------------------------------------------------------------------------

    def schedule(self, scheduler: Scheduler) -> None:
        r = self.engine.settings.risk
        scheduler.every("funds", r.funds_s, self.read_funds, first_after_s=0)
        scheduler.every("pnl_snapshot", r.pnl_snapshot_s, self.snapshot, first_after_s=0)
        scheduler.every("strategy_fills", 0.5, self.follow_fills)

    async def read_funds(self) -> None:
        """pUSD balance and allowance, for the funds gate and the bankroll."""
        trader = self.engine.trader
        if trader is None:
            return
        answer = await trader.balance_allowance("COLLATERAL")
        self.cash = Decimal(answer.balance) / USDC
        allowances = [answer.allowance] if answer.allowance is not None else []
        allowances += list(answer.allowances.values())
        self.allowance = min((Decimal(a) for a in allowances), default=ZERO) / USDC

    def snapshot(self) -> None:
        """A PnL snapshot (marks) into the ledger: the unrealised PnL's history, and the
        daily-loss period's baseline."""
        store = self.engine.store
        if store is not None:
            store.append_buffered(self.risk.snapshot_event(self.engine.clock.now_ms()))

    def follow_fills(self) -> None:
        """Tell each strategy what its orders filled, and when they are done (the ledger's
        projections are the truth: the user channel and REST both feed them)."""
        store = self.engine.store
        if store is None:
            return
        for intent_id in list(self.runner.known_intents()):
            order = store.model.orders.get(intent_id)
            if order is None:
                continue
            seen = self._matched.get(intent_id, ZERO)
            if order.size_matched > seen:
                self._matched[intent_id] = order.size_matched
                self.runner.on_fill(intent_id, order.size_matched - seen)
            if order.state in TERMINAL_ORDER_STATES:
                self.runner.on_done(intent_id)
                self.runner.forget(intent_id)
                self._matched.pop(intent_id, None)

    async def run(self) -> None:
        tasks = [asyncio.create_task(self.runner.run(), name="strategies")]
        if self.feed is not None:
            tasks.append(asyncio.create_task(self.feed.run(), name="leader feed"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def stats(self) -> dict[str, Any]:
        """``health()["risk"]`` and ``health()["strategies"]``."""
        out: dict[str, Any] = {
            "risk": self.risk.stats(),
            "strategies": self.runner.stats(),
            "funds": {"cash_usdc": str(self.cash), "allowance_usdc": str(self.allowance)},
        }
        if self.feed is not None:
            out["leaders"] = self.feed.kpis()
        if self.copier is not None:
            out["copy_feed"] = [copy_line(r) for r in self.copier.records()[-COPY_FEED:]]
        return out


COPY_FEED = 20  # the latest leader trades and what was done with each, in the health file


def copy_line(r: CopyRecord) -> dict[str, Any]:
    """One "why not copied" record, for the health file, `polytui status` and the UI."""
    return {
        "at_ms": r.at_ms,
        "leader": r.leader,
        "asset_id": r.asset,
        "kind": r.kind.value,
        "leader_side": r.leader_side.value,
        "leader_shares": str(r.leader_shares),
        "leader_price": f"{r.leader_price:.4f}",
        "outcome": r.outcome.value,
        "gate": r.gate,
        "reason": r.reason,
        "shares": None if r.shares is None else str(r.shares),
    }


async def demo_leaders(http: HttpClient) -> list[LeaderSettings]:
    """The simulator's leader wallets with the pUSD it says they hold (its admin API, through
    the venue's client). No admin API, or an unreachable or odd answer, gives none: the demo
    is a convenience, never a failure."""
    if "admin" not in http.bases:
        return []
    try:
        leaders = json.loads(await http.call("admin", "GET", "/leaders", retry=False))
        wallets = json.loads(await http.call("admin", "GET", "/wallets", retry=False))
    except (VenueError, ValueError):
        log.warning("the simulator's leaders could not be read; nothing to copy")
        return []
    cash = _cash_by_address(wallets)
    out = []
    for leader in leaders[:DEMO_LEADERS] if isinstance(leaders, list) else []:
        address = str(leader.get("address", "")).lower()
        try:
            out.append(
                LeaderSettings(
                    address=address,
                    name=str(leader.get("style") or leader.get("name") or ""),
                    cash_usdc=cash.get(address),
                    scale=DEMO_SCALE,
                )
            )
        except ValueError:
            continue
    return out


def _cash_by_address(wallets: object) -> dict[str, Decimal]:
    """``GET /_sim/wallets``: a list of ``{"address", "usd", ...}``."""
    out: dict[str, Decimal] = {}
    for row in wallets if isinstance(wallets, list) else []:
        if isinstance(row, dict) and "address" in row and "usd" in row:
            try:
                out[str(row["address"]).lower()] = Decimal(str(row["usd"]))
            except ArithmeticError:
                continue
    return out
