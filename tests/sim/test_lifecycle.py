"""Markets live: they stop accepting orders, resolve, appear, and change tick size over time."""

from __future__ import annotations

from polytui.sim.markets import HOUR, MINUTE
from tests.sim.conftest import MarketClient, events


async def test_hours_of_market_life_end_resolve_and_replace_markets(start_sim):
    running = await start_sim(seed=11, markets=20, rate=1)
    ex = running.sim.exchange
    first_end = min(m.end_ms for m in ex.markets.values())
    client = await MarketClient.connect(running.endpoints["ws"], running.tokens())
    await client.sync()
    await running.advance(3 * HOUR, step=10 * MINUTE)
    seen = events(await client.sync())
    resolved = [e for e in seen if e["event_type"] == "market_resolved"]
    created = [e for e in seen if e["event_type"] == "new_market"]
    assert first_end < running.sim.clock.now_ms()
    assert resolved and created
    for ev in resolved:
        market = ex.markets[ev["market"]]
        assert market.closed and ev["winning_asset_id"] == market.winner
        book = await running.http.get(
            running.endpoints["clob"] + "/book", params={"token_id": market.yes_token}
        )
        assert book.status_code == 404
        assert book.json() == {"error": "No orderbook exists for the requested token id"}
    for ev in created:
        assert ev["market"] in ex.markets and len(ev["assets_ids"]) == 2
    gamma = (
        await running.http.get(running.endpoints["gamma"] + "/markets", params={"limit": 500})
    ).json()
    assert all(not m["closed"] for m in gamma)  # closed markets are left out unless asked for
    closed = (
        await running.http.get(running.endpoints["gamma"] + "/markets", params={"closed": "true"})
    ).json()
    assert {m["conditionId"] for m in closed} >= {e["market"] for e in resolved[:20]}
    assert all(m["umaResolutionStatus"] == "resolved" for m in closed)
    await client.close()


async def test_admin_controls_a_market_and_gamma_follows(start_sim):
    running = await start_sim(seed=12, markets=3)
    market = next(iter(running.sim.exchange.markets.values()))
    cid, gamma = market.condition_id, running.endpoints["gamma"]

    async def gamma_row() -> dict:
        return (await running.http.get(f"{gamma}/markets/{market.gamma_id}")).json()

    client = await MarketClient.connect(running.endpoints["ws"], list(market.tokens))
    await client.sync()
    assert (await running.admin("POST", f"/markets/{cid}", {"action": "pause"}))[
        "accepting_orders"
    ] is False
    assert (await gamma_row())["acceptingOrders"] is False
    await running.admin("POST", f"/markets/{cid}", {"action": "resume"})
    assert (await gamma_row())["acceptingOrders"] is True

    old_tick = (
        await running.http.get(
            running.endpoints["clob"] + "/tick-size", params={"token_id": market.yes_token}
        )
    ).json()
    target = "0.001" if old_tick["minimum_tick_size"] == 0.01 else "0.01"
    await running.admin("POST", f"/markets/{cid}", {"action": "tick", "tick": target})
    changes = [e for e in events(await client.sync()) if e["event_type"] == "tick_size_change"]
    assert {e["asset_id"] for e in changes} == set(market.tokens)
    assert all(e["new_tick_size"] == target for e in changes)
    tick = (
        await running.http.get(
            running.endpoints["clob"] + "/tick-size", params={"token_id": market.yes_token}
        )
    ).json()
    assert str(tick["minimum_tick_size"]) == target

    await running.admin("POST", f"/markets/{cid}", {"action": "resolve", "winner": "no"})
    resolved = [e for e in events(await client.sync()) if e["event_type"] == "market_resolved"]
    assert resolved[0]["winning_asset_id"] == market.no_token
    row = await gamma_row()
    assert row["closed"] is True and row["acceptingOrders"] is False
    r = await running.http.post(
        running.endpoints["admin"] + f"/markets/{cid}", json={"action": "pause"}
    )
    assert r.status_code == 400
    await client.close()


async def test_prices_near_the_edge_refine_the_tick(start_sim):
    running = await start_sim(seed=3, markets=30, rate=300)
    edge = [
        m
        for m in running.sim.exchange.markets.values()
        if m.tick == 100 and (m.fair < 0.1 or m.fair > 0.9)
    ]
    assert edge, "the seed should hold a market near 0 or 1"
    client = await MarketClient.connect(running.endpoints["ws"], running.tokens())
    await client.sync()
    await running.advance(20_000, step=1000)
    changes = [e for e in events(await client.sync()) if e["event_type"] == "tick_size_change"]
    assert any(e["old_tick_size"] == "0.01" and e["new_tick_size"] == "0.001" for e in changes)
    await client.close()
