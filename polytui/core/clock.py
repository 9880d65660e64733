"""Injected time. Engine code asks a clock, never the OS, so tests and replays are deterministic."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for timeouts and intervals)."""
        ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start_ms: int = 1_795_000_000_000) -> None:
        self._now_ms = start_ms
        self._mono = 0.0

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return self._mono

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock cannot go back")
        self._now_ms += ms
        self._mono += ms / 1000


class ScaledClock:
    """Epoch time that starts at ``start_ms`` and runs ``scale`` times faster than the wall clock.

    ``scale`` 0 stops it: it then moves only through :meth:`advance`. Used by the simulator so
    tests can cover minutes of market life in seconds.
    """

    def __init__(self, start_ms: int | None = None, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        self._base_ms = float(start_ms if start_ms is not None else time.time_ns() // 1_000_000)
        self._anchor = time.monotonic()
        self._scale = scale

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
