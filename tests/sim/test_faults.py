"""Every fault the simulator can inject happens, and the divergence report shows it."""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets

from tests.sim.conftest import MarketClient, events


async def _report(running) -> dict:
    return await running.admin("GET", "/divergence")


def _causes(report: dict) -> set[str]:
    return {w["cause"] for w in report["open"] + report["closed"]}


async def _stream(running, ms: int = 3000, step: int = 100) -> MarketClient:
    client = await MarketClient.connect(running.endpoints["ws"], running.tokens())
    await client.sync()
    for _ in range(ms // step):
        await running.advance(step)
        await client.sync()
    return client


async def test_no_faults_no_divergence(start_sim):
    running = await start_sim(seed=7, markets=6, rate=300)
    client = await _stream(running)
    report = await _report(running)
    assert report["open"] == [] and report["closed"] == []
    assert report["views"] == len(running.tokens())
    await client.close()


@pytest.mark.parametrize("fault", ["drop", "dup", "reorder"])
async def test_frame_faults_open_windows_named_after_them(start_sim, fault):
    running = await start_sim(seed=7, markets=6, rate=400, faults=f"{fault}=0.2")
    client = await _stream(running)
    report = await _report(running)
    assert fault in _causes(report), report["opened_by_cause"]
    conn = running.sim.feed.connections[min(running.sim.feed.connections)]
    if fault == "drop":
        assert conn.dropped > 0
    await client.close()


async def test_window_closes_when_the_client_fetches_a_fresh_rest_snapshot(start_sim):
    running = await start_sim(seed=7, markets=6, rate=400, faults="drop=0.3")
    client = await _stream(running, ms=2000)
    report = await _report(running)
    diverged = {w["token"] for w in report["open"]}
    assert diverged
    await running.admin("POST", "/faults", {"drop": 0})
    for token in diverged:
        r = await running.http.get(running.endpoints["clob"] + "/book", params={"token_id": token})
        assert r.status_code == 200
    report = await _report(running)
    assert report["open"] == []
    closed_by = {w["token"]: w["closed_by"] for w in report["closed"] if w["token"] in diverged}
    assert set(closed_by.values()) <= {"rest_snapshot", "converged"}
    assert "rest_snapshot" in closed_by.values()
    await client.close()


async def test_frozen_token_stops_updating_while_others_flow(start_sim):
    running = await start_sim(seed=8, markets=4, rate=400, faults="freeze=1")
    frozen = next(iter(running.sim.feed.frozen))
    client = await _stream(running, ms=3000)
    seen = {
        e.get("asset_id")
        for e in events(client.frames)
        if e["event_type"] == "price_change"
        for e in e["price_changes"]
    }
    assert frozen not in seen
    assert seen - {frozen}
    assert "freeze" in _causes(await _report(running))
    assert (await running.admin("GET", "/faults"))["frozen"] == [frozen]
    await client.close()


async def test_server_disconnect_leaves_the_client_stale_until_it_resubscribes(start_sim):
    running = await start_sim(seed=9, markets=4, rate=400, faults="disconnect=1")
    tokens = running.tokens()
    client = await MarketClient.connect(running.endpoints["ws"], tokens)
    await client.sync()
    await running.advance(5000, step=500)

    async def read_until_closed() -> None:
        async with asyncio.timeout(5):
            while True:
                await client.ws.recv()

    with pytest.raises(websockets.ConnectionClosed):
        await read_until_closed()
    await running.advance(2000, step=500)
    report = await _report(running)
    assert "disconnect" in {w["cause"] for w in report["open"]}
    assert any(c["closed"] == "fault_disconnect" for c in running.sim.feed.closed_log)

    await running.admin("POST", "/faults", {"disconnect": 0})
    again = await MarketClient.connect(running.endpoints["ws"], tokens)
    await again.sync()
    report = await _report(running)
    assert report["open"] == []
    assert "ws_book" in {w["closed_by"] for w in report["closed"] if w["cause"] == "disconnect"}
    await again.close()


async def test_stale_rest_book_is_older_than_the_stream_and_is_reported(start_sim):
    running = await start_sim(seed=10, markets=3, rate=400)
    client = await _stream(running, ms=3000)
    await running.admin("POST", "/faults", {"stale_rest": 1})
    stale = 0
    for token in running.tokens():
        served = (
            await running.http.get(running.endpoints["clob"] + "/book", params={"token_id": token})
        ).json()
        truth = await running.admin("GET", f"/book?token_id={token}")
        stale += served["hash"] != truth["hash"]
    assert stale > 0
    report = await _report(running)
    assert "stale_rest" in {w["cause"] for w in report["open"]}
    await client.close()


async def test_http_faults_5xx_429_and_latency(start_sim):
    running = await start_sim(seed=1, markets=2, faults="http5xx=0.3,http429=0.3")
    token = running.tokens()[0]
    statuses = []
    for _ in range(60):
        r = await running.http.get(
            running.endpoints["clob"] + "/midpoint", params={"token_id": token}
        )
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
            assert r.json() == {"error": "Too Many Requests"}
    assert {500, 502, 503} & set(statuses)
    assert 429 in statuses and 200 in statuses
    stats = await running.admin("GET", "/stats")
    assert stats["http_faults"]["http5xx"] > 0 and stats["http_faults"]["http429"] > 0

    await running.admin("POST", "/faults", {"http5xx": 0, "http429": 0, "latency_ms": 200})
    t0 = time.monotonic()
    r = await running.http.get(running.endpoints["clob"] + "/midpoint", params={"token_id": token})
    assert r.status_code == 200 and time.monotonic() - t0 >= 0.09
    t0 = time.monotonic()
    await running.admin("GET", "/clock")  # the admin API is never slowed or failed
    assert time.monotonic() - t0 < 0.09


async def test_bad_fault_settings_are_refused(start_sim):
    running = await start_sim(seed=1, markets=1)
    for body in ({"drop": 2}, {"nope": 1}, {"latency_ms": "slow"}):
        r = await running.http.post(running.endpoints["admin"] + "/faults", json=body)
        assert r.status_code == 400
        assert "error" in r.json()
