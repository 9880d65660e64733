"""Periodic jobs on the engine clock: the ledger flush, order lookups, timeouts, the venue
heartbeat, the reconciler, the health file, a strategy's tick...

    scheduler = Scheduler(clock, on_error=log_it)
    scheduler.every("flush", 1.0, store.flush)
    scheduler.every("reconcile", 30.0, reconciler.run_once, first_after_s=5.0)
    task = asyncio.create_task(scheduler.run())
    scheduler.trigger("reconcile")          # run it soon, e.g. after a reconnect

Each job runs in its own task, never overlapping itself: the next run is due ``interval_s``
after the previous one *ended* (a slow job is not stacked up). Every wait goes through the
injected clock, so a fake clock drives the whole schedule. A job that raises is counted and
reported to ``on_error``, and runs again at its next time: one failing job never stops the
others. Jobs may be added while the scheduler runs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from polytui.core.clock import Clock

log = logging.getLogger("polytui.engine.scheduler")

JobFn = Callable[[], Awaitable[Any] | Any]


@dataclass(slots=True)
class Job:
    name: str
    interval_s: float
    fn: JobFn
    first_after_s: float
    runs: int = 0
    errors: int = 0
    last_error: str = ""
    last_run_ms: int | None = None
    last_duration_ms: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def stats(self) -> dict[str, Any]:
        return {
            "interval_s": self.interval_s,
            "runs": self.runs,
            "errors": self.errors,
            "last_error": self.last_error,
            "last_run_ms": self.last_run_ms,
            "last_duration_ms": round(self.last_duration_ms, 3),
        }


class Scheduler:
    def __init__(
        self, clock: Clock, *, on_error: Callable[[str, BaseException], None] | None = None
    ) -> None:
        self._clock = clock
        self._on_error = on_error
        self.jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False

    def every(
        self, name: str, interval_s: float, fn: JobFn, *, first_after_s: float | None = None
    ) -> Job:
        """Run ``fn`` (a coroutine function or a plain one) every ``interval_s`` seconds of
        engine time, the first time after ``first_after_s`` (default: one interval)."""
        if interval_s <= 0:
            raise ValueError(f"job {name}: the interval must be positive, not {interval_s}")
        if name in self.jobs:
            raise ValueError(f"a job named {name!r} is already scheduled")
        job = Job(name, interval_s, fn, interval_s if first_after_s is None else first_after_s)
        self.jobs[name] = job
        if self._running:
            self._start(job)
        return job

    def trigger(self, name: str) -> None:
        """Run the job as soon as it is not running (its schedule restarts from then)."""
        self.jobs[name].wake.set()

    async def run_now(self, name: str) -> None:
        """Run the job once, here (tests, and start-up steps that must finish first)."""
        await self._run_once(self.jobs[name])

    async def run(self) -> None:
        """Run every job until cancelled."""
        self._running = True
        for job in self.jobs.values():
            self._start(job)
        try:
            await asyncio.Event().wait()
        finally:
            self._running = False
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: job.stats() for name, job in self.jobs.items()}

    # ---- internals -----------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        self._tasks[job.name] = asyncio.create_task(self._loop(job), name=f"job:{job.name}")

    async def _loop(self, job: Job) -> None:
        wait_s = job.first_after_s
        while True:
            await self._clock.wait(job.wake, wait_s)
            job.wake.clear()
            await self._run_once(job)
            wait_s = job.interval_s

    async def _run_once(self, job: Job) -> None:
        started = self._clock.monotonic()
        job.last_run_ms = self._clock.now_ms()
        try:
            result = job.fn()
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            job.errors += 1
            job.last_error = f"{type(exc).__name__}: {exc}"
            if self._on_error is not None:
                self._on_error(job.name, exc)
            else:
                log.exception("scheduled job %s failed", job.name)
        finally:
            job.runs += 1
            job.last_duration_ms = (self._clock.monotonic() - started) * 1000
