"""What the risk gates answer: a rejection naming its gate, or an approved (maybe cut) order;
and the candidate that carries an intent through the gates."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from polytui.core.risk.inputs import RiskLimits, RiskState
from polytui.core.sizer import floor_shares
from polytui.core.strategy import OrderIntent

ZERO = Decimal(0)
ONE = Decimal(1)


class Gate(StrEnum):
    KILL_SWITCH = "kill_switch"
    BOOK_LIVE = "book_live"
    MARKET_TRADABLE = "market_tradable"
    RESOLUTION = "resolution"
    TRADE_SIZE = "trade_size"
    DAILY_LOSS = "daily_loss"
    POSITION_CAP = "position_cap"
    OPEN_POSITIONS = "open_positions"
    TOTAL_EXPOSURE = "total_exposure"
    LEADER_EXPOSURE = "leader_exposure"
    CATEGORY = "category"
    FUNDS = "funds"
    FRESHNESS = "freshness"
    SLIPPAGE = "slippage"
    RATE_LIMIT = "rate_limit"
    VENUE_RULES = "venue_rules"


Numbers = Mapping[str, Decimal | int | str]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why an intent does not go out. ``halt_until_ms`` is set when the daily loss cap
    tripped: the engine persists it and passes it back as ``RiskState.halted_until_ms``."""

    intent_id: str
    gate: Gate
    reason: str
    numbers: Numbers = field(default_factory=dict)
    halt_until_ms: int | None = None

    @property
    def approved(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Resize:
    gate: Gate
    reason: str
    numbers: Numbers


@dataclass(frozen=True, slots=True)
class Approved:
    """The order to sign: ``shares`` at ``price`` (on the tick grid), with the intent's order
    type. ``resized`` lists every gate that cut it, in order."""

    intent: OrderIntent
    shares: Decimal
    price: Decimal
    notional: Decimal
    marketable: bool
    requested_shares: Decimal
    resized: tuple[Resize, ...] = ()

    @property
    def approved(self) -> bool:
        return True

    @property
    def intent_id(self) -> str:
        return self.intent.intent_id

    @property
    def was_resized(self) -> bool:
        return self.shares < self.requested_shares


Verdict = Approved | Rejected


@dataclass(frozen=True, slots=True)
class Candidate:
    """An intent on its way through the gates: the shares it asks for now, at its limit."""

    intent: OrderIntent
    shares: Decimal
    requested: Decimal
    scale: Decimal = ONE  # dynamic limits' factor for new exposure
    scale_reason: str = ""
    resized: tuple[Resize, ...] = ()

    @property
    def price(self) -> Decimal:
        return self.intent.limit_price

    @property
    def notional(self) -> Decimal:
        return self.shares * self.intent.limit_price

    @property
    def opening(self) -> bool:
        return self.intent.opening


GateResult = Candidate | Rejected
GateFn = Callable[[Candidate, RiskLimits, RiskState], GateResult]


def reject(c: Candidate, gate: Gate, reason: str, **numbers: Any) -> Rejected:
    if c.scale < ONE and c.opening:
        reason = f"{reason} ({c.scale_reason})"
        numbers["scale"] = c.scale
    return Rejected(c.intent.intent_id, gate, reason, numbers)


def cut(
    c: Candidate, limits: RiskLimits, gate: Gate, usdc: Decimal, why: str, **nums: Any
) -> Candidate | Rejected:
    """Cut new exposure to ``usdc`` (the room a cap leaves), or reject if that is under the
    trade minimum."""
    if usdc >= c.notional:
        return c
    nums = {**nums, "room_usdc": usdc, "asked_usdc": c.notional}
    if usdc < limits.min_trade_usdc:
        return reject(
            c,
            gate,
            f"{why}: {max(usdc, ZERO):.2f} USDC of room, under the "
            f"{limits.min_trade_usdc} USDC trade minimum",
            **nums,
        )
    return shrink(c, gate, f"{why}: cut to {usdc:.2f} USDC", floor_shares(usdc / c.price), nums)


def shrink(c: Candidate, gate: Gate, reason: str, shares: Decimal, numbers: Numbers) -> Candidate:
    if c.scale < ONE and c.opening:
        reason = f"{reason} ({c.scale_reason})"
    note = Resize(gate, reason, {**numbers, "shares": shares})
    return dataclasses.replace(c, shares=shares, resized=(*c.resized, note))
