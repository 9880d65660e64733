"""The venue heartbeat (protocol §4.10): polytui's dead-man switch.

Once a wallet has sent a heartbeat, the venue cancels all its open orders if no valid beat
follows within 10 s (plus a buffer). So while orders are open, and for ``idle_grace_s``
after the last one closed, ``tick()`` (called every ``interval_s``, 5 s, by the scheduler)
beats: if polytui dies, hangs or loses the network, its resting orders are gone 10-15 s
later.

Each beat names the id the previous answer gave. A stale id (another process of this wallet
beat since: a restart, or the previous process just before it died) is answered 400 with the
id the venue expects, and the beat is sent again at once with that id. Before an order is
posted, ``ensure_fresh()`` beats if the last good beat is older than ``interval_s``: a session
left armed by an earlier process (or by this one before it went idle) could otherwise expire
just after the order lands and take it down.

A failed beat is counted, raises an alert after ``alert_after`` failures in a row, and is
retried at the next tick; it never stops the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polytui.core.clock import Clock
from polytui.engine.alerts import Alert, AlertSink, ignore
from polytui.protocol.wire.errors import WireError
from polytui.venue.errors import VenueError
from polytui.venue.trading import ClobTrader, StaleHeartbeat

DEFAULT_INTERVAL_S = 5.0


class VenueHeartbeat:
    def __init__(
        self,
        trader: ClobTrader,
        clock: Clock,
        has_open_orders: Callable[[], bool],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        idle_grace_s: float = 15.0,
        alert_after: int = 2,
        alert: AlertSink = ignore,
    ) -> None:
        self._trader = trader
        self._clock = clock
        self._has_open_orders = has_open_orders
        self.interval_s = interval_s
        self.idle_grace_s = idle_grace_s
        self._alert_after = alert_after
        self._alert = alert
        self.heartbeat_id: str | None = None
        self.last_ok: float | None = None  # monotonic
        self._last_busy: float | None = None  # monotonic: orders were open
        self.beats = 0
        self.stale = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.last_error = ""

    @property
    def active(self) -> bool:
        """Whether beating is due now: orders open, or closed within the grace time."""
        now = self._clock.monotonic()
        if self._has_open_orders():
            self._last_busy = now
            return True
        return self._last_busy is not None and now - self._last_busy < self.idle_grace_s

    async def tick(self) -> None:
        """The scheduler's call: beat if orders are open (or were, lately)."""
        if self.active:
            await self.beat()

    async def ensure_fresh(self) -> None:
        """Beat now unless a good beat is younger than ``interval_s`` (before a post)."""
        self._last_busy = self._clock.monotonic()
        if self.last_ok is None or self._clock.monotonic() - self.last_ok >= self.interval_s:
            await self.beat()

    async def beat(self) -> bool:
        """One beat (and one more after a stale id); True if the venue took it."""
        try:
            try:
                self.heartbeat_id = await self._trader.heartbeat(self.heartbeat_id)
            except StaleHeartbeat as stale:
                self.stale += 1
                self.heartbeat_id = await self._trader.heartbeat(stale.expected_id)
        except (VenueError, WireError) as exc:
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error = str(exc)
            if self.consecutive_failures == self._alert_after:  # once per bad streak
                self._alert(
                    Alert(
                        "heartbeat_failing",
                        "venue",
                        f"{self.consecutive_failures} venue heartbeats failed in a row "
                        f"({self.last_error}); the venue will cancel our orders",
                    )
                )
            return False
        self.beats += 1
        self.consecutive_failures = 0
        self.last_ok = self._clock.monotonic()
        return True

    def stats(self) -> dict[str, Any]:
        age = None if self.last_ok is None else self._clock.monotonic() - self.last_ok
        return {
            "active": self.active,
            "beats": self.beats,
            "stale_ids": self.stale,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "last_ok_age_s": None if age is None else round(age, 3),
            "last_error": self.last_error,
        }
