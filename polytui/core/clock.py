"""Injected time. Engine code asks a clock, never the OS, so tests and replays are deterministic.

A clock tells the time (``now_ms``, ``monotonic``) and keeps the engine's timers: ``sleep`` and
``wait`` (an event, or a time-out) run on *its* time, so a clock that runs ten times faster than
the wall clock, or one that only moves when told to, makes every interval, timeout and schedule
of the engine follow it. No engine code calls ``asyncio.sleep`` or ``time.time`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for timeouts and intervals)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` of this clock's time have passed."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        """Wait for ``event``, at most ``seconds`` of this clock's time (``None``: no limit).
        True if the event is set."""
        ...


async def _wait_real(event: asyncio.Event, seconds: float | None) -> bool:
    if event.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()


def arrival_ms(clock: Clock) -> int:
    """The time of an input arriving now (a frame, an answer): what the venue layer stamps.

    For most clocks it is ``now_ms()``. A session record's clock keeps the engine's time at
    its last input, so that its time reads do not depend on how long the engine's own code
    took (a replay, which spends none, reads the same): for it, an arrival moves the time on.
    """
    arrive = getattr(clock, "arrive", None)
    return arrive() if arrive is not None else clock.now_ms()


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        return await _wait_real(event, seconds)


class FakeClock:
    """A clock that only moves when told to: ``advance`` wakes the sleepers that are due, in
    deadline order, so a test runs minutes of engine time in no time and always the same way."""

    def __init__(self, start_ms: int = 1_795_000_000_000) -> None:
        self._now_ms = start_ms
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return self._mono

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock cannot go back")
        self._now_ms += ms
        self._mono += ms / 1000
        while self._sleepers and self._sleepers[0][0] <= self._mono:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    @property
    def sleepers(self) -> int:
        """Timers waiting on this clock (a test can wait for the engine to be idle on them)."""
        return sum(1 for *_, f in self._sleepers if not f.done())

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            future.set_result(None)
        else:
            heapq.heappush(self._sleepers, (self._mono + seconds, next(self._order), future))
        return future

    async def sleep(self, seconds: float) -> None:
        timer = self._timer(seconds)
        try:
            await timer
        finally:
            timer.cancel()
        await asyncio.sleep(0)  # a zero sleep still yields, as the real one does

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        if event.is_set():
            return True
        waiter = asyncio.ensure_future(event.wait())
        waiters: set[asyncio.Future] = {waiter}
        timer = self._timer(seconds) if seconds is not None else None
        if timer is not None:
            waiters.add(timer)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if timer is not None:
                timer.cancel()
        return event.is_set()


class ScaledClock:
    """Epoch time that starts at ``start_ms`` and runs ``scale`` times faster than the wall clock.

    ``scale`` 0 stops it: it then moves only through :meth:`advance`. Used by the simulator so
    tests can cover minutes of market life in seconds, and by engines that run on a simulator's
    time. Its timers are real timers divided by the scale; while the clock is stopped they are
    checked every ``poll_s`` of real time.
    """

    def __init__(
        self, start_ms: int | None = None, scale: float = 1.0, *, poll_s: float = 0.01
    ) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        self._base_ms = float(start_ms if start_ms is not None else time.time_ns() // 1_000_000)
        self._anchor = time.monotonic()
        self._scale = scale
        self._poll_s = poll_s

    @property
    def scale(self) -> float:
        return self._scale

    def now_ms(self) -> int:
        return int(self._base_ms + (time.monotonic() - self._anchor) * 1000 * self._scale)

    def monotonic(self) -> float:
        return self.now_ms() / 1000

    def set_scale(self, scale: float) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        self._base_ms = float(self.now_ms())
        self._anchor = time.monotonic()
        self._scale = scale

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock cannot go back")
        self._base_ms += ms

    def _real(self, seconds: float) -> float:
        """Real seconds until ``seconds`` of this clock pass at the current scale (a poll step
        while stopped, or when the scale may change before then)."""
        if self._scale <= 0:
            return self._poll_s
        return min(max(0.0, seconds) / self._scale, max(self._poll_s, 0.25))

    async def sleep(self, seconds: float) -> None:
        deadline = self.monotonic() + seconds
        while (left := deadline - self.monotonic()) > 0:  # noqa: ASYNC110 - the scale may change
            await asyncio.sleep(self._real(left))
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        if seconds is None:
            return await _wait_real(event, None)
        deadline = self.monotonic() + seconds
        while not event.is_set() and (left := deadline - self.monotonic()) > 0:
            await _wait_real(event, self._real(left))
        return event.is_set()
