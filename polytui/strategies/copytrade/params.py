"""The copy-trader's parameters as its parts read them, built from the settings sections.

``CopyParams.of(settings.copytrade, settings.risk)`` reads the sections by attribute name
(``polytui.config.CopySettings`` and ``RiskSettings``), so this package never imports the
settings module and tests can build the dataclasses directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from polytui.core.sizer import SizerParams
from polytui.core.strategy import OrderType

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LeaderParams:
    address: str  # lower case
    name: str = ""
    cash_usdc: Decimal | None = None  # None: estimated from its history
    scale: Decimal = ONE
    max_exposure_usdc: Decimal | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.address[:6]}..{self.address[-4:]}"


@dataclass(frozen=True, slots=True)
class ScoreParams:
    min_trades: int = 30
    min_score: float = 0.0
    max_drawdown: float = 0.5
    max_loss_streak: int = 5
    shape_quantile: float = 0.95
    window_ms: int = 3_000  # fills this close together count as one trade


@dataclass(frozen=True, slots=True)
class FeedParams:
    poll_ms: int = 2_000
    lookback_ms: int = 300_000
    window_ms: int = 3_000
    resync_ms: int = 60_000
    score_ms: int = 300_000
    history_ms: int = 30 * 86_400_000
    score: ScoreParams = field(default_factory=ScoreParams)


@dataclass(frozen=True, slots=True)
class CopyParams:
    strategy: str = "copytrade"
    sizer: SizerParams = field(default_factory=SizerParams)
    price_offset: Decimal = Decimal("0.02")
    order_type: OrderType = OrderType.FAK
    gtd_slack_ms: int = 5_000
    shape_action: Literal["shrink", "skip"] = "shrink"
    bankroll_usdc: Decimal | None = None  # None: our equity from the context
    leaders: Mapping[str, LeaderParams] = field(default_factory=dict)
    feed: FeedParams = field(default_factory=FeedParams)

    @classmethod
    def of(cls, copy: Any, risk: Any, strategy: str = "copytrade") -> CopyParams:
        """From ``settings.copytrade`` and ``settings.risk`` (duck-typed)."""
        ms = _ms
        score = ScoreParams(
            min_trades=copy.min_trades,
            min_score=copy.min_score,
            max_drawdown=copy.max_drawdown,
            max_loss_streak=copy.max_loss_streak,
            shape_quantile=copy.shape_quantile,
            window_ms=ms(copy.window_s),
        )
        feed = FeedParams(
            poll_ms=ms(copy.poll_s),
            lookback_ms=ms(copy.lookback_s),
            window_ms=ms(copy.window_s),
            resync_ms=ms(copy.resync_s),
            score_ms=ms(copy.score_s),
            history_ms=ms(copy.history_days * 86_400),
            score=score,
        )
        sizer = SizerParams(
            min_usdc=risk.min_trade_usdc,
            max_usdc=risk.max_trade_usdc,
            depth_fraction=Decimal(str(copy.depth_fraction)),
            max_slippage=risk.max_slippage,
            kelly_fraction=None
            if copy.kelly_fraction is None
            else Decimal(str(copy.kelly_fraction)),
        )
        leaders = {
            leader.address.lower(): LeaderParams(
                leader.address.lower(),
                leader.name,
                leader.cash_usdc,
                leader.scale,
                leader.max_exposure_usdc,
            )
            for leader in copy.leaders
        }
        return cls(
            strategy=strategy,
            sizer=sizer,
            price_offset=copy.price_offset,
            order_type=OrderType(copy.order_type),
            gtd_slack_ms=ms(copy.gtd_slack_s),
            shape_action=copy.shape_action,
            bankroll_usdc=copy.bankroll_usdc,
            leaders=leaders,
            feed=feed,
        )

    def leader_caps(self) -> dict[str, Decimal]:
        """Per-leader exposure caps for ``RiskLimits.of(settings.risk, leader_caps=...)``."""
        return {
            a: p.max_exposure_usdc
            for a, p in self.leaders.items()
            if p.max_exposure_usdc is not None
        }


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
