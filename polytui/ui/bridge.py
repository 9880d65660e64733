"""The bridge: where the engine (its own thread and event loop) and the UI meet (architecture §1).

Engine -> UI, two lanes, one ``post_message`` per flush:

* **Views** (markets, the selected book, orders/fills/positions, health, copy feed, the PnL
  series) are built from the engine *on the engine's loop* by ``polytui.engine.views`` and
  kept as the latest value per key; a view equal to the last one sent is not sent again.
* **Event lines** (bus events: book state changes, universe changes, alerts, the kill switch;
  new fills and order moves from the ledger; the host's alerts and warnings) are appended and
  never dropped: every flush carries all of them since the last.

``pump()`` builds and flushes every ``1 / refresh_hz`` seconds (at most 10 Hz; each view at
most as often as ``PERIOD_S`` says); with
``refresh_hz = 0`` nothing happens until ``request_flush()`` (tests). While the UI has not
handled the last update (``acknowledge()``), no new one is posted: values keep being replaced
and events keep queueing, so a slow UI gets fewer, fuller updates and never a backlog.

UI -> engine: ``send(command)`` is thread-safe (``loop.call_soon_threadsafe``); the command
runs on the engine's loop (``polytui.ui.commands.execute``) and its answer comes back as a
``CommandDone`` message. Commands sent before the engine is attached wait for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from polytui.engine.views import (
    EventLine,
    LedgerWatch,
    book_view,
    copy_feed_view,
    event_line,
    health_view,
    markets_view,
    orders_view,
)
from polytui.ui.commands import SelectMarket, execute
from polytui.ui.messages import CommandDone, EngineUpdate

MAX_HZ = 10.0
PNL_POINTS = 1_000  # the session's PnL series, one point a second at most
# How often each view is built at most (seconds; 0: every flush): the book being watched at
# every flush, the tables of many rows at 5 a second, figures once a second.
PERIOD_S = {"book": 0.0, "markets": 0.2, "orders": 0.2, "health": 1.0, "copy": 1.0, "pnl": 1.0}

Post = Callable[[Any], Any]


class Bridge:
    def __init__(self, post: Post, *, refresh_hz: float = MAX_HZ) -> None:
        self._post = post
        self.refresh_hz = min(refresh_hz, MAX_HZ)
        self._every = {k: max(1, round(p * self.refresh_hz)) for k, p in PERIOD_S.items()}
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}
        self._dirty: set[str] = set()
        self._lines: list[EventLine] = []
        self._waiting = False  # an update is posted and not yet handled by the UI
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._pending: list[object] = []
        self._ledger = LedgerWatch()
        self._pnl: deque[tuple[int, Decimal]] = deque(maxlen=PNL_POINTS)
        self._tick = 0
        self.selected: str | None = None
        self.extra: Callable[[], dict[str, Any]] = dict  # the host's figures (ops)
        self.seq = 0
        self.figures = {"flushes": 0, "coalesced": 0, "build ms max": 0.0}

    # ---- engine side (the engine's thread) -----------------------------------------------

    def attach(self, engine: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._engine = engine
        self._unsubscribe = engine.bus.subscribe(self.on_event)
        with self._lock:
            self._loop = loop or asyncio.get_running_loop()
            pending, self._pending = self._pending, []
        for command in pending:
            self._start(command)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        with self._lock:
            self._loop, self._engine, self._unsubscribe = None, None, None

    @property
    def attached(self) -> bool:
        return self._engine is not None

    def on_event(self, event: object) -> None:
        """The engine bus subscriber: never raises, never blocks."""
        line = event_line(event, self._engine.clock.now_ms() if self._engine else 0)
        if line is not None:
            self.add_lines([line])

    def add_lines(self, lines: list[EventLine]) -> None:
        if lines:
            with self._lock:
                self._lines.extend(lines)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if key not in self._latest or self._latest[key] != value:
                self._latest[key] = value
                self._dirty.add(key)

    def build(self, every: bool = False) -> None:
        """Build the views that are due (all of them with ``every``) on the engine's loop."""
        engine = self._engine
        if engine is None:
            return
        started = time.perf_counter()
        tick, self._tick = self._tick, self._tick + 1

        def due(key: str) -> bool:
            return every or tick % self._every[key] == 0

        if due("book"):
            self.put("book", book_view(engine, self.selected))
        if due("markets"):
            self.put("markets", markets_view(engine))
        if due("orders"):
            orders = orders_view(engine)
            self.put("orders", orders)
            self.add_lines(self._ledger.new_lines(engine))
        if due("pnl"):
            self._sample_pnl(engine)
        if due("health"):
            self.put("health", health_view(engine, {**self.extra(), "bridge": self.figures}))
        if due("copy"):
            self.put("copy", copy_feed_view(engine))
        ms = (time.perf_counter() - started) * 1000
        self.figures["build ms max"] = round(max(self.figures["build ms max"], ms), 2)

    def _sample_pnl(self, engine: Any) -> None:
        orders = self._latest.get("orders")
        if orders is None or not orders.available:
            return
        now = engine.clock.now_ms()
        if not self._pnl or now - self._pnl[-1][0] >= 1000:
            self._pnl.append((now, orders.pnl))
            self.put("pnl", tuple(self._pnl))

    def flush(self, force: bool = False) -> bool:
        """Post one update with what changed; ``False`` when nothing did, or the UI has not
        handled the last one yet (unless ``force``)."""
        with self._lock:
            if self._waiting and not force:
                self.figures["coalesced"] += 1
                return False
            if not self._dirty and not self._lines:
                return False
            views = {key: self._latest[key] for key in self._dirty}
            lines, self._lines = tuple(self._lines), []
            self._dirty.clear()
            self._waiting = True
            self.seq += 1
            seq = self.seq
        self.figures["flushes"] += 1
        self._safe_post(EngineUpdate(seq, views, lines))
        return True

    async def pump(self) -> None:
        """Build and flush at ``refresh_hz`` until cancelled (nothing with 0: manual)."""
        if self.refresh_hz <= 0:
            await asyncio.Event().wait()
        period = 1 / self.refresh_hz
        while True:
            await asyncio.sleep(period)  # the UI's cadence: wall time, not the engine clock
            self.build()
            self.flush()

    def _safe_post(self, message: Any) -> None:
        try:
            self._post(message)
        except RuntimeError:  # the App's loop closed while we were stopping
            pass

    # ---- UI side (any thread) ---------------------------------------------------------------

    def acknowledge(self) -> None:
        """The UI handled the last update: the next flush may post."""
        with self._lock:
            self._waiting = False

    def send(self, command: object) -> None:
        """Run ``command`` on the engine's loop; its answer comes back as ``CommandDone``."""
        with self._lock:
            loop = self._loop
            if loop is None:
                self._pending.append(command)
                return
        try:
            loop.call_soon_threadsafe(self._start, command)
        except RuntimeError:
            self._safe_post(CommandDone(command, error="the engine is not running"))

    def request_flush(self) -> None:
        """Build every view and flush now, on the engine's loop (manual refresh)."""
        with self._lock:
            loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._flush_all)

    def _flush_all(self) -> None:
        self.build(every=True)
        self.flush(force=True)

    # ---- commands, on the engine's loop --------------------------------------------------------

    def _start(self, command: object) -> None:
        if isinstance(command, SelectMarket):
            self.selected = command.condition_id
            if self._engine is not None:
                self.put("book", book_view(self._engine, self.selected))
                self.flush()
            return
        asyncio.ensure_future(self._run(command))

    async def _run(self, command: object) -> None:
        try:
            result = await execute(self._engine, command)
        except Exception as exc:  # the UI shows it; the engine goes on
            self._safe_post(CommandDone(command, error=f"{type(exc).__name__}: {exc}"))
            return
        self._safe_post(CommandDone(command, result))
        if self._engine is not None:
            self.build(every=True)
            self.flush()
