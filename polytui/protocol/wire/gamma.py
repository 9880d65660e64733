"""Gamma market and event objects (protocol §6), the fields a scanner needs.

    markets = decode(GammaMarkets, body)        # GET /markets (a bare array)
    page = decode(GammaMarketsPage, body)       # GET /markets/keyset
    events = decode(GammaEvents, body)          # GET /events (markets embedded)

``outcomes``, ``outcomePrices``, ``clobTokenIds`` and ``umaResolutionStatuses`` are served as
JSON-encoded strings and decode to real tuples (index i of ``outcomes`` matches index i of
``clob_token_ids`` and ``outcome_prices``; ``""`` decodes to an empty tuple). Numbers are as
served: JSON numbers (``liquidityNum``, ``bestBid``, ``volume24hr``...) are ``float`` — Gamma is
for discovery, prices to trade on come from the CLOB — and decimal strings (``liquidity``,
``volume``, the outcome prices) are ``Decimal``. Python names are snake_case; the wire's
camelCase comes from ``rename="camel"``, and keys that camel-casing would get wrong
(``questionID``, ``volume24hr``, the keyset pages' ``next_cursor``) are named explicitly.
"""

from __future__ import annotations

from decimal import Decimal

from msgspec import field

from polytui.protocol.wire.codec import JsonDecimals, JsonStrings, Wire


class GammaStruct(Wire, rename="camel"):
    """Gamma's keys are camelCase."""


class GammaTag(GammaStruct):
    id: str
    label: str = ""
    slug: str = ""


class FeeSchedule(GammaStruct):
    """Platform taker fee parameters (§4.8): shares x rate x (p(1-p))^exponent."""

    exponent: float = 1
    rate: float = 0
    taker_only: bool = True
    rebate_rate: float = 0


class GammaMarket(GammaStruct):
    """One Gamma market. Choose ids by ``version``: ``"v2"`` trades ``position_ids``, ``"v1"``
    trades ``clob_token_ids``; the scanner rejects a missing or unknown version.

    Tradable iff ``active and not closed and not archived and enable_order_book and
    accepting_orders``.
    """

    id: str
    condition_id: str
    version: str | None = None
    question: str = ""
    question_id: str = field(name="questionID", default="")
    slug: str = ""
    description: str = ""
    category: str | None = None
    outcomes: JsonStrings = JsonStrings()
    outcome_prices: JsonDecimals = JsonDecimals()
    clob_token_ids: JsonStrings = JsonStrings()
    position_ids: tuple[str, ...] = ()
    active: bool = False
    closed: bool = False
    archived: bool = False
    restricted: bool = False
    accepting_orders: bool = False
    accepting_orders_timestamp: str | None = None
    enable_order_book: bool = False
    start_date: str | None = None
    end_date: str | None = None
    end_date_iso: str | None = None
    closed_time: str | None = None
    liquidity: Decimal | None = None
    liquidity_num: float | None = None
    liquidity_clob: float | None = None
    volume: Decimal | None = None
    volume_num: float | None = None
    volume_24hr: float | None = field(name="volume24hr", default=None)
    volume_1wk: float | None = field(name="volume1wk", default=None)
    volume_1mo: float | None = field(name="volume1mo", default=None)
    best_bid: float | None = None
    best_ask: float | None = None
    spread: float | None = None
    last_trade_price: float | None = None
    one_day_price_change: float | None = None
    one_week_price_change: float | None = None
    neg_risk: bool = False
    neg_risk_market_id: str | None = field(name="negRiskMarketID", default=None)
    neg_risk_request_id: str | None = field(name="negRiskRequestID", default=None)
    order_price_min_tick_size: float | None = None
    order_min_size: float | None = None
    group_item_title: str = ""
    uma_resolution_status: str | None = None
    uma_resolution_statuses: JsonStrings = JsonStrings()
    resolved_by: str | None = None
    fees_enabled: bool = False
    fee_type: str | None = None
    fee_schedule: FeeSchedule | None = None
    rewards_min_size: float = 0
    rewards_max_spread: float = 0
    events: tuple[GammaEvent, ...] = ()
    tags: tuple[GammaTag, ...] = ()


class GammaEvent(GammaStruct):
    """A Gamma event; listings embed its ``markets``, a market embeds a short form of it."""

    id: str
    ticker: str = ""
    slug: str = ""
    title: str = ""
    description: str = ""
    category: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    active: bool = False
    closed: bool = False
    archived: bool = False
    neg_risk: bool = False
    neg_risk_market_id: str | None = field(name="negRiskMarketID", default=None)
    liquidity: float | None = None
    volume: float | None = None
    volume_24hr: float | None = field(name="volume24hr", default=None)
    tags: tuple[GammaTag, ...] = ()
    markets: tuple[GammaMarket, ...] = ()


class GammaMarketsPage(GammaStruct):
    """``GET /markets/keyset``; ``next_cursor`` is ``None`` on the last page."""

    markets: tuple[GammaMarket, ...]
    next_cursor: str | None = field(name="next_cursor", default=None)


class GammaEventsPage(GammaStruct):
    """``GET /events/keyset``; ``next_cursor`` is ``None`` on the last page."""

    events: tuple[GammaEvent, ...]
    next_cursor: str | None = field(name="next_cursor", default=None)


GammaMarkets = tuple[GammaMarket, ...]  # GET /markets
GammaEvents = tuple[GammaEvent, ...]  # GET /events
