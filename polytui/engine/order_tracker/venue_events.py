"""What the venue says about our orders and trades, as ledger events (pure functions).

The same trade reaches us on the user channel (``TradeEvent``) and from ``GET /data/trades``
(``Trade``, status prefixed ``TRADE_STATUS_``); both map to the same ``FillRecorded`` /
``FillSettlementChanged`` events with the same natural ids, so seeing a fact twice stores it
once. A trade holds a fill of ours when we were its taker (``taker_order_id``: the taker's
side, price and size) or one of its makers (an entry of ``maker_orders``: that entry's side,
price, matched amount and token, which on the shared book can be the other outcome's).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from polytui.core import ledger_events as ev
from polytui.core.orders import FillStatus, OrderState, can_move, can_settle, state_from_venue
from polytui.core.projections import FillView, OrderView, fill_key
from polytui.protocol.wire.clob import MakerOrder

BPS = Decimal(10_000)


class TradeLike(Protocol):
    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: str
    size: Decimal
    price: Decimal
    status: str
    fee_rate_bps: Decimal
    transaction_hash: str
    maker_orders: tuple[MakerOrder, ...]


class OrderLike(Protocol):
    id: str
    status: str
    size_matched: Decimal
    original_size: Decimal


def match_time_ms(trade: TradeLike) -> int | None:
    ms = getattr(trade, "match_time_ms", None)  # TradeEvent: seconds or ms, normalised
    if ms is not None:
        return ms
    seconds = getattr(trade, "match_time", None)
    return None if seconds is None else int(seconds) * 1000


def fee_of(size: Decimal, price: Decimal, bps: Decimal) -> Decimal:
    """pUSD fee of a fill at ``bps`` on its notional (an approximation of the V2 curve,
    protocol §4.8; the simulator charges none)."""
    return size * price * bps / BPS if bps else Decimal(0)


def fills_in(
    trade: TradeLike, ours: Callable[[str], bool], status: FillStatus
) -> list[ev.FillRecorded]:
    """Our fills in ``trade``, as first recorded."""
    side = trade.side.upper()
    fills = []
    common = {
        "trade_id": trade.id,
        "market": trade.market,
        "status": status,
        "match_time_ms": match_time_ms(trade),
        "tx_hash": trade.transaction_hash,
    }
    if ours(trade.taker_order_id):
        fills.append(
            ev.FillRecorded(
                order_id=trade.taker_order_id,
                asset_id=trade.asset_id,
                side="BUY" if side == "BUY" else "SELL",
                price=trade.price,
                size=trade.size,
                fee=fee_of(trade.size, trade.price, trade.fee_rate_bps),
                role="TAKER",
                **common,
            )
        )
    for maker in trade.maker_orders:
        if not ours(maker.order_id):
            continue
        maker_side = maker.side.upper() or ("SELL" if side == "BUY" else "BUY")
        fills.append(
            ev.FillRecorded(
                order_id=maker.order_id,
                asset_id=maker.asset_id or trade.asset_id,
                side="BUY" if maker_side == "BUY" else "SELL",
                price=maker.price,
                size=maker.matched_amount,
                fee=fee_of(maker.matched_amount, maker.price, maker.fee_rate_bps),
                role="MAKER",
                **common,
            )
        )
    return fills


def trade_events(
    trade: TradeLike,
    ours: Callable[[str], bool],
    known: Callable[[str], FillView | None],
    status: FillStatus,
) -> list[ev.LedgerEvent]:
    """What ``trade`` adds to the ledger: new fills, and settlement moves of known ones."""
    out: list[ev.LedgerEvent] = []
    for fill in fills_in(trade, ours, status):
        have = known(fill_key(fill.trade_id, fill.order_id))
        if have is None:
            out.append(fill)
        elif have.status != status and can_settle(have.status, status):
            out.append(
                ev.FillSettlementChanged(
                    trade_id=fill.trade_id,
                    order_id=fill.order_id,
                    status=status,
                    tx_hash=trade.transaction_hash,
                )
            )
    return out


def order_event(order: OrderLike, current: OrderView, source: str) -> ev.OrderStateChanged | None:
    """The state change a venue view of ``order`` means for our ``current``, or ``None`` when
    it tells nothing new or could not apply (stale news about a finished order)."""
    size = current.size if current.size is not None else order.original_size
    state = state_from_venue(order.status, order.size_matched, size)
    if state is OrderState.UNKNOWN:
        return None
    same = state == current.state and order.size_matched == current.size_matched
    if same or (state != current.state and not can_move(current.state, state)):
        return None
    if state == current.state and state is not OrderState.PARTIALLY_FILLED:
        return None
    return ev.OrderStateChanged(
        order_id=order.id,
        state=state,
        size_matched=order.size_matched,
        venue_status=order.status,
        source=source,
    )
