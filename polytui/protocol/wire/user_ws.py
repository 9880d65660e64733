"""User-channel events (protocol §5.3): ``order`` and ``trade``, one tagged union.

Statuses and types are kept as the strings served (``LIVE``, ``CANCELED_MARKET_RESOLVED``,
``MINED``...): the venue adds values, and an unknown one must reach the order tracker, not
fail the frame. Timestamps arrive as seconds in the docs and as milliseconds in 2026
captures; the fields hold the served value and the ``*_ms`` properties normalise it (a
value above 1e12 is already ms). The docs spell the trade's match time ``match_time`` (EN)
or ``matchtime`` (CN); both are read and ``match_time_ms`` uses whichever came.
"""

from __future__ import annotations

from decimal import Decimal

from polytui.protocol.wire.clob import MakerOrder
from polytui.protocol.wire.codec import EventFrames, Wire, to_ms


class UserEventBase(Wire, tag_field="event_type"):
    """Every user-channel object carries ``event_type``; the struct's tag is its value."""


class OrderEvent(UserEventBase, tag="order"):
    """``PLACEMENT``, ``UPDATE`` (``size_matched`` is cumulative) or ``CANCELLATION``."""

    type: str
    id: str
    market: str
    asset_id: str
    side: str
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    timestamp: int
    status: str = ""
    owner: str = ""
    order_owner: str = ""
    maker_address: str = ""
    outcome: str = ""
    order_type: str = ""
    associate_trades: tuple[str, ...] | None = None
    expiration: int = 0  # epoch seconds, 0 = none
    created_at: int | None = None

    @property
    def timestamp_ms(self) -> int:
        return to_ms(self.timestamp)

    @property
    def created_at_ms(self) -> int | None:
        return None if self.created_at is None else to_ms(self.created_at)


class TradeEvent(UserEventBase, tag="trade"):
    """A match, sent to the taker and to each maker, then again on every status change.

    ``side``/``price``/``size`` are the taker's; a maker finds its fill in ``maker_orders``.
    """

    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: str
    size: Decimal
    price: Decimal
    status: str
    type: str = "TRADE"
    fee_rate_bps: Decimal = Decimal(0)
    outcome: str = ""
    owner: str = ""
    trade_owner: str = ""
    maker_address: str = ""
    trader_side: str = ""
    bucket_index: int = 0
    transaction_hash: str = ""
    match_time: int | None = None
    matchtime: int | None = None
    last_update: int | None = None
    timestamp: int | None = None
    maker_orders: tuple[MakerOrder, ...] = ()

    @property
    def match_time_ms(self) -> int | None:
        served = self.match_time if self.match_time is not None else self.matchtime
        return None if served is None else to_ms(served)

    @property
    def last_update_ms(self) -> int | None:
        return None if self.last_update is None else to_ms(self.last_update)

    @property
    def timestamp_ms(self) -> int | None:
        return None if self.timestamp is None else to_ms(self.timestamp)


UserEvent = OrderEvent | TradeEvent

_FRAMES: EventFrames[UserEvent] = EventFrames(UserEvent)


def decode_user_frame(data: bytes | str) -> list[UserEvent]:
    """The events of one user-channel frame, in order (none for ``PONG``).

    Raises ``WireError``; for an array frame, ``WireError.events`` holds the objects that
    decoded, in order.
    """
    return _FRAMES.decode(data)
