"""Order-tracker tests: a real Store (SQLite in tmp_path) and the simulator on loopback."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from polytui.core.clock import SystemClock
from polytui.engine.order_tracker import ApprovedOrder, OrderTracker, TrackerTimeouts
from polytui.protocol.signing import OrderType
from polytui.sim.markets import Market
from polytui.store.store import Store
from tests.venue.conftest import http_for, start_sim, venue, waits
from tests.venue.wallet import Wallet

__all__ = ["http_for", "start_sim", "venue", "waits"]


async def _no_sleep(seconds: float) -> None:
    """Retry backoffs are recorded by the HTTP client's injected sleep; nothing waits."""


@pytest.fixture
async def wallet(venue, http_for) -> Wallet:
    return await Wallet.open(venue, http_for(venue), lookup_delay_s=0, sleep=_no_sleep)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


class Session:
    """A tracker over a store, reopened like a restarted engine by ``restart()``."""

    def __init__(self, db: Path, wallet: Wallet, **options) -> None:
        self.db, self.wallet, self.options = db, wallet, options
        self.store: Store | None = None
        self.tracker: OrderTracker | None = None
        self.alerts: list = []

    async def open(self) -> OrderTracker:
        self.store = await Store.open(self.db, self.options.get("clock", SystemClock()))
        self.tracker = OrderTracker(
            self.store,
            self.wallet.trader,
            self.wallet.signer,
            self.options.get("clock", SystemClock()),
            timeouts=self.options.get("timeouts", TrackerTimeouts()),
            policies=self.options.get("policies"),
            alert=self.alerts.append,
            rng=random.Random(3),
            markets=self.options.get("markets"),
            before_post=self.options.get("before_post"),
        )
        return self.tracker

    async def restart(self) -> OrderTracker:
        await self.close()
        return await self.open()

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None


@pytest.fixture
async def session(db: Path, wallet: Wallet):  # type: ignore[no-untyped-def]
    s = Session(db, wallet)
    await s.open()
    yield s
    await s.close()


def intent_for(
    wallet: Wallet,
    m: Market,
    intent_id: str,
    price: Decimal,
    size: str = "5",
    side: str = "BUY",
    order_type: OrderType = OrderType.GTC,
    strategy: str = "test",
) -> ApprovedOrder:
    return ApprovedOrder(
        intent_id=intent_id,
        strategy=strategy,
        market=m.condition_id,
        asset_id=m.yes_token,
        side=side,
        price=price,
        size=Decimal(size),
        tick=Decimal(m.tick) / 10_000,
        order_type=order_type,
        neg_risk=m.neg_risk,
    )


class SimMarkets:
    """The tracker's ``Markets`` over the simulator's truth books (the engine reads its mirror;
    these tests have none)."""

    def __init__(self, wallet: Wallet, live: bool = True) -> None:
        self.wallet = wallet
        self.live = live

    def _market(self, asset_id: str) -> Market:
        return self.wallet.running.sim.exchange.market_of(asset_id)

    def touch(self, asset_id: str, side: str) -> Decimal | None:
        if not self.live:
            return None
        m = self._market(asset_id)
        bid, ask = self.wallet.running.sim.exchange.best(m, asset_id)
        units = ask if side == "BUY" else bid
        return None if units is None else Decimal(units) / 10_000

    def tick(self, asset_id: str) -> Decimal | None:
        return Decimal(self._market(asset_id).tick) / 10_000

    def neg_risk(self, market: str) -> bool | None:
        return self.wallet.running.sim.exchange.markets[market].neg_risk


def resting_price(wallet: Wallet, m: Market) -> Decimal:
    bid, _ = wallet.best(m)
    return bid - 2 * Decimal(m.tick) / 10_000
