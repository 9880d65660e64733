"""Market flags: every reason a market may not be traded, and the one rule the risk engine
applies to them."""

from __future__ import annotations

import pytest

from polytui.core.market_flags import Flag, book_age_ms, describe, flags_of, tradable
from polytui.core.universe import MarketInfo

NOW = 1_795_000_000_000


def market(**fields) -> MarketInfo:
    return MarketInfo("0xabc", "500001", tokens=("1", "2"), end_ms=NOW + 60_000, **fields)


def test_an_open_market_with_a_fresh_book_is_tradable() -> None:
    flags = flags_of(market(), NOW, book_age_ms=1_000, stale_book_ms=60_000)
    assert flags == frozenset() and tradable(flags)


@pytest.mark.parametrize(
    ("fields", "flag"),
    [
        ({"resolved": True}, Flag.RESOLVED),
        ({"uma_status": "resolved"}, Flag.RESOLVED),
        ({"uma_status": "proposed"}, Flag.IN_RESOLUTION),
        ({"uma_status": "disputed"}, Flag.IN_RESOLUTION),
        ({"closed": True}, Flag.CLOSED),
        ({"archived": True}, Flag.ARCHIVED),
        ({"listed": False}, Flag.UNLISTED),
        ({"enable_order_book": False}, Flag.NO_ORDER_BOOK),
        ({"active": False}, Flag.INACTIVE),
        ({"accepting_orders": False}, Flag.NOT_ACCEPTING),
    ],
)
def test_each_state_is_flagged_with_its_reason(fields, flag) -> None:
    flags = flags_of(market(**fields), NOW)
    assert flag in flags and not tradable(flags)
    assert describe(flags)


def test_time_alone_flags_the_end_date_and_a_silent_book() -> None:
    m = market()
    assert flags_of(m, m.end_ms) == {Flag.PAST_END}
    assert flags_of(m, NOW, book_age_ms=60_001, stale_book_ms=60_000) == {Flag.STALE_BOOK}
    assert flags_of(m, NOW, book_age_ms=None, stale_book_ms=60_000) == frozenset()


def test_an_unknown_market_is_never_tradable() -> None:
    assert flags_of(None, NOW) == {Flag.UNKNOWN}
    assert not tradable(flags_of(None, NOW))


def test_book_age_is_the_stalest_token_counted_from_when_it_was_watched() -> None:
    since = NOW - 10_000
    assert book_age_ms([NOW - 1_000, NOW - 4_000], since, NOW) == 4_000
    assert book_age_ms([NOW - 1_000, None], since, NOW) == 10_000  # never fresh
    assert book_age_ms([NOW - 50_000], since, NOW) == 10_000  # fresh before it was watched
    assert book_age_ms([], since, NOW) == 0


def test_describe_is_stable() -> None:
    flags = frozenset({Flag.PAST_END, Flag.CLOSED})
    assert describe(flags) == "the market is closed; the market is past its end date"
