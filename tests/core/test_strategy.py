"""The strategy API's types: deterministic intent ids, checked intents, the book accessor."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from polytui.core.book import Book, Side
from polytui.core.market_flags import Flag
from polytui.core.strategy import (
    UNTRACKED,
    BookRead,
    OrderIntent,
    OrderSide,
    OrderType,
    SizeUnit,
    SnapshotContext,
    Strategy,
    intent_id,
)


def intent(**changes) -> OrderIntent:
    fields = {
        "intent_id": intent_id("s", "k"),
        "strategy": "s",
        "condition_id": "0xc",
        "asset": "1",
        "side": OrderSide.BUY,
        "size": D(10),
        "unit": SizeUnit.SHARES,
        "limit_price": D("0.5"),
        "order_type": OrderType.FAK,
        "reference_price": D("0.49"),
        "reason": "test",
        "created_ms": 2,
        "signal_ms": 1,
        **changes,
    }
    return OrderIntent(**fields)


def test_intent_ids_come_from_the_cause_alone() -> None:
    assert intent_id("copy", "a", "b") == intent_id("copy", "a", "b")
    assert len(intent_id("copy", "a")) == 64
    assert intent_id("copy", "ab", "c") != intent_id("copy", "a", "bc")
    assert intent_id("copy", "a") != intent_id("other", "a")
    with pytest.raises(ValueError, match="cause"):
        intent_id("copy")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": D(0)}, "size must be positive"),
        ({"size": D("NaN")}, "size must be positive"),
        ({"limit_price": D(1)}, "limit_price must be in"),
        ({"reference_price": D(0)}, "reference_price must be in"),
        ({"order_type": OrderType.GTD}, "expires_ms is required"),
        ({"expires_ms": 5}, "expires_ms is required"),
    ],
)
def test_an_intent_that_can_never_be_an_order_is_refused(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        intent(**changes)


def test_intent_properties() -> None:
    buy = intent(depends_on=("2", "1", "2"))
    assert buy.opening and buy.books == ("1", "2")
    assert not intent(side=OrderSide.SELL).opening
    assert not intent(reduce_only=True).opening
    assert OrderSide.BUY.takes is Side.ASK and OrderSide.SELL.takes is Side.BID
    assert OrderType.FAK.immediate and OrderType.FOK.immediate
    assert not OrderType.GTD.immediate and not OrderType.GTC.immediate
    intent(order_type=OrderType.GTD, expires_ms=70_000)


def test_a_book_is_live_only_in_state_live_with_levels() -> None:
    book = Book(100)
    assert BookRead("LIVE", book).live
    assert not BookRead("SUSPECT", book).live and not BookRead("LIVE", None).live
    assert not UNTRACKED.live


def test_snapshot_context_answers_with_safe_defaults() -> None:
    ctx = SnapshotContext(5, market_flags={"0xc": frozenset()}, positions={"1": D(3)})
    assert ctx.now_ms() == 5 and ctx.bankroll() == 0
    assert ctx.book("9") is UNTRACKED and ctx.position("9") == 0 and ctx.position("1") == 3
    assert ctx.flags("0xc") == frozenset() and ctx.flags("0xd") == {Flag.UNKNOWN}


def test_a_strategy_is_anything_with_the_three_hooks() -> None:
    class Quiet:
        name = "quiet"

        def on_input(self, ctx, item):
            return []

        def on_book(self, ctx, asset):
            return []

        def on_timer(self, ctx):
            return [intent()]

    strategy: Strategy = Quiet()
    assert strategy.on_timer(SnapshotContext(0))[0].reason == "test"
