"""Stopping tasks for sure.

    await cancel_and_wait(tasks)          # in a ``finally``, instead of cancel + gather

One ``cancel()`` is not always enough on Python 3.11: a cancellation that arrives as an
``asyncio.timeout`` (or ``wait_for``) expires can come out of it as ``TimeoutError``, which a
loop that survives its own time-outs then catches, and the task goes on (fixed in 3.12). A
plain ``gather`` after one ``cancel()`` then waits for ever: the engine never stops, its
simulator keeps running, and the process hangs on its way out. Here every task still running
after a short wait is cancelled again, a few times, and any that still will not stop is named
in the log rather than waited for without end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger("polytui.engine")

ROUNDS = 5
WAIT_S = 2.0


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task], rounds: int = ROUNDS, wait_s: float = WAIT_S
) -> list[asyncio.Task]:
    """Cancel ``tasks`` and wait for them, cancelling again what is still running after
    ``wait_s`` (wall time), up to ``rounds`` times. Answers the tasks that never stopped
    (logged); their results and errors are retrieved, so none is reported as lost."""
    tasks = list(tasks)
    for _ in range(rounds):
        pending = [t for t in tasks if not t.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=wait_s)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the caller decides what a failure means
    stuck = [t for t in tasks if not t.done()]
    if stuck:
        log.error("tasks that would not stop: %s", ", ".join(t.get_name() for t in stuck))
    return stuck
