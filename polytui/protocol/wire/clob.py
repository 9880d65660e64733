"""CLOB REST responses (protocol §1, §2, §3.1, §4.5–§4.11), decoded with ``codec.decode``.

    book = decode(BookSummary, body)            # GET /book
    books = decode(Books, body)                 # POST /books
    page = decode(Page[OpenOrder], body)        # GET /data/orders
    err = decode(ErrorResponse, body)           # any non-200 body

Prices, sizes and amounts are ``Decimal``, whether served as decimal strings (almost all) or
as JSON numbers (``/tick-size``, ``/prices-history``, the market object): msgspec builds the
Decimal from the JSON text, so ``0.01`` stays exactly ``Decimal("0.01")``. ``fee_rate_bps``
(a decimal string) is a ``Decimal`` too. Base-unit amounts (``/balance-allowance``) and the
integer fee fields (``base_fee``, ``maker_base_fee``) are ``int``; epoch timestamps are ``int``
as served (milliseconds on books, seconds elsewhere). Ids stay strings. Python names follow
the wire; where the wire is camelCase or a short key, the struct says so with
``field(name=...)``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, TypeVar

from msgspec import field

from polytui.protocol.wire.codec import Wire

T = TypeVar("T")

START_CURSOR = "MA=="  # base64 "0": the first page
END_CURSOR = "LTE="  # base64 "-1": there is no next page


class Level(Wire):
    """One price level; on REST and WS books ``size`` is the level's total."""

    price: Decimal
    size: Decimal


class BookSummary(Wire):
    """``GET /book`` and each element of ``POST /books``: all ten keys, in wire order.

    Bids ascend and asks descend, so the best of each side is the LAST element. The hash is
    over exactly these keys (§2.14). ``last_trade_price`` is ``None`` when the wire says ``""``
    (the token has never traded).
    """

    market: str
    asset_id: str
    timestamp: int  # epoch ms
    hash: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    min_order_size: Decimal
    tick_size: Decimal
    neg_risk: bool
    last_trade_price: Decimal | None


Books = tuple[BookSummary, ...]


class Price(Wire):
    """``GET /price``: BUY answers the best bid, SELL the best ask."""

    price: Decimal


Prices = dict[str, dict[str, Decimal]]  # POST /prices: token id -> side -> price


class Midpoint(Wire):
    mid: Decimal


Midpoints = dict[str, Decimal]  # POST /midpoints: token id -> mid


class Spread(Wire):
    spread: Decimal


Spreads = dict[str, Decimal]  # POST /spreads: token id -> spread


class TickSize(Wire):
    """``GET /tick-size``: served as a JSON number, decoded exactly."""

    minimum_tick_size: Decimal


class NegRisk(Wire):
    neg_risk: bool


class FeeRate(Wire):
    """``GET /fee-rate``: integer basis points (signing V1 orders only)."""

    base_fee: int


ServerTime = int  # GET /time: a bare JSON integer, epoch seconds


class LastTradePrice(Wire):
    """``GET /last-trade-price``: ``side`` is ``""`` when the token never traded, and the price
    is then meaningless (``None`` if served empty)."""

    price: Decimal | None
    side: str


class TokenLastTrade(Wire):
    """One element of ``POST /last-trades-prices`` (tokens without trades may be absent)."""

    token_id: str
    price: Decimal | None
    side: str


LastTradesPrices = tuple[TokenLastTrade, ...]


class PricePoint(Wire):
    t: int  # epoch seconds
    p: Decimal


class PricesHistory(Wire):
    history: tuple[PricePoint, ...]


class MarketToken(Wire):
    token_id: str
    outcome: str
    price: Decimal
    winner: bool = False


class Rewards(Wire):
    rates: object = None  # shape not in the contract; kept as plain JSON
    min_size: Decimal = Decimal(0)
    max_spread: Decimal = Decimal(0)


class Market(Wire):
    """The CLOB market object (``GET /markets`` rows, ``GET /markets/<condition_id>``).

    Only the keys that the "simplified" listings also carry are required, so the same struct
    reads ``/simplified-markets`` and ``/sampling-*`` pages.
    """

    condition_id: str
    tokens: tuple[MarketToken, ...]
    active: bool
    closed: bool
    archived: bool
    accepting_orders: bool
    question_id: str = ""
    question: str = ""
    description: str = ""
    market_slug: str = ""
    end_date_iso: str | None = None
    game_start_time: str | None = None
    seconds_delay: int = 0
    accepting_order_timestamp: str | None = None
    enable_order_book: bool = False
    minimum_order_size: Decimal | None = None
    minimum_tick_size: Decimal | None = None
    maker_base_fee: int = 0
    taker_base_fee: int = 0
    neg_risk: bool = False
    neg_risk_market_id: str = ""
    neg_risk_request_id: str = ""
    notifications_enabled: bool = False
    is_50_50_outcome: bool = False
    fpmm: str = ""
    icon: str = ""
    image: str = ""
    rewards: Rewards | None = None
    tags: tuple[str, ...] | None = None


class Page(Wire, Generic[T]):
    """The CLOB cursor envelope (markets, open orders, trades); ``LTE=`` marks the last page."""

    limit: int
    count: int
    next_cursor: str
    data: tuple[T, ...]

    @property
    def is_last(self) -> bool:
        return self.next_cursor == END_CURSOR


class ClobToken(Wire):
    token_id: str = field(name="t")
    outcome: str = field(name="o")


class PlatformFee(Wire):
    """Taker fee = shares x rate x (p(1-p))^exponent (§4.8)."""

    rate: Decimal = field(name="r")
    exponent: int = field(name="e")
    taker_only: bool = field(name="to")


class ClobMarketInfo(Wire):
    """``GET /clob-markets/<condition_id>``: the compact market info, short keys on the wire."""

    condition_id: str = field(name="c")
    tokens: tuple[ClobToken, ...] = field(name="t")
    min_tick_size: Decimal = field(name="mts")
    neg_risk: bool = field(name="nr")
    fee: PlatformFee | None = field(name="fd", default=None)
    maker_base_fee: int = field(name="mbf", default=0)
    taker_base_fee: int = field(name="tbf", default=0)


class MarketByToken(Wire):
    """``GET /markets-by-token/<token_id>``: only ``condition_id`` is in the contract."""

    condition_id: str
    primary_token_id: str = ""
    secondary_token_id: str = ""


class BuilderFees(Wire):
    """``GET /fees/builder-fees/<code>``: basis points."""

    builder_maker_fee_rate_bps: int = 0
    builder_taker_fee_rate_bps: int = 0


class Version(Wire):
    version: int


class PostOrderResponse(Wire):
    """``POST /order`` (and each element of ``POST /orders``, in request order).

    The amounts are ``None`` while nothing matched (the wire says ``""``). polymarket-client
    counts an order as accepted iff ``success``, no ``errorMsg``, an ``orderID`` and a status
    in live/matched/delayed.
    """

    success: bool
    error_msg: str = field(name="errorMsg")
    order_id: str = field(name="orderID")
    status: str
    making_amount: Decimal | None = field(name="makingAmount", default=None)
    taking_amount: Decimal | None = field(name="takingAmount", default=None)
    transactions_hashes: tuple[str, ...] = field(name="transactionsHashes", default=())
    trade_ids: tuple[str, ...] = field(name="tradeIDs", default=())


PostOrdersResponse = tuple[PostOrderResponse, ...]


class CancelResponse(Wire):
    """Every cancel call (§4.7): ids cancelled, and the reason for each one that was not."""

    canceled: tuple[str, ...]
    not_canceled: dict[str, str] = field(default_factory=dict)


class OpenOrder(Wire):
    """``GET /data/orders`` rows and ``GET /data/order/<id>``; status as served (``LIVE``...)."""

    id: str
    status: str
    market: str
    asset_id: str
    side: str
    original_size: Decimal
    size_matched: Decimal
    price: Decimal
    owner: str = ""
    maker_address: str = ""
    associate_trades: tuple[str, ...] | None = None
    outcome: str = ""
    created_at: int | None = None  # epoch seconds
    expiration: int = 0  # epoch seconds, 0 = none
    order_type: str = ""


class MakerOrder(Wire):
    """A resting order that took part in a trade; a maker finds its own fill here (§4.9, §5.3)."""

    order_id: str
    matched_amount: Decimal
    price: Decimal
    owner: str = ""
    maker_address: str = ""
    fee_rate_bps: Decimal = Decimal(0)
    asset_id: str = ""
    outcome: str = ""
    side: str = ""


class Trade(Wire):
    """``GET /data/trades`` rows. ``side``/``price``/``size`` are the taker's; the status may
    carry a ``TRADE_STATUS_`` prefix on REST (kept as served)."""

    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: str
    size: Decimal
    price: Decimal
    status: str
    match_time: int  # epoch seconds
    fee_rate_bps: Decimal = Decimal(0)
    last_update: int | None = None
    outcome: str = ""
    bucket_index: int = 0
    owner: str = ""
    maker_address: str = ""
    transaction_hash: str = ""
    trader_side: str = ""
    maker_orders: tuple[MakerOrder, ...] = ()


class BalanceAllowance(Wire):
    """``GET /balance-allowance``, base units. Sources disagree on ``allowance`` (older) versus
    the ``allowances`` map by spender (py-sdk 0.14); both are read."""

    balance: int
    allowance: int | None = None
    allowances: dict[str, int] = field(default_factory=dict)


class HeartbeatResponse(Wire):
    heartbeat_id: str


class ApiCreds(Wire):
    """``POST /auth/api-key`` and ``GET /auth/derive-api-key``; ``secret`` is URL-safe base64."""

    api_key: str = field(name="apiKey")
    secret: str
    passphrase: str


class ErrorResponse(Wire):
    """Any error body: ``{"error": ...}`` (+ ``code``, ``retry_after_seconds``), or the
    heartbeat's ``{"error_msg": ..., "heartbeat_id": <the id to retry with>}``."""

    error: str | None = None
    code: str | None = None
    retry_after_seconds: float | None = None
    error_msg: str | None = None
    heartbeat_id: str | None = None

    @property
    def message(self) -> str:
        return self.error or self.error_msg or ""
