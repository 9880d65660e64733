"""The engine under the TUI: startup and ``Engine.run()`` in their own thread and event loop
(architecture §1), exactly as the headless run does them, so rendering never delays the mirror.

    host = EngineHost(settings, bridge, post=app.post_message)
    host.run()            # blocking: in the App's one thread worker (group "engine")
    host.stop()           # from any thread: cancel-on-exit policy, then stop in order

``run()`` loads the sim wallet, starts (or reaches) the simulator, checks the venue, builds the
``Engine`` (with the wallet ``key`` when the engine takes one: its order side), the ops side
(alert rules, metrics as configured) and attaches the bridge; then runs the engine, the ops
loops and the bridge's pump until ``stop()``, the engine failing or the simulator dying. On
``stop()`` with ``ui.cancel_on_exit`` the open orders are cancelled first
(``engine.cancel_all()`` or ``engine.tracker.cancel_all()``, when the engine has them).
Lifecycle news goes to the UI as ``EngineStatus`` messages. No signal handler is installed
here (the App's main thread owns them), and polytui's log records become event lines
instead of reaching the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from polytui import gc_policy
from polytui.config import Settings, ledger_target
from polytui.engine.kernel import Engine
from polytui.engine.ops_wiring import build_ops
from polytui.engine.session.manifest import SessionError
from polytui.engine.session.recording import (
    SessionRecorder,
    draw_seed,
    engine_rng,
    venue_rng,
)
from polytui.engine.sim_child import SimulatorError
from polytui.engine.startup import (
    Simulator,
    VenueCheckError,
    VenueStatus,
    check_venue,
    connect_venue,
    open_market_data,
)
from polytui.engine.stopping import cancel_and_wait
from polytui.engine.views import EventLine
from polytui.keys import KeyFileError, SimKey, load_or_create_sim_key
from polytui.ops.redact import register_secret
from polytui.ui.bridge import Bridge
from polytui.ui.commands import call_first
from polytui.ui.messages import EngineStatus
from polytui.venue.clients import VenueClients

CANCEL_TIMEOUT_S = 5.0
EngineFactory = Callable[[Settings, VenueClients, SimKey], Any]


def default_engine(
    settings: Settings, venue: VenueClients, key: SimKey, **recording: Any
) -> Engine:
    """The same ``Engine`` as headless; its order side needs the wallet key. ``recording``:
    a session record's clock, random source and hooks (``--record``)."""
    if "key" in inspect.signature(Engine).parameters:
        return Engine(settings, venue, key=key, **recording)  # type: ignore[call-arg]
    return Engine(settings, venue)


class EngineHost:
    def __init__(
        self,
        settings: Settings,
        bridge: Bridge,
        post: Callable[[Any], Any],
        *,
        engine_factory: EngineFactory = default_engine,
    ) -> None:
        self.settings = settings
        self.bridge = bridge
        self._post = post
        self._factory = engine_factory
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self.engine: Any = None
        self.simulator: Simulator | None = None
        self.recorder: SessionRecorder | None = None  # --record DIR
        self.thread_id: int | None = None
        self.finished = threading.Event()  # run() returned: the engine and simulator stopped

    # ---- any thread ------------------------------------------------------------------------

    def run(self) -> None:
        self.thread_id = threading.get_native_id()  # for per-thread CPU figures (bench/ui.py)
        try:
            asyncio.run(self._main())
        finally:
            self.finished.set()

    def stop(self) -> None:
        with self._guard:
            self._stopping = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                loop.call_soon_threadsafe(stop.set)

    # ---- the engine's thread ------------------------------------------------------------------

    def status(self, state: str, detail: str = "", **facts: Any) -> None:
        with contextlib.suppress(RuntimeError):
            self._post(EngineStatus(state, detail, **facts))

    async def _main(self) -> None:
        with self._guard:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            if self._stopping:  # quit before the engine thread got going
                return
        undo = self._route_logging()
        try:
            await self._lifecycle()
        except Exception as exc:  # a bug of ours: shown, not a silent dead engine
            self.status("failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            undo()
            self.bridge.detach()

    async def _lifecycle(self) -> None:
        assert self._stop is not None
        try:
            key = load_or_create_sim_key(self.settings.paths.data_dir)
        except KeyFileError as exc:
            self.status("failed", str(exc))
            return
        register_secret(key.private_key)
        run = self.settings.run
        if run.record is not None:
            seed = run.seed if run.seed is not None else draw_seed()
            try:
                self.recorder = SessionRecorder.create(run.record, self.settings, seed)
            except SessionError as exc:
                self.status("failed", str(exc))
                return
        reason = "failed"
        try:
            reason = await self._run_session(key)
        finally:
            if self.recorder is not None:
                ledger = ledger_target(self.settings) if self.engine is not None else None
                self.recorder.finish(ledger, reason)

    async def _run_session(self, key: SimKey) -> str:
        """Start, run and stop; how it ended (a session record's ``ended``)."""
        assert self._stop is not None
        self.status("starting", "starting the simulator", address=key.address)
        async with contextlib.AsyncExitStack() as stack:
            startup = asyncio.create_task(self._start(stack))
            stop = asyncio.create_task(self._stop.wait())
            await asyncio.wait({startup, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not startup.done():
                startup.cancel()
                with contextlib.suppress(BaseException):
                    await startup
                self.status("stopped", "stopped before the engine ran")
                return "stopped"
            try:
                simulator, venue, checked = startup.result()
            except (SimulatorError, VenueCheckError) as exc:
                self.status("failed", str(exc))
                return "failed"
            return await self._supervise(key, simulator, venue, checked)

    async def _start(
        self, stack: contextlib.AsyncExitStack
    ) -> tuple[Simulator, VenueClients, VenueStatus]:
        simulator = await stack.enter_async_context(open_market_data(self.settings))
        self.simulator = simulator
        self.status(
            "starting",
            "checking the venue",
            endpoints=simulator.endpoints,
            sim_pid=simulator.child.pid if simulator.child else None,
        )
        recorder = self.recorder
        venue = await stack.enter_async_context(
            connect_venue(
                simulator.endpoints,
                self.settings.venue,
                clock=recorder.clock if recorder is not None else None,
                rng=venue_rng(recorder.seed) if recorder is not None else None,
                capture=recorder.capture if recorder is not None else None,
            )
        )
        return simulator, venue, await check_venue(venue)

    async def _supervise(
        self, key: SimKey, simulator: Simulator, venue: VenueClients, checked: VenueStatus
    ) -> str:
        assert self._stop is not None
        recorder = self.recorder
        if recorder is None:
            self.engine = engine = self._factory(self.settings, venue, key)
        else:  # as the headless runner records (polytui/headless.py)
            recorder.begin(simulator.endpoints, key.address, ledger_target(self.settings))
            self.engine = engine = self._factory(
                self.settings,
                venue,
                key,
                clock=recorder.clock,
                rng=engine_rng(recorder.seed),
                session=recorder.hooks,
            )
            engine.bus.subscribe(recorder.on_event)
        ops = build_ops(
            self.settings, engine, venue, log=self._ops_log, clock_skew_s=checked.clock_skew_s
        )
        self.bridge.extra = lambda: {"ops": ops.figures()}
        self.bridge.attach(engine)
        ops.start_metrics_server()
        running = asyncio.create_task(engine.run(), name="engine")
        others = [
            asyncio.create_task(ops.run(), name="ops"),
            asyncio.create_task(self.bridge.pump(), name="bridge"),
            asyncio.create_task(_settle_when_ready(engine), name="gc-settle"),
        ]
        waiters = {running, asyncio.create_task(self._stop.wait())}
        if simulator.child is not None:
            waiters.add(asyncio.create_task(simulator.child.wait()))
        self.status("running", f"{checked.markets} markets", clock_skew_s=checked.clock_skew_s)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if self._stop.is_set() and not running.done():
                self.status("stopping", "stopping the engine")
                if self.settings.ui.cancel_on_exit:
                    await self._cancel_open_orders(engine)
        finally:
            await cancel_and_wait((*waiters, *others))
            ops.close()
        if self._stop.is_set():
            self.status("stopped", "stopped in order")
            return "stopped"
        if running.done() and not running.cancelled() and running.exception() is not None:
            self.status("failed", f"the engine stopped: {running.exception()!r}")
            return "engine_failed"
        code = simulator.child.returncode if simulator.child else None
        self.status("failed", f"the simulator exited with code {code}")
        return "simulator_exited"

    async def _cancel_open_orders(self, engine: Any) -> None:
        for target in (engine, getattr(engine, "tracker", None)):
            if target is None or not callable(getattr(target, "cancel_all", None)):
                continue
            try:
                async with asyncio.timeout(CANCEL_TIMEOUT_S):
                    await call_first(target, ("cancel_all",))
                self.status("stopping", "open orders cancelled (ui.cancel_on_exit)")
            except Exception as exc:
                self.status("stopping", f"cancelling open orders failed: {exc}")
            return

    # ---- what the engine says, as event lines -----------------------------------------------

    def _ops_log(self, event: str, level: str = "info", **fields: Any) -> None:
        if event == "alert":
            state = "RESOLVED " if fields.get("status") == "resolved" else ""
            text = f"alert {state}{fields.get('rule')}: {fields.get('summary')}"
        elif level in ("warning", "error"):
            text = f"{event}: " + ", ".join(f"{k}={v}" for k, v in fields.items())
        else:
            return
        now = self.engine.clock.now_ms() if self.engine is not None else 0
        self.bridge.add_lines([EventLine("alert", now, level, text)])

    def _route_logging(self) -> Callable[[], None]:
        """polytui's log records become event lines; none reaches the terminal."""
        logger = logging.getLogger("polytui")
        handler = _LineHandler(self)
        old = logger.propagate
        logger.addHandler(handler)
        logger.propagate = False

        def undo() -> None:
            logger.removeHandler(handler)
            logger.propagate = old

        return undo


class _LineHandler(logging.Handler):
    def __init__(self, host: EngineHost) -> None:
        super().__init__(logging.WARNING)
        self.host = host

    def emit(self, record: logging.LogRecord) -> None:
        try:
            engine = self.host.engine
            now = engine.clock.now_ms() if engine is not None else 0
            severity = "error" if record.levelno >= logging.ERROR else "warning"
            line = EventLine("log", now, severity, f"{record.name}: {record.getMessage()}")
            self.host.bridge.add_lines([line])
        except Exception:
            self.handleError(record)


async def _settle_when_ready(engine: Engine) -> None:
    """Once the engine started everything, the collector's one-off settling (gc_policy)."""
    await engine.ready.wait()
    gc_policy.settle()
