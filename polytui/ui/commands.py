"""Commands from the UI to the engine, sent through the bridge's command queue and run on the
engine's event loop (``Bridge.send``). Plain data; ``execute`` is where they meet the engine.

The engine methods a command calls, when the engine has them (else the answer says so):
``kill(reason, source)`` or ``engage_kill_switch(reason=, source=)``; ``resume(source)`` or
``release_kill_switch(source=)``; ``submit_manual(intent)`` for an order ticket (it must run
the risk engine, then the order tracker).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from polytui.core.strategy import OrderIntent
from polytui.engine.preview import ManualTicket, preview_ticket


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
    if isinstance(command, PreviewOrder):
        return await preview_ticket(engine, command.ticket)
    if isinstance(command, SubmitOrder):
        return await call_first(engine, ("submit_manual",), command.intent)
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
    if hasattr(value, "gate") and hasattr(value, "reason"):  # a risk rejection
        return f"rejected by {value.gate}: {value.reason}"
    if hasattr(value, "state") and hasattr(value, "order_id"):  # an order view
        return f"order {value.order_id or value.intent_id[:12]} {value.state}"
    return f"{result.detail}: {value}"
