"""Paper fills, the pure rules: walking the book, a market buy's pUSD, the queue at a price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.core import paper_fills as pf
from polytui.core.book import Level

D = Decimal
ASKS = [Level(4500, D(100)), Level(4600, D(50)), Level(4800, D(200))]  # best first
BIDS = [Level(4400, D(80)), Level(4300, D(40))]


def test_a_buy_for_shares_takes_each_ask_within_its_limit_at_that_ask():
    fills = pf.walk_shares(ASKS, True, 4700, D(120))
    assert [(f.units, f.shares) for f in fills] == [(4500, D(100)), (4600, D(20))]
    assert pf.filled_usdc(fills) == D("54.2")  # 100 x 0.45 + 20 x 0.46


def test_a_limit_stops_the_walk_and_what_is_left_is_not_filled():
    fills = pf.walk_shares(ASKS, True, 4600, D(500))
    assert pf.filled_shares(fills) == D(150)


def test_a_sell_walks_the_bids_down_to_its_limit():
    fills = pf.walk_shares(BIDS, False, 4300, D(100))
    assert [(f.units, f.shares) for f in fills] == [(4400, D(80)), (4300, D(20))]
    assert pf.walk_shares(BIDS, False, 4500, D(10)) == []


def test_a_market_buy_spends_its_pusd_in_whole_ten_thousandths_of_a_share():
    fills = pf.walk_spend(ASKS, 4700, D("50"))
    # 100 at 0.45 = 45.00, then 5.00 / 0.46 = 10.8695... -> 10.8695 shares
    assert [(f.units, f.shares) for f in fills] == [(4500, D(100)), (4600, D("10.8695"))]
    assert pf.spends_all(fills, D("50"))
    thin = pf.walk_spend(ASKS[:1], 4500, D("50"))
    assert not pf.spends_all(thin, D("50"))  # the book ran out: a FOK would be killed


def test_amounts_give_the_limit_and_the_shares():
    assert pf.order_terms(True, 4_500_000, 10_000_000) == (D("0.45"), D(10))
    assert pf.order_terms(False, 10_000_000, 4_500_000) == (D("0.45"), D(10))
    with pytest.raises(ValueError, match="positive"):
        pf.order_terms(True, 0, 1)


def test_a_trade_at_the_price_eats_the_queue_ahead_first():
    spot = pf.QueueSpot(D(30), shown=D(50))  # 50 ahead of us
    spot.level(1, D(30))  # the venue shows the level shrink by the trade's 20 first...
    assert spot.trade(1, D(20)) == 0  # ...then prints it: 30 still ahead, nothing for us
    spot.level(2, D(0))
    assert spot.trade(2, D(40)) == D(10)  # 30 ahead, then 10 of ours
    assert spot.remaining == D(20)


def test_a_trade_print_before_its_level_change_is_counted_once():
    spot = pf.QueueSpot(D(10), shown=D(50))
    assert spot.trade(1, D(20)) == 0
    spot.level(1, D(30))  # the same 20, shown after the print: not taken out again
    spot.settle()
    assert spot.ahead == D(30)


def test_cancels_shrink_the_queue_ahead_in_proportion():
    spot = pf.QueueSpot(D(10), shown=D(100))
    spot.level(1, D(50))  # half the level gone, no trade: cancels, half of them ahead of us
    spot.level(2, D(50))  # the next timestamp settles the first
    assert spot.ahead == D(50)
    spot.level(3, D(80))  # others join behind us
    spot.settle()
    assert spot.ahead == D(50)


def test_a_trade_beyond_the_price_fills_the_order_up_to_its_size():
    spot = pf.QueueSpot(D(30), shown=D(500))
    assert spot.through(D(12)) == D(12)
    assert spot.ahead == 0 and spot.remaining == D(18)
    assert spot.through(D(100)) == D(18)
    assert spot.remaining == 0


def test_crossing_needs_the_best_opposite_price():
    assert pf.crosses(True, 4500, 4500) and not pf.crosses(True, 4400, 4500)
    assert pf.crosses(False, 4400, 4400) and not pf.crosses(False, 4500, 4400)
    assert not pf.crosses(True, 4500, None)
