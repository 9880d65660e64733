"""Position aging rules: when a position was opened, and why it is flagged."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.core.aging import AgingReason, aging_reasons, opened_at
from polytui.core.orders import FillStatus
from polytui.core.projections import FillView

HOUR = 3_600_000


def fill(n: int, side: str, size: str, at: int, status=FillStatus.CONFIRMED) -> FillView:
    return FillView(
        trade_id=f"t{n}", order_id=f"o{n}", market="m", asset_id="a", side=side, price=D("0.5"),
        size=D(size), fee=D(0), status=status, role="TAKER", match_time_ms=at, tx_hash="",
        recorded_seq=n, updated_seq=n,
    )  # fmt: skip


def test_a_position_opens_at_its_first_fill_since_it_was_last_flat():
    assert opened_at([]) is None
    assert opened_at([fill(1, "BUY", "10", 100), fill(2, "BUY", "5", 200)]) == 100
    closed_then_again = [fill(1, "BUY", "10", 100), fill(2, "SELL", "10", 200),
                         fill(3, "BUY", "4", 300)]  # fmt: skip
    assert opened_at(closed_then_again) == 300
    assert opened_at([fill(1, "BUY", "10", 100), fill(2, "SELL", "10", 200)]) is None
    failed_first = [fill(1, "BUY", "10", 100, FillStatus.FAILED), fill(2, "BUY", "3", 250)]
    assert opened_at(failed_first) == 250


def test_a_position_is_flagged_when_too_old_or_near_resolution():
    now = 100 * HOUR
    kw = {"max_age_ms": 24 * HOUR, "resolution_buffer_ms": HOUR // 6}
    assert aging_reasons(now - 23 * HOUR, now, None, **kw) == ()
    assert aging_reasons(now - 25 * HOUR, now, None, **kw) == (AgingReason.TOO_OLD,)
    assert aging_reasons(now - HOUR, now, now + 5 * 60_000, **kw) == (AgingReason.RESOLUTION,)
    both = aging_reasons(now - 30 * HOUR, now, now + 60_000, **kw)
    assert both == (AgingReason.TOO_OLD, AgingReason.RESOLUTION)
    assert aging_reasons(None, now, now, **kw) == ()  # flat: nothing to flag
    assert aging_reasons(0, now, None, max_age_ms=None, resolution_buffer_ms=0) == ()
