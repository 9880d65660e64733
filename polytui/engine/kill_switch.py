"""The kill switch (architecture §5): stop trading now, and stay stopped until released.

``engage(reason, source)`` blocks every new order at once (the tracker refuses them from
the first line on), writes ``KillSwitchEngaged`` durably (so it survives restarts), then
cancels everything at the venue: ``DELETE /cancel-all``, a check that ``/data/orders`` is
empty, and the same again, on the engine clock with a growing pause, until the venue
confirms that nothing of ours is open (or the switch is released). ``engage`` returns once
the event is written; ``wait_clear()`` waits for the venue's confirmation.

Engaging an engaged switch records nothing new and runs the cancel again. On start, a
ledger whose switch is engaged makes the engine start blocked and clear the venue the same
way. ``release(source)`` writes ``KillSwitchReleased``; only then does the tracker take
orders again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from polytui.core.clock import Clock
from polytui.engine.alerts import Alert, AlertSink, ignore
from polytui.engine.order_tracker import OrderTracker
from polytui.protocol.wire.errors import WireError
from polytui.venue.errors import VenueError

log = logging.getLogger("polytui.engine.kill_switch")


@dataclass(frozen=True, slots=True)
class KillSwitchChanged:
    """On the engine bus when the switch is engaged or released."""

    engaged: bool
    reason: str
    source: str
    ref: str
    at_ms: int


class KillSwitch:
    def __init__(
        self,
        tracker: OrderTracker,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        retry_base_s: float = 0.25,
        retry_cap_s: float = 2.0,
        alert: AlertSink = ignore,
        publish: Callable[[object], None] = lambda _event: None,
    ) -> None:
        self._tracker = tracker
        self._clock = clock
        self._rng = rng or random.Random()
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        self._alert = alert
        self._publish = publish
        self._clearing: asyncio.Task[None] | None = None
        self._clear = asyncio.Event()
        self.attempts = 0
        self.last_error = ""
        self.left: list[str] = []

    @property
    def engaged(self) -> bool:
        return self._tracker.halted

    @property
    def venue_clear(self) -> bool:
        """The venue confirmed that none of our orders is open since the last engagement."""
        return self._clear.is_set()

    async def engage(self, reason: str, source: str) -> str:
        """Block, record, start clearing the venue; the ref of the engagement."""
        ref = f"{source}:{self._clock.now_ms()}:{self._rng.getrandbits(32):08x}"
        already = self.engaged
        self._clear.clear()
        self._start_clearing()  # from now on; the tracker is halted before the write below
        if not already:
            await self._tracker.engage_kill_switch(ref, reason, source, cancel=False)
            self._publish(KillSwitchChanged(True, reason, source, ref, self._clock.now_ms()))
        return ref

    async def resume_engaged(self) -> None:
        """On start with the ledger's switch engaged: clear the venue, record nothing."""
        self._clear.clear()
        self._start_clearing()

    async def release(self, source: str) -> str | None:
        """Release; the ref written, or ``None`` when it was not engaged."""
        if not self.engaged:
            return None
        ref = f"{source}:{self._clock.now_ms()}:{self._rng.getrandbits(32):08x}"
        if self._clearing is not None:
            self._clearing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clearing
            self._clearing = None
        await self._tracker.release_kill_switch(ref, source)
        self._publish(KillSwitchChanged(False, "", source, ref, self._clock.now_ms()))
        return ref

    async def wait_clear(self, timeout_s: float | None = None) -> bool:
        """Wait until the venue confirmed nothing of ours is open (engine clock)."""
        return await self._clock.wait(self._clear, timeout_s)

    async def close(self) -> None:
        if self._clearing is not None:
            self._clearing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clearing

    def stats(self) -> dict[str, Any]:
        record = self._tracker.kill_switch_record
        return {
            "engaged": self.engaged,
            "reason": record.reason if record.engaged else "",
            "source": record.source if record.engaged else "",
            "venue_clear": self.venue_clear,
            "attempts": self.attempts,
            "left": list(self.left),
            "last_error": self.last_error,
        }

    # ---- clearing the venue -------------------------------------------------------------

    def _start_clearing(self) -> None:
        if self._clearing is None or self._clearing.done():
            self._clearing = asyncio.create_task(self._clear_venue(), name="kill-switch")

    async def _clear_venue(self) -> None:
        wait_s = self._retry_base_s
        tries = 0
        while True:
            tries += 1
            self.attempts += 1
            try:
                self.left = await self._tracker.cancel_all()
            except (VenueError, WireError) as exc:
                self.last_error = str(exc)
                self.left = ["?"]
            except Exception as exc:  # e.g. the ledger failed recording a cancel: go on
                log.exception("kill switch: clearing the venue failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.left = ["?"]
            if not self.left and self._tracker.in_flight == 0:
                self._clear.set()
                return
            if tries == 3:
                self._alert(
                    Alert(
                        "kill_switch_not_clear",
                        "venue",
                        f"orders still open at the venue after {tries} cancel-alls "
                        f"({self.left}; {self.last_error or 'no error'}); still trying",
                    )
                )
            await self._clock.sleep(wait_s)
            wait_s = min(self._retry_cap_s, wait_s * 2)
