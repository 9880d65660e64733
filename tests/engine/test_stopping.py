"""Tasks are stopped for sure: one that loses its first cancellation (as Python 3.11's
``asyncio.timeout`` can turn it into a ``TimeoutError``) is cancelled again; one that never
stops is named, not waited for without end."""

from __future__ import annotations

import asyncio
import logging

import pytest

from polytui.engine.stopping import cancel_and_wait


async def _loses_one_cancel(started: asyncio.Event) -> None:
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()  # type: ignore[union-attr]
        # the loop goes on, as one that survives its own time-outs would
    await asyncio.sleep(3600)


async def test_a_task_that_loses_its_first_cancellation_is_stopped() -> None:
    started = asyncio.Event()
    task = asyncio.create_task(_loses_one_cancel(started))
    await started.wait()
    stuck = await cancel_and_wait([task], wait_s=0.05)
    assert stuck == [] and task.cancelled()


async def test_one_gather_would_have_waited_for_ever() -> None:
    """The defect the helper exists for: cancel once, then wait."""
    started = asyncio.Event()
    task = asyncio.create_task(_loses_one_cancel(started))
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=0.2)
    assert not done
    await cancel_and_wait([task], wait_s=0.05)


async def test_a_task_that_never_stops_is_named(caplog: pytest.LogCaptureFixture) -> None:
    give_up = asyncio.Event()

    async def stubborn() -> None:
        while not give_up.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, "polytui.engine"):
        stuck = await cancel_and_wait([task], rounds=3, wait_s=0.02)
    assert stuck == [task] and not task.done()
    assert "tasks that would not stop: stubborn" in caplog.text
    give_up.set()  # the test's own loop must end clean
    task.cancel()
    await task


async def test_failures_are_retrieved_and_finished_tasks_left_alone() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)
    assert await cancel_and_wait([failed]) == []
    assert isinstance(failed.exception(), RuntimeError)
