"""A TEST STRATEGY, for sim mode only: it makes the engine trade so the order side can be
seen working (tests, demos) before the real strategy runner (issue 8) exists, which will
replace it. It has no edge and no risk engine; never point it at real money.

Every ``interval_s`` (``[test_strategy]``, off by default) it picks one LIVE book of a
tradable watched market (seeded random choice) and does one of:

* **rest**: a GTC BUY of ``size`` shares one to three ticks under the best bid;
* **take**: a FAK BUY at the best ask (at least $1, as the venue wants of a marketable BUY);
* **sell**: a FAK SELL at the best bid of shares it holds and may sell (confirmed);

and cancels its oldest resting orders beyond ``max_open``. Each intent's id comes from the
tick it was made in (``test_strategy:<tick number>:<action>``), so a restart within the same
tick cannot make it twice. Nothing is sent while the kill switch is engaged.
"""

from __future__ import annotations

import logging
import random
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from polytui.config import TestStrategySettings
from polytui.core.clock import Clock
from polytui.core.orders import OPEN_ORDER_STATES
from polytui.engine.market_view import MirrorMarkets
from polytui.engine.order_tracker import ApprovedOrder, OrderRefused, OrderTracker
from polytui.protocol.signing import OrderType
from polytui.store.store import Store
from polytui.venue.errors import VenueError

log = logging.getLogger("polytui.engine.test_strategy")

NAME = "test_strategy"
MIN_MARKETABLE_USD = Decimal(1)
SHARE_STEP = Decimal(10)  # multiples of 10 shares keep a marketable pUSD amount at 2 decimals


class TestStrategy:
    __test__ = False  # not a pytest class

    def __init__(
        self,
        settings: TestStrategySettings,
        tracker: OrderTracker,
        store: Store,
        markets: MirrorMarkets,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self._tracker = tracker
        self._store = store
        self._markets = markets
        self._clock = clock
        self._rng = rng
        self.counts: dict[str, int] = {"rest": 0, "take": 0, "sell": 0, "cancel": 0, "skip": 0}
        self.errors = 0

    async def tick(self) -> None:
        """One decision; the scheduler calls it every ``interval_s``."""
        if self._tracker.halted:
            return
        await self._trim()
        choices = self._markets.tradable_assets()
        if not choices:
            self.counts["skip"] += 1
            return
        market, asset = self._rng.choice(choices)
        n = self._clock.now_ms() // int(self.settings.interval_s * 1000)
        roll = self._rng.random()
        intent = None
        if roll < self.settings.take_share:
            intent = self._sell(n, market, asset) or self._take(n, market, asset)
        else:
            intent = self._rest(n, market, asset)
        if intent is None:
            self.counts["skip"] += 1
            return
        try:
            await self._tracker.submit(intent)
        except OrderRefused:
            return
        except (VenueError, ValueError) as exc:
            self.errors += 1
            log.warning("test strategy: %s", exc)

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "errors": self.errors}

    # ---- decisions ----------------------------------------------------------------------

    def _rest(self, n: int, market: str, asset: str) -> ApprovedOrder | None:
        bid = self._markets.touch(asset, "SELL")
        tick = self._markets.tick(asset)
        if bid is None or tick is None:
            return None
        price = bid - tick * self._rng.randint(1, 3)
        if price < tick:
            return None
        self.counts["rest"] += 1
        return self._intent(n, "rest", market, asset, "BUY", price, self._size(), OrderType.GTC)

    def _take(self, n: int, market: str, asset: str) -> ApprovedOrder | None:
        ask = self._markets.touch(asset, "BUY")
        if ask is None or self._held(asset) >= self.settings.max_position:
            return None
        size = self._size()
        while size * ask < MIN_MARKETABLE_USD:
            size += SHARE_STEP
        self.counts["take"] += 1
        return self._intent(n, "take", market, asset, "BUY", ask, size, OrderType.FAK)

    def _sell(self, n: int, market: str, asset: str) -> ApprovedOrder | None:
        position = self._store.model.positions.get(asset)
        bid = self._markets.touch(asset, "SELL")
        if position is None or bid is None or self._rng.random() < 0.5:
            return None
        shares = position.sellable.to_integral_value(rounding=ROUND_FLOOR)
        if shares < 5:
            return None
        self.counts["sell"] += 1
        return self._intent(n, "sell", market, asset, "SELL", bid, shares, OrderType.FAK)

    def _intent(
        self,
        n: int,
        action: str,
        market: str,
        asset: str,
        side: str,
        price: Decimal,
        size: Decimal,
        order_type: OrderType,
    ) -> ApprovedOrder:
        return ApprovedOrder(
            intent_id=f"{NAME}:{n}:{action}",
            strategy=NAME,
            market=market,
            asset_id=asset,
            side=side,
            price=price,
            size=size,
            order_type=order_type,
            reason=f"test strategy {action}",
        )

    def _size(self) -> Decimal:
        step = max(1, int(self.settings.size // SHARE_STEP))
        return SHARE_STEP * step

    def _held(self, asset: str) -> Decimal:
        position = self._store.model.positions.get(asset)
        return position.size if position is not None else Decimal(0)

    async def _trim(self) -> None:
        """Cancel the oldest resting orders beyond ``max_open``."""
        resting = sorted(
            (
                o
                for o in self._store.model.orders.values()
                if o.strategy == NAME and o.state in OPEN_ORDER_STATES and o.order_id
            ),
            key=lambda o: o.created_seq,
        )
        extra = resting[: max(0, len(resting) - self.settings.max_open)]
        if not extra:
            return
        try:
            canceled = await self._tracker.cancel([o.order_id for o in extra])
        except VenueError as exc:
            self.errors += 1
            log.warning("test strategy: cancel failed: %s", exc)
            return
        self.counts["cancel"] += len(canceled)
