"""`polytui --no-ui`: the headless run, for a service or a script. Never imports Textual.

Reach the simulator (start a child, or use `--sim-url`), check the venue (`/ok`, `/version`,
clock skew from `/time`, markets from Gamma), then run the engine (the same `Engine` as the UI:
scanner, market stream, mirror, and the order side with the sim wallet) with a heartbeat line,
until `--duration`, SIGINT, SIGTERM or SIGHUP stops it in order. A book leaving LIVE, a change
of the watched universe, an alert and the kill switch are log lines of their own. SIGUSR1
engages the kill switch (`polytui resume` releases it).

stdout carries data only: one JSON object per line,
`{"ts": "<UTC ISO 8601>", "level": "info", "event": "started", "fields": {...}}`; with
`--events` stdout carries the engine's events instead (same shape, `"level": "event"`) and the
log lines go to stderr. Diagnostics go to stderr. Secrets are redacted from every line
(`polytui.ops.redact`); the wallet address is logged, its key never.

Operations (`polytui.ops`, wired by `polytui.engine.ops_wiring`): Prometheus `/metrics`, alert
rules and webhooks, systemd `READY=1`/`WATCHDOG=1`/`STOPPING=1`.

The engine and the venue clients share one clock and one seed (`run.seed`, drawn when unset):
every timer, retry wait and jitter follows them. With `--record DIR` (`run.record`) the clock
is the session's `RecordingClock` and everything the engine meets is written to DIR
(`polytui.engine.session`), for `polytui replay DIR`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any, TextIO

from polytui import exit_codes, gc_policy
from polytui.config import Settings, ledger_target
from polytui.core.clock import Clock, SystemClock
from polytui.engine.alerts import Alert
from polytui.engine.kernel import Engine
from polytui.engine.kill_switch import KillSwitchChanged
from polytui.engine.mirror import BookState, BookStateChanged
from polytui.engine.ops_wiring import build_ops
from polytui.engine.position_aging import PositionAging
from polytui.engine.scanner import UniverseChanged
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
    venue_alive,
)
from polytui.engine.strategy_runner import OrderOutcome, StrategyFailed, StrategyStopped
from polytui.keys import KeyFileError, SimKey, load_or_create_sim_key
from polytui.ops.logs import JsonLog, install_stdlib_logging
from polytui.ops.redact import register_secret
from polytui.ops.systemd import SystemdNotifier
from polytui.strategies.copytrade import CopyRecord
from polytui.venue.clients import VenueClients

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
KILL_SIGNAL = signal.SIGUSR1
CLOCK_SKEW_WARNING_S = 2.0


def run_headless(
    settings: Settings,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    *,
    events: bool = False,
) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    opts = {"level": settings.log.level, "journald": settings.log.journald}
    log = JsonLog(stderr if events else stdout, **opts)
    event_log = JsonLog(stdout, **opts) if events else None
    undo_logging = install_stdlib_logging(log, settings.log.level)
    try:
        return asyncio.run(_Run(settings, log, stderr, event_log).main())
    finally:
        undo_logging()


def event_record(event: object) -> tuple[str, dict[str, Any]]:
    """An engine event as a line's name (``BookStateChanged`` -> ``book_state_changed``) and
    fields."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    else:
        fields = dict(getattr(event, "__dict__", {}))
    return name, fields


class _Run:
    def __init__(
        self, settings: Settings, log: JsonLog, stderr: TextIO, event_log: JsonLog | None = None
    ) -> None:
        self.settings = settings
        self.log = log
        self.stderr = stderr
        self.event_log = event_log
        self.notifier = SystemdNotifier()
        self.stop_requested = asyncio.Event()
        self.stop_reason: str | None = None
        self.clock_skew_s: float | None = None
        self.kill_requested = False
        self.engine: Engine | None = None
        self.key: SimKey | None = None
        self.seed = settings.run.seed if settings.run.seed is not None else draw_seed()
        self.clock: Clock = SystemClock()
        self.recorder: SessionRecorder | None = None

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop_requested.set()

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(KILL_SIGNAL, self.request_kill)
        started_at = loop.time()
        self.log(
            "starting",
            pid=os.getpid(),
            mode=self.settings.run.mode,
            data_dir=str(self.settings.paths.data_dir),
        )
        try:
            code, reason = await self._lifecycle()
        finally:
            for sig in (*STOP_SIGNALS, KILL_SIGNAL):
                loop.remove_signal_handler(sig)
        self.log(
            "stopped",
            level="info" if code == exit_codes.OK else "error",
            reason=reason,
            exit_code=code,
            uptime_s=round(loop.time() - started_at, 3),
        )
        return code

    def request_kill(self) -> None:
        """SIGUSR1: the kill switch, now if the engine runs, else as soon as it does."""
        self.kill_requested = True
        self.log("kill_signal", level="warning", signal=KILL_SIGNAL.name)
        if self.engine is not None and self.engine.kill_switch is not None:
            self._engage(self.engine)

    def _engage(self, engine: Engine) -> None:
        self.kill_requested = False
        task = asyncio.ensure_future(engine.kill(KILL_SIGNAL.name, "signal"))
        task.add_done_callback(self._engaged)

    def _engaged(self, task: asyncio.Future[str]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.log("kill_switch_failed", level="error", error=repr(task.exception()))

    def fail(self, error: Exception, code: int) -> tuple[int, str]:
        print(f"polytui: {error}", file=self.stderr)
        self.log("failed", level="error", error=str(error))
        return code, "failed"

    async def _lifecycle(self) -> tuple[int, str]:
        try:
            key = self.key = load_or_create_sim_key(self.settings.paths.data_dir)
        except KeyFileError as exc:
            return self.fail(exc, exit_codes.USAGE)
        register_secret(key.private_key)
        if self.settings.run.record is not None:
            try:
                self.recorder = SessionRecorder.create(
                    self.settings.run.record, self.settings, self.seed
                )
            except SessionError as exc:
                return self.fail(exc, exit_codes.USAGE)
            self.clock = self.recorder.clock
        code, reason = exit_codes.FAILURE, "failed"
        try:
            code, reason = await self._lifecycle_on()
        finally:
            if self.recorder is not None:
                ledger = ledger_target(self.settings) if self.engine is not None else None
                self.recorder.finish(ledger, reason)
                lines = self.recorder.capture.lines
                self.log("recorded", directory=str(self.recorder.dir), lines=lines)
        return code, reason

    async def _lifecycle_on(self) -> tuple[int, str]:
        assert self.key is not None
        key = self.key
        async with contextlib.AsyncExitStack() as stack:
            # named: a session replay sets the same timers in a task of the same name
            startup = asyncio.create_task(self._start(stack), name="startup")
            if not await self._finishes_before_stop(startup):
                self.log("stopping", reason=self.stop_reason)
                return exit_codes.OK, self.stop_reason or "stopped"
            try:
                simulator, venue, status = startup.result()
            except (SimulatorError, VenueCheckError) as exc:
                return self.fail(exc, exit_codes.FAILURE)
            self._log_started(key, simulator, status)
            return await self._supervise(simulator, venue)

    async def _finishes_before_stop(self, task: asyncio.Task[Any]) -> bool:
        stop = asyncio.create_task(self.stop_requested.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, SimulatorError, VenueCheckError):
            await task
        return False

    async def _start(
        self, stack: contextlib.AsyncExitStack
    ) -> tuple[Simulator, VenueClients, VenueStatus]:
        simulator = await stack.enter_async_context(self._logged_simulator())
        venue = await stack.enter_async_context(
            connect_venue(
                simulator.endpoints,
                self.settings.venue,
                clock=self.clock,
                rng=venue_rng(self.seed),
                capture=self.recorder.capture if self.recorder is not None else None,
            )
        )
        status = await check_venue(venue)
        self.clock_skew_s = status.clock_skew_s
        skew_is_large = abs(status.clock_skew_s) > CLOCK_SKEW_WARNING_S
        self.log(
            "venue_checked",
            level="warning" if skew_is_large else "info",
            version=status.version,
            server_time=status.server_time,
            clock_skew_s=status.clock_skew_s,
            markets=status.markets,
        )
        return simulator, venue, status

    @contextlib.asynccontextmanager
    async def _logged_simulator(self) -> AsyncIterator[Simulator]:
        async with open_market_data(self.settings) as simulator:
            endpoints = simulator.endpoints.as_dict()
            if simulator.child is None:
                self.log("simulator_connected", endpoints=endpoints)
            else:
                self.log("simulator_started", pid=simulator.child.pid, endpoints=endpoints)
            try:
                yield simulator
            finally:
                if simulator.child is not None:
                    self.log("simulator_stopping", pid=simulator.child.pid)
        if simulator.child is not None:
            self.log("simulator_stopped", returncode=simulator.child.returncode)

    def _log_started(self, key: SimKey, simulator: Simulator, status: VenueStatus) -> None:
        self.log(
            "started",
            mode=self.settings.run.mode,
            seed=self.seed,
            address=key.address,
            clob=simulator.endpoints.clob,
            markets=status.markets,
            duration_s=self.settings.run.duration,
        )

    async def _supervise(self, simulator: Simulator, venue: VenueClients) -> tuple[int, str]:
        recorder = self.recorder
        if recorder is not None:
            address = self.key.address if self.key is not None else None
            recorder.begin(simulator.endpoints, address, ledger_target(self.settings))
            self.log("recording", directory=str(recorder.dir), seed=self.seed)
        engine = self.engine = Engine(
            self.settings,
            venue,
            clock=self.clock,
            rng=engine_rng(self.seed),
            key=self.key,
            session=recorder.hooks if recorder is not None else None,
        )
        if recorder is not None:
            engine.bus.subscribe(recorder.on_event)
        engine.bus.subscribe(self._log_event)
        if self.event_log is not None:
            engine.bus.subscribe(self._write_event)
        ops = build_ops(
            self.settings,
            engine,
            venue,
            log=self.log,
            clock_skew_s=self.clock_skew_s,
            notifier=self.notifier,
        )
        ops.start_metrics_server()
        running = asyncio.create_task(self._run_engine(engine), name="engine")
        waiters = {asyncio.create_task(self.stop_requested.wait()), running}
        if simulator.child is not None:
            waiters.add(asyncio.create_task(simulator.child.wait()))
        heartbeat = asyncio.create_task(self._heartbeat(venue, engine))
        monitoring = asyncio.create_task(ops.run(), name="ops")
        self.notifier.notify(READY=1, STATUS="running", MAINPID=os.getpid())
        try:
            done, pending = await asyncio.wait(
                waiters, timeout=self.settings.run.duration, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            self.notifier.notify(STOPPING=1, STATUS="stopping")
        for task in (*waiters, heartbeat, monitoring):
            task.cancel()
        await asyncio.gather(running, heartbeat, monitoring, return_exceptions=True)
        ops.close()
        if self.stop_requested.is_set():
            reason = self.stop_reason or "stopped"
        elif running in done:
            error = running.exception() if not running.cancelled() else None
            self.log("engine_failed", level="error", error=repr(error))
            print(f"polytui: the engine stopped: {error!r}", file=self.stderr)
            return exit_codes.FAILURE, "engine_failed"
        elif done:
            returncode = simulator.child.returncode if simulator.child else None
            self.log("simulator_exited", level="error", returncode=returncode)
            return exit_codes.FAILURE, "simulator_exited"
        else:
            reason = "duration"
        self.log("stopping", reason=reason, **engine.summary())
        return exit_codes.OK, reason

    def _write_event(self, event: object) -> None:
        assert self.event_log is not None
        name, fields = event_record(event)
        self.event_log(name, level="event", **fields)

    async def _run_engine(self, engine: Engine) -> None:
        runs = asyncio.create_task(engine.run())
        ready = asyncio.create_task(engine.ready.wait())
        try:
            await asyncio.wait({runs, ready}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # stopped while starting: the engine stops with us
            runs.cancel()
            await asyncio.gather(runs, return_exceptions=True)
            raise
        finally:
            ready.cancel()
        settled = gc_policy.settle() if not runs.done() else None
        if settled is not None:
            self.log("gc_settled", frozen=settled["frozen"], pause_ms=round(settled["pause_ms"], 1))
        if engine.kill_switch is not None and not runs.done():
            self.log(
                "trading_started",
                ledger=str(ledger_target(self.settings)),
                control=str(engine.control_path),
                kill_switch=engine.kill_switch.engaged,
                open_orders=engine.summary().get("orders_open", 0),
            )
            if self.kill_requested:
                self._engage(engine)
        await runs

    def _log_event(self, event: object) -> None:
        if isinstance(event, Alert):
            self.log(
                "alert", level="warning", kind=event.kind, key=event.key, message=event.message
            )
        elif isinstance(event, KillSwitchChanged):
            name = "kill_switch_engaged" if event.engaged else "kill_switch_released"
            self.log(name, level="warning", reason=event.reason, source=event.source, ref=event.ref)
        elif isinstance(event, BookStateChanged) and event.old is BookState.LIVE:
            self.log(
                "book_left_live",
                level="warning",
                asset_id=event.asset_id,
                state=event.new.value,
                reason=event.reason.value,
                detail=event.detail,
            )
        elif isinstance(event, UniverseChanged) and (event.entered or event.left):
            self.log("universe_changed", entered=len(event.entered), left=len(event.left))
        elif isinstance(event, CopyRecord):
            self.log(
                "copy_outcome",
                leader=event.leader,
                outcome=event.outcome.value,
                gate=event.gate,
                reason=event.reason,
                asset_id=event.asset,
                leader_side=event.leader_side.value,
                leader_shares=event.leader_shares,
                shares=event.shares,
            )
        elif isinstance(event, OrderOutcome) and event.submit_error:
            self.log(
                "order_not_sent", level="warning", strategy=event.strategy, error=event.submit_error
            )
        elif isinstance(event, PositionAging):
            self.log("position_aging", level="warning", **event_record(event)[1])
        elif isinstance(event, StrategyFailed | StrategyStopped):
            self.log(event_record(event)[0], level="error", **event_record(event)[1])

    async def _heartbeat(self, venue: VenueClients, engine: Engine) -> None:
        loop = asyncio.get_running_loop()
        started_at = loop.time()
        while True:
            await asyncio.sleep(self.settings.run.heartbeat_s)
            alive = await venue_alive(venue)
            summary = engine.summary()
            self.log(
                "heartbeat",
                level="info" if alive else "warning",
                uptime_s=round(loop.time() - started_at, 3),
                venue_ok=alive,
                **summary,
            )
            books = summary.get("books", {})
            self.notifier.notify(
                STATUS=f"{books.get('LIVE', 0)}/{sum(books.values())} books LIVE, "
                f"{summary.get('watched', 0)} markets, venue {'ok' if alive else 'DOWN'}"
            )
