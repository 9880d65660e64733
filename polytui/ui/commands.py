"""Commands from the UI to the engine, sent through the bridge's command queue and run on the
engine's event loop (``Bridge.send``). Plain data; ``execute`` is where they meet the engine.

The engine methods a command calls, when the engine has them (else the answer says so):
``kill(reason, source)`` or ``engage_kill_switch(reason=, source=)``; ``resume(source)`` or
``release_kill_switch(source=)``; ``cancel_order(order_id)`` for one order; for an order
ticket ``submit_manual(intent)``, else the strategy runner's
``strategies.runner.decide(strategy, intent)`` (the risk engine, then the order tracker, as
for any strategy's intent).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from polytui.core.strategy import OrderIntent
from polytui.engine.preview import ManualTicket, preview_ticket
from polytui.engine.strategy_runner import MANUAL


@dataclass(frozen=True)
class SelectMarket:
    condition_id: str | None


@dataclass(frozen=True)
class EngageKill:
    reason: str = "kill key in the TUI"
    source: str = "tui"


@dataclass(frozen=True)
class ReleaseKill:
    source: str = "tui"


@dataclass(frozen=True)
class CancelOrder:
    """One order, by the venue's id (``Engine.cancel_order``): nothing else is halted."""

    order_id: str


@dataclass(frozen=True)
class PreviewOrder:
    ticket: ManualTicket


@dataclass(frozen=True)
class SubmitOrder:
    intent: OrderIntent


@dataclass(frozen=True)
class Answer:
    """What the engine did: ``available`` is False when it has no method for the command."""

    available: bool
    detail: str = ""
    value: Any = None


async def call_first(target: Any, names: tuple[str, ...], *args: Any, **kwargs: Any) -> Answer:
    for name in names:
        method = getattr(target, name, None)
        if callable(method):
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return Answer(True, f"{name} done", result)
    return Answer(False, f"the engine has no {' or '.join(names)}")


async def execute(engine: Any, command: object) -> Any:
    if isinstance(command, EngageKill):
        return await call_first(
            engine, ("kill", "engage_kill_switch"), reason=command.reason, source=command.source
        )
    if isinstance(command, ReleaseKill):
        return await call_first(engine, ("resume", "release_kill_switch"), source=command.source)
    if isinstance(command, CancelOrder):
        return await call_first(engine, ("cancel_order",), command.order_id)
    if isinstance(command, PreviewOrder):
        return await preview_ticket(engine, command.ticket)
    if isinstance(command, SubmitOrder):
        if callable(getattr(engine, "submit_manual", None)):
            return await call_first(engine, ("submit_manual",), command.intent)
        runner = getattr(getattr(engine, "strategies", None), "runner", None)
        if runner is not None:  # like any strategy's intent: the risk engine, then the tracker
            return Answer(True, "sent", await runner.decide(MANUAL, command.intent))
        return Answer(False, "the engine has no submit_manual and no strategy runner")
    raise TypeError(f"unknown command {type(command).__name__}")


def answer_text(result: object) -> str:
    """An answer in words: what the engine returned (an order, a rejection, a ref)."""
    if not isinstance(result, Answer):
        return str(result)
    if not result.available:
        return f"unavailable: {result.detail}"
    value = result.value
    if value is None:
        return result.detail
    if hasattr(value, "approved") and hasattr(value, "submit_error"):  # a runner's outcome
        if not value.approved:
            return f"rejected by {value.gate}: {value.reason}"
        if value.submit_error:
            return f"approved, but not sent: {value.submit_error}"
        return f"sent: {value.shares} @ {value.price}"
    if hasattr(value, "gate") and hasattr(value, "reason"):  # a risk rejection
        return f"rejected by {value.gate}: {value.reason}"
    if hasattr(value, "state") and hasattr(value, "order_id"):  # an order view
        return f"order {value.order_id or value.intent_id[:12]} {value.state}"
    return f"{result.detail}: {value}"
