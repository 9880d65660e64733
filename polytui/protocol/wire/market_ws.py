"""Market-channel events (protocol §5.2), one tagged union decoded in a single msgspec pass.

    for event in decode_market_frame(frame):
        match event:
            case Book(): ...
            case PriceChange(): ...

A frame holds one event object or an array of them (the initial dump is an array of books);
``PONG`` holds none. Prices and sizes are ``Decimal``; ``best_bid``/``best_ask``/``spread``
and a book's ``last_trade_price`` are ``None`` when the wire sends ``""`` (an empty side, no
trade yet). Timestamps are ``int`` epoch milliseconds. An unknown ``event_type``, a missing
key or a wrong type raises ``WireError``; in an array the events that did decode are still
returned on the error (``WireError.events``), see ``codec.EventFrames``.
"""

from __future__ import annotations

from decimal import Decimal

from polytui.protocol.wire.codec import EventFrames, Wire


class MarketEventBase(Wire, tag_field="event_type"):
    """Every market-channel object carries ``event_type``; the struct's tag is its value."""


class BookLevel(Wire):
    """A level of a WS book: the price as the exact string served (see ``PriceChangeEntry``),
    the size (the level's total) as a ``Decimal``."""

    price: str
    size: Decimal


class Book(MarketEventBase, tag="book"):
    """A full snapshot of one token's book: on subscribe and after a trade.

    Same order as REST (bids ascending, asks descending: best = last). WS books usually omit
    ``min_order_size`` and ``neg_risk``, and old captures omit ``tick_size`` and
    ``last_trade_price``, so all four are optional.
    """

    market: str
    asset_id: str
    timestamp: int
    hash: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    tick_size: str | None = None  # exact as served ("0.01"), like the level prices
    last_trade_price: Decimal | None = None
    min_order_size: Decimal | None = None
    neg_risk: bool | None = None


class PriceChangeEntry(Wire):
    """One level change: ``size`` is the level's new total (``0`` removes it), BUY = bid.

    ``best_bid``/``best_ask`` are the asset's top of book after the change (``""``: that side
    is empty); ``hash`` is the resulting book's hash (a health signal, §5.4).

    The three prices stay the exact decimal strings the venue sent: this is the mirror's hot
    path, and it turns them into integer price units through a cache
    (``polytui.core.book.price_units``), which is exact and about twice as fast as building
    three ``Decimal`` per entry. The size is a ``Decimal`` (decoded in C: a cache of size
    strings in Python costs as much as it saves, measured).
    """

    asset_id: str
    price: str
    size: Decimal
    side: str
    hash: str
    best_bid: str
    best_ask: str


class PriceChange(MarketEventBase, tag="price_change"):
    """Level changes of one market, usually for both of its tokens (post-2025-09-15 schema)."""

    market: str
    timestamp: int
    price_changes: tuple[PriceChangeEntry, ...]


class LastTradePrice(MarketEventBase, tag="last_trade_price"):
    """A match happened; ``transaction_hash`` is absent in older captures."""

    market: str
    asset_id: str
    price: Decimal
    side: str
    size: Decimal
    timestamp: int
    fee_rate_bps: Decimal | None = None
    transaction_hash: str | None = None


class TickSizeChange(MarketEventBase, tag="tick_size_change"):
    """The tick changed (prices near 0 or 1): orders on the old grid are now rejected."""

    market: str
    asset_id: str
    old_tick_size: Decimal
    new_tick_size: Decimal
    timestamp: int


class BestBidAsk(MarketEventBase, tag="best_bid_ask"):
    """Top of book of one token (custom feature). Like the ``price_change`` entries, the
    prices are the decimal strings as served, ``""`` for an empty side (and no spread)."""

    market: str
    asset_id: str
    best_bid: str
    best_ask: str
    spread: str
    timestamp: int


class EventMessage(Wire):
    """The Gamma event a new market belongs to."""

    id: str
    ticker: str = ""
    slug: str = ""
    title: str = ""
    description: str = ""


class NewMarket(MarketEventBase, tag="new_market"):
    """A market was created (custom feature; not tied to the subscribed assets).

    ``line`` and ``game_start_time`` are sports fields, often ``""``, kept as served.
    """

    id: str
    market: str
    assets_ids: tuple[str, ...]
    timestamp: int
    question: str = ""
    condition_id: str = ""
    slug: str = ""
    description: str = ""
    clob_token_ids: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    event_message: EventMessage | None = None
    tags: tuple[str, ...] = ()
    active: bool = True
    order_price_min_tick_size: Decimal | None = None
    group_item_title: str = ""
    sports_market_type: str = ""
    line: str = ""
    game_start_time: str = ""
    taker_base_fee: Decimal | None = None
    fees_enabled: bool | None = None
    fee_schedule: object = None  # shape not in the contract; kept as plain JSON


class MarketResolved(MarketEventBase, tag="market_resolved"):
    """A market resolved (custom feature)."""

    id: str
    market: str
    assets_ids: tuple[str, ...]
    winning_asset_id: str
    winning_outcome: str
    timestamp: int
    tags: tuple[str, ...] = ()


MarketEvent = (
    Book | PriceChange | LastTradePrice | TickSizeChange | BestBidAsk | NewMarket | MarketResolved
)

_FRAMES: EventFrames[MarketEvent] = EventFrames(MarketEvent)


def decode_market_frame(data: bytes | str) -> list[MarketEvent]:
    """The events of one market-channel frame, in order (none for ``PONG``).

    Raises ``WireError``; for an array frame, ``WireError.events`` holds the objects that
    decoded, in order, so a caller can apply them and count the failure.
    """
    return _FRAMES.decode(data)
