"""Same seed and start time: the same markets and, byte for byte, the same market frames.

With a running clock, what a client sees first depends on when it subscribes; ``--time-scale 0``
holds the clock until the admin API advances it, so two runs can be compared frame by frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

import httpx
import websockets

ARGS = ["--start-ms", "1795000000000", "--markets", "20", "--rate", "200", "--time-scale", "0"]


@contextlib.asynccontextmanager
async def sim_process(seed: int):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "polytui",
        "sim",
        "--seed",
        str(seed),
        *ARGS,
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
    async with sim_process(1) as a:
        first = await first_frames(a, 1000)
    async with sim_process(1) as b:
        second = await first_frames(b, 1000)
    assert first[0] == second[0]  # CLOB markets
    assert first[1] == second[1]  # Gamma markets
    assert len(first[2]) == 1000
    assert first[2] == second[2]
    kinds = {json.loads(f)["event_type"] for f in first[2][1:]}
    assert {"price_change", "last_trade_price", "book"} <= kinds


async def test_another_seed_gives_another_universe():
    async with sim_process(1) as a, sim_process(2) as b, httpx.AsyncClient() as http:
        ids_a = {m["condition_id"] for m in (await http.get(a["clob"] + "/markets")).json()["data"]}
        ids_b = {m["condition_id"] for m in (await http.get(b["clob"] + "/markets")).json()["data"]}
    assert len(ids_a) == len(ids_b) == 20
    assert not ids_a & ids_b
