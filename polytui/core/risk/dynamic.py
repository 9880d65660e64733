"""Dynamic limits: new exposure scaled down by recent volatility and by thin depth."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from polytui.core.risk.inputs import RiskLimits, RiskState
from polytui.core.sizer import depth_within, slippage_bound
from polytui.core.strategy import OrderIntent

ZERO = Decimal(0)
ONE = Decimal(1)


def volatility(mids: Sequence[tuple[int, Decimal]], now_ms: int, window_ms: int) -> Decimal | None:
    """Population stdev of consecutive mid changes within the window; ``None`` with fewer
    than two changes."""
    points = [mid for ms, mid in mids if ms >= now_ms - window_ms]
    changes = [b - a for a, b in zip(points, points[1:], strict=False)]
    if len(changes) < 2:
        return None
    # statistics.pstdev is exact on Decimals through Fractions, and a hundred times slower
    # than this: Decimal arithmetic to 28 digits is exact enough for a scaling factor
    mean = sum(changes, ZERO) / len(changes)
    return (sum(((c - mean) ** 2 for c in changes), ZERO) / len(changes)).sqrt()


def dynamic_scale(intent: OrderIntent, limits: RiskLimits, state: RiskState) -> tuple[Decimal, str]:
    """The factor (at most 1) for new exposure from volatility and thin depth, and why."""
    if not limits.dynamic_limits or not intent.opening:
        return ONE, ""
    scale, why = ONE, []
    vol = volatility(state.mids.get(intent.asset, ()), state.now_ms, limits.volatility_window_ms)
    if vol is not None and vol > limits.volatility_ref:
        factor = limits.volatility_ref / vol
        scale *= factor
        why.append(f"volatility {vol:.4f} > {limits.volatility_ref}: x{factor:.2f}")
    read = state.books.get(intent.asset)
    if limits.thin_depth_usdc > ZERO and read is not None and read.book is not None:
        bound = slippage_bound(intent.side, intent.reference_price, limits.max_slippage)
        _, depth = depth_within(read.book, intent.side, bound)
        if depth < limits.thin_depth_usdc:
            factor = depth / limits.thin_depth_usdc
            scale *= factor
            why.append(f"depth {depth:.2f} < {limits.thin_depth_usdc} USDC: x{factor:.2f}")
    return scale, "; ".join(f"scaled {w}" for w in why)
