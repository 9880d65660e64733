"""The ops side of a running engine: metrics, alert rules and their delivery, the event-loop
lag, the clock-skew check and the systemd watchdog, all on the engine's injected clock.

    ops = OpsRuntime(settings, clock, health=engine_health, server_time=skew_probe, log=log)
    engine.bus.subscribe(ops.on_event)
    ops.start_metrics_server()              # logs where it listens, or why it cannot
    task = asyncio.create_task(ops.run())   # until cancelled
    ...
    ops.close()

Nothing here can hold the engine up: rules run on snapshots, alerts go through bounded queues,
and a failure of any ops task is logged and that task restarts after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Protocol

from polytui.core.clock import Clock
from polytui.ops.alerts import AlertManager, AlertRules, Dispatcher, Notification, Post
from polytui.ops.metrics import EngineMetrics
from polytui.ops.settings import AlertSettings, MetricsSettings
from polytui.ops.systemd import SystemdNotifier

LOOP_TICK_S = 0.25
RESTART_PAUSE_S = 1.0

Log = Callable[..., None]
HealthSource = Callable[[], Mapping[str, Any]]
SkewProbe = Callable[[], Awaitable[float]]  # the venue's clock minus ours, in seconds


class OpsSettings(Protocol):
    @property
    def metrics(self) -> MetricsSettings: ...
    @property
    def alerts(self) -> AlertSettings: ...


def _no_log(event: str, level: str = "info", **fields: Any) -> None:
    pass


class OpsRuntime:
    def __init__(
        self,
        settings: OpsSettings,
        clock: Clock,
        health: HealthSource,
        *,
        server_time: SkewProbe | None = None,
        clock_skew_s: float | None = None,
        log: Log = _no_log,
        notifier: SystemdNotifier | None = None,
        post: Post | None = None,
        assets: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._health = health
        self._server_time = server_time
        self._assets = assets  # the books followed now, to forget the others
        self.log = log
        self.notifier = notifier or SystemdNotifier()
        self.metrics = EngineMetrics()
        self.rules = AlertRules(settings.alerts)
        self.rules.clock_skew_s = clock_skew_s
        self.manager = AlertManager(settings.alerts)
        self.dispatcher = Dispatcher(settings.alerts, clock, post=post)
        self.loop_lag_max_s = 0.0
        self.errors = 0
        self.metrics_address: tuple[str, int] | None = None

    # ---- wiring ------------------------------------------------------------------------

    def on_event(self, event: object) -> None:
        """An engine bus event (never raises into the bus)."""
        self.metrics.on_event(event)
        self.rules.on_event(event)

    def figures(self) -> dict[str, Any]:
        return {
            "loop_lag_max_s": round(self.loop_lag_max_s, 4),
            "clock_skew_s": self.rules.clock_skew_s,
            "alerts_firing": self.manager.firing_by_rule(),
            **self.dispatcher.figures(),
        }

    def health(self) -> dict[str, Any]:
        return {**self._health(), "ops": self.figures()}

    def start_metrics_server(self) -> tuple[str, int] | None:
        m = self.settings.metrics
        if m.port == 0:
            return None
        try:
            self.metrics_address = self.metrics.serve(m.host, m.port)
        except OSError as exc:
            self.log(
                "metrics_unavailable",
                level="error",
                host=m.host,
                port=m.port,
                error=exc.strerror or str(exc),
            )
            return None
        host, port = self.metrics_address
        self.log("metrics_listening", host=host, port=port, url=f"http://{host}:{port}/metrics")
        return self.metrics_address

    def close(self) -> None:
        self.metrics.up.set(0)
        self.metrics.close()

    # ---- the loops ---------------------------------------------------------------------

    async def run(self) -> None:
        self.metrics.up.set(1)
        loops = [
            self._refresh_metrics,
            self._evaluate_alerts,
            self._watch_loop,
            self.dispatcher.run,
        ]
        if self._server_time is not None:
            loops.append(self._check_clock)
        if self.notifier.watchdog_interval_s:
            loops.append(self._watchdog)
        tasks = [
            asyncio.create_task(self._keep(loop), name=f"ops {loop.__name__}") for loop in loops
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop``; if it fails, log it and run it again after a pause."""
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors += 1
                self.log("ops_error", level="error", task=loop.__name__, error=repr(exc))
                await self.clock.sleep(RESTART_PAUSE_S)

    async def _refresh_metrics(self) -> None:
        while True:
            self.metrics.update(self.health())
            await self.clock.sleep(self.settings.metrics.refresh_s)

    async def _evaluate_alerts(self) -> None:
        while True:
            await self.clock.sleep(self.settings.alerts.evaluate_s)
            self.evaluate_once()

    def evaluate_once(self) -> list[Notification]:
        now = self.clock.now_ms()
        if self._assets is not None:
            self.rules.keep_only(self._assets())
        notes = self.manager.update(self.rules.evaluate(self._health(), now), now)
        for note in notes:
            c = note.condition
            level = (
                "info"
                if note.status == "resolved"
                else ("error" if c.severity == "critical" else "warning")
            )
            self.log(
                "alert",
                level=level,
                status=note.status,
                rule=c.rule,
                key=c.key,
                severity=c.severity,
                summary=c.summary,
                repeat=note.repeat,
            )
            self.dispatcher.submit(note)
        return notes

    async def _watch_loop(self) -> None:
        while True:
            began = self.clock.monotonic()
            await self.clock.sleep(LOOP_TICK_S)
            lag = max(0.0, self.clock.monotonic() - began - LOOP_TICK_S)
            self.metrics.loop_lag.observe(lag)
            self.rules.note_loop_lag(lag)
            self.loop_lag_max_s = max(self.loop_lag_max_s, lag)

    async def _check_clock(self) -> None:
        assert self._server_time is not None
        while True:
            await self.clock.sleep(self.settings.alerts.clock_check_s)
            with contextlib.suppress(Exception):
                self.rules.clock_skew_s = await self._server_time()

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval_s or 1.0
        while True:
            self.notifier.notify(WATCHDOG=1)
            await self.clock.sleep(interval)
