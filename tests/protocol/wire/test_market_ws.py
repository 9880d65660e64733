"""Market-channel frames: every §5.2 event, single objects and arrays, PONG, and every failure
arrives as a typed ``WireError`` carrying the raw frame."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from polytui.core.book import price_units
from polytui.protocol.wire.errors import WireError, WireErrorKind
from polytui.protocol.wire.market_ws import (
    BestBidAsk,
    Book,
    LastTradePrice,
    MarketResolved,
    NewMarket,
    PriceChange,
    TickSizeChange,
    decode_market_frame,
)
from tests.protocol.wire.ids import CONDITION, NO, TX_HASH, YES

BOOK = f"""{{
  "event_type": "book",
  "market": "{CONDITION}",
  "asset_id": "{YES}",
  "timestamp": "1786604072222",
  "hash": "ed47eb91f3c7985fac1cb18cb7c19535eddd3c0a",
  "bids": [ {{"price": "0.06", "size": "219685.67"}}, {{"price": "0.07", "size": "182528.55"}} ],
  "asks": [ {{"price": "0.09", "size": "153220.41"}}, {{"price": "0.08", "size": "228198.28"}} ],
  "tick_size": "0.01",
  "last_trade_price": "0.920"
}}"""

PRICE_CHANGE = f"""{{
  "event_type": "price_change",
  "market": "{CONDITION}",
  "timestamp": "1790658674035",
  "price_changes": [
    {{"asset_id": "{YES}", "price": "0.301", "size": "1000", "side": "BUY",
     "hash": "b7623b6417b3ae46dbe5d608a65474c9cec84ef9", "best_bid": "0.301", "best_ask": "0.397"}},
    {{"asset_id": "{NO}", "price": "0.699", "size": "1000", "side": "SELL",
     "hash": "c0978ce48e525b35579b9fb4556a08538ebf265a", "best_bid": "0.603", "best_ask": "0.699"}}
  ]
}}"""

LAST_TRADE = (
    f'{{"event_type": "last_trade_price", "market": "{CONDITION}", "asset_id": "{YES}", '
    f'"price": "0.51", "side": "BUY", "size": "25", "fee_rate_bps": "0", '
    f'"timestamp": "1795569891000", "transaction_hash": "{TX_HASH}"}}'
)

TICK_CHANGE = (
    f'{{"event_type": "tick_size_change", "market": "{CONDITION}", "asset_id": "{YES}", '
    f'"old_tick_size": "0.01", "new_tick_size": "0.001", "timestamp": "1795569900000"}}'
)

BEST_BID_ASK = (
    f'{{"event_type": "best_bid_ask", "market": "{CONDITION}", "asset_id": "{YES}", '
    f'"best_bid": "0.73", "best_ask": "0.77", "spread": "0.04", "timestamp": "1795569900100"}}'
)

NEW_MARKET = f"""{{"event_type": "new_market", "id": "1031769",
 "question": "Will X close above $240?", "market": "{CONDITION}",
 "condition_id": "{CONDITION}", "slug": "x-above-240", "description": "…",
 "assets_ids": ["{YES}", "{NO}"], "clob_token_ids": ["{YES}", "{NO}"], "outcomes": ["Yes", "No"],
 "event_message": {{"id": "125819", "ticker": "x-above", "slug": "x-above", "title": "…",
                   "description": "…"}},
 "tags": ["stocks"], "active": true, "order_price_min_tick_size": "0.01",
 "group_item_title": "X above $240",
 "sports_market_type": "", "line": "", "game_start_time": "", "timestamp": "1766790415550"}}"""

RESOLVED = (
    f'{{"event_type": "market_resolved", "id": "1031769", "market": "{CONDITION}", '
    f'"assets_ids": ["{YES}", "{NO}"], "winning_asset_id": "{YES}", "winning_outcome": "Yes", '
    f'"tags": ["stocks"], "timestamp": "1766790415550"}}'
)


def one(frame: str | bytes) -> object:
    events = decode_market_frame(frame)
    assert len(events) == 1
    return events[0]


def raised(frame: str | bytes) -> WireError:
    with pytest.raises(WireError) as info:
        decode_market_frame(frame)
    return info.value


def test_book() -> None:
    book = one(BOOK)
    assert isinstance(book, Book)
    assert (book.market, book.asset_id, book.timestamp) == (CONDITION, YES, 1786604072222)
    assert book.hash == "ed47eb91f3c7985fac1cb18cb7c19535eddd3c0a"
    assert [(b.price, b.size) for b in book.bids] == [
        ("0.06", Decimal("219685.67")),
        ("0.07", Decimal("182528.55")),
    ]
    assert book.asks[-1].price == "0.08"  # best ask: the LAST element
    assert book.tick_size == "0.01"
    assert str(book.last_trade_price) == "0.920"  # served digits kept (they enter the hash)
    assert (book.min_order_size, book.neg_risk) == (None, None)  # the WS book omits them


def test_price_change() -> None:
    change = one(PRICE_CHANGE)
    assert isinstance(change, PriceChange)
    assert (change.market, change.timestamp) == (CONDITION, 1790658674035)
    yes, no = change.price_changes
    assert (yes.asset_id, yes.price, yes.size, yes.side) == (YES, "0.301", 1000, "BUY")
    assert (yes.best_bid, yes.best_ask) == ("0.301", "0.397")
    assert yes.hash == "b7623b6417b3ae46dbe5d608a65474c9cec84ef9"
    assert (no.asset_id, no.side, no.best_bid, no.best_ask) == (NO, "SELL", "0.603", "0.699")


def test_last_trade_price() -> None:
    trade = one(LAST_TRADE)
    assert isinstance(trade, LastTradePrice)
    assert (trade.asset_id, trade.price, trade.side, trade.size) == (
        YES,
        Decimal("0.51"),
        "BUY",
        Decimal("25"),
    )
    assert (trade.fee_rate_bps, trade.timestamp, trade.transaction_hash) == (
        0,
        1795569891000,
        TX_HASH,
    )


def test_last_trade_price_without_transaction_hash_as_in_older_captures() -> None:
    trade = one(LAST_TRADE.replace(f', "transaction_hash": "{TX_HASH}"', ""))
    assert isinstance(trade, LastTradePrice)
    assert trade.transaction_hash is None


def test_tick_size_change() -> None:
    change = one(TICK_CHANGE)
    assert isinstance(change, TickSizeChange)
    assert (change.old_tick_size, change.new_tick_size) == (Decimal("0.01"), Decimal("0.001"))
    assert change.timestamp == 1795569900000


def test_best_bid_ask() -> None:
    top = one(BEST_BID_ASK)
    assert isinstance(top, BestBidAsk)
    assert (top.best_bid, top.best_ask, top.spread) == ("0.73", "0.77", "0.04")


def test_new_market() -> None:
    market = one(NEW_MARKET)
    assert isinstance(market, NewMarket)
    assert (market.id, market.market, market.condition_id) == ("1031769", CONDITION, CONDITION)
    assert market.assets_ids == market.clob_token_ids == (YES, NO)
    assert market.outcomes == ("Yes", "No")
    assert market.event_message is not None
    assert (market.event_message.id, market.event_message.ticker) == ("125819", "x-above")
    assert market.order_price_min_tick_size == Decimal("0.01")
    assert (market.line, market.game_start_time, market.tags) == ("", "", ("stocks",))


def test_market_resolved() -> None:
    resolved = one(RESOLVED)
    assert isinstance(resolved, MarketResolved)
    assert (resolved.winning_asset_id, resolved.winning_outcome) == (YES, "Yes")
    assert resolved.assets_ids == (YES, NO)


def test_an_array_frame_keeps_order_and_a_single_object_is_a_list_of_one() -> None:
    frame = f"[{BOOK}, {PRICE_CHANGE}, {LAST_TRADE}, {TICK_CHANGE}, {BEST_BID_ASK}]"
    kinds = [type(e) for e in decode_market_frame(frame)]
    assert kinds == [Book, PriceChange, LastTradePrice, TickSizeChange, BestBidAsk]
    assert decode_market_frame(BOOK) == decode_market_frame(f"[{BOOK}]")
    assert decode_market_frame("[]") == []


def test_bytes_and_text_frames_decode_alike() -> None:
    assert decode_market_frame(PRICE_CHANGE.encode()) == decode_market_frame(PRICE_CHANGE)


def test_pong_has_no_events() -> None:
    assert decode_market_frame("PONG") == []
    assert decode_market_frame(b"PONG") == []


def test_empty_values() -> None:
    """An empty Decimal field decodes to None; top-of-book strings stay "" (empty side)."""
    frame = PRICE_CHANGE.replace('"best_bid": "0.603"', '"best_bid": ""')
    _, no = one(frame).price_changes
    assert (no.best_bid, no.best_ask) == ("", "0.699")
    book = one(BOOK.replace('"last_trade_price": "0.920"', '"last_trade_price": ""'))
    assert book.last_trade_price is None
    top = one(BEST_BID_ASK.replace('"0.77"', '""').replace('"0.04"', '""'))
    assert (top.best_bid, top.best_ask, top.spread) == ("0.73", "", "")


def test_an_empty_size_is_still_an_error() -> None:
    error = raised(PRICE_CHANGE.replace('"size": "1000"', '"size": ""', 1))
    assert error.kind is WireErrorKind.WRONG_TYPE
    assert "$.price_changes[0].size" in error.message


def test_a_77_digit_token_id_stays_a_string() -> None:
    (entry, _) = one(PRICE_CHANGE).price_changes
    assert entry.asset_id == YES
    assert isinstance(entry.asset_id, str)
    assert len(entry.asset_id) == 77


def test_prices_are_exact() -> None:
    """Trade prices are Decimal; book and price_change prices are the exact strings served,
    which the mirror turns into integer price units; sizes are Decimal."""
    frame = PRICE_CHANGE.replace('"price": "0.301"', '"price": "0.001"')
    entry = one(frame).price_changes[0]
    assert entry.price == "0.001" and price_units(entry.price) == 10
    assert isinstance(entry.size, Decimal)
    level = one(BOOK).bids[0]
    assert level.price == "0.06" and isinstance(level.size, Decimal)
    assert isinstance(one(LAST_TRADE).price, Decimal)


def test_events_are_frozen() -> None:
    book = one(BOOK)
    with pytest.raises(AttributeError):
        book.hash = "x"  # type: ignore[misc]


def test_unknown_event_type_is_a_typed_error_with_the_raw_frame() -> None:
    frame = f'{{"event_type": "price_surge", "market": "{CONDITION}"}}'
    error = raised(frame)
    assert error.kind is WireErrorKind.UNKNOWN_EVENT
    assert "price_surge" in error.message
    assert error.raw == frame
    assert error.events == ()


def test_an_unknown_object_in_an_array_does_not_lose_the_known_ones() -> None:
    frame = f'[{BOOK}, {{"event_type": "price_surge"}}, {LAST_TRADE}]'
    error = raised(frame.encode())
    assert error.kind is WireErrorKind.UNKNOWN_EVENT
    assert "$[1]" in error.message
    assert [type(e) for e in error.events] == [Book, LastTradePrice]
    assert error.raw == frame


def test_several_bad_objects_report_the_first_and_count_the_rest() -> None:
    frame = f'[{{"event_type": "a"}}, {BOOK}, {{"event_type": "book"}}]'
    error = raised(frame)
    assert error.kind is WireErrorKind.UNKNOWN_EVENT
    assert "(+1 more failed)" in error.message
    assert [type(e) for e in error.events] == [Book]


def test_missing_required_field() -> None:
    error = raised(PRICE_CHANGE.replace('"timestamp": "1790658674035",', ""))
    assert error.kind is WireErrorKind.MISSING_FIELD
    assert "timestamp" in error.message
    no_side = PRICE_CHANGE.replace('"side": "BUY",', "")
    in_array = raised(f"[{BOOK}, {no_side}]")
    assert in_array.kind is WireErrorKind.MISSING_FIELD
    assert "$[1].price_changes[0]" in in_array.message
    assert [type(e) for e in in_array.events] == [Book]


def test_the_legacy_price_change_shape_is_rejected() -> None:
    legacy = (
        f'{{"event_type": "price_change", "asset_id": "{YES}", "market": "{CONDITION}", '
        f'"hash": "ab", "timestamp": "1", "changes": [{{"price": "0.4", "side": "BUY", '
        f'"size": "3"}}]}}'
    )
    error = raised(legacy)
    assert error.kind is WireErrorKind.MISSING_FIELD
    assert "price_changes" in error.message


def test_missing_event_type() -> None:
    error = raised(f'{{"market": "{CONDITION}"}}')
    assert error.kind is WireErrorKind.MISSING_FIELD
    assert "event_type" in error.message


def test_wrong_type() -> None:
    error = raised(LAST_TRADE.replace(f'"market": "{CONDITION}"', '"market": 17'))
    assert error.kind is WireErrorKind.WRONG_TYPE
    assert "$.market" in error.message


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ('{"event_type": "book", ', WireErrorKind.MALFORMED),
        (b"\xff\xfe", WireErrorKind.MALFORMED),
        ("", WireErrorKind.MALFORMED),
        ("PING", WireErrorKind.MALFORMED),
        ("42", WireErrorKind.WRONG_TYPE),
        ('"book"', WireErrorKind.WRONG_TYPE),
        ("[1, 2]", WireErrorKind.WRONG_TYPE),
        ('{"event_type": 3}', WireErrorKind.WRONG_TYPE),
        ('{"event_type": ["book"]}', WireErrorKind.WRONG_TYPE),
        ('{"event_type": "book"}', WireErrorKind.MISSING_FIELD),
    ],
)
def test_garbage_is_never_a_bare_msgspec_exception(frame: str | bytes, kind: WireErrorKind) -> None:
    assert not issubclass(WireError, msgspec.MsgspecError)  # so a leak would fail the test
    error = raised(frame)
    assert error.kind is kind
    assert error.raw == (frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))
