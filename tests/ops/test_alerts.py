"""Alert rules (pure, on the injected clock), dedupe and resolve, and delivery that never blocks."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from polytui.core.clock import FakeClock
from polytui.engine.mirror import BookState, BookStateChanged, Reason
from polytui.ops import alerts as a
from polytui.ops.settings import AlertSettings, WebhookSettings

S = AlertSettings(
    book_not_live_s=30,
    ws_down_s=10,
    clock_skew_s=2,
    reject_min=3,
    reject_window_s=60,
    reject_rate=0.5,
    repeat_s=600,
    max_per_minute=3,
)
T0 = 1_795_000_000_000


def rules_of(conditions: list[a.Condition]) -> list[str]:
    return [c.key for c in conditions]


def inputs(health: dict | None = None, **kw) -> a.AlertInputs:
    return a.AlertInputs(health=health or {}, now_ms=kw.pop("now_ms", T0), **kw)


def test_a_healthy_engine_raises_nothing() -> None:
    health = {
        "scanner": {"stalled": False},
        "market_stream": {"shards": 1, "connected": 1},
        "kill_switch": {"engaged": False},
        "reconciler": {"drift": 0},
    }
    assert a.evaluate(inputs(health, clock_skew_s=0.3), S) == []


@pytest.mark.parametrize(
    ("health", "kw", "expected"),
    [
        ({"kill_switch": {"engaged": True, "reason": "drawdown"}}, {}, ["kill_switch"]),
        (
            {"risk": {"caps_tripped": ["daily_loss", "per_market"]}},
            {},
            ["cap_tripped:daily_loss", "cap_tripped:per_market"],
        ),
        (
            {"scanner": {"stalled": True, "lag_ms": 20000, "last_error": "timeout"}},
            {},
            ["scanner_stalled"],
        ),
        ({"reconciler": {"drift": 2}}, {}, ["reconciliation_drift"]),
        ({}, {"clock_skew_s": -3.5}, ["clock_skew"]),
        ({}, {"loop_lag_s": 1.5}, ["loop_stall"]),
        ({}, {"not_live_since": {"a1": T0 - 31_000, "a2": T0 - 5_000}}, ["book_not_live"]),
        (
            {"market_stream": {"shards": 2, "connected": 1}},
            {"ws_down_since_ms": T0 - 10_000},
            ["ws_down:market"],
        ),
        ({}, {"user_ws_down_since_ms": T0 - 11_000}, ["ws_down:user"]),
        ({}, {"rejects_in_window": 3, "checked_in_window": 4}, ["reject_spike"]),
        ({}, {"rejects_in_window": 3, "checked_in_window": 10}, []),  # 30 %: under the rate
        ({}, {"rejects_in_window": 2}, []),  # under reject_min
        ({}, {"ws_down_since_ms": T0 - 9_000}, []),  # not down long enough
    ],
)
def test_each_rule(health: dict, kw: dict, expected: list[str]) -> None:
    assert rules_of(a.evaluate(inputs(health, **kw), S)) == expected


def changed(asset: str, old: BookState, new: BookState, at_ms: int) -> BookStateChanged:
    return BookStateChanged(asset, old, new, Reason.BBO_MISMATCH, "", at_ms)


def test_a_book_out_of_live_counts_from_when_it_left_live_until_it_is_back() -> None:
    rules = a.AlertRules(S)
    rules.on_event(changed("a1", BookState.UNPRIMED, BookState.RESYNCING, T0))  # priming: no
    rules.on_event(changed("a2", BookState.LIVE, BookState.SUSPECT, T0))
    rules.on_event(changed("a2", BookState.SUSPECT, BookState.RESYNCING, T0 + 1000))
    assert rules.not_live_since == {"a2": T0}
    assert rules_of(rules.evaluate({}, T0 + 29_000)) == []
    assert rules_of(rules.evaluate({}, T0 + 30_000)) == ["book_not_live"]
    rules.on_event(changed("a2", BookState.RESYNCING, BookState.LIVE, T0 + 31_000))
    assert rules_of(rules.evaluate({}, T0 + 40_000)) == []
    rules.on_event(changed("a3", BookState.LIVE, BookState.SUSPECT, T0))
    rules.keep_only({"a1"})  # a3's market left the universe
    assert rules.not_live_since == {}


def test_ws_down_and_reject_spikes_are_measured_across_evaluations() -> None:
    rules = a.AlertRules(S)
    down = {"market_stream": {"shards": 1, "connected": 0}}
    assert rules.evaluate(down, T0) == []
    assert rules_of(rules.evaluate(down, T0 + 10_000)) == ["ws_down:market"]
    assert rules.evaluate({"market_stream": {"shards": 1, "connected": 1}}, T0 + 11_000) == []
    risk = {"risk": {"rejects": {"caps": 10}, "checked": 20}}
    assert rules.evaluate(risk, T0) == []  # the first sight is the baseline
    risk = {"risk": {"rejects": {"caps": 12, "gates": 1}, "checked": 24}}
    assert rules_of(rules.evaluate(risk, T0 + 30_000)) == ["reject_spike"]
    risk = {"risk": {"rejects": {"caps": 13, "gates": 1}, "checked": 40}}
    assert rules.evaluate(risk, T0 + 200_000) == []  # the window moved on


def test_dedupe_repeat_and_resolve() -> None:
    manager = a.AlertManager(S)
    stalled = a.Condition("scanner_stalled", "scanner_stalled", "warning", "stalled")
    first = manager.update([stalled, stalled], T0)
    assert [(n.status, n.repeat) for n in first] == [("firing", False)]
    assert manager.update([stalled], T0 + 1000) == []  # deduped
    again = manager.update([stalled], T0 + 600_000)
    assert [(n.status, n.repeat, n.since_ms) for n in again] == [("firing", True, T0)]
    assert manager.firing_by_rule() == {"scanner_stalled": 1}
    gone = manager.update([], T0 + 601_000)
    assert [(n.status, n.since_ms) for n in gone] == [("resolved", T0)]
    assert manager.firing == {}


def test_payloads() -> None:
    c = a.Condition(
        "kill_switch",
        "kill_switch",
        "critical",
        "kill switch engaged: drawdown",
        {"reason": "drawdown", "secret": "hidden-value"},
    )
    note = a.Notification("firing", c, T0, T0 + 5000)
    slack = a.webhook_payload(note, "slack", "vps1")
    assert slack["text"] == slack["content"]
    assert slack["text"].startswith("[polytui vps1] CRITICAL kill_switch: kill switch engaged")
    body = a.webhook_payload(note, "json", "vps1")
    assert body["status"] == "firing" and body["rule"] == "kill_switch"
    assert body["fields"] == {"reason": "drawdown", "secret": "***"}
    assert body["since"] == "2026-11-18T11:06:40Z"


class Recorder:
    def __init__(self, answers: list[int | Exception] | None = None, delay: float = 0) -> None:
        self.bodies: list[dict] = []
        self.answers = answers or []
        self.delay = delay

    async def __call__(self, url: str, body: dict, timeout_s: float) -> int:
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if 200 <= answer < 300:
            self.bodies.append(body)
        return answer


def note(key: str = "k") -> a.Notification:
    return a.Notification("firing", a.Condition("r", key, "warning", "s"), T0, T0)


def settings_with(*names: str, **kw) -> AlertSettings:
    hooks = tuple(
        WebhookSettings(url=f"http://127.0.0.1:9/{n}", name=n, format="json") for n in names
    )
    return S.model_copy(update={"webhooks": hooks, **kw})


async def drain(dispatcher: a.Dispatcher, clock: FakeClock, steps: int = 50) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)
        clock.advance(1000)


async def test_rate_limit_per_minute_on_the_engine_clock() -> None:
    clock = FakeClock(T0)
    post = Recorder()
    dispatcher = a.Dispatcher(settings_with("hook"), clock, post=post, host="h")
    task = asyncio.create_task(dispatcher.run())
    for i in range(5):
        dispatcher.submit(note(f"k{i}"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(post.bodies) == 3 and dispatcher.dropped["rate_limited"] == 2
    clock.advance(61_000)
    dispatcher.submit(note("later"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert [b["key"] for b in post.bodies][-1] == "later"
    task.cancel()


async def test_failures_are_retried_then_dropped_and_counted() -> None:
    clock = FakeClock(T0)
    post = Recorder([httpx.ConnectError("refused"), 503, 200, 500, 500, 500, 404])
    dispatcher = a.Dispatcher(settings_with("hook", max_per_minute=100), clock, post=post)
    task = asyncio.create_task(dispatcher.run())
    dispatcher.submit(note("a"))  # refused, 503, then delivered
    dispatcher.submit(note("b"))  # three 500s: dropped
    dispatcher.submit(note("c"))  # 404: the webhook refuses the body, no retry
    await drain(dispatcher, clock)
    assert [b["key"] for b in post.bodies] == ["a"]
    sent = dispatcher.sent["hook"]
    assert (sent["ok"], sent["failed"], sent["error"], sent["status_5xx"]) == (1, 2, 1, 4)
    assert dispatcher.dropped["delivery_failed"] == 2
    task.cancel()


async def test_a_dead_webhook_never_blocks_submit_nor_the_other_webhooks() -> None:
    clock = FakeClock(T0)
    good = Recorder()
    hang = asyncio.Event()

    async def post(url: str, body: dict, timeout_s: float) -> int:
        if url.endswith("/dead"):
            await hang.wait()
        return await good(url, body, timeout_s)

    dispatcher = a.Dispatcher(
        settings_with("dead", "good", queue_size=2, max_per_minute=100), clock, post=post
    )
    task = asyncio.create_task(dispatcher.run())
    for i in range(6):
        dispatcher.submit(note(f"k{i}"))  # returns at once whatever the webhooks do
        await asyncio.sleep(0)
    assert len(good.bodies) == 6
    assert dispatcher.dropped["queue_full"] >= 3  # the dead webhook's queue filled up
    task.cancel()
    hang.set()


async def test_delivery_to_a_real_loopback_receiver() -> None:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(500 if len(received) == 1 else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        settings = S.model_copy(
            update={
                "webhooks": (WebhookSettings(url=url, format="slack"),),
                "retry_backoff_s": 0.01,
            }
        )
        from polytui.core.clock import SystemClock

        dispatcher = a.Dispatcher(settings, SystemClock())
        task = asyncio.create_task(dispatcher.run())
        dispatcher.submit(note())
        for _ in range(200):
            if dispatcher.sent["slack-0"]["ok"]:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        assert len(received) == 2 and set(received[1]) == {"text", "content"}
        assert dispatcher.sent["slack-0"] == {"status_5xx": 1, "ok": 1}
    finally:
        server.shutdown()
        server.server_close()
