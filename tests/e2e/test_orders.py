"""Orders that survive anything, with real processes: `polytui sim` on its own, and a headless
engine trading on it with the test strategy.

* SIGKILL at many random (seeded) instants, a restart after each: no two accepted orders share
  a `metadata`, every simulator fill of the wallet is in the ledger exactly once (with its
  final settlement), and the ledger's positions equal the simulator's.
* `polytui kill` during active trading leaves nothing open at the simulator within 2 s, the
  switch survives a restart and `polytui resume` releases it; SIGUSR1 engages it too.
* `polytui kill` with the engine hung (SIGSTOP) still clears the venue, and the hung engine
  engages the switch when it runs again; with the engine gone it is recorded in the ledger.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from polytui.core.orders import FillStatus
from polytui.store.db import make_engine
from polytui.store.ledger import read_model, read_records
from tests.e2e.test_headless import REPO_ROOT, Polytui

pytestmark = pytest.mark.slow

SEED = 20261201


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "POLYTUI_PATHS__DATA_DIR": str(tmp_path / "data"),
        "POLYTUI_RUN__HEARTBEAT_S": "1",
        "POLYTUI_TEST_STRATEGY__ENABLED": "true",
        "POLYTUI_TEST_STRATEGY__INTERVAL_S": "0.15",
        "POLYTUI_TEST_STRATEGY__TAKE_SHARE": "0.5",
        "POLYTUI_TEST_STRATEGY__MAX_OPEN": "6",
        "POLYTUI_ORDERS__HEARTBEAT_S": "1",
        "POLYTUI_ORDERS__RESOLVE_S": "0.5",
        "POLYTUI_RECONCILER__INTERVAL_S": "2",
        "POLYTUI_RECONCILER__FIRST_AFTER_S": "1",
        "POLYTUI_RECONCILER__DATA_LAG_S": "2",
        "POLYTUI_VENUE__WS_BACKOFF_BASE_S": "0.1",
        "POLYTUI_VENUE__WS_BACKOFF_CAP_S": "0.5",
    }


@pytest.fixture
def processes():
    started: list[Polytui] = []

    def spawn(*args: str, env: dict[str, str]) -> Polytui:
        started.append(Polytui(*args, env=env))
        return started[-1]

    yield spawn
    for proc in started:
        if proc.process.poll() is None:
            os.kill(proc.process.pid, signal.SIGCONT)
        proc.kill()


class Sim:
    """A `polytui sim` process and its admin API."""

    def __init__(self, spawn, env: dict[str, str], *args: str) -> None:  # type: ignore[no-untyped-def]
        self.proc = spawn("sim", "--port", "0", *args, env=env)
        self.endpoints = json.loads(self.proc.next_line(timeout=30))
        self.url = self.endpoints["clob"]
        self.http = httpx.Client(base_url=self.endpoints["admin"], timeout=10)

    def get(self, path: str) -> Any:
        r = self.http.get(path)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict) -> Any:
        r = self.http.post(path, json=body)
        r.raise_for_status()
        return r.json()

    def live_orders(self, address: str) -> list[dict]:
        return self.get(f"/orders?signer={address}&state=LIVE")

    def our_trades(self, address: str) -> list[dict]:
        return [t for t in self.get("/trades") if address.lower() in t["parties"]]


def cli(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polytui", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(predicate, timeout: float, step: float = 0.05) -> float:  # type: ignore[no-untyped-def]
    """Seconds it took for ``predicate()`` to hold; fails after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - start


def engine(spawn, sim: Sim, env: dict[str, str]) -> Polytui:  # type: ignore[no-untyped-def]
    return spawn("--no-ui", "--sim-url", sim.url, env=env)


def started(run: Polytui, timeout: float = 30) -> dict[str, Any]:
    """The `trading_started` fields, after the `started` line (which names the address)."""
    address = run.wait_for_event("started", timeout)["fields"]["address"]
    fields = run.wait_for_event("trading_started", timeout)["fields"]
    return {**fields, "address": address}


def fills_at_sim(trades: list[dict], address: str) -> dict[tuple[str, str], str]:
    """(trade id, our order id) -> the trade's status, for every fill of ``address``."""
    ours = address.lower()
    out = {}
    for t in trades:
        status = t["status"].removeprefix("TRADE_STATUS_")
        if t["maker_address"].lower() == ours:  # the trade's `maker_address` is its taker's
            out[(t["id"], t["taker_order_id"])] = status
        for m in t["maker_orders"]:
            if m["maker_address"].lower() == ours:
                out[(t["id"], m["order_id"])] = status
    return out


def test_sigkill_at_random_instants_loses_no_fill_and_doubles_no_order(
    env: dict[str, str], processes, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(SEED)
    sim = Sim(
        processes,
        env,
        "--seed", "11", "--markets", "6", "--rate", "40", "--time-scale", "2",
        "--faults", "order_5xx=0.03,order_drop=0.03,settle_fail=0.1",
    )  # fmt: skip
    kills = 12
    address = ""
    during_startup = 0
    for n in range(kills):
        run = engine(processes, sim, env)
        if n % 4 == 3:  # now and then, while it starts: resolving what the last one left
            time.sleep(rng.uniform(0.3, 1.5))
            during_startup += run.process.poll() is None
        else:
            address = started(run)["address"]
            time.sleep(rng.uniform(0.1, 2.5))
        assert run.process.poll() is None, run.stderr
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(timeout=10)
    assert during_startup >= 2
    # A last run: it settles what the others left, trades a little, then stops trading.
    run = engine(processes, sim, env)
    address = started(run)["address"]
    time.sleep(1.0)
    done = cli("kill", "--reason", "end of test", env=env)
    assert done.returncode == 0, done.stderr
    assert wait_until(lambda: sim.live_orders(address) == [], 5) < 2.0

    def settled() -> bool:
        return all(
            t["status"] in ("TRADE_STATUS_CONFIRMED", "TRADE_STATUS_FAILED")
            for t in sim.our_trades(address)
        )

    wait_until(settled, 20, step=0.2)
    time.sleep(1.5)  # the user channel and a reconciler run bring the last statuses
    run.process.send_signal(signal.SIGTERM)
    code, _, stderr = run.finish()
    assert code == 0, stderr

    accepted = [o for o in sim.get(f"/orders?signer={address}") if o["status"] != "rejected"]
    assert len(accepted) > 20  # it did trade, through every restart
    metadata = Counter(o["metadata"] for o in accepted)
    assert [m for m, count in metadata.items() if count > 1] == []

    db = make_engine(Path(env["POLYTUI_PATHS__DATA_DIR"]) / "polytui.db", write=False)
    try:
        records = list(read_records(db))
        model = read_model(db)
    finally:
        db.dispose()
    recorded = Counter(
        (r.event.trade_id, r.event.order_id) for r in records if r.kind == "fill_recorded"
    )
    at_sim = fills_at_sim(sim.our_trades(address), address)
    assert at_sim, "no fills at all: the test strategy did not trade"
    assert set(recorded) == set(at_sim)
    assert set(recorded.values()) == {1}
    final = {k: str(model.fills[f"{k[0]}:{k[1]}"].status) for k in at_sim}
    assert final == at_sim
    failed = sum(status == FillStatus.FAILED for status in at_sim.values())
    [wallet] = [w for w in sim.get("/wallets") if w["address"].lower() == address.lower()]
    sim_positions = {t: Decimal(s) for t, s in wallet["positions"].items()}
    ours = {a: p.size for a, p in model.positions.items() if p.size}
    assert ours == sim_positions
    assert not [r for r in records if r.kind == "position_corrected"]
    assert model.kill_switch.engaged
    sim.proc.process.send_signal(signal.SIGTERM)
    print(
        f"\n{kills} SIGKILLs ({during_startup} while starting): {len(accepted)} orders accepted, "
        f"{len(at_sim)} fills ({failed} failed settlements), {len(ours)} positions, "
        f"{len(records)} ledger events"
    )


def test_kill_during_trading_clears_the_venue_within_2_s_and_survives_a_restart(
    env: dict[str, str], processes
) -> None:  # type: ignore[no-untyped-def]
    sim = Sim(processes, env, "--seed", "5", "--markets", "4", "--rate", "30")
    run = engine(processes, sim, env)
    address = started(run)["address"]
    wait_until(lambda: len(sim.live_orders(address)) >= 3, 15)
    t0 = time.monotonic()
    killing = subprocess.Popen(
        [sys.executable, "-m", "polytui", "kill", "--reason", "drill"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: sim.live_orders(address) == [], 5, step=0.02)
    assert time.monotonic() - t0 < 2.0
    out, err = killing.communicate(timeout=30)
    assert killing.returncode == 0, err
    assert "engaged by the running engine" in out
    engaged = run.wait_for_event("kill_switch_engaged")["fields"]
    assert (engaged["reason"], engaged["source"]) == ("drill", "cli")
    time.sleep(1.0)
    assert sim.live_orders(address) == []  # and nothing new is sent
    run.process.send_signal(signal.SIGTERM)
    assert run.finish()[0] == 0

    status = cli("status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["kill_switch"]["engaged"] and report["engine"]["running"] is False

    run = engine(processes, sim, env)  # a restart: still engaged
    fields = started(run)
    assert fields["kill_switch"] is True
    time.sleep(1.0)
    before = len(sim.get(f"/orders?signer={address}"))
    resumed = cli("resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "released by the running engine" in resumed.stdout
    run.wait_for_event("kill_switch_released")
    wait_until(lambda: len(sim.get(f"/orders?signer={address}")) > before, 10)  # trading again
    running = json.loads(cli("status", "--json", env=env).stdout)
    assert running["engine"]["running"] and not running["kill_switch"]["engaged"]
    assert running["wallet"] == address

    run.process.send_signal(signal.SIGUSR1)  # the signal engages it as well
    engaged = run.wait_for_event("kill_switch_engaged")["fields"]
    assert (engaged["reason"], engaged["source"]) == ("SIGUSR1", "signal")
    wait_until(lambda: sim.live_orders(address) == [], 3)
    run.process.send_signal(signal.SIGTERM)
    code, records, stderr = run.finish()
    assert code == 0, stderr
    secrets = wallet_secrets(sim, Path(env["POLYTUI_PATHS__DATA_DIR"]))
    said = "".join(run.seen) + stderr + out + err
    files = b"".join(p.read_bytes() for p in Path(env["POLYTUI_PATHS__DATA_DIR"]).iterdir()
                     if p.is_file() and p.name != "sim-key")  # fmt: skip
    for secret in secrets:
        assert secret not in said and secret.encode() not in files
    sim.proc.process.send_signal(signal.SIGTERM)


def wallet_secrets(sim: Sim, data_dir: Path) -> list[str]:
    """The wallet's private key and its API secret and passphrase (derived again here)."""
    import asyncio

    from polytui.engine.credentials import DerivedCredentials
    from polytui.keys import load_or_create_sim_key
    from polytui.protocol.signing import SigningKey
    from polytui.venue.endpoints import Endpoints
    from polytui.venue.http import HttpClient

    key = load_or_create_sim_key(data_dir)

    async def derive():  # type: ignore[no-untyped-def]
        async with HttpClient(Endpoints.from_json(sim.endpoints)) as http:
            return await DerivedCredentials().api_creds(http, SigningKey(key.private_key))

    creds = asyncio.run(derive())
    return [key.private_key.removeprefix("0x"), creds.secret, creds.passphrase]


def test_kill_works_with_the_engine_hung_and_with_it_gone(env: dict[str, str], processes) -> None:  # type: ignore[no-untyped-def]
    sim = Sim(processes, env, "--seed", "6", "--markets", "4", "--rate", "30")
    run = engine(processes, sim, env)
    address = started(run)["address"]
    wait_until(lambda: len(sim.live_orders(address)) >= 3, 15)
    os.kill(run.process.pid, signal.SIGSTOP)  # hung: holds the ledger, answers nothing
    t0 = time.monotonic()
    killing = cli("kill", "--reason", "hung", env=env)
    assert killing.returncode == 0, killing.stderr
    assert "gave no answer" in killing.stdout
    assert sim.live_orders(address) == []
    # a whole `polytui kill` process (its start included) with a 1 s wait for the engine's
    # answer; a generous bound, as a loaded 2-core machine starts Python slowly
    assert time.monotonic() - t0 < 10
    os.kill(run.process.pid, signal.SIGCONT)  # it wakes up: the kill is waiting for it
    engaged = run.wait_for_event("kill_switch_engaged")["fields"]
    assert engaged["reason"] == "hung"
    time.sleep(0.5)
    assert sim.live_orders(address) == []
    run.process.send_signal(signal.SIGKILL)
    run.process.wait()

    released = cli("resume", env=env)  # no engine: in the ledger
    assert released.returncode == 0, released.stderr
    assert "no engine was running" in released.stdout
    gone = cli("kill", "--reason", "gone", "--sim-url", sim.url, env=env)
    assert gone.returncode == 0, gone.stderr
    assert "no engine was running" in gone.stdout
    run = engine(processes, sim, env)
    assert started(run)["kill_switch"] is True
    time.sleep(1.0)
    assert sim.live_orders(address) == []
    run.process.send_signal(signal.SIGTERM)
    assert run.finish()[0] == 0
    sim.proc.process.send_signal(signal.SIGTERM)
