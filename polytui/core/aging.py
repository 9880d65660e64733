"""Position aging: a position held too long, or into its market's resolution window, is
flagged, and may be reduced (issue 8). Pure rules over the fills and the clock."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from polytui.core.orders import FillStatus
from polytui.core.projections import FillView

ZERO = Decimal(0)


class AgingReason(StrEnum):
    TOO_OLD = "too_old"  # held longer than the configured age
    RESOLUTION = "resolution"  # the market ends within the resolution buffer


def opened_at(fills: Iterable[FillView]) -> int | None:
    """When the position now held in an asset was opened: the time of the first fill since it
    was last flat (fills in ledger order; failed fills do not count). ``None``: flat."""
    size, opened = ZERO, None
    for fill in fills:
        if fill.status is FillStatus.FAILED or fill.match_time_ms is None:
            continue
        before = size
        size += fill.size if fill.side == "BUY" else -fill.size
        if before <= ZERO < size:
            opened = fill.match_time_ms
        elif size <= ZERO:
            opened = None
    return opened if size > ZERO else None


def aging_reasons(
    opened_ms: int | None,
    now_ms: int,
    end_ms: int | None,
    *,
    max_age_ms: int | None,
    resolution_buffer_ms: int,
) -> tuple[AgingReason, ...]:
    """Why a position should be flagged now (none: it is fine)."""
    if opened_ms is None:
        return ()
    reasons = []
    if max_age_ms is not None and now_ms - opened_ms > max_age_ms:
        reasons.append(AgingReason.TOO_OLD)
    if end_ms is not None and end_ms - now_ms <= resolution_buffer_ms:
        reasons.append(AgingReason.RESOLUTION)
    return tuple(reasons)
