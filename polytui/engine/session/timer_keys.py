"""Which timer is which, the same way in a session and in its replay.

A timer is known by the task that set it and how many timers that task had set before
(``"job:funds#12"``, ``"mirror apply#340"``). A task without a name of its own is known by
its coroutine's name (``"LeaderFeed._poll#3"``): the default ``Task-N`` counts every task of
the process, which a replay does not have the same number of. A session record notes the key
of each timer that fires; its replay fires the timer with that key, whatever deadline its own
clock would have given it: the session's timers fired late by the time its code took to run,
which the replay's clock does not have.
"""

from __future__ import annotations

import asyncio
from collections import Counter


def task_label() -> str:
    task = asyncio.current_task()
    if task is None:
        return "-"
    name = task.get_name()
    if name.startswith("Task-"):
        coro = task.get_coro()
        name = getattr(coro, "__qualname__", None) or type(coro).__name__
    return name


class TimerKeys:
    def __init__(self) -> None:
        self._count: Counter[str] = Counter()

    def next(self) -> str:
        label = task_label()
        self._count[label] += 1
        return f"{label}#{self._count[label]}"
