"""The strategy runner (architecture §3): hosts the configured strategies, feeds them their
inputs, and takes every intent they emit through the risk engine to the order path.

    runner = StrategyRunner([copier], risk, submit, clock=clock, view=view, bus=bus)
    feed = LeaderFeed(..., sink=lambda delta: runner.put("copytrade", delta))
    await runner.run()                                       # until cancelled

**Isolation.** Each strategy runs in its own task and sees one call at a time. An exception in
it (or in its hooks) stops that strategy, with a ``StrategyFailed`` event on the bus; it is
started again after ``backoff_s`` (doubling) up to ``max_restarts`` times, then it stays
stopped (``StrategyStopped``). The engine and the other strategies go on.

**The path of an intent.** ``risk.evaluate`` (the gates, a rejection written to the ledger),
then the strategy's ``on_verdict`` hook if it has one, then, if approved, ``submit`` (the
order tracker: persist, sign, post) and the ``on_order_sent`` hook. Hooks a strategy may
define, all optional: ``on_verdict(verdict, at_ms)``, ``on_order_sent(intent_id, at_ms)``,
``on_fill(intent_id, shares)``, ``on_done(intent_id)``, ``leader_exposure(ctx)``, ``kpis(ctx)``,
``records()`` (its "why not" feed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytui.core.risk import Approved, Verdict
from polytui.core.strategy import OrderIntent, Strategy
from polytui.engine.context import EngineView
from polytui.engine.risk_engine import RiskEngine
from polytui.engine.stopping import cancel_and_wait

log = logging.getLogger("polytui.engine.strategies")

Submit = Callable[[Approved], Awaitable[object]]
QUEUE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class StrategyFailed:
    strategy: str
    error: str
    restarts: int
    at_ms: int


@dataclass(frozen=True, slots=True)
class StrategyStopped:
    strategy: str
    reason: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What became of one intent: ``approved`` and sent, or rejected by ``gate``."""

    strategy: str
    intent_id: str
    approved: bool
    gate: str
    reason: str
    at_ms: int
    shares: Decimal | None = None
    price: Decimal | None = None
    submit_error: str = ""
    # what was asked (the intent), for the decision record of a session
    asset: str = ""
    side: str = ""
    order_type: str = ""
    size: Decimal | None = None  # in ``unit``
    unit: str = ""
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class ManualStrategy:
    """The trader at the keyboard (the UI's order ticket), as a strategy: a name is all the
    runner needs of one."""

    name: str = "manual"


MANUAL = ManualStrategy()


@dataclass
class _Hosted:
    strategy: Strategy
    inbox: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    state: str = "starting"  # running | backing_off | stopped
    restarts: int = 0
    errors: int = 0
    last_error: str = ""
    intents: int = 0
    dropped: int = 0


class StrategyRunner:
    def __init__(
        self,
        strategies: Sequence[Strategy],
        risk: RiskEngine,
        submit: Submit | None,
        *,
        clock,
        view: EngineView,
        publish: Callable[[object], None] = lambda event: None,
        tick_s: float = 1.0,
        max_restarts: int = 5,
        backoff_s: float = 1.0,
        before_step: Callable[[str], None] | None = None,
    ) -> None:
        names = [s.name for s in strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"two strategies share a name: {names}")
        self.risk = risk
        self._submit = submit
        self._clock = clock
        self.view = view
        self._publish = publish
        self.tick_s = tick_s
        self.max_restarts = max_restarts
        self.backoff_s = backoff_s
        self._before_step = before_step
        self.hosted = {s.name: _Hosted(s) for s in strategies}
        self._by_intent: dict[str, str] = {}  # intent id -> strategy name
        self.outcomes: list[OrderOutcome] = []  # the latest ones, for status and the UI
        self.keep_outcomes = 500

    # ---- inputs ------------------------------------------------------------------------------

    def put(self, name: str, item: object) -> None:
        """An input for strategy ``name`` (never blocks; a full inbox drops and counts)."""
        hosted = self.hosted.get(name)
        if hosted is None or hosted.state == "stopped":
            return
        try:
            hosted.inbox.put_nowait(item)
            hosted.arrived.set()
        except asyncio.QueueFull:
            hosted.dropped += 1
            log.error("strategy %s: inbox full, an input was dropped", name)

    def known_intents(self) -> list[str]:
        """Intents of ours whose orders may still fill (the kernel follows them)."""
        return list(self._by_intent)

    def forget(self, intent_id: str) -> None:
        self._by_intent.pop(intent_id, None)

    def on_fill(self, intent_id: str, shares: Decimal) -> None:
        """One of our orders filled: its strategy's ``on_fill`` hook (the copier follows its
        leaders' exits only with what its copies filled)."""
        self._hook(intent_id, "on_fill", intent_id, shares)

    def on_done(self, intent_id: str) -> None:
        self._hook(intent_id, "on_done", intent_id)

    def _hook(self, intent_id: str, hook: str, *args: Any) -> None:
        name = self._by_intent.get(intent_id)
        hosted = self.hosted.get(name) if name else None
        fn = getattr(hosted.strategy, hook, None) if hosted else None
        if fn is None:
            return
        try:
            fn(*args)
        except Exception as exc:
            self._fail(hosted, exc)  # type: ignore[arg-type]

    # ---- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._supervise(h), name=f"strategy {n}")
            for n, h in self.hosted.items()
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(tasks)

    async def _supervise(self, hosted: _Hosted) -> None:
        backoff = self.backoff_s
        while True:
            hosted.state = "running"
            try:
                await self._serve(hosted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._fail(hosted, exc)
            if hosted.restarts >= self.max_restarts:
                hosted.state = "stopped"
                reason = f"failed {hosted.errors} times: {hosted.last_error}"
                log.error("strategy %s stopped: %s", hosted.strategy.name, reason)
                self._publish(StrategyStopped(hosted.strategy.name, reason, self._clock.now_ms()))
                return
            hosted.state = "backing_off"
            await self._clock.sleep(backoff)
            backoff *= 2
            hosted.restarts += 1

    def _fail(self, hosted: _Hosted, exc: Exception) -> None:
        hosted.errors += 1
        hosted.last_error = f"{type(exc).__name__}: {exc}"
        log.error("strategy %s failed: %s", hosted.strategy.name, hosted.last_error)
        event = StrategyFailed(
            hosted.strategy.name, hosted.last_error, hosted.restarts, self._clock.now_ms()
        )
        self._publish(event)

    async def _serve(self, hosted: _Hosted) -> None:
        """Inputs as they come and a tick every ``tick_s``; raises what the strategy raises."""
        strategy, view = hosted.strategy, self.view
        next_tick = self._clock.monotonic()
        while True:
            wait = max(0.0, next_tick - self._clock.monotonic())
            item = await self._next(hosted, wait)
            if self._before_step is not None:
                self._before_step(strategy.name)
            if item is not _NOTHING:
                await self._handle(hosted, strategy.on_input(view, item))
                continue
            next_tick = self._clock.monotonic() + self.tick_s
            await self._handle(hosted, strategy.on_timer(view))

    async def _next(self, hosted: _Hosted, seconds: float) -> object:
        """The next input, or ``_NOTHING`` once ``seconds`` passed without one. The wait is
        the strategy's own task's, on the engine clock (a replay finds it there)."""
        inbox = hosted.inbox
        if inbox.empty():
            hosted.arrived.clear()
            if seconds > 0:
                await self._clock.wait(hosted.arrived, seconds)
            else:
                await asyncio.sleep(0)
        return inbox.get_nowait() if not inbox.empty() else _NOTHING

    async def _handle(self, hosted: _Hosted, intents: Sequence[OrderIntent]) -> None:
        for intent in intents or ():
            hosted.intents += 1
            await self.decide(hosted.strategy, intent)

    async def decide(self, strategy: Strategy, intent: OrderIntent) -> OrderOutcome:
        """One intent through the gates and, approved, to the order path."""
        self._by_intent[intent.intent_id] = strategy.name
        exposure = None
        leader_exposure = getattr(strategy, "leader_exposure", None)
        if leader_exposure is not None:
            exposure = leader_exposure(self.view)
        verdict: Verdict = self.risk.evaluate(intent, leader_exposure=exposure)
        now = self._clock.now_ms()
        on_verdict = getattr(strategy, "on_verdict", None)
        if on_verdict is not None:
            on_verdict(verdict, now)
        asked = _asked(intent)
        if not isinstance(verdict, Approved):
            return self._outcome(
                OrderOutcome(
                    strategy.name,
                    intent.intent_id,
                    False,
                    verdict.gate.value,
                    verdict.reason,
                    now,
                    **asked,
                )
            )
        error = ""
        if self._submit is None:
            error = "no order path in this engine"
        else:
            try:
                await self._submit(verdict)
            except Exception as exc:  # the tracker records what it could; say it here too
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "strategy %s: order %s not sent: %s",
                    strategy.name,
                    intent.intent_id[:12],
                    error,
                )
        sent = getattr(strategy, "on_order_sent", None)
        if sent is not None and not error:
            sent(intent.intent_id, self._clock.now_ms())
        cut = "; ".join(r.reason for r in verdict.resized)
        return self._outcome(
            OrderOutcome(
                strategy.name,
                intent.intent_id,
                True,
                "",
                cut or intent.reason,
                now,
                verdict.shares,
                verdict.price,
                error,
                **asked,
            )
        )

    def _outcome(self, outcome: OrderOutcome) -> OrderOutcome:
        self.outcomes.append(outcome)
        del self.outcomes[: -self.keep_outcomes]
        self._publish(outcome)
        return outcome

    # ---- figures -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, h in self.hosted.items():
            kpis = getattr(h.strategy, "kpis", None)
            try:
                extra = kpis(self.view) if kpis is not None else {}
            except Exception as exc:  # a figure must never take the engine down
                extra = {"error": str(exc)}
            out[name] = {
                "state": h.state,
                "restarts": h.restarts,
                "errors": h.errors,
                "last_error": h.last_error,
                "intents": h.intents,
                "dropped_inputs": h.dropped,
                "queued": h.inbox.qsize(),
                "kpis": extra,
            }
        return out

    def records(self, limit: int = 100) -> list[object]:
        """The strategies' "why not" feeds (a copier's record per leader trade), newest last."""
        out: list[object] = []
        for h in self.hosted.values():
            records = getattr(h.strategy, "records", None)
            if records is not None:
                out.extend(records())
        return out[-limit:]


_NOTHING = object()


def _asked(intent: OrderIntent) -> dict[str, Any]:
    return {
        "asset": intent.asset,
        "side": str(getattr(intent.side, "value", intent.side)),
        "order_type": str(getattr(intent.order_type, "value", intent.order_type)),
        "size": intent.size,
        "unit": str(getattr(intent.unit, "value", intent.unit)),
        "limit_price": intent.limit_price,
    }
