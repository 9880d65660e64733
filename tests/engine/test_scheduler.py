"""The scheduler on a fake clock: intervals, first runs, triggers, failures kept apart."""

from __future__ import annotations

import asyncio

import pytest

from polytui.core.clock import FakeClock
from polytui.engine.scheduler import Scheduler


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_jobs_run_on_the_engine_clock_and_failures_do_not_stop_them() -> None:
    clock = FakeClock()
    errors: list[str] = []
    scheduler = Scheduler(clock, on_error=lambda name, exc: errors.append(f"{name}: {exc}"))
    ran: list[tuple[str, int]] = []

    async def tick() -> None:
        ran.append(("tick", clock.now_ms()))

    def boom() -> None:
        ran.append(("boom", clock.now_ms()))
        raise RuntimeError("bad")

    start = clock.now_ms()
    scheduler.every("tick", 1.0, tick, first_after_s=0)
    scheduler.every("boom", 2.0, boom)
    task = asyncio.create_task(scheduler.run())
    await settle()
    for _ in range(4):
        clock.advance(1000)
        await settle()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [t - start for name, t in ran if name == "tick"] == [0, 1000, 2000, 3000, 4000]
    assert [t - start for name, t in ran if name == "boom"] == [2000, 4000]
    assert errors == ["boom: bad", "boom: bad"]
    stats = scheduler.stats()
    assert (stats["boom"]["runs"], stats["boom"]["errors"]) == (2, 2)
    assert stats["boom"]["last_error"] == "RuntimeError: bad"


async def test_a_trigger_runs_a_job_now_and_restarts_its_schedule() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    ran: list[int] = []
    scheduler.every("job", 10.0, lambda: ran.append(clock.now_ms()))
    task = asyncio.create_task(scheduler.run())
    await settle()
    clock.advance(3000)
    scheduler.trigger("job")
    await settle()
    clock.advance(9000)
    await settle()
    assert len(ran) == 1  # 12 s in, but 9 s after the triggered run
    clock.advance(1000)
    await settle()
    assert len(ran) == 2
    scheduler.every("late", 1.0, lambda: ran.append(-1), first_after_s=0)  # added while running
    await settle()
    assert ran[-1] == -1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_bad_jobs_are_refused() -> None:
    scheduler = Scheduler(FakeClock())
    with pytest.raises(ValueError, match="positive"):
        scheduler.every("x", 0, lambda: None)
    scheduler.every("x", 1, lambda: None)
    with pytest.raises(ValueError, match="already"):
        scheduler.every("x", 1, lambda: None)
