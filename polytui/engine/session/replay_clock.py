"""The replay's clock: the recorded session's time line, moved only by the replay.

It reads as the :class:`~polytui.engine.session.recording.RecordingClock` did (``monotonic``
seconds since the start, ``now_ms`` the start's epoch ms plus that) and keeps the engine's
timers, but its time never runs by itself: the replay sets it to each recorded line's instant
(:meth:`reach_ms`, :meth:`reach`). A timer fires where the record says it fired
(:meth:`fire`, by its key: ``timer_keys``), not at its own deadline: the session's timers
fired late by the time its code took to run, which the replay does not spend. A timer the
record never saw fire (the replay went another way) fires ``STRAY_S`` after its deadline;
past the record's last line, :meth:`advance_to_next` jumps from timer to timer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

from polytui.engine.session.timer_keys import TimerKeys

STRAY_S = 2.0  # a timer no recorded wake claimed fires this long after its own deadline
EARLY_KEPT = 10_000  # recorded wakes of timers not set yet, remembered (the others are old)


class ReplayClock:
    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self._mono = 0.0
        self._ms = start_ms
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._by_key: dict[str, asyncio.Future[None]] = {}
        self._early: dict[str, None] = {}  # recorded wakes whose timer the replay has not set
        self._order = itertools.count()
        self._keys = TimerKeys()
        self.fired = 0
        self.strays = 0

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._mono

    # ---- moved by the replay --------------------------------------------------------------------

    def reach_ms(self, ms: int) -> None:
        """A recorded line's instant (epoch ms); never back."""
        if ms > self._ms:
            self._ms = ms
            self._mono = max(self._mono, (ms - self.start_ms) / 1000)

    def reach(self, mono: float) -> None:
        """A recorded timer's instant (seconds of the session, to the microsecond)."""
        if mono > self._mono:
            self._mono = mono
            self._ms = max(self._ms, self.start_ms + int(mono * 1000))

    def fire(self, key: str) -> bool:
        """The record says the timer ``key`` fired now."""
        future = self._by_key.pop(key, None)
        if future is None:
            self._early[key] = None
            if len(self._early) > EARLY_KEPT:
                del self._early[next(iter(self._early))]
            return False
        if not future.done():
            future.set_result(None)
            self.fired += 1
        return True

    def fire_strays(self) -> None:
        """Timers past their deadline by ``STRAY_S`` that no recorded wake claimed."""
        limit = self._mono - STRAY_S
        while self._sleepers and self._sleepers[0][0] <= limit:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
                self.strays += 1

    def next_due(self) -> float | None:
        """The earliest timer still waiting (seconds of the session)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def advance_to_next(self, limit_mono: float | None = None) -> bool:
        """Past the record: jump to the next timer (not beyond ``limit_mono``) and fire it.
        False when none is due by then."""
        due = self.next_due()
        if due is None or (limit_mono is not None and due > limit_mono):
            return False
        self.reach(due)
        while self._sleepers and self._sleepers[0][0] <= self._mono:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
        return True

    @property
    def sleepers(self) -> int:
        return sum(1 for *_, f in self._sleepers if not f.done())

    # ---- the engine's timers ------------------------------------------------------------------

    def _timer(self, seconds: float) -> tuple[str, str, asyncio.Future[None]]:
        future = asyncio.get_running_loop().create_future()
        label, key = self._keys.take()
        if key in self._early:  # the record saw it fire before the replay set it
            del self._early[key]
            future.set_result(None)
            return label, key, future
        self._by_key[key] = future
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._order), future))
        return label, key, future

    def _over(self, label: str, key: str, timer: asyncio.Future[None]) -> None:
        """The timer is over (its task goes on): it ran out, or its event came first."""
        fired = timer.done() and not timer.cancelled()
        if self._by_key.get(key) is timer:
            del self._by_key[key]
        timer.cancel()
        self._keys.done(label, key, fired)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        label, key, timer = self._timer(seconds)
        try:
            await timer
        finally:
            self._over(label, key, timer)

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        if event.is_set():
            return True
        if seconds is None:
            await event.wait()
            return True
        label, key, timer = self._timer(max(0.0, seconds))
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            self._over(label, key, timer)
        return event.is_set()
