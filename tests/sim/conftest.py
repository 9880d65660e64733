"""Fixtures for simulator tests: an in-process simulator on loopback and a market-channel client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import websockets

from polytui.sim.faults import Faults
from polytui.sim.server import Simulator

START_MS = 1_795_000_000_000


class Running:
    def __init__(self, sim: Simulator, endpoints: dict[str, str]) -> None:
        self.sim = sim
        self.endpoints = endpoints
        self.http = httpx.AsyncClient(timeout=10)

    async def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        r = await self.http.request(method, self.endpoints["admin"] + path, json=body)
        r.raise_for_status()
        return r.json()

    async def advance(self, ms: int, step: int = 0) -> None:
        step = step or ms
        for _ in range(ms // step):
            await self.admin("POST", "/clock", {"advance_ms": step})

    def tokens(self, tradable_only: bool = True) -> list[str]:
        return [
            t
            for m in self.sim.exchange.markets.values()
            if m.tradable or not tradable_only
            for t in m.tokens
        ]


@pytest.fixture
async def start_sim() -> AsyncIterator[Callable[..., asyncio.Future]]:
    started: list[Running] = []

    async def start(**kwargs) -> Running:
        kwargs.setdefault("start_ms", START_MS)
        kwargs.setdefault("time_scale", 0)
        if isinstance(kwargs.get("faults"), str):
            kwargs["faults"] = Faults.parse(kwargs["faults"])
        sim = Simulator(**kwargs)
        running = Running(sim, await sim.start())
        started.append(running)
        return running

    yield start
    for running in started:
        await running.http.aclose()
        await running.sim.stop()


class MarketClient:
    """A plain market-channel client: subscribe, collect frames, sync with PING/PONG."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.frames: list[object] = []

    @classmethod
    async def connect(cls, url: str, tokens: list[str], **subscribe) -> MarketClient:
        ws = await websockets.connect(url + "/market", max_size=None)
        client = cls(ws)
        msg = {
            "type": "market",
            "assets_ids": tokens,
            "initial_dump": True,
            "custom_feature_enabled": True,
        }
        msg.update(subscribe)
        await ws.send(json.dumps(msg))
        return client

    async def sync(self, wait_s: float = 10) -> list[object]:
        """Everything sent before now: the server queues PONG behind every frame already sent."""
        await self.ws.send("PING")
        got = []
        async with asyncio.timeout(wait_s):
            while True:
                raw = await self.ws.recv()
                if raw == "PONG":
                    break
                got.append(json.loads(raw))
        self.frames.extend(got)
        return got

    async def close(self) -> None:
        await self.ws.close()


def events(frames: list[object]) -> list[dict]:
    """Frames hold one object or an array of them."""
    out: list[dict] = []
    for frame in frames:
        out.extend(frame if isinstance(frame, list) else [frame])
    return out
