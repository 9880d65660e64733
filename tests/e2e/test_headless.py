"""`polytui --no-ui` as a real process, on the real simulator (a child, or one given by URL)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from tests.processes import process_is_gone

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


class Polytui:
    """A `python -m polytui ...` process whose stdout lines are collected by a thread."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "polytui", *args],
            cwd=REPO_ROOT,
            env=env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.stderr: list[str] = []
        self.pumps = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put)),
            threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr.append)),
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream: IO[str] | None, sink: Callable[[str], None]) -> None:
        assert stream is not None
        for line in stream:
            sink(line)

    def next_line(self, timeout: float = 30.0) -> str:
        line = self.lines.get(timeout=timeout)
        self.seen.append(line)
        return line

    def wait_for_event(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = json.loads(self.next_line(max(0.1, deadline - time.monotonic())))
            if record["event"] == event:
                return record

    def finish(self, timeout: float = 30.0) -> tuple[int, list[dict[str, Any]], str]:
        """Exit code, every JSON record printed, stderr."""
        self.process.wait(timeout=timeout)
        for pump in self.pumps:
            pump.join(timeout=timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return (
            self.process.returncode,
            [json.loads(line) for line in self.seen],
            "".join(self.stderr),
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "POLYTUI_PATHS__DATA_DIR": str(tmp_path / "data"),
        "POLYTUI_RUN__HEARTBEAT_S": "0.5",
    }


@pytest.fixture
def spawn():
    started: list[Polytui] = []

    def _spawn(*args: str, env: dict[str, str]) -> Polytui:
        started.append(Polytui(*args, env=env))
        return started[-1]

    yield _spawn
    for proc in started:
        proc.kill()


def events(records: list[dict[str, Any]]) -> list[str]:
    return [record["event"] for record in records]


def test_a_timed_run_logs_json_lines_and_exits_0(
    env: dict[str, str], spawn, tmp_path: Path
) -> None:
    run = spawn("--no-ui", "--duration", "2", env=env)
    code, records, stderr = run.finish()
    assert code == 0, stderr
    names = events(records)
    assert names[0] == "starting"
    assert names[-1] == "stopped"
    assert names.index("simulator_started") < names.index("started") < names.index("stopping")
    assert "heartbeat" in names
    assert all(set(r) == {"ts", "level", "event", "fields"} for r in records)
    # the collector settled once the engine ran: the imported modules frozen out of every
    # later full collection (gc_policy)
    assert names.count("gc_settled") == 1
    assert names.index("started") < names.index("gc_settled") < names.index("stopping")
    assert records[names.index("gc_settled")]["fields"]["frozen"] > 20_000
    started = records[names.index("started")]["fields"]
    assert started["markets"] > 0
    assert records[-1]["fields"] == records[-1]["fields"] | {"reason": "duration", "exit_code": 0}
    assert process_is_gone(records[names.index("simulator_started")]["fields"]["pid"])

    key_file = tmp_path / "data" / "sim-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    secret = key_file.read_text().strip().removeprefix("0x")
    assert secret not in json.dumps(records)
    assert secret not in stderr


def test_the_wallet_survives_a_restart(env: dict[str, str], spawn) -> None:
    addresses = []
    for _ in range(2):
        code, records, stderr = spawn("--no-ui", "--duration", "0.5", env=env).finish()
        assert code == 0, stderr
        addresses.append(records[events(records).index("started")]["fields"]["address"])
    assert addresses[0] == addresses[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_stops_the_simulator_then_exits_0(
    env: dict[str, str], spawn, sig: signal.Signals
) -> None:
    run = spawn("--no-ui", env=env)
    sim_pid = run.wait_for_event("simulator_started")["fields"]["pid"]
    run.wait_for_event("started")
    run.process.send_signal(sig)
    code, records, stderr = run.finish()
    assert code == 0, stderr
    names = events(records)
    assert names[-4:] == ["stopping", "simulator_stopping", "simulator_stopped", "stopped"]
    assert records[-1]["fields"]["reason"] == sig.name
    assert records[names.index("simulator_stopped")]["fields"]["returncode"] == 0
    assert process_is_gone(sim_pid)


def simulators_started_with(env: dict[str, str]) -> set[int]:
    """`python -m polytui sim` processes (Linux) that inherited this test's data dir."""
    marker = f"POLYTUI_PATHS__DATA_DIR={env['POLYTUI_PATHS__DATA_DIR']}".encode()
    pids = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"polytui" in argv and b"sim" in argv and marker in environ:
            pids.add(int(proc.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_stop_during_startup_leaves_no_simulator_behind(env: dict[str, str], spawn) -> None:
    run = spawn("--no-ui", env=env)
    run.wait_for_event("starting")
    run.process.send_signal(signal.SIGTERM)
    code, records, stderr = run.finish()
    assert code == 0, stderr
    assert "stopping" in events(records)
    assert records[-1]["fields"]["reason"] == "SIGTERM"
    assert simulators_started_with(env) == set()


def test_a_simulator_that_dies_is_a_failure(env: dict[str, str], spawn) -> None:
    run = spawn("--no-ui", env=env)
    sim_pid = run.wait_for_event("simulator_started")["fields"]["pid"]
    run.wait_for_event("started")
    os.kill(sim_pid, signal.SIGKILL)
    code, records, _ = run.finish()
    assert code == 1
    assert "simulator_exited" in events(records)
    assert records[-1]["fields"]["reason"] == "simulator_exited"


def test_sim_url_uses_a_running_simulator(env: dict[str, str], spawn) -> None:
    sim = spawn("sim", "--port", "0", "--markets", "7", "--seed", "3", env=env)
    endpoints = json.loads(sim.next_line())
    code, records, stderr = spawn(
        "--no-ui", "--sim-url", endpoints["clob"], "--duration", "0.5", env=env
    ).finish()
    assert code == 0, stderr
    names = events(records)
    assert "simulator_started" not in names
    connected = records[names.index("simulator_connected")]["fields"]
    assert connected["endpoints"] == endpoints
    assert records[names.index("venue_checked")]["fields"]["markets"] == 7
    assert sim.process.poll() is None  # a simulator polytui did not start is left running
    sim.process.send_signal(signal.SIGTERM)
    assert sim.finish()[0] == 0


def test_an_unreachable_sim_url_exits_1_with_a_diagnostic(env: dict[str, str], spawn) -> None:
    code, records, stderr = spawn(
        "--no-ui", "--sim-url", "http://127.0.0.1:9", "--duration", "5", env=env
    ).finish()
    assert code == 1
    assert "cannot reach the simulator" in stderr
    assert "Traceback" not in stderr
    assert events(records)[-2:] == ["failed", "stopped"]


def test_capture_records_what_the_venue_answered(env: dict[str, str], spawn, tmp_path) -> None:
    from polytui.venue.capture import Source, read_capture

    path = tmp_path / "cap" / "venue.jsonl"
    code, records, stderr = spawn(
        "--no-ui", "--duration", "3", "--capture", str(path), env=env
    ).finish()
    assert code == 0, stderr
    lines = list(read_capture(path))
    rest = [line for line in lines if line.source is Source.REST]
    assert all(line.status == 200 and line.sent_ms <= line.recv_ms for line in rest)
    urls = [line.url for line in rest]
    assert urls[0].endswith("/ok") and urls[1].endswith("/version") and urls[2].endswith("/time")
    started = records[events(records).index("started")]["fields"]
    startup_listing = []
    for line in rest[3:]:  # the startup check walks Gamma's listing once, then the engine runs
        if "/gamma/markets" not in line.url or "order=id" in line.url:
            break
        startup_listing += json.loads(line.payload)
    assert len(startup_listing) == started["markets"]
    market = [line for line in lines if line.source is Source.WS_MARKET]
    assert market[0].event == "open" and any(line.payload for line in market)
    # What the engine mirrored can be replayed offline from the capture alone.
    done = subprocess.run(
        [sys.executable, "-m", "polytui", "replay", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    replayed = json.loads(done.stdout)
    assert replayed["errors"] == 0 and replayed["books"]
    assert {b["state"] for b in replayed["books"].values()} <= {"LIVE", "RESYNCING", "UNPRIMED"}
    assert sum(b["state"] == "LIVE" for b in replayed["books"].values()) > 0


def test_an_unwritable_capture_is_a_clear_startup_error(env: dict[str, str], spawn, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, records, stderr = spawn(
        "--no-ui", "--duration", "1", "--capture", str(blocker / "venue.jsonl"), env=env
    ).finish()
    assert code == 1
    assert "cannot write the capture file" in stderr
