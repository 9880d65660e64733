"""Data API rows (§7): v1 camelCase arrays, v2 snake_case envelopes, numbers exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.protocol.wire.codec import decode
from polytui.protocol.wire.data_api import (
    Activities,
    ActivityV2,
    DataItem,
    DataPage,
    DataTrades,
    Positions,
    PositionV2,
    TradeV2,
    Values,
    ValueV2,
)
from polytui.protocol.wire.errors import WireError, WireErrorKind
from tests.protocol.wire.ids import CONDITION, NO, TX_HASH, YES

WALLET = "0x5668000000000000000000000000000000005839"

POSITIONS = f"""[{{"proxyWallet": "{WALLET}", "asset": "{YES}", "conditionId": "{CONDITION}",
  "size": 150.5, "avgPrice": 0.55, "initialValue": 82.78, "currentValue": 90.3, "cashPnl": 7.53,
  "percentPnl": 9.09, "totalBought": 150.5, "realizedPnl": 0, "percentRealizedPnl": 0,
  "curPrice": 0.6, "redeemable": false, "mergeable": false, "title": "Will it rain…?",
  "slug": "rain-paris", "icon": "https://example.com/i.png", "eventSlug": "rain-paris",
  "outcome": "Yes", "outcomeIndex": 0, "oppositeOutcome": "No", "oppositeAsset": "{NO}",
  "endDate": "2026-12-01", "negativeRisk": false}}]"""

PROFILE = (
    '"name": "leader", "pseudonym": "Quiet-Owl", "bio": "", "profileImage": "", '
    '"profileImageOptimized": ""'
)


def test_v1_positions() -> None:
    (position,) = decode(Positions, POSITIONS)
    assert (position.proxy_wallet, position.asset, position.condition_id) == (
        WALLET,
        YES,
        CONDITION,
    )
    assert position.size == Decimal("150.5")  # exact, from the JSON number's text
    assert (position.avg_price, position.cur_price, position.cash_pnl) == (
        Decimal("0.55"),
        Decimal("0.6"),
        Decimal("7.53"),
    )
    assert (position.outcome_index, position.opposite_asset) == (0, NO)
    assert position.negative_risk is False


def test_v1_activity_trade_and_deposit_rows() -> None:
    trade_row = (
        f'{{"proxyWallet": "{WALLET}", "timestamp": 1795569891, "conditionId": "{CONDITION}", '
        f'"type": "TRADE", "size": 25, "usdcSize": 12.75, "transactionHash": "{TX_HASH}", '
        f'"price": 0.51, "asset": "{YES}", "side": "BUY", "outcomeIndex": 0, "title": "t", '
        f'"slug": "s", "icon": "", "eventSlug": "e", "outcome": "Yes", {PROFILE}}}'
    )
    deposit_row = (
        f'{{"proxyWallet": "{WALLET}", "timestamp": 1795569000, "type": "DEPOSIT", '
        f'"usdcSize": 100}}'
    )
    trade, deposit = decode(Activities, f"[{trade_row}, {deposit_row}]")
    assert (trade.type, trade.side, trade.asset, trade.timestamp) == (
        "TRADE",
        "BUY",
        YES,
        1795569891,
    )
    assert (trade.size, trade.usdc_size, trade.price) == (
        Decimal(25),
        Decimal("12.75"),
        Decimal("0.51"),
    )
    assert trade.transaction_hash == TX_HASH
    assert trade.pseudonym == "Quiet-Owl"
    assert (deposit.type, deposit.usdc_size, deposit.asset, deposit.price) == (
        "DEPOSIT",
        Decimal(100),
        "",
        None,
    )


def test_v1_trades_and_value() -> None:
    row = (
        f'{{"proxyWallet": "{WALLET}", "side": "SELL", "asset": "{YES}", '
        f'"conditionId": "{CONDITION}", "size": 10, "price": 0.47, "timestamp": 1795569891, '
        f'"title": "t", "slug": "s", "icon": "", "eventSlug": "e", "outcome": "Yes", '
        f'"outcomeIndex": 0, {PROFILE}, "transactionHash": "{TX_HASH}"}}'
    )
    (trade,) = decode(DataTrades, f"[{row}]")
    assert (trade.side, trade.size, trade.price) == ("SELL", Decimal(10), Decimal("0.47"))
    (value,) = decode(Values, f'[{{"user": "{WALLET}", "value": 1234.56}}]')
    assert (value.user, value.value) == (WALLET, Decimal("1234.56"))


def test_v2_positions_page() -> None:
    body = f"""{{"data": [{{"proxy_wallet": "{WALLET}", "token_id": "{YES}",
      "condition_id": "{CONDITION}", "current_size": 150.5, "avg_price": 0.55,
      "entry_cost_usdc": 82.78, "entry_fees_usdc": 0, "total_cost_usdc": 82.78,
      "current_price": 0.6, "current_value": 90.3, "total_size": 150.5, "realized_pnl": 0,
      "unrealized_pnl": 7.52, "total_pnl": 7.52, "percent_pnl": 9.08, "percent_realized_pnl": 0,
      "status": "OPEN", "redeemable": false, "mergeable": false, "negative_risk": false,
      "archived": false, "verified": true, "title": "t", "slug": "s", "icon": "",
      "event_slug": "e", "event_id": "30829", "outcome": "Yes", "outcome_index": 0,
      "opposite_outcome": "No", "opposite_token_id": "{NO}", "end_date": "2026-12-01",
      "last_event_at": 1795569891, "first_entry_at": 1795000000}}],
      "pagination": {{"limit": 500, "has_more": true, "next_cursor": "b3BhcXVl"}}}}"""
    page = decode(DataPage[PositionV2], body)
    (position,) = page.data
    assert (position.token_id, position.current_size, position.status) == (
        YES,
        Decimal("150.5"),
        "OPEN",
    )
    assert position.opposite_token_id == NO
    assert (page.pagination.limit, page.pagination.has_more, page.pagination.next_cursor) == (
        500,
        True,
        "b3BhcXVl",
    )


def test_v2_trades_activity_and_value() -> None:
    trade_row = (
        f'{{"proxy_wallet": "{WALLET}", "token_id": "{YES}", "condition_id": "{CONDITION}", '
        f'"side": "BUY", "size": 25, "price": 0.51, "timestamp": 1795569891, '
        f'"transaction_hash": "{TX_HASH}", "title": "t", "slug": "s", "icon": "", '
        f'"event_slug": "e", "outcome": "Yes", "outcome_index": 0, "name": "", "pseudonym": "", '
        f'"bio": "", "profile_image": "", "profile_image_optimized": ""}}'
    )
    last = '"pagination": {"limit": 1000, "has_more": false, "next_cursor": null}'
    trades = decode(DataPage[TradeV2], f'{{"data": [{trade_row}], {last}}}')
    assert (trades.data[0].token_id, trades.data[0].price) == (YES, Decimal("0.51"))
    assert trades.pagination.next_cursor is None
    activity_row = (
        f'{{"type": "TRADE", "proxy_wallet": "{WALLET}", "timestamp": 1795569891, '
        f'"token_id": "{YES}", "condition_id": "{CONDITION}", "side": "BUY", "size": 25, '
        f'"usdc_size": 12.75, "price": 0.51, "is_combo": false}}'
    )
    activity = decode(DataPage[ActivityV2], f'{{"data": [{activity_row}], {last}}}')
    assert (activity.data[0].type, activity.data[0].usdc_size) == ("TRADE", Decimal("12.75"))
    value = decode(
        DataItem[ValueV2], f'{{"data": {{"proxy_wallet": "{WALLET}", "value": 1234.5678}}}}'
    )
    assert value.data.value == Decimal("1234.5678")


def test_a_row_without_its_wallet_is_missing_a_field() -> None:
    with pytest.raises(WireError) as info:
        decode(Positions, POSITIONS.replace(f'"proxyWallet": "{WALLET}", ', ""))
    assert info.value.kind is WireErrorKind.MISSING_FIELD
    assert "proxyWallet" in info.value.message
