"""The risk engine (architecture §3): every intent, from a strategy or the order ticket, meets
the pure gates of ``polytui.core.risk`` with the state assembled here from the running engine,
and a rejection is written to the ledger with its gate, its reason and the numbers.

    risk = RiskEngine(limits, view, clock=clock, model=lambda: store.model, record=record)
    verdict = risk.evaluate(intent, leader_exposure=copier.leader_exposure(view))
    if verdict.approved: ...sign and post verdict.shares at verdict.price...

What it reads, at the moment of the call: the kill switch (the ledger's, or an override), the
mirror's state of every book the intent depends on (the golden rule: LIVE or nothing), the
scanner's flags, end date and tags, our positions and open orders (the ledger's projections),
cash and allowance (``funds``, read from the venue on a schedule), the daily PnL, the halts
the daily loss cap left, the orders sent within the rate window, and recent mids.

**Daily PnL** is realised + unrealised now less the same at the period's first PnL snapshot
in the ledger (``pnl_snapshot`` events; when the period has none yet, ``needs_snapshot`` says
so and the engine writes one), so a restart neither forgets a loss nor resets the cap. A
daily-loss rejection carries ``halt_until_ms``; the ledger keeps it (``ReadModel.halts``).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from decimal import Decimal

from polytui.core import ledger_events as ev
from polytui.core.projections import ReadModel
from polytui.core.risk import (
    Approved,
    Gate,
    Holding,
    Rejected,
    RiskLimits,
    RiskState,
    Verdict,
    evaluate,
    loss_halt,
    period_bounds,
)
from polytui.core.strategy import OrderIntent
from polytui.engine.context import EngineView

ZERO = Decimal(0)
MIDS_KEPT = 600  # recent mid points per asset (dynamic limits)

Record = Callable[[ev.LedgerEvent], None]


class RiskEngine:
    def __init__(
        self,
        limits: RiskLimits,
        view: EngineView,
        *,
        clock,
        model: Callable[[], ReadModel | None],
        funds: Callable[[], tuple[Decimal, Decimal]] = lambda: (ZERO, ZERO),
        record: Record | None = None,
        kill_switch: Callable[[], bool] | None = None,
    ) -> None:
        self.limits = limits
        self.view = view
        self._clock = clock
        self._model = model
        self._funds = funds
        self._record = record
        self._kill_switch = kill_switch
        # Send times of approved orders: the rate gate needs no more than one over its limit.
        self._sent: deque[int] = deque(maxlen=limits.max_orders_per_window + 1)
        self._mids: dict[str, deque[tuple[int, Decimal]]] = defaultdict(
            lambda: deque(maxlen=MIDS_KEPT)
        )
        self.rejections: dict[str, int] = defaultdict(int)  # by gate
        self.checked = 0
        self.approved = 0

    # ---- inputs ------------------------------------------------------------------------------

    def note_mid(self, asset: str) -> None:
        """Sample the mid of ``asset`` (a LIVE book): the dynamic limits' volatility input."""
        mid = self.view.mark(asset) if self.view.mirror.live_book(asset) is not None else None
        if mid is not None:
            points = self._mids[asset]
            if not points or points[-1][1] != mid:
                points.append((self._clock.now_ms(), mid))

    def kill_switch(self) -> bool:
        if self._kill_switch is not None and self._kill_switch():
            return True
        model = self._model()
        return model is not None and model.kill_switch.engaged

    def daily_pnl(self, now_ms: int) -> Decimal:
        """Realised + unrealised since the current period's first PnL snapshot (0 without
        one: the period starts now)."""
        model = self._model()
        if model is None:
            return ZERO
        start, _ = period_bounds(now_ms, self.limits.daily_reset_hour_utc)
        base = next((s for s in model.pnl_snapshots if s.at_ms >= start), None)
        if base is None:
            return ZERO
        unrealised, _ = model.unrealised(self._marks(model))
        return model.realised() + unrealised - (base.realised + base.unrealised)

    def needs_snapshot(self, now_ms: int) -> bool:
        """No PnL snapshot in the ledger since the current period began."""
        model = self._model()
        if model is None:
            return False
        start, _ = period_bounds(now_ms, self.limits.daily_reset_hour_utc)
        return not any(s.at_ms >= start for s in model.pnl_snapshots)

    def snapshot_event(self, now_ms: int) -> ev.PnlSnapshot:
        """Marks now, for the ledger (the PnL snapshot job and the period's baseline)."""
        model = self._model()
        marks = self._marks(model) if model is not None else {}
        return ev.PnlSnapshot(at_ms=now_ms, marks=marks)

    def _marks(self, model: ReadModel) -> dict[str, Decimal]:
        marks = dict(model.marks)
        for asset, p in model.positions.items():
            if p.size:
                mark = self.view.mark(asset)
                if mark is not None:
                    marks[asset] = mark
        return marks

    def state(
        self, intent: OrderIntent, leader_exposure: Mapping[str, Decimal] | None
    ) -> RiskState:
        now = self._clock.now_ms()
        model = self._model()
        holdings: dict[str, Holding] = {}
        open_buys: Mapping[str, Decimal] = {}
        halted = None
        if model is not None:
            open_buys, locked = model.resting_buys, model.resting_sells
            for asset, p in model.positions.items():
                if p.size > ZERO:
                    mark = self.view.mark(asset) or p.avg_cost
                    holdings[asset] = Holding(
                        p.market, p.size, p.size * mark, locked.get(asset, ZERO)
                    )
            until = model.halts.get(intent.strategy)
            halted = until if until is not None and until > now else None
        balance, allowance = self._funds()
        window = now - self.limits.rate_window_ms
        while self._sent and self._sent[0] < window:
            self._sent.popleft()
        assets = intent.books
        return RiskState(
            now_ms=now,
            kill_switch=self.kill_switch(),
            books={a: self.view.trusted(a) for a in assets},
            markets={intent.condition_id: self.view.market(intent.condition_id, intent.asset)},
            holdings=holdings,
            open_buys_usdc=dict(open_buys),
            balance_usdc=balance,
            allowance_usdc=allowance,
            reserved_usdc=sum(open_buys.values(), ZERO),
            daily_pnl=self.daily_pnl(now),
            halted_until_ms=halted,
            leader_exposure=dict(leader_exposure or {}),
            recent_orders_ms=tuple(self._sent),
            mids={a: tuple(self._mids[a]) for a in assets if a in self._mids},
        )

    # ---- the decision ------------------------------------------------------------------------

    def evaluate(
        self, intent: OrderIntent, *, leader_exposure: Mapping[str, Decimal] | None = None
    ) -> Verdict:
        """The gates' verdict on ``intent``; a rejection is recorded in the ledger, an
        approval counts against the rate limit (call it only for an order about to go out)."""
        self.note_mid(intent.asset)
        state = self.state(intent, leader_exposure)
        verdict = evaluate(intent, self.limits, state)
        self.checked += 1
        if isinstance(verdict, Approved):
            self.approved += 1
            self._sent.append(state.now_ms)
            return verdict
        halt = verdict.halt_until_ms
        if verdict.gate is Gate.DAILY_LOSS and halt is None:
            halt = loss_halt(self.limits, state.now_ms, state.daily_pnl)
        self.rejections[verdict.gate.value] += 1
        if self._record is not None:
            self._record(
                ev.RiskRejected(
                    intent_id=intent.intent_id,
                    gate=verdict.gate.value,
                    reason=verdict.reason,
                    strategy=intent.strategy,
                    asset_id=intent.asset,
                    halt_until_ms=halt,
                )
            )
        return verdict

    def stats(self) -> dict:
        """The ``health()["risk"]`` figures the metrics read."""
        return {
            "checked": self.checked,
            "approved": self.approved,
            "rejects": dict(self.rejections),
            "kill_switch": self.kill_switch(),
        }


def is_rejected(verdict: Verdict) -> bool:
    return isinstance(verdict, Rejected)
