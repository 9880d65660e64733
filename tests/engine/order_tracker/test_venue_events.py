"""Venue news -> ledger events (pure): our fills in a trade, settlement moves, order states."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from polytui.core.orders import FillStatus, OrderState
from polytui.core.projections import fold
from polytui.engine.order_tracker.venue_events import fills_in, order_event, trade_events
from polytui.protocol.wire.clob import MakerOrder, OpenOrder, Trade
from tests.ledger_data import intent, records, signed

OURS = {"0xtaker", "0xmaker"}


def trade(status: str = "TRADE_STATUS_MATCHED", taker: str = "0xtaker") -> Trade:
    return Trade(
        id="t1",
        taker_order_id=taker,
        market="0xm",
        asset_id="111",
        side="BUY",
        size=Decimal(10),
        price=Decimal("0.40"),
        status=status,
        match_time=1_795_000_000,
        fee_rate_bps=Decimal(0),
        transaction_hash="0xtx",
        maker_orders=(
            MakerOrder(
                order_id="0xmaker",
                matched_amount=Decimal(4),
                price=Decimal("0.60"),
                asset_id="222",
                side="BUY",
            ),
            MakerOrder(
                order_id="0xsomeone",
                matched_amount=Decimal(6),
                price=Decimal("0.40"),
                asset_id="111",
                side="SELL",
            ),
        ),
    )


def test_taker_and_maker_fills_each_on_their_own_terms() -> None:
    taker, maker = fills_in(trade(), OURS.__contains__, FillStatus.MATCHED)
    assert (taker.order_id, taker.role, taker.side, taker.asset_id, taker.size, taker.price) == (
        "0xtaker",
        "TAKER",
        "BUY",
        "111",
        10,
        Decimal("0.40"),
    )
    assert (maker.order_id, maker.role, maker.side, maker.asset_id, maker.size, maker.price) == (
        "0xmaker",
        "MAKER",
        "BUY",
        "222",
        4,
        Decimal("0.60"),
    )
    assert taker.match_time_ms == 1_795_000_000_000
    assert taker.tx_hash == "0xtx"


def test_other_people_s_fills_are_not_ours() -> None:
    fills = fills_in(trade(taker="0xnotours"), {"0xmaker"}.__contains__, FillStatus.MATCHED)
    assert [f.order_id for f in fills] == ["0xmaker"]


def test_a_known_fill_only_moves_its_settlement_forward() -> None:
    first = trade_events(trade(), OURS.__contains__, lambda key: None, FillStatus.MATCHED)
    model = fold(records(first)).model
    again = trade_events(trade(), OURS.__contains__, model.fills.get, FillStatus.MATCHED)
    assert again == []
    mined = trade_events(trade("MINED"), OURS.__contains__, model.fills.get, FillStatus.MINED)
    assert [(e.kind, e.status) for e in mined] == [("fill_settlement_changed", "MINED")] * 2
    model = fold(records(first + mined)).model
    stale = trade_events(trade(), OURS.__contains__, model.fills.get, FillStatus.MATCHED)
    assert stale == []  # MATCHED after MINED: old news


def open_order(status: str, matched: str) -> OpenOrder:
    return OpenOrder(
        id="0x1",
        status=status,
        market="0xm",
        asset_id="111",
        side="BUY",
        original_size=Decimal(10),
        size_matched=Decimal(matched),
        price=Decimal("0.4"),
    )


def test_order_news_moves_the_state_or_says_nothing() -> None:
    signed_only = fold(records([intent("i1"), signed("i1", "0x1")])).model.orders["i1"]
    # SIGNED -> LIVE is no move: the tracker records the SUBMITTED it missed first.
    assert order_event(open_order("LIVE", "0"), signed_only, "rest") is None
    live = msgspec.structs.replace(signed_only, state=OrderState.LIVE)
    partial = order_event(open_order("MATCHED", "4"), live, "ws")
    assert partial is not None
    assert (partial.state, partial.size_matched) == (OrderState.PARTIALLY_FILLED, 4)
    more = msgspec.structs.replace(live, state=OrderState.PARTIALLY_FILLED, size_matched=Decimal(4))
    assert order_event(open_order("MATCHED", "4"), more, "ws") is None  # nothing new
    again = order_event(open_order("MATCHED", "6"), more, "ws")
    assert again is not None and again.size_matched == 6
    assert order_event(open_order("MATCHED", "10"), more, "ws").state is OrderState.FILLED
    done = msgspec.structs.replace(more, state=OrderState.CANCELED)
    assert order_event(open_order("LIVE", "4"), done, "ws") is None  # stale news
