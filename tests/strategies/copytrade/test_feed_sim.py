"""The leader feed against the simulator's leaders: priming from history, new trades after the
indexing lag, no duplicates across polls, split fills as one delta, flips, exits, re-sync
against /positions, and the whole path to order intents."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.core.strategy import OrderSide, SnapshotContext
from polytui.sim.leaders import BACKFILL
from polytui.sim.units import SIZE_SCALE
from polytui.strategies.copytrade import (
    CopyParams,
    CopyRecord,
    CopyTrader,
    DeltaKind,
    FeedParams,
)
from polytui.venue.data_api import DataApiClient
from tests.strategies.copytrade.conftest import LAG_MS, FeedRig


def take(rig: FeedRig, style: str, buy: bool, shares: int, token: str | None = None):
    """Make a leader take liquidity now, as it does on its own schedule: on ``token``, or on
    the first tradable token it holds nothing of."""
    leader = rig.leader(style)
    book = rig.feed.leaders[leader.key].book
    markets = [m for m in rig.sim.exchange.markets.values() if m.tradable]
    if token is None:
        token = next(t for m in markets for t in m.tokens if book.get(t) == 0)
    market = rig.sim.exchange.by_token[token]
    rig.sim.leaders._take(leader, market, token, buy=buy, shares=shares * SIZE_SCALE)
    return leader, market, token


def rows_of(rig: FeedRig, leader) -> list:
    return rig.sim.trading.activity[leader.key]


async def test_priming_reads_history_without_copying_it(feed_rig) -> None:
    rig = await feed_rig()
    await rig.feed.prime()
    assert rig.deltas() == []
    for leader in rig.sim.leaders.leaders:
        (snapshot,) = rig.snapshots(leader)
        (score,) = rig.scores(leader)
        assert score.trades >= 30 and score.score is not None  # the sample floor is met
        assert score.shape_cap_usdc is not None and score.shape_cap_usdc > 0
        reported = await DataApiClient(rig.http).positions(leader.address, size_threshold=0)
        assert snapshot.positions == {p.asset: p.size for p in reported}
        assert snapshot.value > 0 and snapshot.bankroll >= snapshot.value
    kpis = rig.feed.kpis()
    assert all(k["primed"] and k["errors"] == 0 for k in kpis.values())
    whale = rig.leader("whale")
    assert len(rig.feed.leaders[whale.key].history) == BACKFILL


async def test_a_new_trade_shows_after_the_lag_once_and_as_one_delta(feed_rig) -> None:
    rig = await feed_rig(FeedParams(window_ms=3_000))
    await rig.feed.prime()
    before = len(rows_of(rig, rig.leader("scalper")))
    leader, market, token = take(rig, "scalper", buy=True, shares=3000)
    new = rows_of(rig, leader)[before:]
    assert len(new) >= 2, "the take should walk more than one price level"
    assert await rig.step(LAG_MS - 1) == []
    assert rig.feed.aggregator.open_for(leader.key) == 0  # not indexed yet
    assert await rig.step(1) == []  # indexed and seen: its window opens
    assert rig.feed.aggregator.open_for(leader.key) == 1
    assert await rig.step(2_000) == []
    (delta,) = await rig.step(1_000)
    assert delta.leader == leader.key and delta.asset == token
    assert delta.kind in (DeltaKind.OPEN, DeltaKind.ADD) and delta.side is OrderSide.BUY
    assert len(delta.fills) == len(new)  # split over price levels, copied as one
    assert {f.tx for f in delta.fills} == {r.tx for r in new}
    assert delta.net == D(sum(r.size for r in new)) / SIZE_SCALE
    vwap = D(sum(r.size * r.price for r in new)) / D(sum(r.size for r in new)) / 10_000
    assert delta.price == vwap
    assert delta.after - delta.before == delta.net
    # later polls re-read the lookback window and drop what they saw
    for _ in range(3):
        assert await rig.step(2_000) == []
    kpis = rig.feed.kpis()[leader.key]
    assert kpis["fills"] == len(new) and kpis["duplicates"] >= 3 * len(new)
    assert kpis["index_lag_ms"]["p50"] == LAG_MS


async def test_a_quick_in_and_out_is_flat_and_an_exit_is_an_exit(feed_rig) -> None:
    rig = await feed_rig(FeedParams(window_ms=3_000))
    await rig.feed.prime()
    leader, market, token = take(rig, "degen", buy=True, shares=200)
    take(rig, "degen", buy=False, shares=200, token=token)  # out again at once
    await rig.step(LAG_MS)
    (flat,) = await rig.step(3_000)
    assert flat.kind is DeltaKind.FLAT and flat.net == 0 and len(flat.fills) >= 2
    take(rig, "degen", buy=True, shares=200, token=token)
    await rig.step(LAG_MS)
    (opened,) = await rig.step(3_000)
    assert opened.kind is DeltaKind.OPEN and (opened.before, opened.after) == (0, D(200))
    take(rig, "degen", buy=False, shares=50, token=token)
    await rig.step(LAG_MS)
    (reduced,) = await rig.step(3_000)
    assert reduced.kind is DeltaKind.REDUCE and reduced.after == D(150)
    take(rig, "degen", buy=False, shares=150, token=token)
    await rig.step(LAG_MS)
    (out,) = await rig.step(3_000)
    assert out.kind is DeltaKind.EXIT and (out.before, out.after) == (D(150), 0)
    assert rig.sim.accounts.wallet(leader.address).positions[token] == 0


async def test_resync_agrees_with_positions_and_heals_a_drift(feed_rig) -> None:
    rig = await feed_rig()
    await rig.feed.prime()
    leader, market, token = take(rig, "whale", buy=True, shares=500)
    await rig.step(LAG_MS)
    await rig.step(3_000)
    await rig.feed.resync()
    snapshot = rig.snapshots(leader)[-1]
    assert snapshot.drift == {}
    # the rebuilt book goes wrong (a missed fill, say): reported at once, healed when the
    # same drift is still there at the next re-sync
    book = rig.feed.leaders[leader.key].book
    truth = book.get(token)
    book.rebase(token, truth + 7)
    await rig.feed.resync()
    assert rig.snapshots(leader)[-1].drift == {token: (truth + 7, truth)}
    assert book.get(token) == truth + 7
    await rig.feed.resync()
    assert book.get(token) == truth
    await rig.feed.resync()
    assert rig.snapshots(leader)[-1].drift == {}


async def test_sim_leader_trades_become_copy_intents(feed_rig) -> None:
    rig = await feed_rig()
    await rig.feed.prime()
    records: list[CopyRecord] = []
    trader = CopyTrader(CopyParams(), on_record=records.append)
    ctx = SnapshotContext(rig.sim.clock.now_ms(), equity=D(10_000))
    for item in rig.items:
        trader.on_input(ctx, item)
    leader, market, token = take(rig, "scalper", buy=True, shares=300)
    await rig.step(LAG_MS)
    (delta,) = await rig.step(3_000)
    ctx = SnapshotContext(rig.sim.clock.now_ms(), equity=D(10_000))
    intents = trader.on_input(ctx, delta)
    assert trader.scores[leader.key].eligible  # the scalper's history scores above 0
    (intent,) = intents
    assert intent.asset == token and intent.condition_id == market.condition_id
    assert intent.cause == delta.keys and intent.leader == leader.key
    assert intent.signal_ms == delta.last_ms
    assert intent.reference_price == delta.price
    assert intent.side is OrderSide.BUY and D(1) <= intent.size <= D(100)
