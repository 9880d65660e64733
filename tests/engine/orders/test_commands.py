"""`polytui status`, `kill` and `resume` as functions, with no engine running, with an engine
that holds the ledger but does not answer (it hangs), against an in-process simulator."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from polytui.config import load_settings
from polytui.core import ledger_events as ev
from polytui.core.clock import SystemClock
from polytui.engine.control import control_path, kill_request_path, read_kill_request
from polytui.engine.credentials import CHAIN_ID, DerivedCredentials
from polytui.engine.health_file import health_path, write_atomically
from polytui.engine.kill_command import kill, resume
from polytui.engine.order_tracker import OrderTracker
from polytui.engine.status import status
from polytui.keys import load_or_create_sim_key
from polytui.protocol.signing import OrderSigner, SigningKey
from polytui.store.store import Store
from polytui.venue.trading import ClobTrader
from tests.engine.orders.test_engine_orders import resting_intent
from tests.sim.conftest import Running


@pytest.fixture
def settings(tmp_path: Path, venue: Running):  # type: ignore[no-untyped-def]
    return load_settings(
        None,
        {"paths": {"data_dir": str(tmp_path / "data")}, "sim": {"url": venue.endpoints["clob"]}},
    )


async def trading(settings, venue: Running, http_for, orders: int = 2) -> tuple[Store, ClobTrader]:  # type: ignore[no-untyped-def]
    """Rest ``orders`` orders with the data dir's wallet, through a tracker over the ledger;
    the store stays open (the writer) for the caller."""
    key = load_or_create_sim_key(settings.paths.data_dir)
    http = http_for(venue)
    creds = await DerivedCredentials().api_creds(http, SigningKey(key.private_key))
    trader = ClobTrader(http, key.address, creds)
    store = await Store.open(settings.paths.db, SystemClock())
    tracker = OrderTracker(store, trader, OrderSigner(key.private_key, CHAIN_ID), SystemClock())
    for n in range(orders):
        await tracker.submit(resting_intent(venue, f"cmd:{n}"))
    return store, trader


def run(fn, *args, **kwargs) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    code = fn(*args, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


async def test_kill_with_no_engine_cancels_at_the_venue_and_records_it(
    settings, venue: Running, http_for
) -> None:  # type: ignore[no-untyped-def]
    store, trader = await trading(settings, venue, http_for)
    await store.close()  # the engine is gone; its orders still rest
    assert len(await trader.open_orders()) == 2
    code, out, err = await asyncio.to_thread(run, kill, settings, settings.paths.db, "gone")
    assert code == 0, err
    assert "recorded in the ledger; no engine was running" in out
    assert "none open" in out
    assert await trader.open_orders() == []
    store = await Store.open(settings.paths.db, SystemClock())
    ks = store.model.kill_switch
    assert (ks.engaged, ks.reason, ks.source) == (True, "gone", "cli")
    await store.close()
    code, out, _ = await asyncio.to_thread(run, resume, settings, settings.paths.db)
    assert code == 0 and "released (recorded in the ledger" in out
    code, out, _ = await asyncio.to_thread(run, resume, settings, settings.paths.db)
    assert code == 0 and "was not engaged" in out


class HungEngine:
    """A control socket that takes connections and never answers: an engine that hangs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


async def test_kill_with_a_hung_engine_still_clears_the_venue_and_leaves_the_kill(
    settings, venue: Running, http_for
) -> None:  # type: ignore[no-untyped-def]
    store, trader = await trading(settings, venue, http_for)  # it holds the ledger...
    hung = HungEngine(control_path(settings.paths.db, settings.paths.data_dir))  # ...mute
    try:
        code, out, err = await asyncio.to_thread(run, kill, settings, settings.paths.db, "hang")
    finally:
        hung.close()
    assert code == 0, err
    assert "gave no answer" in out and "none open" in out
    assert await trader.open_orders() == []
    request = read_kill_request(kill_request_path(settings.paths.db, settings.paths.data_dir))
    assert request["reason"] == "hang"
    assert not store.model.kill_switch.engaged  # the ledger is the engine's: not written
    code, _, err = await asyncio.to_thread(run, resume, settings, settings.paths.db)
    assert code == 1 and "does not answer" in err
    await store.close()


async def test_kill_without_a_known_venue_says_so_and_fails(tmp_path: Path) -> None:
    settings = load_settings(None, {"paths": {"data_dir": str(tmp_path / "data")}})
    load_or_create_sim_key(settings.paths.data_dir)
    code, out, err = await asyncio.to_thread(run, kill, settings, settings.paths.db, "x")
    assert code == 1
    assert "venue unknown" in err
    assert "engaged (recorded in the ledger" in out  # still engaged for the next start


async def test_status_shows_the_ledger_and_the_health_file(tmp_path: Path) -> None:
    from polytui.core.orders import FillStatus, OrderState
    from tests.ledger_data import ASSET_A, fill, intent, settle, signed

    settings = load_settings(None, {"paths": {"data_dir": str(tmp_path / "data")}})
    settings.paths.data_dir.mkdir(parents=True)
    store = await Store.open(settings.paths.db, SystemClock())
    await store.append_many(
        [
            intent("i1"),
            signed("i1", "0x" + "11" * 32),
            ev.OrderSubmitted(order_id="0x" + "11" * 32),
            ev.OrderStateChanged(order_id="0x" + "11" * 32, state=OrderState.LIVE),
            intent("i2"),
            signed("i2", "0x" + "22" * 32),
            fill("t1", "0x" + "22" * 32, size="10"),
            fill("t2", "0x" + "22" * 32, size="4"),
            settle("t1", "0x" + "22" * 32, FillStatus.CONFIRMED),
            ev.KillSwitchEngaged(ref="k", reason="drawdown", source="tui"),
        ]
    )
    await store.close()
    now_s = 1_795_000_010.0
    write_atomically(
        health_path(settings.paths.db, settings.paths.data_dir),
        {
            "written_ms": int(now_s * 1000) - 500,
            "pid": __import__("os").getpid(),
            "address": "0xabc",
            "summary": {"books": {"LIVE": 3, "SUSPECT": 1}},
            "marks": {ASSET_A: "0.5"},
            "alerts": [{"at_ms": 1, "kind": "fill_stuck", "key": "t2", "message": "stuck"}],
            "errors": [],
        },
    )
    code, out, _ = run(
        status, settings.paths.db, settings.paths.data_dir, as_json=True, wall_clock=lambda: now_s
    )
    assert code == 0
    report = json.loads(out)
    assert report["engine"]["running"] is True and report["wallet"] == "0xabc"
    assert report["kill_switch"]["engaged"] is True
    assert [o["state"] for o in report["open_orders"]] == ["LIVE"]
    [position] = report["positions"]
    assert (position["size"], position["sellable"], position["pending"]) == ("14", "10", "4")
    assert Decimal(position["unrealised"]) == Decimal("0.70")
    assert report["fills"] == {"count": 2, "by_status": {"CONFIRMED": 1, "MATCHED": 1}}
    assert report["books"] == {"LIVE": 3, "SUSPECT": 1}
    assert report["last_errors"][0]["kind"] == "fill_stuck"
    code, text, _ = run(
        status, settings.paths.db, settings.paths.data_dir, wall_clock=lambda: now_s + 60
    )
    assert code == 0
    assert text.splitlines()[0] == "engine: NOT RUNNING (last health 60 s ago)"
    assert "kill switch: ENGAGED" in text and "open orders: 1" in text
    assert "books: LIVE 3, SUSPECT 1" in text and "fill_stuck: stuck" in text


def test_status_without_a_ledger_is_an_error(tmp_path: Path) -> None:
    code, _, err = run(status, tmp_path / "none.db", tmp_path)
    assert code == 1 and "no ledger at" in err
