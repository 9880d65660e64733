"""Which timer is which, the same way in a session and in its replay.

A timer is known by the task that set it and how many of that task's timers had **run out**
before it (``"job:funds#12"``: the twelfth time the funds job's timer ran its time). A wait
that its event cut short does not count: whether an input was already there when a task
began to wait depends on how the event loop interleaved the tasks, which a replay does not
reproduce exactly, while the timers that ran out are inputs of the record. A task without a
name of its own is known by its coroutine's name (``"LeaderFeed._poll#3"``): the default
``Task-N`` counts every task of the process, which a replay does not have the same number of.
Tasks that share a name and wait at once tell their timers apart by a suffix (``#3.2``: the
second such timer pending).

A session record notes the key of each timer that runs out; its replay fires the timer with
that key, whatever deadline its own clock would have given it: the session's timers fired
late by the time its code took to run, which the replay's clock does not have.

    label, key = keys.take()          # a timer is set
    keys.done(label, key, fired)      # ... and is over: ran out (fired) or was cut short
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict


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
        self._fired: Counter[str] = Counter()
        self._pending: defaultdict[str, set[str]] = defaultdict(set)

    def take(self) -> tuple[str, str]:
        """A new timer of the current task: its label and key."""
        label = task_label()
        key = base = f"{label}#{self._fired[label] + 1}"
        pending = self._pending[label]
        n = 1
        while key in pending:
            n += 1
            key = f"{base}.{n}"
        pending.add(key)
        return label, key

    def done(self, label: str, key: str, fired: bool) -> None:
        """The timer is over: it ran out (``fired``) or was cut short (its event, a cancel)."""
        pending = self._pending.get(label)
        if pending is not None:
            pending.discard(key)
            if not pending:
                del self._pending[label]
        if fired:
            self._fired[label] += 1
