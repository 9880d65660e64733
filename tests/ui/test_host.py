"""The engine host's own rules: which Engine it builds, the cancel-on-exit policy, log records
as event lines, and a stop that comes before the loop exists."""

from __future__ import annotations

import logging

from polytui.config import load_settings
from polytui.ui import host as host_module
from polytui.ui.bridge import Bridge
from polytui.ui.host import EngineHost, default_engine
from polytui.ui.messages import EngineStatus


class Posts(list):
    def __call__(self, message: object) -> None:
        self.append(message)


def make_host(**ui: object) -> tuple[EngineHost, Posts, Bridge]:
    posts = Posts()
    bridge = Bridge(posts, refresh_hz=0)
    settings = load_settings(overrides={"ui": ui} if ui else None)
    return EngineHost(settings, bridge, posts), posts, bridge


def test_the_engine_gets_the_wallet_key_when_it_takes_one(monkeypatch) -> None:
    made = {}

    class WithKey:
        def __init__(self, settings, venue, *, key=None):  # noqa: ANN001
            made["key"] = key

    class WithoutKey:
        def __init__(self, settings, venue):  # noqa: ANN001
            made["key"] = "none taken"

    monkeypatch.setattr(host_module, "Engine", WithKey)
    default_engine(load_settings(), object(), "the key")  # type: ignore[arg-type]
    assert made["key"] == "the key"
    monkeypatch.setattr(host_module, "Engine", WithoutKey)
    default_engine(load_settings(), object(), "the key")  # type: ignore[arg-type]
    assert made["key"] == "none taken"


async def test_open_orders_are_cancelled_through_the_engine_or_its_tracker() -> None:
    host, posts, _ = make_host()
    calls = []

    class Tracker:
        async def cancel_all(self) -> list[str]:
            calls.append("tracker")
            return ["o1"]

    class Engine:
        tracker = Tracker()

    await host._cancel_open_orders(Engine())
    assert calls == ["tracker"]
    assert any(isinstance(m, EngineStatus) and "cancelled" in m.detail for m in posts)

    class Direct:
        async def cancel_all(self) -> None:
            calls.append("engine")

        tracker = Tracker()

    await host._cancel_open_orders(Direct())
    assert calls == ["tracker", "engine"]  # the engine's own cancel-all first, and only it


def test_a_stop_before_the_loop_exists_stops_it_at_once() -> None:
    host, posts, _ = make_host()
    host.stop()
    host.run()  # returns without starting anything
    assert host.finished.is_set()


async def test_polytui_log_records_become_event_lines_not_terminal_output(capsys) -> None:
    host, _, bridge = make_host()
    undo = host._route_logging()
    try:
        logging.getLogger("polytui.engine.mirror").warning("fetching %d books failed", 3)
        logging.getLogger("polytui.engine").info("not worth a line")
    finally:
        undo()
    assert [line.text for line in bridge._lines] == [
        "polytui.engine.mirror: fetching 3 books failed"
    ]
    assert capsys.readouterr().err == ""
