"""The App on the real simulator (a child process) and the real engine in its own thread,
driven with Pilot."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Input

from polytui.config import load_settings
from polytui.engine.order_tracker.tracker import ApprovedOrder, OrderType
from polytui.ui.app import PolytuiApp
from polytui.ui.host import EngineHost, default_engine
from polytui.ui.screens.order_ticket import OrderTicket
from tests.processes import process_is_gone
from tests.ui.conftest import until
from tests.ui.textdump import screen_text

pytestmark = pytest.mark.slow


def make_app(
    tmp_path: Path, factory: Any = default_engine, mode: str = "sim", **sim: object
) -> PolytuiApp:
    settings = load_settings(
        overrides={
            "paths": {"data_dir": tmp_path / "data"},
            "sim": {"markets": 4, **sim},
            "ui": {"refresh_hz": 10, "theme": "polytui-dark"},
            "metrics": {"port": 0},
            "run": {"mode": mode},
        }
    )
    return PolytuiApp(settings, host=partial(EngineHost, engine_factory=factory))


def recording_kill(calls: list[tuple[str, str]], wallet: dict[str, str] | None = None) -> Any:
    """The real engine, whose kill switch records each call (and then engages the real one,
    which cancels every order at the simulator). ``wallet`` gets the engine's address."""

    def factory(settings, venue, key):  # noqa: ANN001, ANN202
        if wallet is not None:
            wallet["address"] = key.address
        engine = default_engine(settings, venue, key)
        real = getattr(engine, "kill", None)

        async def kill(reason: str, source: str = "engine") -> str:
            calls.append((reason, source, threading.current_thread().name))
            return await real(reason, source) if real is not None else "recorded"

        engine.kill = kill
        return engine

    return factory


def get(url: str) -> Any:
    return httpx.get(url, timeout=5).json()


async def rest_an_order(app: PolytuiApp, admin: str) -> str:
    """A GTC buy two ticks under the touch, sent by the engine's own tracker on its loop;
    answers the order's id."""
    market = next(m for m in get(f"{admin}/markets") if m["accepting_orders"])
    token = market["tokens"][0]
    book = get(f"{admin}/book?token_id={token}")
    tick = Decimal(market["tick_size"])
    bid = max(Decimal(level["price"]) for level in book["bids"])
    intent = ApprovedOrder(
        intent_id="ui-test:resting",
        strategy="manual",
        market=market["condition_id"],
        asset_id=token,
        side="BUY",
        price=bid - 2 * tick,
        size=Decimal(10),
        order_type=OrderType.GTC,
    )
    engine = app.host.engine
    sent = asyncio.run_coroutine_threadsafe(engine.tracker.submit(intent), app.host._loop)
    outcome = await asyncio.wrap_future(sent)
    return outcome.order_id


def live_markets(app: PolytuiApp) -> int:
    view = app.main.latest.get("markets")
    return sum(1 for r in view.rows if r.state == "LIVE") if view is not None else 0


async def test_the_app_shows_live_books_from_the_simulator_and_stops_it_on_quit(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert "SIM" in screen_text(app).splitlines()[0]  # from the first frame
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        host: EngineHost = app.host
        assert host.engine is not None
        assert threading.current_thread() is threading.main_thread()
        text = screen_text(app)
        assert "SIM" in text.splitlines()[0] and "running" in text.splitlines()[0]
        assert "4 of 4 markets shown, 4 with every book LIVE" in text
        await pilot.press("enter")
        await until(pilot, lambda: app.main.latest.get("book") is not None)
        await until(pilot, lambda: "YES LIVE" in screen_text(app))
        await pilot.press("5")
        await until(pilot, lambda: "8/8 LIVE" in screen_text(app))
        sim_pid = _sim_pid(host)
        assert not process_is_gone(sim_pid)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    assert host.finished.wait(10)
    assert process_is_gone(sim_pid)  # quitting stopped the simulator child


async def test_the_kill_key_reaches_the_engine_with_the_ticket_open_and_an_input_focused(
    tmp_path: Path,
) -> None:
    calls: list[tuple[str, str, str]] = []
    wallet: dict[str, str] = {}
    app = make_app(tmp_path, recording_kill(calls, wallet))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        await until(pilot, lambda: app.main.latest.get("book") is not None)
        engine = app.host.engine
        admin = app.host.simulator.endpoints.admin
        resting = await rest_an_order(app, admin)
        live = f"{admin}/orders?signer={wallet['address']}&state=LIVE"
        await until(pilot, lambda: resting in {o["order_id"] for o in get(live)}, timeout_s=10)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OrderTicket))
        await pilot.press("1", "0")
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+k")
        assert app.halted
        await until(pilot, lambda: calls)
        reason, source, thread = calls[0]
        assert source == "tui"
        assert thread != threading.main_thread().name  # it ran on the engine's own thread
        await until(pilot, lambda: engine.kill_switch.engaged)
        # every order cancelled at the simulator, well inside the kill switch's 2 s
        await until(pilot, lambda: get(live) == [], timeout_s=4)
        assert "HALTED" in screen_text(app)
        # the ticket's preview is asked again, and the risk engine's first gate now says no
        await until(pilot, lambda: "REJECTED [kill_switch]" in screen_text(app))
        await pilot.press("ctrl+q")


async def test_x_in_the_orders_pane_cancels_the_highlighted_order_at_the_simulator(
    tmp_path: Path,
) -> None:
    wallet: dict[str, str] = {}
    app = make_app(tmp_path, recording_kill([], wallet))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        admin = app.host.simulator.endpoints.admin
        resting = await rest_an_order(app, admin)
        live = f"{admin}/orders?signer={wallet['address']}&state=LIVE"
        await until(pilot, lambda: resting in {o["order_id"] for o in get(live)}, timeout_s=10)
        await pilot.press("3")
        await until(pilot, lambda: "1 open" in screen_text(app))
        assert app.focused is not None and app.focused.id == "orders-table"
        await pilot.press("x")
        await until(pilot, lambda: get(live) == [], timeout_s=4)  # gone at the venue
        await until(pilot, lambda: "0 open" in screen_text(app) and "CANCELED" in screen_text(app))
        assert not app.halted and not app.host.engine.kill_switch.engaged  # only that order
        notes = lambda: [str(n.message) for n in app._notifications]  # noqa: E731
        await until(pilot, lambda: f"order {resting[:12]} cancelled" in notes())
        await pilot.press("x")  # a cancelled order: said, nothing sent
        await until(pilot, lambda: "that order is CANCELED: nothing to cancel" in notes())
        await pilot.press("ctrl+q")


async def test_paper_mode_is_shown_and_its_orders_never_reach_the_venue(tmp_path: Path) -> None:
    wallet: dict[str, str] = {}

    def factory(settings, venue, key):  # noqa: ANN001, ANN202
        wallet["address"] = key.address
        return default_engine(settings, venue, key)

    app = make_app(tmp_path, factory, mode="paper")
    async with app.run_test(size=(120, 36)) as pilot:
        first = screen_text(app).splitlines()[0]
        assert "PAPER" in first and "SIM" not in first  # from the first frame
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        engine = app.host.engine
        assert engine.paper is not None  # the same engine as `polytui --paper --no-ui`
        admin = app.host.simulator.endpoints.admin
        order_id = await rest_an_order(app, admin)
        await pilot.press("3")
        await until(pilot, lambda: "ui-test:resting" in str(app.main.latest.get("orders")))
        assert order_id in engine.paper.orders  # resting in the paper venue ...
        sent = get(f"{admin}/orders?signer={wallet['address']}")
        assert sent == []  # ... and nothing at the venue
        assert "PAPER" in screen_text(app).splitlines()[0]
        await pilot.press("ctrl+q")
    assert (tmp_path / "data" / "paper.db").exists()  # its own ledger


async def test_a_simulator_that_cannot_be_reached_is_shown_not_hidden(tmp_path: Path) -> None:
    app = make_app(tmp_path, url="http://127.0.0.1:9")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.main.status.state == "failed", timeout_s=30)
        text = screen_text(app)
        assert "cannot reach the simulator" in text
        assert "SIM" in text.splitlines()[0]


def _sim_pid(host: EngineHost) -> int:
    assert host.simulator is not None and host.simulator.child is not None
    return host.simulator.child.pid
