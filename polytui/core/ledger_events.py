"""The ledger's vocabulary: one frozen struct per kind of event the order lifecycle writes.

The ledger (``polytui.store``) stores each event as JSON with its ``kind`` (the struct's tag);
projections (``polytui.core.projections``) fold them back into orders, fills, positions and PnL.
Money, prices and sizes are exact ``Decimal`` (JSON strings), token ids are strings, and no
event ever holds a secret: a signed order is public once posted, the private key and the API
credentials never enter the ledger.

Every event has a natural ``event_id`` (:func:`event_id`), built from what makes it unique
(an intent id, an order id and a state, a trade id and a status...), so an event observed
twice (once on the user channel, once by REST) is stored once. Events that have no such
identity (a kill-switch engagement, a reconciliation run) carry a ``ref`` given by their
writer.

The ledger is append-only: a mistake is corrected by a later, compensating event (an
``OrderStateChanged`` with ``correction=True``, a ``FillSettlementChanged`` to ``FAILED``),
never by editing history.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from polytui.core.orders import FillStatus, OrderState

Side = Literal["BUY", "SELL"]
OrderTypeName = Literal["GTC", "GTD", "FOK", "FAK"]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    @property
    def kind(self) -> str:
        return type(self).__struct_config__.tag  # type: ignore[return-value]


class IntentRecorded(_Event, tag="intent_recorded"):
    """A strategy (or a person) wants an order; written before anything is signed."""

    intent_id: str
    """Deterministic from the cause (a leader's trade, a strategy's signal): the same cause
    always gives the same intent, so a restart cannot double it."""
    strategy: str
    market: str
    asset_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: OrderTypeName
    reason: str = ""
    expiration_s: int = 0
    post_only: bool = False


class OrderSigned(_Event, tag="order_signed"):
    """The intent's signed order. Written with its ``IntentRecorded`` in one durable write,
    before the POST, so after a crash the order can be looked up by id, never re-sent."""

    intent_id: str
    order_id: str
    """The EIP-712 digest: the venue's id for the order, known before sending."""
    metadata: str
    """bytes32 hash of the intent id, carried in the signed order."""
    order: dict[str, object]
    """The signed order as posted (the ``order`` object of the POST body, signature included)."""


class OrderSubmitted(_Event, tag="order_submitted"):
    """The POST left (``attempt`` counts resends of the same signed order)."""

    order_id: str
    attempt: int = 1


class OrderAcked(_Event, tag="order_acked"):
    """The venue's answer to the POST, or what looking the order up found (``looked_up``)."""

    order_id: str
    accepted: bool
    venue_status: str = ""
    """``live``, ``matched``, ``delayed``, ``unmatched``, or empty when refused."""
    error: str = ""
    size_matched: Decimal = Decimal(0)
    trade_ids: tuple[str, ...] = ()
    looked_up: bool = False
    attempt: int = 1


class OrderStateChanged(_Event, tag="order_state_changed"):
    """An order moved (user channel, REST, a lookup, a timeout, the reconciler).

    ``correction`` marks a compensating event that may move an order anywhere, even out of
    a terminal state; without it, moves the state machine forbids are ignored by projections
    (and counted as anomalies).
    """

    order_id: str
    state: OrderState
    size_matched: Decimal | None = None
    """Cumulative matched size as the venue said it; ``None`` keeps the previous value."""
    venue_status: str = ""
    source: str = ""
    reason: str = ""
    correction: bool = False
    ref: str = ""


class FillRecorded(_Event, tag="fill_recorded"):
    """One of our orders traded. Positions move at once, provisionally until ``CONFIRMED``."""

    trade_id: str
    order_id: str
    market: str
    asset_id: str
    side: Side
    """Our side of the fill (a maker's is not the taker's side the trade message shows)."""
    price: Decimal
    size: Decimal
    fee: Decimal = Decimal(0)
    """pUSD paid for this fill."""
    status: FillStatus = FillStatus.MATCHED
    role: Literal["TAKER", "MAKER", ""] = ""
    match_time_ms: int | None = None
    tx_hash: str = ""


class FillSettlementChanged(_Event, tag="fill_settlement_changed"):
    """A fill's settlement moved; ``FAILED`` reverses its effect on the position."""

    trade_id: str
    order_id: str
    status: FillStatus
    tx_hash: str = ""


class KillSwitchEngaged(_Event, tag="kill_switch_engaged"):
    """Every new order is blocked until a ``KillSwitchReleased``; survives restarts."""

    ref: str
    reason: str = ""
    source: str = ""
    """``tui``, ``cli``, ``signal``, ``risk``..."""


class KillSwitchReleased(_Event, tag="kill_switch_released"):
    ref: str
    source: str = ""


class ReconciliationDiff(_Event, tag="reconciliation_diff"):
    """Where the projections and the venue disagreed, and what was done about it."""

    ref: str
    """The reconciliation run."""
    subject: Literal["order", "fill", "position"]
    key: str
    """Order id, trade id or asset id."""
    ours: str = ""
    venue: str = ""
    action: str = ""


class PositionCorrected(_Event, tag="position_corrected"):
    """The reconciler's correction of a position the venue holds differently and no fill
    explains: ``delta`` shares (signed) are added to the position as settled shares at
    ``price`` (the average cost of what appears; a reduction keeps the average cost and
    realises nothing: those shares were never sold here)."""

    ref: str
    """The reconciliation run."""
    asset_id: str
    delta: Decimal
    venue_size: Decimal
    """The venue's size after the correction: what ``delta`` was computed against."""
    market: str = ""
    price: Decimal = Decimal(0)
    reason: str = ""


class RiskRejected(_Event, tag="risk_rejected"):
    """A risk gate refused an intent; nothing was signed. ``halt_until_ms``: the daily loss
    cap tripped and halts the strategy's new exposure until then (it survives a restart)."""

    intent_id: str
    gate: str
    reason: str = ""
    strategy: str = ""
    asset_id: str = ""
    halt_until_ms: int | None = None


class PnlSnapshot(_Event, tag="pnl_snapshot"):
    """Marks (a price per asset) at an instant; projections value the positions at them."""

    at_ms: int
    marks: dict[str, Decimal]


LedgerEvent = (
    IntentRecorded
    | OrderSigned
    | OrderSubmitted
    | OrderAcked
    | OrderStateChanged
    | FillRecorded
    | FillSettlementChanged
    | KillSwitchEngaged
    | KillSwitchReleased
    | ReconciliationDiff
    | PositionCorrected
    | RiskRejected
    | PnlSnapshot
)

EVENT_TYPES: dict[str, type[LedgerEvent]] = {
    t.__struct_config__.tag: t  # type: ignore[misc]
    for t in LedgerEvent.__args__  # type: ignore[attr-defined]
}
ORDER_KINDS = frozenset(
    {
        "intent_recorded",
        "order_signed",
        "order_submitted",
        "order_acked",
        "order_state_changed",
        "fill_recorded",
        "fill_settlement_changed",
        "kill_switch_engaged",
        "kill_switch_released",
        "position_corrected",
    }
)
"""Kinds whose loss would cost money: always written durably."""


def event_id(event: LedgerEvent) -> str:
    """The event's natural idempotency key: the same fact observed twice has the same id."""
    match event:
        case IntentRecorded():
            return f"intent:{event.intent_id}"
        case OrderSigned():
            return f"signed:{event.order_id}"
        case OrderSubmitted():
            return f"submitted:{event.order_id}:{event.attempt}"
        case OrderAcked():
            return f"acked:{event.order_id}:{event.attempt}"
        case OrderStateChanged():
            matched = "" if event.size_matched is None else _num(event.size_matched)
            tail = f":correction:{event.ref}" if event.correction else ""
            return f"state:{event.order_id}:{event.state}:{matched}{tail}"
        case FillRecorded():
            return f"fill:{event.trade_id}:{event.order_id}"
        case FillSettlementChanged():
            return f"settle:{event.trade_id}:{event.order_id}:{event.status}"
        case KillSwitchEngaged():
            return f"kill:{event.ref}"
        case KillSwitchReleased():
            return f"resume:{event.ref}"
        case ReconciliationDiff():
            return f"diff:{event.ref}:{event.subject}:{event.key}"
        case PositionCorrected():
            return f"position:{event.ref}:{event.asset_id}"
        case RiskRejected():
            return f"risk:{event.intent_id}:{event.gate}"
        case PnlSnapshot():
            return f"pnl:{event.at_ms}"
    raise TypeError(f"not a ledger event: {event!r}")


def _num(value: Decimal) -> str:
    """``Decimal("2.50")`` and ``Decimal("2.5")`` are the same size: one id for both."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


class LedgerRecord(msgspec.Struct, frozen=True):
    """An event as the ledger holds it: its place (``seq``, from 1, no gaps), its id, the time
    the ledger took it (``ts_ms``, from the injected clock) and the event."""

    seq: int
    event_id: str
    ts_ms: int
    event: LedgerEvent

    @property
    def kind(self) -> str:
        return self.event.kind


_ENCODER = msgspec.json.Encoder(decimal_format="string")
_DECODER = msgspec.json.Decoder(LedgerEvent)


def encode_event(event: LedgerEvent) -> bytes:
    """Compact JSON with ``kind``; Decimals as strings, so nothing is rounded on the way."""
    return _ENCODER.encode(event)


def decode_event(payload: bytes | str) -> LedgerEvent:
    """Raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` for a payload that is not
    one of the events above."""
    return _DECODER.decode(payload)
