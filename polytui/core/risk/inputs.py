"""What the risk gates read: the limits (from the settings) and the state the risk engine
assembles for one evaluation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from polytui.core.market_flags import Flag
from polytui.core.strategy import BookRead

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class RiskLimits:
    """The risk settings as the gates read them (``config.RiskSettings`` -> :meth:`of`).
    Times in ms, money in USDC, prices in price units (0.01 is one cent)."""

    resolution_buffer_ms: int = 600_000
    min_trade_usdc: Decimal = ONE
    max_trade_usdc: Decimal = Decimal(100)
    daily_loss_cap_usdc: Decimal | None = Decimal(200)  # None: no cap
    daily_reset_hour_utc: int = 0
    reduce_when_halted: bool = True
    max_position_usdc: Decimal = Decimal(500)  # per market (condition id)
    max_open_positions: int = 20
    max_total_exposure_usdc: Decimal = Decimal(2000)
    max_leader_exposure_usdc: Decimal = Decimal(1000)
    leader_caps: Mapping[str, Decimal] = field(default_factory=dict)  # per leader (lower case)
    categories: frozenset[str] = frozenset()  # allow list of tags, lower case; empty: any
    max_signal_age_ms: int = 30_000
    max_chase: Decimal = Decimal("0.03")
    max_slippage: Decimal = Decimal("0.02")
    slippage_action: Literal["shrink", "skip"] = "shrink"
    rate_window_ms: int = 60_000
    max_orders_per_window: int = 30
    dynamic_limits: bool = False
    volatility_window_ms: int = 300_000
    volatility_ref: Decimal = Decimal("0.01")  # stdev of mid changes at which scaling starts
    thin_depth_usdc: Decimal = ZERO  # depth within the slippage bound under which it scales

    @classmethod
    def of(cls, section: Any, **overrides: Any) -> RiskLimits:
        """From a settings section with these field names (seconds become ms: ``*_s`` keys
        fill the ``*_ms`` fields); ``overrides`` win. Duck-typed, so ``core`` never imports
        the settings module."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if hasattr(section, f.name):
                values[f.name] = getattr(section, f.name)
            elif f.name.endswith("_ms") and hasattr(section, f.name[:-3] + "_s"):
                values[f.name] = round(getattr(section, f.name[:-3] + "_s") * 1000)
        if "categories" in values:
            values["categories"] = frozenset(c.lower() for c in values["categories"])
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class MarketState:
    """One market as the gates need it: the scanner's flags, end date and tags, and the
    book's tick and minimum size."""

    flags: frozenset[Flag] = frozenset()
    end_ms: int | None = None
    tags: frozenset[str] = frozenset()  # lower case
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)


@dataclass(frozen=True, slots=True)
class Holding:
    """A position in one asset: shares held (``locked`` of them in open SELL orders) and the
    USDC it is worth at the mark."""

    condition_id: str
    shares: Decimal
    value: Decimal
    locked: Decimal = ZERO


@dataclass(frozen=True)
class RiskState:
    """Everything the gates read, assembled by the risk engine for one evaluation.

    ``daily_pnl`` is realised + unrealised PnL since the current period began (a loss is
    negative). ``halted_until_ms`` is the strategy's persisted halt (from an earlier
    ``daily_loss`` rejection). ``recent_orders_ms`` are the send times of recent orders that
    count against the rate limit. ``mids`` holds recent ``(ms, mid)`` points per asset for
    dynamic limits."""

    now_ms: int
    kill_switch: bool = False
    books: Mapping[str, BookRead] = field(default_factory=dict)
    markets: Mapping[str, MarketState] = field(default_factory=dict)
    holdings: Mapping[str, Holding] = field(default_factory=dict)  # by asset
    open_buys_usdc: Mapping[str, Decimal] = field(default_factory=dict)  # by condition id
    balance_usdc: Decimal = ZERO
    allowance_usdc: Decimal = ZERO
    reserved_usdc: Decimal = ZERO  # locked by open BUY orders
    daily_pnl: Decimal = ZERO
    halted_until_ms: int | None = None
    leader_exposure: Mapping[str, Decimal] = field(default_factory=dict)
    recent_orders_ms: Sequence[int] = ()
    mids: Mapping[str, Sequence[tuple[int, Decimal]]] = field(default_factory=dict)

    def market_exposure(self, condition_id: str) -> Decimal:
        held = sum(
            (h.value for h in self.holdings.values() if h.condition_id == condition_id), ZERO
        )
        return held + self.open_buys_usdc.get(condition_id, ZERO)

    def total_exposure(self) -> Decimal:
        held = sum((h.value for h in self.holdings.values()), ZERO)
        return held + sum(self.open_buys_usdc.values(), ZERO)

    def open_markets(self) -> set[str]:
        held = {h.condition_id for h in self.holdings.values() if h.shares > ZERO}
        return held | {c for c, usdc in self.open_buys_usdc.items() if usdc > ZERO}
