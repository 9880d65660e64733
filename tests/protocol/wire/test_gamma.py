"""Gamma markets and events (§6): stringified arrays become real tuples, numbers stay as served."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.protocol.wire.codec import decode
from polytui.protocol.wire.errors import WireError, WireErrorKind
from polytui.protocol.wire.gamma import (
    GammaEvents,
    GammaEventsPage,
    GammaMarket,
    GammaMarkets,
    GammaMarketsPage,
)
from tests.protocol.wire.ids import NO, YES

CONDITION = "0x0f49db97f71c68b1e42a6d16e3de93d85dbf7d4148e3f018eb79e88554be9f75"
OUTCOMES = '"[\\"Yes\\", \\"No\\"]"'  # the JSON text of the served string
QUESTION = "0x2c3d7e0eee6f058be3006baabf0d54a07da254ba47fe6e3e095e7990c7814700"

MARKET = f"""{{
  "id": "559652",
  "version": "v1",
  "question": "Will Jane Doe win the 2028 nomination?",
  "conditionId": "{CONDITION}",
  "questionID": "{QUESTION}",
  "slug": "will-jane-doe-win-the-2028-nomination",
  "description": "…",
  "category": "Politics",
  "outcomes": "[\\"Yes\\", \\"No\\"]",
  "outcomePrices": "[\\"0.2325\\", \\"0.7675\\"]",
  "clobTokenIds": "[\\"{YES}\\", \\"{NO}\\"]",
  "positionIds": [],
  "active": true, "closed": false, "archived": false, "restricted": true,
  "acceptingOrders": true, "acceptingOrdersTimestamp": "2025-07-11T18:35:34Z",
  "enableOrderBook": true,
  "startDate": "2025-07-11T18:35:56.805Z", "endDate": "2028-11-07T00:00:00Z",
  "endDateIso": "2028-11-07",
  "closedTime": null,
  "liquidity": "230438.22824", "liquidityNum": 230438.22824, "liquidityClob": 230438.22824,
  "volume": "25814545.29", "volumeNum": 25814545.29, "volume24hr": 9066.55, "volume1wk": 80473.1,
  "volume1mo": 716313.09,
  "bestBid": 0.232, "bestAsk": 0.233, "spread": 0.001, "lastTradePrice": 0.232,
  "oneDayPriceChange": -0.004, "oneWeekPriceChange": -0.019,
  "negRisk": true, "negRiskMarketID": "{QUESTION}", "negRiskRequestID": "0x3763efec",
  "orderPriceMinTickSize": 0.001, "orderMinSize": 5,
  "groupItemTitle": "Jane Doe",
  "umaResolutionStatus": "proposed", "umaResolutionStatuses": "[]", "resolvedBy": "0x2F5eaA9d",
  "feesEnabled": true, "feeType": "politics_fees",
  "feeSchedule": {{"exponent": 1, "rate": 0.04, "takerOnly": true, "rebateRate": 0.25}},
  "rewardsMinSize": 0, "rewardsMaxSpread": 0, "clobRewards": [],
  "events": [{{"id": "30829", "slug": "dem-nominee-2028", "title": "Democratic Nominee 2028",
               "negRisk": true, "tags": []}}],
  "tags": [{{"id": "2", "label": "Politics", "slug": "politics"}}]
}}"""


def test_market_scanner_fields() -> None:
    market = decode(GammaMarket, MARKET)
    assert (market.id, market.version, market.condition_id, market.question_id) == (
        "559652",
        "v1",
        CONDITION,
        QUESTION,
    )
    assert (market.neg_risk, market.neg_risk_market_id, market.neg_risk_request_id) == (
        True,
        QUESTION,
        "0x3763efec",
    )
    tradable = (
        market.active
        and not market.closed
        and not market.archived
        and market.enable_order_book
        and market.accepting_orders
    )
    assert tradable
    assert market.closed_time is None
    assert market.end_date_iso == "2028-11-07"
    assert market.group_item_title == "Jane Doe"
    assert market.uma_resolution_status == "proposed"
    assert (market.fees_enabled, market.fee_type) == (True, "politics_fees")
    assert market.fee_schedule is not None
    assert (market.fee_schedule.rate, market.fee_schedule.taker_only) == (0.04, True)
    assert market.fee_schedule.rebate_rate == 0.25
    assert [(e.id, e.slug, e.neg_risk) for e in market.events] == [
        ("30829", "dem-nominee-2028", True)
    ]
    assert [(t.id, t.label) for t in market.tags] == [("2", "Politics")]


def test_stringified_arrays_become_real_tuples() -> None:
    market = decode(GammaMarket, MARKET)
    assert market.outcomes == ("Yes", "No")
    assert market.outcome_prices == (Decimal("0.2325"), Decimal("0.7675"))
    assert market.clob_token_ids == (YES, NO)
    assert all(isinstance(t, str) and len(t) == 77 for t in market.clob_token_ids)
    assert market.uma_resolution_statuses == ()
    assert market.position_ids == ()


def test_numbers_as_served() -> None:
    market = decode(GammaMarket, MARKET)
    assert market.liquidity == Decimal("230438.22824")  # a decimal string
    assert market.volume == Decimal("25814545.29")
    assert market.liquidity_num == 230438.22824  # a JSON number
    assert isinstance(market.best_bid, float)
    assert (market.best_bid, market.best_ask, market.spread) == (0.232, 0.233, 0.001)
    assert (market.volume_24hr, market.volume_1wk, market.volume_1mo) == (
        9066.55,
        80473.1,
        716313.09,
    )
    assert market.one_day_price_change == -0.004
    assert (market.order_price_min_tick_size, market.order_min_size) == (0.001, 5)


def test_protocol_v2_market_lists_position_ids() -> None:
    body = MARKET.replace('"version": "v1"', '"version": "v2"').replace(
        '"positionIds": []', f'"positionIds": ["{NO}"]'
    )
    market = decode(GammaMarket, body)
    assert (market.version, market.position_ids) == ("v2", (NO,))


def test_listing_keyset_and_events() -> None:
    markets = decode(GammaMarkets, f"[{MARKET}, {MARKET}]".encode())
    assert [m.outcomes for m in markets] == [("Yes", "No"), ("Yes", "No")]
    page = decode(GammaMarketsPage, f'{{"markets": [{MARKET}], "next_cursor": null}}')
    assert page.next_cursor is None
    assert page.markets[0].clob_token_ids == (YES, NO)
    events = decode(
        GammaEvents,
        f'[{{"id": "30829", "title": "Democratic Nominee 2028", "negRisk": true, '
        f'"liquidity": 4898.97, "markets": [{MARKET}]}}]',
    )
    assert events[0].liquidity == 4898.97
    assert events[0].markets[0].outcome_prices == (Decimal("0.2325"), Decimal("0.7675"))
    keyset = decode(GammaEventsPage, '{"events": [], "next_cursor": "abc"}')
    assert (keyset.events, keyset.next_cursor) == ((), "abc")


def test_empty_or_already_decoded_arrays() -> None:
    empty = decode(GammaMarket, MARKET.replace('"[\\"0.2325\\", \\"0.7675\\"]"', '""'))
    assert empty.outcome_prices == ()
    real = decode(GammaMarket, MARKET.replace(OUTCOMES, '["Yes", "No"]'))
    assert real.outcomes == ("Yes", "No")


def test_a_stringified_field_that_is_not_an_array_is_a_wrong_type() -> None:
    body = "[" + MARKET.replace(OUTCOMES, '"Yes or No"') + "]"
    with pytest.raises(WireError) as info:
        decode(GammaMarkets, body)
    assert info.value.kind is WireErrorKind.WRONG_TYPE
    assert "$[0].outcomes" in info.value.message
    assert info.value.raw == body
