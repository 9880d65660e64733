"""Data API rows (protocol §7): v1 bare arrays in camelCase, v2 envelopes in snake_case.

    positions = decode(Positions, body)                      # GET /positions
    page = decode(DataPage[TradeV2], body)                   # GET /v2/trades
    value = decode(DataItem[ValueV2], body).data             # GET /v2/value

The Data API serves numbers as JSON numbers. Shares, prices and USDC amounts decode to
``Decimal`` straight from the JSON text (exact: ``150.5`` is ``Decimal("150.5")``), because
the copy-trading follower sizes orders from them and reconciles them with the ledger. Epoch
timestamps are ``int`` seconds. Only the keys a row cannot be used without are required.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, TypeVar

from polytui.protocol.wire.codec import Wire

T = TypeVar("T")


class DataV1(Wire, rename="camel"):
    """v1 keys are camelCase."""


class Position(DataV1):
    """``GET /positions`` row (``sizeThreshold`` defaults to 1: pass 0 to see dust)."""

    proxy_wallet: str
    asset: str
    condition_id: str
    size: Decimal
    avg_price: Decimal | None = None
    initial_value: Decimal | None = None
    current_value: Decimal | None = None
    cash_pnl: Decimal | None = None
    percent_pnl: Decimal | None = None
    total_bought: Decimal | None = None
    realized_pnl: Decimal | None = None
    percent_realized_pnl: Decimal | None = None
    cur_price: Decimal | None = None
    redeemable: bool = False
    mergeable: bool = False
    title: str = ""
    slug: str = ""
    icon: str = ""
    event_slug: str = ""
    outcome: str = ""
    outcome_index: int | None = None
    opposite_outcome: str = ""
    opposite_asset: str = ""
    end_date: str | None = None
    negative_risk: bool = False


class Activity(DataV1):
    """``GET /activity`` row; non-trade types (DEPOSIT, REDEEM...) lack the trade keys."""

    proxy_wallet: str
    timestamp: int
    type: str
    condition_id: str = ""
    size: Decimal | None = None
    usdc_size: Decimal | None = None
    transaction_hash: str = ""
    price: Decimal | None = None
    asset: str = ""
    side: str = ""
    outcome_index: int | None = None
    title: str = ""
    slug: str = ""
    icon: str = ""
    event_slug: str = ""
    outcome: str = ""
    name: str = ""
    pseudonym: str = ""
    bio: str = ""
    profile_image: str = ""
    profile_image_optimized: str = ""


class DataTrade(DataV1):
    """``GET /trades`` row (``takerOnly`` defaults to true: maker fills need ``false``)."""

    proxy_wallet: str
    side: str
    asset: str
    condition_id: str
    size: Decimal
    price: Decimal
    timestamp: int
    transaction_hash: str = ""
    title: str = ""
    slug: str = ""
    icon: str = ""
    event_slug: str = ""
    outcome: str = ""
    outcome_index: int | None = None
    name: str = ""
    pseudonym: str = ""
    bio: str = ""
    profile_image: str = ""
    profile_image_optimized: str = ""


class Value(DataV1):
    """``GET /value`` row: the portfolio value of ``user``."""

    user: str
    value: Decimal


Positions = tuple[Position, ...]
Activities = tuple[Activity, ...]
DataTrades = tuple[DataTrade, ...]
Values = tuple[Value, ...]


class Pagination(Wire):
    """v2 cursor paging: stop when ``next_cursor`` is ``None`` (``has_more`` is exact)."""

    limit: int
    has_more: bool
    next_cursor: str | None = None


class DataPage(Wire, Generic[T]):
    """A paged v2 response: ``{"data": [rows], "pagination": {...}}``."""

    data: tuple[T, ...]
    pagination: Pagination


class DataItem(Wire, Generic[T]):
    """An unpaged v2 response: ``{"data": {...}}``."""

    data: T


class PositionV2(Wire):
    """``GET /v2/positions`` row; ``status`` is OPEN, REDEEMABLE or CLOSED as served."""

    proxy_wallet: str
    token_id: str
    condition_id: str
    current_size: Decimal
    avg_price: Decimal | None = None
    entry_cost_usdc: Decimal | None = None
    entry_fees_usdc: Decimal | None = None
    total_cost_usdc: Decimal | None = None
    current_price: Decimal | None = None
    current_value: Decimal | None = None
    total_size: Decimal | None = None
    realized_pnl: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    total_pnl: Decimal | None = None
    percent_pnl: Decimal | None = None
    percent_realized_pnl: Decimal | None = None
    status: str = ""
    redeemable: bool = False
    mergeable: bool = False
    negative_risk: bool = False
    archived: bool = False
    verified: bool = False
    title: str = ""
    slug: str = ""
    icon: str = ""
    event_slug: str = ""
    event_id: str | None = None
    outcome: str = ""
    outcome_index: int | None = None
    opposite_outcome: str = ""
    opposite_token_id: str = ""
    end_date: str | None = None
    last_event_at: int | str | None = None
    first_entry_at: int | str | None = None


class TradeV2(Wire):
    """``GET /v2/trades`` row."""

    proxy_wallet: str
    token_id: str
    condition_id: str
    side: str
    size: Decimal
    price: Decimal
    timestamp: int
    transaction_hash: str = ""
    title: str = ""
    slug: str = ""
    icon: str = ""
    event_slug: str = ""
    outcome: str = ""
    outcome_index: int | None = None
    name: str = ""
    pseudonym: str = ""
    bio: str = ""
    profile_image: str = ""
    profile_image_optimized: str = ""


class ActivityV2(Wire):
    """``GET /v2/activity`` row, typed by ``type``; only TRADE rows carry the trade keys."""

    type: str
    proxy_wallet: str = ""
    timestamp: int | None = None
    transaction_hash: str = ""
    token_id: str = ""
    condition_id: str = ""
    side: str = ""
    size: Decimal | None = None
    usdc_size: Decimal | None = None
    price: Decimal | None = None
    is_combo: bool = False


class ValueV2(Wire):
    """``GET /v2/value`` data: always one row, 0 when the wallet holds nothing."""

    proxy_wallet: str
    value: Decimal
