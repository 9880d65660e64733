"""Headless operation as a service would run it (issue 10): `polytui sim` with faults as its own
process, `polytui --no-ui --sim-url URL --duration 20` against it with metrics and webhooks on,
then the CLI commands of operations (keys, backup, restore, doctor) as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_headless import REPO_ROOT, events, spawn  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow

FAULTS = "drop=0.02,dup=0.01,reorder=0.01,disconnect=6,http5xx=0.03,http429=0.02,stale_rest=0.05"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A loopback webhook receiver: ``/json`` and ``/slack`` record and answer 204, ``/fail``
    answers 500."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict]] = {"/json": [], "/slack": [], "/fail": []}
        self.raw: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.raw.append(data)
                receiver.bodies.setdefault(self.path, []).append(json.loads(data))
                self.send_response(500 if self.path == "/fail" else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def derived_creds(endpoints: dict, private_key: str):
    from polytui.protocol.signing import SigningKey
    from polytui.venue.clients import open_venue
    from polytui.venue.endpoints import Endpoints
    from polytui.venue.trading import obtain_creds

    async def derive():
        async with open_venue(Endpoints.from_json(endpoints)) as venue:
            return await obtain_creds(venue.http, SigningKey(private_key), chain_id=137)

    return asyncio.run(derive())


def scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def scrape_once_books_are_live(port: int, within_s: float) -> str:
    """The first scrape that counts a LIVE book (the last one tried after ``within_s``): a
    loaded machine primes the books later than an idle one."""
    end = time.monotonic() + within_s
    while True:
        text = scrape(port)
        live = text.partition('polytui_books{state="LIVE"} ')[2].split()
        if (live and float(live[0]) > 0) or time.monotonic() > end:
            return text
        time.sleep(0.25)


def admin(endpoints: dict, path: str, body: dict) -> None:
    httpx.post(f"{endpoints['admin']}/{path}", json=body, timeout=5).raise_for_status()


def test_a_headless_run_against_a_faulty_simulator_serves_metrics_and_alerts(
    spawn,  # noqa: F811
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "POLYTUI_PATHS__DATA_DIR": str(data_dir)}
    sim_ahead_ms = int(time.time() * 1000) + 30_000  # the venue's clock runs 30 s ahead of ours
    sim = spawn(
        "sim",
        "--port",
        "0",
        "--seed",
        "11",
        "--markets",
        "6",
        "--faults",
        FAULTS,
        "--start-ms",
        str(sim_ahead_ms),
        env=env,
    )
    endpoints = json.loads(sim.next_line())
    metrics_port = free_port()
    hooks = [
        {"url": f"{receiver.url}/json", "format": "json", "name": "ops-json"},
        {"url": f"{receiver.url}/slack", "format": "slack", "name": "ops-slack"},
        {"url": f"{receiver.url}/fail", "format": "json", "name": "broken"},
        {"url": f"http://127.0.0.1:{free_port()}/nobody", "format": "discord", "name": "gone"},
    ]
    env.update(
        {
            "POLYTUI_METRICS__PORT": str(metrics_port),
            "POLYTUI_ALERTS__WEBHOOKS": json.dumps(hooks),
            "POLYTUI_ALERTS__EVALUATE_S": "0.5",
            "POLYTUI_ALERTS__RETRIES": "1",
            "POLYTUI_ALERTS__RETRY_BACKOFF_S": "0.2",
            "POLYTUI_ALERTS__BOOK_NOT_LIVE_S": "2",
            "POLYTUI_SCANNER__STALL_AFTER_S": "3",
            "POLYTUI_SCANNER__CADENCE_S": "1",
            "POLYTUI_RUN__HEARTBEAT_S": "2",
            "POLYTUI_VENUE__RETRY_ATTEMPTS": "2",
        }
    )
    run = spawn("--no-ui", "--sim-url", endpoints["clob"], "--duration", "24", env=env)
    listening = run.wait_for_event("metrics_listening", timeout=60)["fields"]
    assert (listening["host"], listening["port"]) == ("127.0.0.1", metrics_port)
    started = time.monotonic()
    scrapes = [scrape_once_books_are_live(metrics_port, within_s=8)]
    admin(endpoints, "faults", {"http5xx": 1.0})  # every REST call fails: the scanner stalls
    time.sleep(6)
    scrapes.append(scrape(metrics_port))
    admin(endpoints, "faults", {"http5xx": 0.03})
    run.process.send_signal(signal.SIGUSR1)  # the kill-switch hook (no kill switch yet)
    time.sleep(max(2.0, 15 - (time.monotonic() - started)))
    scrapes.append(scrape(metrics_port))
    code, records, stderr = run.finish(timeout=60)
    assert code == 0, stderr
    names = events(records)
    assert names[-1] == "stopped" and records[-1]["fields"]["reason"] == "duration"

    # /metrics during the run: engine figures, the stalled scanner, the alert deliveries.
    first, stalled, last = scrapes
    assert (
        'polytui_books{state="LIVE"}' in first and "polytui_stage_latency_seconds_bucket" in first
    )
    live = float(first.split('polytui_books{state="LIVE"} ')[1].split()[0])
    assert live > 0
    assert "polytui_scanner_stalled 1.0" in stalled
    assert "polytui_clock_skew_seconds 3" in last or "polytui_clock_skew_seconds 2" in last
    assert 'polytui_alerts_sent_total{result="ok",webhook="ops-json"}' in last
    assert 'polytui_alerts_dropped_total{reason="delivery_failed"}' in last
    for family in (
        "polytui_resyncs_total",
        "polytui_http_429_total",
        "polytui_ws_reconnects_total",
        "polytui_loop_lag_seconds_bucket",
        "# TYPE polytui_orders gauge",
        "# TYPE polytui_kill_switch_engaged gauge",
        "# TYPE polytui_pnl_usd gauge",
    ):
        assert family in last, family

    # Alerts on the webhooks: the clock skew and the stalled scanner, deduped; the broken
    # webhooks were tried and changed nothing.
    json_alerts = [(b["rule"], b["status"]) for b in receiver.bodies["/json"]]
    assert ("clock_skew", "firing") in json_alerts
    assert ("scanner_stalled", "firing") in json_alerts
    assert json_alerts.count(("clock_skew", "firing")) == 1
    assert all(set(b) == {"text", "content"} for b in receiver.bodies["/slack"])
    assert any("scanner_stalled" in b["text"] for b in receiver.bodies["/slack"])
    assert receiver.bodies["/fail"]  # tried (and retried)
    assert "alert" in names and "kill_switch_engaged" in names  # SIGUSR1

    # No secret anywhere: not the wallet key, not the API credentials the venue derives for it.
    private_key = (data_dir / "sim-key").read_text().strip()
    creds = derived_creds(endpoints, private_key)
    outputs = [json.dumps(records), stderr, *scrapes, *(r.decode() for r in receiver.raw)]
    for secret in (private_key, private_key[2:], creds.secret, creds.passphrase):
        for text in outputs:
            assert secret not in text
    sim.process.send_signal(signal.SIGTERM)
    assert sim.finish()[0] == 0


def test_events_go_to_stdout_and_the_log_to_stderr(spawn, tmp_path: Path) -> None:  # noqa: F811
    env = {
        **os.environ,
        "POLYTUI_PATHS__DATA_DIR": str(tmp_path / "data"),
        "POLYTUI_METRICS__PORT": "0",
    }
    code, records, stderr = spawn("--no-ui", "--events", "--duration", "3", env=env).finish()
    assert code == 0, stderr
    assert records and {r["level"] for r in records} == {"event"}
    assert "universe_changed" in events(records) and "book_state_changed" in events(records)
    changed = records[events(records).index("book_state_changed")]["fields"]
    assert set(changed) == {"asset_id", "old", "new", "reason", "detail", "at_ms"}
    log = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert [r["event"] for r in log][:1] == ["starting"] and log[-1]["event"] == "stopped"


def cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "polytui", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_backup_restore_and_doctor_from_a_shell(tmp_path: Path) -> None:
    from polytui.core.clock import SystemClock
    from polytui.store.ledger import Ledger
    from tests.ledger_data import fill

    data = tmp_path / "data"
    env = {
        **os.environ,
        "POLYTUI_PATHS__DATA_DIR": str(data),
        "POLYTUI_METRICS__PORT": "0",
        "POLYTUI_KEYSTORE_PASSPHRASE": "keystore passphrase",
        "POLYTUI_BACKUP_PASSPHRASE": "backup passphrase",
    }
    key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    imported = cli("keys", "import", env=env, stdin=key + "\n")
    assert imported.returncode == 0, imported.stderr
    assert "address 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23" in imported.stdout
    assert cli("keys", "address", env=env).stdout.strip() == (
        "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
    )
    again = cli("keys", "new", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    no_pass = cli(
        "keys", "creds", env={k: v for k, v in env.items() if k != "POLYTUI_KEYSTORE_PASSPHRASE"}
    )
    assert no_pass.returncode == 1 and "POLYTUI_KEYSTORE_PASSPHRASE" in no_pass.stderr
    derived = cli("keys", "creds", env=env)  # against a child simulator
    assert derived.returncode == 0, derived.stderr
    assert (data / "api-creds.enc").stat().st_mode & 0o777 == 0o600

    ledger = Ledger.open(str(data / "polytui.db"), SystemClock())
    for n in range(12):
        ledger.append([fill(f"t{n}", f"o{n}")])
    ledger.close()
    doctor = cli("doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    for line in (
        "OK    keystore key",
        "OK    api creds",
        "OK    clock skew",
        "OK    balance",
        "OK    ledger         " + str(data / "polytui.db") + ": 12 events",
    ):
        assert line in doctor.stdout, doctor.stdout

    (tmp_path / "backups").mkdir()
    backup = cli("backup", str(tmp_path / "backups"), env=env)
    assert backup.returncode == 0, backup.stderr
    assert "12 events, last seq 12" in backup.stdout
    assert "keys keystore.json, api-creds.enc" in backup.stdout
    path = Path(backup.stdout.split()[1])
    check = cli("restore", str(path), "--check", env=env)
    assert check.returncode == 0 and "OK" in check.stdout
    refused = cli("restore", str(path), env=env)
    assert refused.returncode == 1 and "--force" in refused.stderr
    wrong = cli("restore", str(path), "--check", env={**env, "POLYTUI_BACKUP_PASSPHRASE": "nope"})
    assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr

    new = tmp_path / "new-host"  # the recovery drill: a fresh data directory
    restored = cli("restore", str(path), env={**env, "POLYTUI_PATHS__DATA_DIR": str(new)})
    assert restored.returncode == 0, restored.stderr
    conn = sqlite3.connect(new / "polytui.db")
    assert conn.execute("SELECT COUNT(*) FROM ledger_event").fetchone()[0] == 12
    conn.close()
    moved = {**env, "POLYTUI_PATHS__DATA_DIR": str(new)}
    assert cli("keys", "address", env=moved).stdout.strip().endswith("65c23")
    assert cli("doctor", env=moved).returncode == 0

    outputs = [r.stdout + r.stderr for r in (imported, derived, doctor, backup, check, restored)]
    for secret in (key, key[2:], "keystore passphrase", "backup passphrase"):
        assert not any(secret in text for text in outputs)
