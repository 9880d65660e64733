"""Position aging in the running engine: a strategy (``aging``) hosted by the runner like any
other, so its reductions meet the same gates. Every tick it flags the positions held past
``risk.max_position_age_s`` or inside their market's resolution window (a ``PositionAging``
event, once per position and reason until it clears) and, with ``risk.aging_action = "reduce"``,
sells what can be sold now (FAK at the best bid less ``risk.aging_offset``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from polytui.core.aging import AgingReason, aging_reasons, opened_at
from polytui.core.book import UNIT
from polytui.core.projections import ReadModel
from polytui.core.strategy import OrderIntent, OrderSide, OrderType, SizeUnit, intent_id
from polytui.engine.context import EngineView

ZERO = Decimal(0)
MIN_PRICE = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PositionAging:
    asset_id: str
    market: str
    reason: str
    opened_ms: int
    shares: Decimal
    at_ms: int


class PositionAger:
    name = "aging"

    def __init__(
        self,
        view: EngineView,
        model: Callable[[], ReadModel | None],
        *,
        max_age_ms: int | None,
        resolution_buffer_ms: int,
        reduce: bool,
        offset: Decimal,
        publish: Callable[[object], None],
        every_ms: int = 30_000,
    ) -> None:
        self.view = view
        self.every_ms = every_ms
        self._next_ms = 0
        self._model = model
        self.max_age_ms = max_age_ms
        self.resolution_buffer_ms = resolution_buffer_ms
        self.reduce = reduce
        self.offset = offset
        self._publish = publish
        self.flagged: dict[str, set[AgingReason]] = {}

    def on_input(self, ctx, item) -> list[OrderIntent]:
        return []

    def on_book(self, ctx, asset: str) -> list[OrderIntent]:
        return []

    def on_timer(self, ctx) -> list[OrderIntent]:
        model = self._model()
        now = ctx.now_ms()
        if model is None or now < self._next_ms:
            return []
        self._next_ms = now + self.every_ms
        by_asset: dict[str, list] = defaultdict(list)
        for fill in sorted(model.fills.values(), key=lambda f: f.recorded_seq):
            by_asset[fill.asset_id].append(fill)
        intents: list[OrderIntent] = []
        still: set[str] = set()
        for asset, position in model.positions.items():
            if position.size <= ZERO:
                continue
            opened = opened_at(by_asset.get(asset, ()))
            info = self.view.scanner.markets.get(position.market) if self.view.scanner else None
            reasons = aging_reasons(
                opened,
                now,
                info.end_ms if info is not None else None,
                max_age_ms=self.max_age_ms,
                resolution_buffer_ms=self.resolution_buffer_ms,
            )
            if not reasons or opened is None:
                continue
            still.add(asset)
            known = self.flagged.setdefault(asset, set())
            for reason in reasons:
                if reason not in known:
                    known.add(reason)
                    self._publish(
                        PositionAging(
                            asset, position.market, reason.value, opened, position.size, now
                        )  # fmt: skip
                    )
            if self.reduce:
                intent = self._sell(ctx, asset, position.market, position.sellable, reasons, now)
                if intent is not None:
                    intents.append(intent)
        for asset in set(self.flagged) - still:
            del self.flagged[asset]
        return intents

    def _sell(self, ctx, asset, market, shares, reasons, now) -> OrderIntent | None:
        read = ctx.book(asset)
        if shares <= ZERO or not read.live or read.book.best_bid_units is None:
            return None
        bid = Decimal(read.book.best_bid_units) / UNIT
        limit = max(MIN_PRICE, bid - self.offset)
        why = ", ".join(r.value for r in reasons)
        return OrderIntent(
            intent_id=intent_id(self.name, asset, why, str(now // 60_000)),  # once a minute
            strategy=self.name,
            condition_id=market,
            asset=asset,
            side=OrderSide.SELL,
            size=shares,
            unit=SizeUnit.SHARES,
            limit_price=limit,
            order_type=OrderType.FAK,
            reference_price=bid,
            reason=f"reduce an aging position ({why})",
            created_ms=now,
            signal_ms=now,
        )
