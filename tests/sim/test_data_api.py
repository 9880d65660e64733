"""Leader wallets on the Data API v1: a backfilled history, new trades visible after the configured
lag (and not before), positions and value, and the same trades on the market channel."""

from __future__ import annotations

import pytest

from polytui.sim.leaders import BACKFILL

LAG_MS = 5_000


@pytest.fixture
async def venue(start_sim):
    return await start_sim(seed=5, markets=12, rate=50, leaders=4, data_lag_ms=LAG_MS)


async def get(venue, path: str, **params) -> list | dict:
    r = await venue.http.get(venue.endpoints["data"] + path, params=params)
    r.raise_for_status()
    return r.json()


async def test_leaders_have_distinct_styles_and_a_backfilled_history(venue):
    leaders = await venue.admin("GET", "/leaders")
    assert len(leaders) == 4
    assert len({leader["style"] for leader in leaders}) == 4
    for leader in leaders:
        rows = await get(venue, "/activity", user=leader["address"], limit=500)
        assert len(rows) >= 100 and len(rows) >= BACKFILL
        assert all(r["type"] == "TRADE" and r["proxyWallet"] == leader["address"] for r in rows)
        assert rows == sorted(rows, key=lambda r: r["timestamp"], reverse=True)
        assert {"size", "usdcSize", "price", "asset", "conditionId", "transactionHash"} <= set(
            rows[0]
        )
    whale, scalper = leaders[0], leaders[1]
    assert whale["mean_usd"] > 10 * scalper["mean_usd"]
    assert scalper["trades_per_hour"] > 5 * whale["trades_per_hour"]


async def test_a_new_leader_trade_shows_after_the_lag_not_before(venue):
    sim = venue.sim
    index, leader = max(enumerate(sim.leaders.leaders), key=lambda x: x[1].style.per_hour)
    history = len(sim.trading.activity[leader.key])
    for _ in range(50):  # land exactly on the leader's next turns until one trades
        due = sim.life.next_time_of("leader", str(index))
        await venue.advance(due - sim.clock.now_ms())
        if len(sim.trading.activity[leader.key]) > history:
            break
    new = sim.trading.activity[leader.key][history]
    assert new.ts_ms == sim.clock.now_ms()

    async def shown() -> bool:
        trades = await get(venue, "/trades", user=leader.address, limit=500)
        return new.tx in {t["transactionHash"] for t in trades}

    assert not await shown()
    await venue.advance(LAG_MS - 1)
    assert not await shown()
    await venue.advance(1)
    assert await shown()
    trades = await get(venue, "/trades", user=leader.address, limit=500)
    row = next(t for t in trades if t["transactionHash"] == new.tx)
    assert row["asset"] == new.token and row["side"] == new.side
    assert row["size"] == pytest.approx(new.size / 1e6)
    # the same trade went through the shared book: it is a trade on the market channel too
    assert sim.exchange.last_trade.get(new.token) is not None
    positions = await get(venue, "/positions", user=leader.address, sizeThreshold=0)
    assert any(p["asset"] == new.token for p in positions) or new.side == "SELL"
    value = await get(venue, "/value", user=leader.address)
    assert value[0]["user"] == leader.address and value[0]["value"] >= 0


async def test_bad_queries_are_400(venue):
    r = await venue.http.get(venue.endpoints["data"] + "/activity")
    assert r.status_code == 400 and "user" in r.json()["error"]
    leader = venue.sim.leaders.leaders[0]
    r = await venue.http.get(
        venue.endpoints["data"] + "/positions", params={"user": leader.address, "limit": 501}
    )
    assert r.status_code == 400
