"""Glue from the user stream to the tracker: a synchronous sink that queues, and one task
that hands each event to ``OrderTracker.user_event`` in order and re-syncs from REST after
every reconnect (the channel says nothing about what happened while it was down), then calls
``on_resync`` (the engine runs the reconciler)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from polytui.engine.order_tracker.tracker import OrderTracker
from polytui.protocol.wire.errors import WireError
from polytui.venue.errors import VenueError
from polytui.venue.ws import ConnectionChange, ConnState, Frame

log = logging.getLogger("polytui.engine.order_tracker")


class UserFeed:
    def __init__(
        self,
        tracker: OrderTracker,
        maxsize: int = 10_000,
        *,
        on_resync: Callable[[], None] | None = None,
    ) -> None:
        self._tracker = tracker
        self._on_resync = on_resync
        self.resyncs = 0
        self.failed_resyncs = 0
        self.errors = 0
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
                    await self._events(item)
                elif item.state is ConnState.RECONNECTED:
                    self._resync = True
                if self._resync and self._queue.empty():
                    self._resync = False
                    await self._resync_now()
            finally:
                self._queue.task_done()

    async def _events(self, frame: Frame) -> None:
        for event in frame.events:
            try:
                await self._tracker.user_event(event)
            except Exception:  # one bad event (a failed cancel, a ledger error) is not fatal:
                self.errors += 1  # REST tells again what it said
                self._resync = True
                log.exception("a user-channel event could not be recorded")

    async def _resync_now(self) -> None:
        try:
            await self._tracker.sync()
        except (VenueError, WireError) as exc:  # REST is down too: again with the next item
            self.failed_resyncs += 1
            self._resync = True
            log.warning("re-sync after a reconnect failed: %s", exc)
            return
        self.resyncs += 1
        if self._on_resync is not None:
            self._on_resync()

    async def drain(self) -> None:
        """Wait until everything queued so far was handled (for tests and shutdown)."""
        await self._queue.join()
