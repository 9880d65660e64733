"""The injected clocks keep the engine's timers: a fake clock only wakes sleepers when told."""

from __future__ import annotations

import asyncio
import time

import pytest

from polytui.core.clock import FakeClock, ScaledClock, SystemClock


async def test_a_fake_clock_wakes_sleepers_in_deadline_order_only_when_advanced():
    clock = FakeClock(start_ms=1_000)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 3), ("soon", 1))]
    await asyncio.sleep(0.01)
    assert woke == [] and clock.sleepers == 2
    clock.advance(1_000)
    await asyncio.sleep(0.01)
    assert woke == ["soon"]
    clock.advance(5_000)
    await asyncio.gather(*tasks)
    assert woke == ["soon", "late"] and clock.now_ms() == 7_000 and clock.sleepers == 0


async def test_a_fake_clock_wait_returns_on_the_event_or_on_its_own_timeout():
    clock = FakeClock()
    event = asyncio.Event()
    waiter = asyncio.create_task(clock.wait(event, 2.0))
    await asyncio.sleep(0.01)
    clock.advance(1_999)
    await asyncio.sleep(0.01)
    assert not waiter.done()
    clock.advance(1)
    assert await waiter is False
    setter = asyncio.create_task(clock.wait(event, None))
    await asyncio.sleep(0.01)
    event.set()
    assert await setter is True


async def test_a_cancelled_fake_sleep_leaves_no_timer_behind():
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(10))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0


def test_a_clock_never_goes_back():
    with pytest.raises(ValueError, match="back"):
        FakeClock().advance(-1)
    with pytest.raises(ValueError, match="back"):
        ScaledClock(0, 1.0).advance(-1)


async def test_a_scaled_clock_sleeps_its_own_time():
    clock = ScaledClock(1_000_000, scale=50.0)
    started = time.monotonic()
    await clock.sleep(5.0)  # 5 s of clock time is 0.1 s of real time at 50x
    real = time.monotonic() - started
    assert 0.09 <= real < 1.0


async def test_a_stopped_scaled_clock_sleeps_until_it_is_advanced():
    clock = ScaledClock(0, scale=0.0)
    task = asyncio.create_task(clock.sleep(2.0))
    await asyncio.sleep(0.05)
    assert not task.done()
    clock.advance(2_000)
    await asyncio.wait_for(task, 1.0)


async def test_the_system_clock_waits_for_an_event():
    event = asyncio.Event()
    assert await SystemClock().wait(event, 0.01) is False
    event.set()
    assert await SystemClock().wait(event, None) is True
