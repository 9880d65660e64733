"""Helpers for trading tests: a wallet driving the official py-clob-client-v2 against the
simulator, and a user-channel client."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import websockets
from eth_account import Account
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import ApiCreds, OrderArgsV2, OrderType

from polytui.sim.markets import Market
from tests.sim.conftest import Running

WARMUP_MS = 20_000


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a synchronous client call off the loop that serves the simulator."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class Trader:
    """One wallet with API creds, trading through the official client, unchanged."""

    def __init__(self, running: Running, client: ClobClient, creds: ApiCreds, key: str) -> None:
        self.running = running
        self.client = client
        self.creds = creds
        self.key = key
        self.address = client.get_address()

    @classmethod
    async def open(cls, running: Running) -> Trader:
        key = Account.create().key.hex()
        client = ClobClient(running.endpoints["clob"], chain_id=137, key=key)
        creds = await call(client.create_or_derive_api_key)
        client.set_api_creds(creds)
        return cls(running, client, creds, key)

    def market(self, neg_risk: bool | None = None, tick: int | None = None) -> Market:
        """A tradable market with both sides quoted."""
        for m in self.running.sim.exchange.markets.values():
            bid, ask = self.running.sim.exchange.best(m, m.yes_token)
            if (
                m.tradable
                and bid is not None
                and ask is not None
                and neg_risk in (None, m.neg_risk)
                and tick in (None, m.tick)
            ):
                return m
        raise AssertionError("no quoted market")

    def best(self, m: Market, token: str | None = None) -> tuple[float, float]:
        bid, ask = self.running.sim.exchange.best(m, token or m.yes_token)
        return bid / 10_000, ask / 10_000

    async def order(
        self, token: str, price: float, size: float, side: str = "BUY", **post: Any
    ) -> dict:
        args = OrderArgsV2(token_id=token, price=price, size=size, side=side)
        return await call(self.client.create_and_post_order, args, **post)

    async def signed(self, token: str, price: float, size: float, side: str = "BUY"):
        args = OrderArgsV2(token_id=token, price=price, size=size, side=side)
        return await call(self.client.create_order, args)

    async def post(self, order, order_type: OrderType = OrderType.GTC) -> dict:
        return await call(self.client.post_order, order, order_type)

    def with_secret(self, secret: str) -> ClobClient:
        client = ClobClient(
            self.running.endpoints["clob"],
            chain_id=137,
            key=self.key,
            creds=dataclasses.replace(self.creds, api_secret=secret),
        )
        return client


class UserChannel:
    """A user-channel socket: subscribe with creds, collect events, sync with PING/PONG."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.events: list[dict] = []

    @classmethod
    async def connect(cls, ws_url: str, creds: ApiCreds, markets: list[str] | None = None):
        ws = await websockets.connect(ws_url + "/user", max_size=None)
        auth = {
            "apiKey": creds.api_key,
            "secret": creds.api_secret,
            "passphrase": creds.api_passphrase,
        }
        msg: dict[str, Any] = {"type": "user", "auth": auth}
        if markets:
            msg["markets"] = markets
        await ws.send(json.dumps(msg))
        return cls(ws)

    async def sync(self) -> list[dict]:
        await self.ws.send("PING")
        got = []
        async with asyncio.timeout(10):
            while (raw := await self.ws.recv()) != "PONG":
                got.append(json.loads(raw))
        self.events.extend(got)
        return got

    def of(self, event_type: str, **match: Any) -> list[dict]:
        return [
            e
            for e in self.events
            if e["event_type"] == event_type and all(e.get(k) == v for k, v in match.items())
        ]

    async def close(self) -> None:
        await self.ws.close()
