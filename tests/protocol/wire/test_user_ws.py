"""User-channel frames (§5.3): order and trade events, seconds or milliseconds, either spelling
of the match time, unknown statuses kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.protocol.wire.errors import WireError, WireErrorKind
from polytui.protocol.wire.user_ws import OrderEvent, TradeEvent, decode_user_frame
from tests.protocol.wire.ids import CONDITION, MAKER, ORDER_ID, OWNER, TAKER_ORDER_ID, TRADE_ID, YES

TAKER = "aaaaaaaa-1111-2222-3333-444444444444"

ORDER = f"""{{
  "event_type": "order",
  "type": "PLACEMENT",
  "id": "{ORDER_ID}",
  "owner": "{OWNER}",
  "order_owner": "{OWNER}",
  "maker_address": "{MAKER}",
  "market": "{CONDITION}",
  "asset_id": "{YES}",
  "side": "BUY",
  "price": "0.45",
  "original_size": "10",
  "size_matched": "0",
  "outcome": "Yes",
  "order_type": "GTC",
  "status": "LIVE",
  "associate_trades": null,
  "expiration": "0",
  "created_at": "1795569890",
  "timestamp": "1795569890812"
}}"""

TRADE = f"""{{
  "event_type": "trade",
  "type": "TRADE",
  "id": "{TRADE_ID}",
  "taker_order_id": "{TAKER_ORDER_ID}",
  "market": "{CONDITION}",
  "asset_id": "{YES}",
  "side": "SELL",
  "size": "2.5",
  "price": "0.45",
  "fee_rate_bps": "0",
  "status": "MATCHED",
  "outcome": "Yes",
  "owner": "{TAKER}",
  "trade_owner": "{TAKER}",
  "maker_address": "0x9b1f00000000000000000000000000000000a2c4",
  "trader_side": "TAKER",
  "bucket_index": 0,
  "transaction_hash": "",
  "match_time": "1795569891",
  "last_update": "1795569891",
  "timestamp": "1795569891120",
  "maker_orders": [
    {{"order_id": "{ORDER_ID}", "owner": "{OWNER}",
     "maker_address": "{MAKER}", "matched_amount": "2.5", "price": "0.45",
     "fee_rate_bps": "0", "asset_id": "{YES}", "outcome": "Yes", "side": "BUY"}}
  ]
}}"""


def one(frame: str) -> object:
    events = decode_user_frame(frame)
    assert len(events) == 1
    return events[0]


def test_order_placement() -> None:
    order = one(ORDER)
    assert isinstance(order, OrderEvent)
    assert (order.type, order.id, order.status, order.order_type) == (
        "PLACEMENT",
        ORDER_ID,
        "LIVE",
        "GTC",
    )
    assert (order.owner, order.order_owner, order.maker_address) == (OWNER, OWNER, MAKER)
    assert (order.asset_id, order.side, order.outcome) == (YES, "BUY", "Yes")
    assert (order.price, order.original_size, order.size_matched) == (
        Decimal("0.45"),
        Decimal("10"),
        Decimal("0"),
    )
    assert order.associate_trades is None
    assert order.expiration == 0
    assert (order.created_at, order.timestamp) == (1795569890, 1795569890812)  # as served
    assert (order.created_at_ms, order.timestamp_ms) == (1795569890000, 1795569890812)


def test_order_update_lists_trades() -> None:
    update = ORDER.replace('"PLACEMENT"', '"UPDATE"').replace(
        '"size_matched": "0"', '"size_matched": "2.5"'
    )
    order = one(update.replace('"associate_trades": null', f'"associate_trades": ["{TRADE_ID}"]'))
    assert (order.type, order.size_matched, order.associate_trades) == (
        "UPDATE",
        Decimal("2.5"),
        (TRADE_ID,),
    )


@pytest.mark.parametrize(
    ("served", "ms"),
    [
        ("1795569890", 1795569890000),  # seconds, as in the docs
        ("1795569890812", 1795569890812),  # milliseconds, as in 2026 captures
        ("1000000000001", 1000000000001),  # just above 1e12: already ms
        ("1000000000000", 1000000000000000),  # 1e12 itself is read as seconds
    ],
)
def test_timestamps_in_seconds_or_milliseconds(served: str, ms: int) -> None:
    order = one(
        ORDER.replace('"1795569890812"', f'"{served}"').replace('"1795569890"', f'"{served}"')
    )
    assert order.timestamp_ms == ms
    assert order.created_at_ms == ms


def test_unknown_order_status_is_kept() -> None:
    order = one(ORDER.replace('"LIVE"', '"CANCELED_BY_SOMETHING_NEW"'))
    assert order.status == "CANCELED_BY_SOMETHING_NEW"


def test_trade_for_the_taker_with_maker_orders() -> None:
    trade = one(TRADE)
    assert isinstance(trade, TradeEvent)
    assert (trade.id, trade.taker_order_id, trade.status, trade.trader_side) == (
        TRADE_ID,
        TAKER_ORDER_ID,
        "MATCHED",
        "TAKER",
    )
    assert (trade.side, trade.size, trade.price) == ("SELL", Decimal("2.5"), Decimal("0.45"))
    assert (trade.owner, trade.trade_owner, trade.transaction_hash) == (TAKER, TAKER, "")
    assert trade.match_time_ms == 1795569891000
    assert trade.last_update_ms == 1795569891000
    assert trade.timestamp_ms == 1795569891120
    (maker,) = trade.maker_orders
    assert (maker.order_id, maker.owner, maker.matched_amount, maker.side) == (
        ORDER_ID,
        OWNER,
        Decimal("2.5"),
        "BUY",
    )


def test_matchtime_spelling_is_read_too() -> None:
    trade = one(TRADE.replace('"match_time":', '"matchtime":'))
    assert trade.match_time is None
    assert trade.matchtime == 1795569891
    assert trade.match_time_ms == 1795569891000


def test_trade_status_changes_and_unknown_statuses() -> None:
    for status in ("MINED", "CONFIRMED", "RETRYING", "FAILED", "SOMETHING_NEW"):
        assert one(TRADE.replace('"MATCHED"', f'"{status}"')).status == status


def test_a_batched_frame_and_pong() -> None:
    events = decode_user_frame(f"[{ORDER}, {TRADE}]".encode())
    assert [type(e) for e in events] == [OrderEvent, TradeEvent]
    assert decode_user_frame("PONG") == []


def test_market_channel_events_are_unknown_on_the_user_channel() -> None:
    frame = f'[{ORDER}, {{"event_type": "book", "market": "{CONDITION}"}}]'
    with pytest.raises(WireError) as info:
        decode_user_frame(frame)
    assert info.value.kind is WireErrorKind.UNKNOWN_EVENT
    assert [type(e) for e in info.value.events] == [OrderEvent]
    assert info.value.raw == frame


def test_an_order_without_price_is_missing_a_field() -> None:
    with pytest.raises(WireError) as info:
        decode_user_frame(ORDER.replace('"price": "0.45",', ""))
    assert info.value.kind is WireErrorKind.MISSING_FIELD
    assert "price" in info.value.message
