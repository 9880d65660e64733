"""The ops runtime on a fake clock: snapshots for scrapes, rules, alerts out, sd_notify."""

from __future__ import annotations

import asyncio
import os
import socket

from polytui.core.clock import FakeClock
from polytui.ops.runtime import OpsRuntime
from polytui.ops.settings import AlertSettings, MetricsSettings, WebhookSettings
from polytui.ops.systemd import SystemdNotifier


class Settings:
    def __init__(self, **alerts) -> None:
        self.metrics = MetricsSettings(port=0, refresh_s=1)
        self.alerts = AlertSettings(
            webhooks=(WebhookSettings(url="http://127.0.0.1:9/x", format="json"),), **alerts
        )


async def settle(clock: FakeClock, seconds: int) -> None:
    for _ in range(seconds * 4):
        clock.advance(250)
        for _ in range(5):
            await asyncio.sleep(0)


async def test_rules_fire_once_resolve_and_reach_the_webhook_and_the_log() -> None:
    clock = FakeClock()
    health = {"scanner": {"stalled": False}}
    posted: list[dict] = []
    logged: list[tuple[str, dict]] = []

    async def post(url: str, body: dict, timeout_s: float) -> int:
        posted.append(body)
        return 200

    ops = OpsRuntime(
        Settings(),
        clock,
        lambda: health,
        post=post,
        log=lambda event, level="info", **f: logged.append((event, f)),
        notifier=SystemdNotifier({}),
        clock_skew_s=0.1,
    )
    task = asyncio.create_task(ops.run())
    await settle(clock, 3)
    health["scanner"] = {"stalled": True, "lag_ms": 20_000}
    await settle(clock, 5)
    health["scanner"] = {"stalled": False}
    await settle(clock, 2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [(b["rule"], b["status"]) for b in posted] == [
        ("scanner_stalled", "firing"),
        ("scanner_stalled", "resolved"),
    ]
    alerts = [f for event, f in logged if event == "alert"]
    assert [f["status"] for f in alerts] == ["firing", "resolved"]
    snapshot, _ = ops.metrics.snapshot()
    assert snapshot["ops"]["alerts_sent"] == {"json-0": {"ok": 2}}
    assert snapshot["ops"]["clock_skew_s"] == 0.1


async def test_the_clock_is_checked_on_schedule_and_a_failing_check_changes_nothing() -> None:
    clock = FakeClock()
    answers = [3.5, RuntimeError("down")]

    async def skew() -> float:
        answer = answers.pop(0) if answers else 0.2
        if isinstance(answer, Exception):
            raise answer
        return answer

    ops = OpsRuntime(
        Settings(clock_check_s=10), clock, dict, server_time=skew, notifier=SystemdNotifier({})
    )
    task = asyncio.create_task(ops.run())
    await settle(clock, 11)
    assert ops.rules.clock_skew_s == 3.5
    assert [n.condition.rule for n in ops.evaluate_once()] == []  # already firing
    assert "clock_skew" in ops.manager.firing
    await settle(clock, 10)
    assert ops.rules.clock_skew_s == 3.5  # the failed check kept the last figure
    await settle(clock, 10)
    assert ops.rules.clock_skew_s == 0.2
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_sd_notify_datagrams(tmp_path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        notifier = SystemdNotifier(
            {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
        )
        assert notifier.enabled and notifier.watchdog_interval_s == 2.0
        assert notifier.notify(READY=1, STATUS="running")
        assert notifier.notify(WATCHDOG=1)
        assert server.recv(4096) == b"READY=1\nSTATUS=running"
        assert server.recv(4096) == b"WATCHDOG=1"
    assert not notifier.notify(STOPPING=1)  # the socket is gone: counted, not raised
    assert notifier.failed == 1


def test_sd_notify_is_inert_outside_systemd() -> None:
    notifier = SystemdNotifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert not notifier.enabled and notifier.watchdog_interval_s is None
    assert not notifier.notify(READY=1)
    assert SystemdNotifier({"NOTIFY_SOCKET": "@abstract"}).address == "\0abstract"


async def test_the_watchdog_pings_from_the_loop(tmp_path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.setblocking(False)
        clock = FakeClock()
        notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        ops = OpsRuntime(Settings(), clock, dict, notifier=notifier)
        task = asyncio.create_task(ops.run())
        await settle(clock, 3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pings = []
        while True:
            try:
                pings.append(server.recv(100))
            except BlockingIOError:
                break
        assert pings.count(b"WATCHDOG=1") == 3  # at 0, 1 and 2 s: half the timeout
