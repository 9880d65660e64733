"""Starting and stopping the simulator child, with stand-in children for the failure modes."""

from __future__ import annotations

import sys
import time

import pytest

from polytui.config import SimSettings
from polytui.engine.sim_child import (
    Endpoints,
    SimulatorError,
    sim_command,
    start_sim_child,
)
from polytui.engine.startup import clock_skew
from tests.processes import process_is_gone

ENDPOINTS = {
    "clob": "http://127.0.0.1:1",
    "ws": "ws://127.0.0.1:1/ws",
    "gamma": "http://127.0.0.1:1/gamma",
    "data": "http://127.0.0.1:1/data-api",
    "admin": "http://127.0.0.1:1/_sim",
}


def child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_command_binds_loopback_on_a_free_port_and_passes_only_set_options() -> None:
    command = sim_command(SimSettings(seed=7, faults="drop=0.1"), python="py")
    assert command[:4] == ["py", "-m", "polytui", "sim"]
    assert command[4:8] == ["--host", "127.0.0.1", "--port", "0"]
    assert command[8] == "--exit-with-stdin"  # it never outlives us
    assert command[9:] == ["--seed", "7", "--faults", "drop=0.1", "--leader-activity", "30.0"]
    quiet = sim_command(SimSettings(leader_activity=None), python="py")
    assert "--leader-activity" not in quiet  # unset: the simulator's own default


def test_endpoints_must_have_every_url() -> None:
    assert Endpoints.from_json(ENDPOINTS).as_dict() == ENDPOINTS
    with pytest.raises(ValueError, match="admin"):
        Endpoints.from_json({k: v for k, v in ENDPOINTS.items() if k != "admin"})
    with pytest.raises(ValueError, match="JSON object"):
        Endpoints.from_json(["not", "an", "object"])


async def test_the_child_is_stopped_when_the_block_exits() -> None:
    code = f"import json, time; print(json.dumps({ENDPOINTS!r}), flush=True); time.sleep(60)"
    async with start_sim_child(SimSettings(), command=child(code)) as sim:
        assert sim.endpoints == Endpoints(**ENDPOINTS)
        pid = sim.pid
        assert not process_is_gone(pid)
    assert sim.returncode is not None
    assert process_is_gone(pid)


async def test_a_child_that_ignores_sigterm_is_killed() -> None:
    code = (
        "import json, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        f"print(json.dumps({ENDPOINTS!r}), flush=True); time.sleep(60)"
    )
    started = time.monotonic()
    async with start_sim_child(SimSettings(), command=child(code), stop_timeout=0.5) as sim:
        pass
    assert sim.returncode == -9
    assert time.monotonic() - started < 10


async def test_garbage_instead_of_endpoints_is_an_error_with_the_stderr_tail() -> None:
    code = "import sys, time; print('boom', file=sys.stderr); print('hello'); time.sleep(60)"
    with pytest.raises(SimulatorError) as caught:
        async with start_sim_child(SimSettings(), command=child(code)):
            pytest.fail("should not start")
    assert "printed 'hello' instead of its endpoints" in str(caught.value)
    assert "boom" in str(caught.value)


async def test_a_child_that_dies_first_is_an_error_with_its_exit_code_and_stderr() -> None:
    code = "import sys; print('no port for you', file=sys.stderr); sys.exit(3)"
    with pytest.raises(SimulatorError) as caught:
        async with start_sim_child(SimSettings(), command=child(code)):
            pytest.fail("should not start")
    assert "exited with code 3" in str(caught.value)
    assert "no port for you" in str(caught.value)


async def test_a_silent_child_times_out_and_is_stopped() -> None:
    code = "import time; time.sleep(60)"
    with pytest.raises(SimulatorError, match=r"within 0\.5 s"):
        async with start_sim_child(SimSettings(), command=child(code), startup_timeout=0.5):
            pytest.fail("should not start")


async def test_a_missing_interpreter_is_an_error() -> None:
    with pytest.raises(SimulatorError, match="cannot start the simulator"):
        async with start_sim_child(SimSettings(), command=["/nonexistent/python"]):
            pytest.fail("should not start")


def test_clock_skew_is_measured_at_the_request_midpoint() -> None:
    assert clock_skew(1_000, sent=998.0, received=1_000.0) == 1.0
    assert clock_skew(1_000, sent=1_010.0, received=1_010.0) == -10.0


def test_the_simulator_child_stops_when_polytui_is_killed(tmp_path) -> None:
    """SIGKILL leaves no cleanup to run: the child sees its stdin close and stops itself."""
    import json
    import os
    import signal
    import subprocess
    import time

    from tests.processes import process_is_gone

    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, json, sys\n"
            "from polytui.config import SimSettings\n"
            "from polytui.engine.sim_child import start_sim_child\n"
            "async def main():\n"
            "    async with start_sim_child(SimSettings(markets=2)) as child:\n"
            "        print(json.dumps({'pid': child.pid}), flush=True)\n"
            "        await asyncio.sleep(60)\n"
            "asyncio.run(main())\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        child_pid = json.loads(parent.stdout.readline())["pid"]
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 10
        while not process_is_gone(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_is_gone(child_pid), "the simulator outlived the polytui that started it"
    finally:
        parent.kill()
