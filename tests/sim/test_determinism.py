"""Same seed and start time: the same markets and, byte for byte, the same market frames.

The simulator's journal (``/_sim/journal``) holds the first messages the market said, and is
the same on every run whatever the clock's speed. What one client reads first also depends on
when it subscribes, so the socket comparison holds the clock (``--time-scale 0``) and advances
it through the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

import httpx
import websockets

ARGS = ["--start-ms", "1795000000000", "--markets", "20", "--rate", "200"]
HELD = ["--time-scale", "0"]


@contextlib.asynccontextmanager
async def sim_process(seed: int, *extra: str):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "polytui",
        "sim",
        "--seed",
        str(seed),
        *ARGS,
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0


async def first_frames(endpoints: dict, count: int) -> tuple[list[dict], list[dict], list[str]]:
    async with httpx.AsyncClient(timeout=10) as http:
        clob = (await http.get(endpoints["clob"] + "/markets")).json()["data"]
        gamma = (await http.get(endpoints["gamma"] + "/markets", params={"limit": 500})).json()
        tokens = [t["token_id"] for m in clob for t in m["tokens"]]
        frames: list[str] = []
        async with websockets.connect(endpoints["ws"] + "/market", max_size=None) as ws:
            await ws.send(
                json.dumps({"type": "market", "assets_ids": tokens, "custom_feature_enabled": True})
            )
            while len(frames) < count:
                await http.post(endpoints["admin"] + "/clock", json={"advance_ms": 100})
                await ws.send("PING")
                while (raw := await ws.recv()) != "PONG":
                    frames.append(raw)
    return clob, gamma, frames[:count]


async def test_same_seed_same_markets_and_first_1000_frames():
    async with sim_process(1, *HELD) as a:
        first = await first_frames(a, 1000)
    async with sim_process(1, *HELD) as b:
        second = await first_frames(b, 1000)
    assert first[0] == second[0]  # CLOB markets
    assert first[1] == second[1]  # Gamma markets
    assert len(first[2]) == 1000
    assert first[2] == second[2]
    kinds = {json.loads(f)["event_type"] for f in first[2][1:]}
    assert {"price_change", "last_trade_price", "book"} <= kinds


async def journal(endpoints: dict, count: int, poke: bool) -> list[dict]:
    """The first ``count`` journal entries, once the running clock has produced them."""
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(600):
            if poke:  # a client's reads must not change what the market says
                await http.get(endpoints["clob"] + "/markets")
            body = (await http.get(endpoints["admin"] + "/journal", params={"limit": count})).json()
            if body["total"] >= count:
                return body["frames"]
            await asyncio.sleep(0.05)
    raise AssertionError(f"only {body['total']} journal entries after 30 s")


async def test_running_clock_same_first_1000_frames_in_the_journal():
    async with sim_process(1, "--time-scale", "40") as a:
        first = await journal(a, 1000, poke=False)
    async with sim_process(1, "--time-scale", "15") as b:
        second = await journal(b, 1000, poke=True)
    assert len(first) == 1000
    assert first == second
    assert {"price_change", "last_trade_price", "book"} <= {f["event_type"] for f in first}
    async with sim_process(2, "--time-scale", "40") as c:
        other = await journal(c, 1000, poke=False)
    assert other != first


async def test_another_seed_gives_another_universe():
    async with sim_process(1) as a, sim_process(2) as b, httpx.AsyncClient() as http:
        ids_a = {m["condition_id"] for m in (await http.get(a["clob"] + "/markets")).json()["data"]}
        ids_b = {m["condition_id"] for m in (await http.get(b["clob"] + "/markets")).json()["data"]}
    assert len(ids_a) == len(ids_b) == 20
    assert not ids_a & ids_b
