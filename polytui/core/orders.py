"""Order and fill state machines (architecture §5): which moves are allowed, which states end.

An order goes ``INTENDED → SIGNED → SUBMITTED → LIVE → PARTIALLY_FILLED → FILLED``, or ends
``CANCELED / EXPIRED / REJECTED / FAILED``; ``UNKNOWN`` follows a POST whose outcome nobody
knows until the order is looked up by id. Venue news can overtake our own steps (a fill on the
user channel before the POST returns), so a state may skip ahead, never go back: once terminal,
an order stays terminal unless a reconciler's correction says otherwise.

A fill's settlement goes ``MATCHED → MINED → CONFIRMED``; ``RETRYING`` is the venue resending
after a revert, ``FAILED`` undoes the fill. ``CONFIRMED`` and ``FAILED`` are final.

Pure: the ledger's projections and the order tracker both decide with these functions, so the
rules live in one place.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class OrderState(StrEnum):
    INTENDED = "INTENDED"
    SIGNED = "SIGNED"
    SUBMITTED = "SUBMITTED"
    UNKNOWN = "UNKNOWN"
    LIVE = "LIVE"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


TERMINAL_ORDER_STATES = frozenset(
    {
        OrderState.FILLED,
        OrderState.CANCELED,
        OrderState.EXPIRED,
        OrderState.REJECTED,
        OrderState.FAILED,
    }
)
OPEN_ORDER_STATES = frozenset({OrderState.LIVE, OrderState.PARTIALLY_FILLED})
"""Resting at the venue: what a cancel-all must clear."""

_ENDS = TERMINAL_ORDER_STATES
_AT_VENUE = frozenset({OrderState.LIVE, OrderState.PARTIALLY_FILLED, OrderState.FILLED})
_ORDER_MOVES: dict[OrderState, frozenset[OrderState]] = {
    OrderState.INTENDED: frozenset({OrderState.SIGNED, OrderState.REJECTED, OrderState.FAILED}),
    OrderState.SIGNED: frozenset({OrderState.SUBMITTED, OrderState.FAILED, OrderState.REJECTED}),
    # After the POST anything the venue can say may come first.
    OrderState.SUBMITTED: _AT_VENUE | _ENDS | {OrderState.UNKNOWN},
    OrderState.UNKNOWN: _AT_VENUE | _ENDS,
    OrderState.LIVE: frozenset({OrderState.PARTIALLY_FILLED}) | _ENDS,
    # PARTIALLY_FILLED -> PARTIALLY_FILLED: more was matched.
    OrderState.PARTIALLY_FILLED: frozenset({OrderState.PARTIALLY_FILLED}) | _ENDS,
}


def is_terminal(state: OrderState) -> bool:
    return state in TERMINAL_ORDER_STATES


def can_move(current: OrderState, new: OrderState) -> bool:
    """Whether an order in ``current`` may go to ``new`` without a correction."""
    return new in _ORDER_MOVES.get(current, frozenset())


_CANCELED_AS_EXPIRED = frozenset({"CANCELED_EXPIRED_ORDER", "EXPIRED"})


def state_from_venue(status: str, size_matched: Decimal, original_size: Decimal) -> OrderState:
    """The order state a venue status means (protocol §4.5, §5.3).

    ``live`` rests; ``matched`` is filled in full or in part (by the sizes); ``delayed`` was
    accepted and waits for the matching delay, so it is still ``SUBMITTED``; ``unmatched`` is
    a marketable order whose delay ran out and that was placed on the book: ``LIVE``. Every
    ``CANCELED_*`` is ``CANCELED`` except the expired one; ``INVALID`` is ``REJECTED``. Any
    other string is ``UNKNOWN``: the tracker must look such an order up, not guess.
    """
    s = status.strip().upper()
    if s in ("LIVE", "UNMATCHED"):
        return OrderState.PARTIALLY_FILLED if size_matched > 0 else OrderState.LIVE
    if s == "MATCHED":
        if original_size > 0 and size_matched < original_size:
            return OrderState.PARTIALLY_FILLED
        return OrderState.FILLED
    if s == "DELAYED":
        return OrderState.SUBMITTED
    if s in _CANCELED_AS_EXPIRED:
        return OrderState.EXPIRED
    if s.startswith("CANCELED") or s == "CANCELLED":
        return OrderState.CANCELED
    if s == "INVALID":
        return OrderState.REJECTED
    return OrderState.UNKNOWN


class FillStatus(StrEnum):
    MATCHED = "MATCHED"
    MINED = "MINED"
    RETRYING = "RETRYING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"


TERMINAL_FILL_STATUSES = frozenset({FillStatus.CONFIRMED, FillStatus.FAILED})
_FILL_RANK = {
    FillStatus.MATCHED: 0,
    FillStatus.RETRYING: 1,
    FillStatus.MINED: 2,
    FillStatus.CONFIRMED: 3,
}


def can_settle(current: FillStatus, new: FillStatus) -> bool:
    """Whether a fill may go from ``current`` to ``new``.

    Forward along ``MATCHED → MINED → CONFIRMED``; ``RETRYING`` may come after ``MATCHED`` or
    ``MINED`` and be followed by ``MINED`` or ``CONFIRMED`` again; ``FAILED`` from anything
    that is not final. Nothing leaves ``CONFIRMED`` or ``FAILED``.
    """
    if current in TERMINAL_FILL_STATUSES or new == current:
        return False
    if new is FillStatus.FAILED:
        return True
    if new is FillStatus.RETRYING:
        return current in (FillStatus.MATCHED, FillStatus.MINED)
    if current is FillStatus.RETRYING:
        return new in (FillStatus.MINED, FillStatus.CONFIRMED)
    return _FILL_RANK[new] > _FILL_RANK[current]


def fill_status_from_venue(status: str) -> FillStatus | None:
    """``TRADE_STATUS_MINED`` (REST) or ``MINED`` (WS) -> ``FillStatus.MINED``.

    ``MATCHED_NOT_BROADCASTED`` is a match that is not on chain yet: ``MATCHED``. ``None`` for a
    status this code does not know, which the caller must report rather than guess.
    """
    s = status.strip().upper().removeprefix("TRADE_STATUS_")
    if s == "MATCHED_NOT_BROADCASTED":
        return FillStatus.MATCHED
    try:
        return FillStatus(s)
    except ValueError:
        return None
