"""The order side's engine tests: the order tracker's fixtures (a real Store in tmp_path, a
wallet on an in-process simulator whose clock the test holds and advances)."""

from __future__ import annotations

from tests.engine.order_tracker.conftest import (
    db,
    http_for,
    session,
    start_sim,
    venue,
    waits,
    wallet,
)

__all__ = ["db", "http_for", "session", "start_sim", "venue", "waits", "wallet"]
