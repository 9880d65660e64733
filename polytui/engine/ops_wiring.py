"""Wires ``polytui.ops`` (metrics, alerts, watchdog) to a running `Engine`: the one place that
knows both. The headless run calls `build_ops`."""

from __future__ import annotations

from typing import Any

from polytui.config import Settings
from polytui.engine.kernel import Engine
from polytui.engine.startup import fetch_server_time
from polytui.ops.runtime import Log, OpsRuntime
from polytui.ops.systemd import SystemdNotifier
from polytui.venue.clients import VenueClients


def engine_health(engine: Engine) -> dict[str, Any]:
    """``engine.health()`` plus the per-stage latency histograms the metrics export."""
    health = engine.health()
    latency = dict(health.get("latency") or {})
    latency.setdefault("apply", engine.mirror.apply_lag)
    latency.setdefault("receive", engine.mirror.recv_lag)
    return {**health, "latency": latency}


def build_ops(
    settings: Settings,
    engine: Engine,
    venue: VenueClients,
    *,
    log: Log,
    clock_skew_s: float | None = None,
    notifier: SystemdNotifier | None = None,
) -> OpsRuntime:
    async def skew() -> float:
        return (await fetch_server_time(venue))[1]

    ops = OpsRuntime(
        settings,
        engine.clock,
        lambda: engine_health(engine),
        server_time=skew,
        clock_skew_s=clock_skew_s,
        log=log,
        notifier=notifier,
        assets=lambda: engine.mirror.tokens.keys(),
    )
    engine.bus.subscribe(ops.on_event)
    return ops
