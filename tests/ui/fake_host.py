"""``FakeHost`` runs a ``FakeEngine`` under the App as ``EngineHost`` runs an ``Engine``: in its
own thread and event loop, attached to the bridge."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from polytui.config import Settings
from polytui.engine.views import EventLine
from polytui.ui.messages import EngineStatus
from tests.fake_engine import FakeEngine


class FakeHost:
    """Runs a ``FakeEngine`` as ``EngineHost`` runs an ``Engine``: its own thread and loop."""

    def __init__(
        self,
        settings: Settings,
        bridge: Any,
        post: Any,
        engine: FakeEngine,
        lines: tuple[EventLine, ...] = (),
    ) -> None:
        self.settings, self.bridge, self.post, self.engine = settings, bridge, post, engine
        self.lines = lines
        self.finished = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self.finished.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stopping:
            return
        self.bridge._pnl.extend(self.engine.pnl_history)  # a session that ran a minute
        self.bridge.attach(self.engine)
        self.bridge.add_lines(list(self.lines))
        self.post(EngineStatus("running", "seeded test engine"))
        pump = asyncio.create_task(self.bridge.pump())
        self.ready.set()
        try:
            await self._stop.wait()
        finally:
            pump.cancel()
            self.bridge.detach()

    def stop(self) -> None:
        self._stopping = True
        if self._loop is not None and self._stop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass

    def call(self, fn: Any) -> None:
        """Run ``fn()`` on the engine's loop (a test changing the engine)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)
