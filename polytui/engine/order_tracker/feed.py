"""Glue from the user stream to the tracker: a synchronous sink that queues, and one task
that hands each event to ``OrderTracker.user_event`` in order and re-syncs from REST after
every reconnect (the channel says nothing about what happened while it was down)."""

from __future__ import annotations

import asyncio

from polytui.engine.order_tracker.tracker import OrderTracker
from polytui.venue.ws import ConnectionChange, ConnState, Frame


class UserFeed:
    def __init__(self, tracker: OrderTracker, maxsize: int = 10_000) -> None:
        self._tracker = tracker
        self._queue: asyncio.Queue[Frame | ConnectionChange] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._resync = False

    def sink(self, item: Frame | ConnectionChange) -> None:
        """The stream's sink: never blocks. A full queue drops the frame and asks for a
        REST re-sync, which recovers whatever the dropped frames said."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            self._resync = True

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, Frame):
                    for event in item.events:
                        await self._tracker.user_event(event)
                elif item.state is ConnState.RECONNECTED:
                    self._resync = True
                if self._resync and self._queue.empty():
                    self._resync = False
                    await self._tracker.sync()
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far was handled (for tests and shutdown)."""
        await self._queue.join()
