"""The daily loss period and its halt: a loss reaching the cap halts new exposure until the
period ends, at the configured hour (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polytui.core.risk.inputs import RiskLimits

DAY_MS = 86_400_000


def period_bounds(now_ms: int, reset_hour_utc: int) -> tuple[int, int]:
    """The daily-loss period holding ``now_ms``: from the last ``reset_hour_utc`` o'clock UTC
    to the next."""
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    start = now.replace(hour=reset_hour_utc, minute=0, second=0, microsecond=0)
    if start > now:
        start -= timedelta(days=1)
    start_ms = int(start.timestamp() * 1000)
    return start_ms, start_ms + DAY_MS


def loss_halt(limits: RiskLimits, now_ms: int, daily_pnl: Decimal) -> int | None:
    """When the daily loss cap is reached: the end of the period (the halt lasts until then);
    else ``None``. The engine may call it on every PnL update, not only on intents."""
    cap = limits.daily_loss_cap_usdc
    if cap is None or -daily_pnl < cap:
        return None
    return period_bounds(now_ms, limits.daily_reset_hour_utc)[1]
