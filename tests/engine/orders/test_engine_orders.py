"""The engine with its order side, on an in-process simulator: a restart settles what the
ledger left open (never re-sending it), the control channel, the health file (no secrets in
it), a kill left for a hung engine, a reconnect that triggers the reconciler, and the test
strategy trading through the tracker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account

from polytui.config import load_settings
from polytui.core.clock import SystemClock
from polytui.core.orders import OPEN_ORDER_STATES, OrderState
from polytui.engine.control import kill_request_path, request, write_kill_request
from polytui.engine.credentials import CHAIN_ID, DerivedCredentials
from polytui.engine.health_file import read_health
from polytui.engine.kernel import Engine
from polytui.engine.order_tracker import ApprovedOrder, OrderTracker
from polytui.engine.startup import connect_venue
from polytui.keys import SimKey
from polytui.protocol.signing import OrderSigner, SigningKey
from polytui.store.store import Store
from polytui.venue.endpoints import Endpoints
from polytui.venue.trading import ClobTrader
from tests.sim.conftest import Running
from tests.venue.test_ws import eventually

pytestmark = pytest.mark.slow


def settings_for(tmp_path: Path, **sections):  # type: ignore[no-untyped-def]
    base = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "orders": {"resolve_s": 0.2, "flush_s": 0.2, "heartbeat_s": 1.0},
        "reconciler": {"interval_s": 60, "first_after_s": 60},
        "venue": {"ws_backoff_base_s": 0.05, "ws_backoff_cap_s": 0.1},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return load_settings(None, base)


@contextlib.asynccontextmanager
async def running_engine(running: Running, settings, key: SimKey):  # type: ignore[no-untyped-def]
    async with connect_venue(Endpoints.from_json(running.endpoints), settings.venue) as venue:
        engine = Engine(settings, venue, key=key, rng=random.Random(1))
        task = asyncio.create_task(engine.run())
        ready = asyncio.create_task(engine.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()
        try:
            yield engine
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
def key() -> SimKey:
    return SimKey(bytes(Account.create().key))


def resting_intent(running: Running, intent_id: str) -> ApprovedOrder:
    m = next(
        m
        for m in running.sim.exchange.markets.values()
        if m.tradable and all(running.sim.exchange.best(m, m.yes_token))
    )
    bid, _ = running.sim.exchange.best(m, m.yes_token)
    tick = Decimal(m.tick) / 10_000
    return ApprovedOrder(
        intent_id=intent_id,
        strategy="test",
        market=m.condition_id,
        asset_id=m.yes_token,
        side="BUY",
        price=Decimal(bid) / 10_000 - 2 * tick,
        size=Decimal(5),
        tick=tick,
        neg_risk=m.neg_risk,
    )


async def accepted(running: Running, key: SimKey) -> list[dict]:
    rows = await running.admin("GET", f"/orders?signer={key.address}")
    return [r for r in rows if r["status"] != "rejected"]


async def test_a_restart_settles_open_orders_by_id_and_never_resends(
    venue: Running, tmp_path: Path, key: SimKey, http_for
) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(tmp_path)
    http = http_for(venue)
    signing = SigningKey(key.private_key)
    creds = await DerivedCredentials().api_creds(http, signing)
    trader = ClobTrader(http, key.address, creds)
    store = await Store.open(settings.paths.db, SystemClock())
    tracker = OrderTracker(store, trader, OrderSigner(key.private_key, CHAIN_ID), SystemClock())

    class Crash(BaseException):
        pass

    real = trader.post_order

    async def post_then_crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        await real(*args, **kwargs)
        raise Crash

    trader.post_order = post_then_crash  # type: ignore[method-assign]
    for n in range(2):
        with pytest.raises(Crash):
            await tracker.submit(resting_intent(venue, f"restart:{n}"))
    await store.close()
    async with running_engine(venue, settings, key) as engine:
        states = {o.intent_id: o.state for o in engine.store.model.orders.values()}
        assert states == {"restart:0": OrderState.LIVE, "restart:1": OrderState.LIVE}
        assert engine.heartbeat.beats >= 1  # beat at once: those orders must not expire
        again = await engine.tracker.submit(resting_intent(venue, "restart:0"))
        assert again.state is OrderState.LIVE
    assert len(await accepted(venue, key)) == 2


async def test_the_control_channel_kills_and_resumes_within_a_second(
    venue: Running, tmp_path: Path, key: SimKey
) -> None:
    settings = settings_for(tmp_path)
    async with running_engine(venue, settings, key) as engine:
        for n in range(3):
            await engine.tracker.submit(resting_intent(venue, f"ctl:{n}"))
        path = engine.control_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert (await asyncio.to_thread(request, path, {"command": "ping"})).answer == {
            "ok": True,
            "pid": os.getpid(),
        }
        reply = await asyncio.to_thread(
            request, path, {"command": "kill", "reason": "test", "source": "cli"}, 1.0
        )
        assert reply.answer["ok"] and reply.answer["engaged"]
        assert engine.kill_switch.engaged
        assert await engine.kill_switch.wait_clear(5)
        assert await engine.trader.open_orders() == []
        bad = await asyncio.to_thread(request, path, {"command": "dance"})
        assert bad.answer == {"ok": False, "error": "unknown command 'dance'"}
        garbage = await asyncio.to_thread(request, path, ["not", "an", "object"])
        assert garbage.answer["ok"] is False
        status = await asyncio.to_thread(request, path, {"command": "status"})
        assert status.answer["health"]["kill_switch"]["engaged"] is True
        resumed = await asyncio.to_thread(request, path, {"command": "resume"})
        assert resumed.answer["engaged"] is False and not engine.kill_switch.engaged
    assert not path.exists()  # the socket goes with the engine
    gone = await asyncio.to_thread(request, path, {"command": "ping"})
    assert (gone.answered, gone.problem) == (False, "no engine")


async def test_the_health_file_is_fresh_whole_and_holds_no_secret(
    venue: Running, tmp_path: Path, key: SimKey
) -> None:
    settings = settings_for(tmp_path)
    async with running_engine(venue, settings, key) as engine:
        await engine.tracker.submit(resting_intent(venue, "health:1"))

        def written() -> bool:
            return ((read_health(engine.health_path) or {}).get("orders") or {}).get("open") == 1

        await eventually(written, within=3)
        health = read_health(engine.health_path)
        creds = engine.trader.creds
        raw = engine.health_path.read_text()
    assert health["address"] == key.address
    assert health["orders"]["open"] == 1
    assert health["venue"]["clob"] == venue.endpoints["clob"]
    for secret in (creds.secret, creds.passphrase, key.private_key, key.private_key[2:]):
        assert secret not in raw
    assert stat.S_IMODE(engine.health_path.stat().st_mode) == 0o600
    assert json.loads(engine.health_path.read_text())["stopped"] is True


async def test_a_kill_left_for_a_hung_engine_is_engaged_when_it_runs(
    venue: Running, tmp_path: Path, key: SimKey
) -> None:
    settings = settings_for(tmp_path)
    async with running_engine(venue, settings, key) as engine:
        await engine.tracker.submit(resting_intent(venue, "req:1"))
        path = kill_request_path(settings.paths.db, settings.paths.data_dir)
        write_kill_request(path, "left for it", "cli", 0)
        await eventually(lambda: engine.kill_switch.engaged, within=3)
        # Blocked in memory at once; the ledger has it once the durable write returned.
        await eventually(lambda: engine.store.model.kill_switch.engaged, within=3)
        assert engine.store.model.kill_switch.reason == "left for it"
        assert await engine.kill_switch.wait_clear(5)
        assert not path.exists()


async def test_a_kill_request_is_engaged_at_start(
    venue: Running, tmp_path: Path, key: SimKey
) -> None:
    settings = settings_for(tmp_path)
    path = kill_request_path(settings.paths.db, settings.paths.data_dir)
    write_kill_request(path, "before start", "cli", 0)
    async with running_engine(venue, settings, key) as engine:
        assert engine.kill_switch.engaged  # before anything could be sent
    assert not path.exists()


async def test_a_user_channel_reconnect_runs_the_reconciler(
    venue: Running, tmp_path: Path, key: SimKey
) -> None:
    settings = settings_for(tmp_path)
    async with running_engine(venue, settings, key) as engine:
        await eventually(lambda: engine.user_stream.connected, within=3)
        assert engine.scheduler.jobs["reconcile"].runs == 0
        await venue.admin("POST", "/disconnect", {"channel": "user"})
        await eventually(lambda: engine.scheduler.jobs["reconcile"].runs == 1, within=5)
        assert engine.feed.resyncs == 1
        assert engine.reconciler.last is not None


async def test_the_test_strategy_trades_through_the_tracker(
    venue: Running, tmp_path: Path, key: SimKey
) -> None:
    settings = settings_for(
        tmp_path, test_strategy={"enabled": True, "interval_s": 0.05, "take_share": 0.5}
    )
    async with running_engine(venue, settings, key) as engine:

        def traded() -> bool:
            model = engine.store.model
            return len(model.fills) >= 2 and any(
                o.state in OPEN_ORDER_STATES for o in model.orders.values()
            )

        await eventually(traded, within=10)
        stats = engine.test_strategy.stats()
        assert stats["rest"] and stats["take"]
        intents = [o.intent_id for o in engine.store.model.orders.values()]
        assert all(i.startswith("test_strategy:") for i in intents)
        resting = sum(
            o.state in OPEN_ORDER_STATES and o.order_type == "GTC"
            for o in engine.store.model.orders.values()
        )
        assert resting <= settings.test_strategy.max_open + 1
    metadata = [r["metadata"] for r in await accepted(venue, key)]
    assert len(metadata) == len(set(metadata)) == len(intents)
