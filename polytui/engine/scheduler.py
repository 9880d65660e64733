"""Periodic jobs on the engine's clock (PnL snapshots, position aging, reconciliation, ...),
apart from the per-event path: a job that is slow or fails never delays another, and a
failure is logged and counted, then the job runs again at its next time.

    scheduler = Scheduler(clock)
    scheduler.every("pnl_snapshot", 60.0, snapshot)     # a function or a coroutine function
    await scheduler.run()                               # until cancelled
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("polytui.engine.scheduler")

Job = Callable[[], Awaitable[object] | object]


@dataclass
class JobStats:
    name: str
    interval_s: float
    runs: int = 0
    failures: int = 0
    last_error: str = ""
    last_run_ms: int = 0


class Scheduler:
    def __init__(self, clock) -> None:
        self._clock = clock
        self._jobs: list[tuple[JobStats, Job, float]] = []
        self.stats: dict[str, JobStats] = {}

    def every(self, name: str, interval_s: float, job: Job, *, first_after_s: float = 0.0) -> None:
        if interval_s <= 0:
            raise ValueError(f"job {name}: the interval must be positive")
        stats = JobStats(name, interval_s)
        self._jobs.append((stats, job, first_after_s))
        self.stats[name] = stats

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._loop(stats, job, first), name=f"job {stats.name}")
            for stats, job, first in self._jobs
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, stats: JobStats, job: Job, first_after_s: float) -> None:
        await self._clock.sleep(first_after_s)
        while True:
            started = self._clock.monotonic()
            await run_job(stats, job, self._clock)
            elapsed = self._clock.monotonic() - started
            await self._clock.sleep(max(0.0, stats.interval_s - elapsed))


async def run_job(stats: JobStats, job: Job, clock) -> None:
    stats.last_run_ms = clock.now_ms()
    try:
        result = job()
        if inspect.isawaitable(result):
            await result
        stats.runs += 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        stats.failures += 1
        stats.last_error = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", stats.name)
