"""Decisions: what the engine decided about each intent, as a record that compares.

A decision is one intent through the risk gates (``StrategyRunner`` publishes an
``OrderOutcome``): who asked for what (strategy, asset, side, order type, size, limit), and the
outcome (approved with its shares and price, or the gate that rejected it and why). A session
record keeps them (``decision`` lines); a replay makes them again; :func:`compare` says where
two lists part.

Two decisions are **the same** when they agree on everything but the clock and the reason's
wording of numbers that only the clock moves: intent id, strategy, asset, side, order type,
requested size and limit, approval, gate, shares and price. ``at_ms`` is kept for reading
(``--at``) and for ordering, and is not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytui.engine.strategy_runner import OrderOutcome

COMPARED = (
    "strategy",
    "asset",
    "side",
    "order_type",
    "size",
    "limit_price",
    "approved",
    "gate",
    "shares",
    "price",
)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def decision_record(outcome: OrderOutcome) -> dict[str, Any]:
    """The JSON-ready record of one outcome (numbers as exact decimal strings)."""
    return {
        "at_ms": outcome.at_ms,
        "intent_id": outcome.intent_id,
        "strategy": outcome.strategy,
        "asset": outcome.asset,
        "side": outcome.side,
        "order_type": outcome.order_type,
        "size": _text(outcome.size),
        "unit": outcome.unit,
        "limit_price": _text(outcome.limit_price),
        "approved": outcome.approved,
        "gate": outcome.gate,
        "reason": outcome.reason,
        "shares": _text(outcome.shares),
        "price": _text(outcome.price),
        "submit_error": outcome.submit_error,
    }


def key_of(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(name) for name in COMPARED)


def outcome_text(record: dict[str, Any] | None) -> str:
    """``approved 12.5 @ 0.43`` or ``rejected by max_trade: ...`` (or ``not decided``)."""
    if record is None:
        return "not decided"
    if record["approved"]:
        return f"approved {record['shares']} @ {record['price']}"
    return f"rejected by {record['gate']}: {record['reason']}"


@dataclass(frozen=True)
class Difference:
    """One intent decided differently (``before`` / ``after`` is ``None`` when that side never
    saw the intent)."""

    intent_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def fields(self) -> tuple[str, ...]:
        if self.before is None or self.after is None:
            return ("decided",)
        return tuple(n for n in COMPARED if self.before.get(n) != self.after.get(n))

    @property
    def at_ms(self) -> int:
        side = self.before if self.before is not None else self.after
        return int(side["at_ms"]) if side is not None else 0

    def describe(self) -> str:
        side = self.before or self.after or {}
        what = f"{side.get('strategy')} {side.get('side')} {str(side.get('asset'))[:12]}"
        return (
            f"{self.intent_id[:16]} {what}: {outcome_text(self.before)} -> "
            f"{outcome_text(self.after)} ({', '.join(self.fields)})"
        )


def _by_intent(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last decision per intent id (an intent is decided once; a repeat would be a
    strategy re-emitting it, and the later outcome is the one that stood)."""
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        out[record["intent_id"]] = record
    return out


def compare(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> list[Difference]:
    """Intent by intent, in time order: where ``after`` decided otherwise than ``before``."""
    a, b = _by_intent(before), _by_intent(after)
    out = []
    for intent_id in dict.fromkeys([*a, *b]):
        x, y = a.get(intent_id), b.get(intent_id)
        if x is None or y is None or key_of(x) != key_of(y):
            out.append(Difference(intent_id, x, y))
    return sorted(out, key=lambda d: d.at_ms)
