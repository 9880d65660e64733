"""Copy the intent, not the trades: a leader's fills in one asset within the window become one
net delta; the leader's rebuilt position says open, add, reduce or exit."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.core.strategy import OrderSide
from polytui.strategies.copytrade.aggregate import Aggregator, DeltaKind, LeaderBook
from tests.strategies.copytrade.helpers import ASSET, ASSET_B, LEADER, OTHER_LEADER, T0, fill


def feed(fills, book: LeaderBook, agg: Aggregator, now: int) -> None:
    for f in fills:
        agg.add(f, book.apply(f), now)


def test_split_fills_become_one_delta_when_the_window_closes() -> None:
    book, agg = LeaderBook(), Aggregator(window_ms=3000)
    parts = [fill(0, size=40, price="0.50"), fill(0, size=60, price="0.52", tx="0x2")]
    feed(parts, book, agg, now=T0)
    assert agg.due(T0 + 2999, {LEADER: book}) == []
    assert agg.next_due_ms() == T0 + 3000
    (delta,) = agg.due(T0 + 3000, {LEADER: book})
    assert (delta.net, delta.side, delta.kind) == (D(100), OrderSide.BUY, DeltaKind.OPEN)
    assert delta.price == D("0.512")  # 40 @ .50 + 60 @ .52
    assert delta.notional == D("51.2")
    assert (delta.before, delta.after) == (0, D(100))
    assert delta.keys == tuple(f.key for f in parts) and delta.closed_ms == T0 + 3000
    assert len(agg) == 0 and agg.next_due_ms() is None


def test_a_fill_arriving_while_the_window_is_open_joins_it() -> None:
    book, agg = LeaderBook(), Aggregator(window_ms=3000)
    feed([fill(0, size=40)], book, agg, now=T0)
    feed([fill(1, size=60, tx="0x2")], book, agg, now=T0 + 2000)  # the next poll
    (delta,) = agg.due(T0 + 3000, {LEADER: book})
    assert delta.net == D(100) and len(delta.fills) == 2


def test_a_rapid_flip_nets_to_a_flat_delta() -> None:
    book, agg = LeaderBook({ASSET: D(10)}), Aggregator(window_ms=3000)
    feed([fill(0, "BUY", 100), fill(1, "SELL", 100, "0.51", tx="0x2")], book, agg, T0)
    (delta,) = agg.flush(T0, {LEADER: book})
    assert delta.kind is DeltaKind.FLAT and delta.net == 0
    assert (delta.before, delta.after) == (D(10), D(10))


def test_partial_reduction_and_exit() -> None:
    book = LeaderBook({ASSET: D(200)})
    agg = Aggregator(window_ms=0)
    feed([fill(0, "SELL", 50, "0.6"), fill(0, "SELL", 25, "0.58", tx="0x2")], book, agg, T0)
    (reduce,) = agg.due(T0, {LEADER: book})
    assert reduce.kind is DeltaKind.REDUCE and reduce.net == D(-75)
    assert (reduce.before, reduce.after) == (D(200), D(125))
    assert reduce.price == (D(50) * D("0.6") + D(25) * D("0.58")) / 75
    feed([fill(5, "SELL", 125, "0.7")], book, agg, T0 + 5000)
    (exit_,) = agg.due(T0 + 5000, {LEADER: book})
    assert exit_.kind is DeltaKind.EXIT and exit_.after == 0


def test_buy_more_then_sell_some_is_a_net_add_at_the_buy_price() -> None:
    book, agg = LeaderBook({ASSET: D(50)}), Aggregator(window_ms=3000)
    feed([fill(0, "BUY", 100, "0.40"), fill(1, "SELL", 30, "0.45", tx="0x2")], book, agg, T0)
    (delta,) = agg.flush(T0, {LEADER: book})
    assert delta.kind is DeltaKind.ADD and delta.net == D(70) and delta.price == D("0.40")


def test_assets_and_leaders_aggregate_apart() -> None:
    book, other = LeaderBook(), LeaderBook()
    agg = Aggregator(window_ms=1000)
    feed([fill(0), fill(0, asset=ASSET_B, tx="0x2")], book, agg, T0)
    feed([fill(0, leader=OTHER_LEADER, tx="0x3")], other, agg, T0 + 500)
    deltas = agg.due(T0 + 1000, {LEADER: book, OTHER_LEADER: other})
    assert {(d.leader, d.asset) for d in deltas} == {(LEADER, ASSET), (LEADER, ASSET_B)}
    assert agg.open_for(OTHER_LEADER) == 1
    (late,) = agg.due(T0 + 1500, {LEADER: book, OTHER_LEADER: other})
    assert late.leader == OTHER_LEADER


def test_a_sell_of_unknown_shares_never_goes_below_zero() -> None:
    book = LeaderBook()
    assert book.apply(fill(0, "SELL", 10)) == 0
    assert book.get(ASSET) == 0
