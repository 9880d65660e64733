"""CLOB REST responses decode into exact, typed structs: every example shape of protocol §2–§4."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.protocol.wire.clob import (
    ApiCreds,
    BalanceAllowance,
    Books,
    BookSummary,
    CancelResponse,
    ClobMarketInfo,
    ErrorResponse,
    FeeRate,
    HeartbeatResponse,
    LastTradePrice,
    LastTradesPrices,
    Market,
    Midpoint,
    Midpoints,
    NegRisk,
    OpenOrder,
    Page,
    PostOrderResponse,
    PostOrdersResponse,
    Price,
    Prices,
    PricesHistory,
    ServerTime,
    Spread,
    Spreads,
    TickSize,
    Trade,
    Version,
)
from polytui.protocol.wire.codec import decode
from polytui.protocol.wire.errors import WireError, WireErrorKind
from tests.protocol.wire.ids import (
    CONDITION,
    MAKER,
    NO,
    ORDER_ID,
    OWNER,
    TAKER_ORDER_ID,
    TRADE_ID,
    TX_HASH,
    YES,
)

BOOK_ASSET = "72610532355343625199299853218161700546393390326785971247545541945337255643692"
BOOK = """{
  "market": "0x9d839bf0aa31324b9848f5b89841b779238a7c07dee2f7fca675d934e8ab5bf2",
  "asset_id": "72610532355343625199299853218161700546393390326785971247545541945337255643692",
  "timestamp": "1785734468581",
  "hash": "d7df883ae546b09533a4f485bfae0810da1af04e",
  "bids": [ {"price": "0.40", "size": "120"}, {"price": "0.47", "size": "55.5"},
            {"price": "0.48", "size": "10"} ],
  "asks": [ {"price": "0.60", "size": "80"},  {"price": "0.53", "size": "12"},
            {"price": "0.52", "size": "300"} ],
  "min_order_size": "5",
  "tick_size": "0.01",
  "neg_risk": false,
  "last_trade_price": "0.50"
}"""

MARKET = f"""{{
  "condition_id": "{CONDITION}",
  "question_id": "0x1c0fa1d2a9b3e4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
  "question": "Will it rain in Paris on 1 Dec 2026?",
  "description": "Resolves Yes if …",
  "market_slug": "rain-paris-dec-1-2026",
  "end_date_iso": "2026-12-01T23:59:00Z",
  "game_start_time": null,
  "seconds_delay": 0,
  "active": true, "closed": false, "archived": false,
  "accepting_orders": true, "accepting_order_timestamp": "2026-11-20T10:00:00Z",
  "enable_order_book": true,
  "minimum_order_size": 5, "minimum_tick_size": 0.01,
  "maker_base_fee": 0, "taker_base_fee": 0,
  "neg_risk": false, "neg_risk_market_id": "", "neg_risk_request_id": "",
  "notifications_enabled": true, "is_50_50_outcome": false,
  "fpmm": "", "icon": "https://example.com/icon.png", "image": "https://example.com/img.png",
  "rewards": {{"rates": null, "min_size": 50, "max_spread": 4.5}},
  "tokens": [
    {{"token_id": "{YES}", "outcome": "Yes", "price": 0.5, "winner": false}},
    {{"token_id": "{NO}", "outcome": "No",  "price": 0.5, "winner": false}}
  ],
  "tags": ["Weather"]
}}"""

OPEN_ORDER = f"""{{
  "id": "{ORDER_ID}",
  "status": "LIVE",
  "owner": "{OWNER}",
  "maker_address": "{MAKER}",
  "market": "{CONDITION}",
  "asset_id": "{YES}",
  "side": "BUY",
  "original_size": "10",
  "size_matched": "2.5",
  "price": "0.45",
  "associate_trades": ["{TRADE_ID}"],
  "outcome": "Yes",
  "created_at": 1795569890,
  "expiration": "0",
  "order_type": "GTC"
}}"""

TRADE = f"""{{
  "id": "{TRADE_ID}",
  "taker_order_id": "{TAKER_ORDER_ID}",
  "market": "{CONDITION}",
  "asset_id": "{YES}",
  "side": "BUY",
  "size": "2.5",
  "price": "0.45",
  "fee_rate_bps": "0",
  "status": "TRADE_STATUS_CONFIRMED",
  "match_time": "1795569891",
  "last_update": "1795569899",
  "outcome": "Yes",
  "bucket_index": 0,
  "owner": "{OWNER}",
  "maker_address": "{MAKER}",
  "transaction_hash": "{TX_HASH}",
  "trader_side": "MAKER",
  "maker_orders": [
    {{"order_id": "{ORDER_ID}", "owner": "{OWNER}",
     "maker_address": "{MAKER}", "matched_amount": "2.5",
     "price": "0.45", "fee_rate_bps": "0", "asset_id": "{YES}", "outcome": "Yes", "side": "BUY"}}
  ]
}}"""


def test_book_summary_all_ten_keys_exact() -> None:
    book = decode(BookSummary, BOOK)
    assert book.asset_id == BOOK_ASSET
    assert book.timestamp == 1785734468581
    assert book.hash == "d7df883ae546b09533a4f485bfae0810da1af04e"
    assert [(str(b.price), str(b.size)) for b in book.bids] == [
        ("0.40", "120"),
        ("0.47", "55.5"),
        ("0.48", "10"),
    ]
    assert book.bids[-1].price == Decimal("0.48")  # best bid is the LAST element
    assert book.asks[-1].price == Decimal("0.52")  # best ask too
    assert book.min_order_size == 5
    assert str(book.tick_size) == "0.01"
    assert book.neg_risk is False
    assert str(book.last_trade_price) == "0.50"  # the served digits survive, not 0.5


def test_book_without_trades_has_no_last_trade_price() -> None:
    book = decode(BookSummary, BOOK.replace('"last_trade_price": "0.50"', '"last_trade_price": ""'))
    assert book.last_trade_price is None
    assert book.bids[-1].price == Decimal("0.48")


def test_book_missing_one_of_the_ten_keys_is_an_error() -> None:
    body = BOOK.replace('"neg_risk": false,', "")
    with pytest.raises(WireError) as info:
        decode(BookSummary, body)
    assert info.value.kind is WireErrorKind.MISSING_FIELD
    assert "neg_risk" in info.value.message
    assert info.value.raw == body


def test_books_is_an_array_of_books() -> None:
    books = decode(Books, f"[{BOOK}, {BOOK.replace('0.50', '')}]")
    assert len(books) == 2
    assert all(isinstance(b, BookSummary) for b in books)


def test_price_and_top_of_book_queries() -> None:
    assert decode(Price, '{"price": "0.52"}').price == Decimal("0.52")
    prices = decode(Prices, f'{{"{YES}": {{"BUY": "0.48", "SELL": "0.52"}}}}')
    assert prices == {YES: {"BUY": Decimal("0.48"), "SELL": Decimal("0.52")}}
    assert str(decode(Midpoint, '{"mid": "0.50"}').mid) == "0.50"
    assert decode(Midpoints, f'{{"{YES}": "0.50"}}') == {YES: Decimal("0.50")}
    assert decode(Spread, '{"spread": "0.04"}').spread == Decimal("0.04")
    assert decode(Spreads, f'{{"{YES}": "0.04"}}') == {YES: Decimal("0.04")}


def test_tick_size_is_a_json_number_decoded_exactly() -> None:
    tick = decode(TickSize, '{"minimum_tick_size": 0.001}').minimum_tick_size
    assert tick == Decimal("0.001")
    assert str(tick) == "0.001"  # not 0.001000000000000000020816681711721685...


def test_market_flags_fee_time_version() -> None:
    assert decode(NegRisk, '{"neg_risk": false}').neg_risk is False
    assert decode(FeeRate, '{"base_fee": 0}').base_fee == 0
    assert decode(ServerTime, "1795569886") == 1795569886
    assert decode(Version, '{"version": 2}').version == 2


def test_last_trade_price_traded_and_never_traded() -> None:
    traded = decode(LastTradePrice, '{"price": "0.51", "side": "BUY"}')
    assert (traded.price, traded.side) == (Decimal("0.51"), "BUY")
    never = decode(LastTradePrice, '{"price": "", "side": ""}')
    assert (never.price, never.side) == (None, "")
    many = decode(LastTradesPrices, f'[{{"token_id": "{YES}", "price": "0.51", "side": "BUY"}}]')
    assert many[0].token_id == YES
    assert many[0].price == Decimal("0.51")


def test_prices_history_points() -> None:
    body = '{"history": [ {"t": 1795500000, "p": 0.512}, {"t": 1795503600, "p": 0.518} ]}'
    history = decode(PricesHistory, body).history
    assert [(h.t, h.p) for h in history] == [
        (1795500000, Decimal("0.512")),
        (1795503600, Decimal("0.518")),
    ]


def test_markets_page_and_single_market() -> None:
    page = decode(
        Page[Market], f'{{"limit": 1000, "count": 1, "next_cursor": "LTE=", "data": [{MARKET}]}}'
    )
    assert (page.limit, page.count, page.is_last) == (1000, 1, True)
    market = page.data[0]
    assert market == decode(Market, MARKET)
    assert market.condition_id == CONDITION
    assert [t.token_id for t in market.tokens] == [YES, NO]
    assert market.tokens[0].price == Decimal("0.5")
    assert market.minimum_tick_size == Decimal("0.01")
    assert market.minimum_order_size == 5
    assert market.game_start_time is None
    assert market.rewards is not None
    assert market.rewards.max_spread == Decimal("4.5")
    assert market.tags == ("Weather",)
    assert not decode(
        Page[Market], '{"limit": 1, "count": 0, "next_cursor": "MQ==", "data": []}'
    ).is_last


def test_simplified_market_rows_use_the_same_struct() -> None:
    row = (
        f'{{"condition_id": "{CONDITION}", "tokens": [{{"token_id": "{YES}", "outcome": "Yes",'
        f' "price": 0.5, "winner": false}}], "rewards": {{"rates": null, "min_size": 0, '
        f'"max_spread": 0}}, "active": true, "closed": false, "archived": false, '
        f'"accepting_orders": true}}'
    )
    market = decode(Market, row)
    assert market.tokens[0].token_id == YES
    assert market.question == ""


def test_clob_market_info_short_keys() -> None:
    body = (
        f'{{"c": "{CONDITION}", "t": [{{"t": "{YES}", "o": "Yes"}}, {{"t": "{NO}", "o": "No"}}],'
        f' "mts": 0.01, "nr": false, "fd": {{"r": 0.04, "e": 1, "to": true}}, "mbf": 0, "tbf": 0}}'
    )
    info = decode(ClobMarketInfo, body)
    assert info.condition_id == CONDITION
    assert [(t.token_id, t.outcome) for t in info.tokens] == [(YES, "Yes"), (NO, "No")]
    assert info.min_tick_size == Decimal("0.01")
    assert info.fee is not None
    assert (info.fee.rate, info.fee.exponent, info.fee.taker_only) == (Decimal("0.04"), 1, True)


def test_post_order_live_has_no_amounts() -> None:
    body = f"""{{
      "success": true,
      "errorMsg": "",
      "orderID": "{ORDER_ID}",
      "status": "live",
      "makingAmount": "",
      "takingAmount": "",
      "transactionsHashes": [],
      "tradeIDs": []
    }}"""
    resp = decode(PostOrderResponse, body)
    assert (resp.success, resp.error_msg, resp.order_id, resp.status) == (
        True,
        "",
        ORDER_ID,
        "live",
    )
    assert (resp.making_amount, resp.taking_amount) == (None, None)
    assert (resp.transactions_hashes, resp.trade_ids) == ((), ())


def test_post_order_matched_and_batch_with_a_failure() -> None:
    matched = (
        f'{{"success": true, "errorMsg": "", "orderID": "{ORDER_ID}", "status": "matched", '
        f'"makingAmount": "4.5", "takingAmount": "10", "transactionsHashes": ["{TX_HASH}"], '
        f'"tradeIDs": ["{TRADE_ID}"]}}'
    )
    failed = (
        '{"success": false, "errorMsg": "not enough balance / allowance", "orderID": "", '
        '"status": "", "makingAmount": "", "takingAmount": "", "transactionsHashes": [], '
        '"tradeIDs": []}'
    )
    first, second = decode(PostOrdersResponse, f"[{matched}, {failed}]")
    assert (first.making_amount, first.taking_amount) == (Decimal("4.5"), Decimal("10"))
    assert first.trade_ids == (TRADE_ID,)
    assert first.transactions_hashes == (TX_HASH,)
    assert (second.success, second.error_msg) == (False, "not enough balance / allowance")


def test_cancel_response() -> None:
    other = "0x" + "3" * 64
    body = (
        f'{{"canceled": ["{ORDER_ID}"], '
        f'"not_canceled": {{"{other}": "already canceled or matched"}}}}'
    )
    resp = decode(CancelResponse, body)
    assert resp.canceled == (ORDER_ID,)
    assert resp.not_canceled == {other: "already canceled or matched"}


def test_open_orders_page_and_single_order() -> None:
    page = decode(
        Page[OpenOrder],
        f'{{"limit": 100, "count": 1, "next_cursor": "LTE=", "data": [{OPEN_ORDER}]}}',
    )
    order = page.data[0]
    assert order == decode(OpenOrder, OPEN_ORDER)
    assert (order.id, order.status, order.asset_id) == (ORDER_ID, "LIVE", YES)
    assert (order.original_size, order.size_matched, order.price) == (
        Decimal("10"),
        Decimal("2.5"),
        Decimal("0.45"),
    )
    assert order.associate_trades == (TRADE_ID,)
    assert order.created_at == 1795569890
    assert order.expiration == 0  # served as the string "0"


def test_trade_with_maker_orders() -> None:
    page = decode(
        Page[Trade], f'{{"limit": 100, "count": 1, "next_cursor": "LTE=", "data": [{TRADE}]}}'
    )
    trade = page.data[0]
    assert trade.status == "TRADE_STATUS_CONFIRMED"  # kept as served
    assert (trade.match_time, trade.last_update) == (1795569891, 1795569899)
    assert (trade.size, trade.price, trade.fee_rate_bps) == (Decimal("2.5"), Decimal("0.45"), 0)
    assert (trade.trader_side, trade.transaction_hash) == ("MAKER", TX_HASH)
    (maker,) = trade.maker_orders
    assert (maker.order_id, maker.owner, maker.asset_id) == (ORDER_ID, OWNER, YES)
    assert (maker.matched_amount, maker.price, maker.side) == (
        Decimal("2.5"),
        Decimal("0.45"),
        "BUY",
    )


def test_balance_allowance_old_and_new_shapes() -> None:
    max_uint = str(2**256 - 1)
    new = decode(
        BalanceAllowance,
        f'{{"balance": "1000000000", "allowances": {{"0xE111": "{max_uint}", "0xe222": "0"}}}}',
    )
    assert new.balance == 1_000_000_000
    assert new.allowances == {"0xE111": 2**256 - 1, "0xe222": 0}
    assert new.allowance is None
    old = decode(BalanceAllowance, '{"balance": "5", "allowance": "7"}')
    assert (old.balance, old.allowance, old.allowances) == (5, 7, {})


def test_heartbeat_and_api_creds() -> None:
    assert decode(HeartbeatResponse, '{"heartbeat_id": "hb-2"}').heartbeat_id == "hb-2"
    creds = decode(
        ApiCreds,
        '{"apiKey": "550e8400-e29b-41d4-a716-446655440000", "secret": "c2VjcmV0LWJ5dGVz", '
        '"passphrase": "pppp"}',
    )
    assert (creds.api_key, creds.secret, creds.passphrase) == (
        "550e8400-e29b-41d4-a716-446655440000",
        "c2VjcmV0LWJ5dGVz",
        "pppp",
    )


def test_error_envelopes() -> None:
    plain = decode(ErrorResponse, '{"error": "Invalid token id"}')
    assert (plain.message, plain.code, plain.retry_after_seconds) == (
        "Invalid token id",
        None,
        None,
    )
    mode = decode(
        ErrorResponse,
        '{"error": "post-only mode: only post-only orders and cancels are allowed", '
        '"code": "post_only_mode", "retry_after_seconds": 30}',
    )
    assert (mode.code, mode.retry_after_seconds) == ("post_only_mode", 30)
    beat = decode(ErrorResponse, '{"error_msg": "Invalid Heartbeat ID", "heartbeat_id": "hb-7"}')
    assert (beat.message, beat.heartbeat_id) == ("Invalid Heartbeat ID", "hb-7")


def test_a_cloudflare_html_page_is_malformed_not_a_crash() -> None:
    body = b"<html><body>429 Too Many Requests</body></html>"
    with pytest.raises(WireError) as info:
        decode(ErrorResponse, body)
    assert info.value.kind is WireErrorKind.MALFORMED
    assert info.value.raw == body.decode()


def test_a_number_where_a_string_belongs_is_a_wrong_type() -> None:
    with pytest.raises(WireError) as info:
        decode(BookSummary, BOOK.replace(f'"{BOOK_ASSET}"', "7"))
    assert info.value.kind is WireErrorKind.WRONG_TYPE
    assert "$.asset_id" in info.value.message
