"""A test wallet on the simulator, trading through polytui's own venue clients and signer."""

from __future__ import annotations

import itertools
from decimal import Decimal

from eth_account import Account

from polytui.core.clock import SystemClock
from polytui.protocol.amounts import Side, limit_order_amounts
from polytui.protocol.signing import (
    Exchange,
    OrderSigner,
    SignedOrder,
    SigningKey,
    intent_metadata,
)
from polytui.sim.markets import Market
from polytui.venue.http import HttpClient
from polytui.venue.trading import ClobTrader, obtain_creds
from tests.sim.conftest import Running

CHAIN_ID = 137
_salts = itertools.count(1)


class Wallet:
    def __init__(
        self,
        running: Running,
        http: HttpClient,
        key: SigningKey,
        signer: OrderSigner,
        trader: ClobTrader,
    ) -> None:
        self.running = running
        self.key = key
        self.http = http
        self.signer = signer
        self.trader = trader

    @classmethod
    async def open(cls, running: Running, http: HttpClient, **trader_options) -> Wallet:
        key = Account.create().key.hex()
        signer = OrderSigner(key, CHAIN_ID)
        signing_key = SigningKey(key)
        creds = await obtain_creds(http, signing_key, CHAIN_ID)
        trader = ClobTrader(http, signer.address, creds, **trader_options)
        return cls(running, http, signing_key, signer, trader)

    def market(self, neg_risk: bool | None = None) -> Market:
        """A tradable market with both sides quoted."""
        for m in self.running.sim.exchange.markets.values():
            bid, ask = self.running.sim.exchange.best(m, m.yes_token)
            if m.tradable and bid and ask and neg_risk in (None, m.neg_risk):
                return m
        raise AssertionError("no quoted market")

    def best(self, m: Market) -> tuple[Decimal, Decimal]:
        bid, ask = self.running.sim.exchange.best(m, m.yes_token)
        return Decimal(bid) / 10_000, Decimal(ask) / 10_000

    def sign(
        self, m: Market, price: Decimal | str, size: Decimal | str, side: Side = Side.BUY, **kw
    ) -> SignedOrder:
        tick = Decimal(m.tick) / 10_000
        return self.signer.sign(
            token_id=m.yes_token,
            side=side,
            amounts=limit_order_amounts(Decimal(price), Decimal(size), side, tick),
            salt=next(_salts),
            timestamp_ms=SystemClock().now_ms(),
            exchange=Exchange.NEG_RISK if m.neg_risk else Exchange.CTF,
            metadata=intent_metadata(f"test-{next(_salts)}"),
            **kw,
        )

    def resting(self, m: Market, size: str = "5") -> SignedOrder:
        """A BUY two ticks under the best bid: it rests."""
        bid, _ = self.best(m)
        return self.sign(m, bid - 2 * Decimal(m.tick) / 10_000, size)
