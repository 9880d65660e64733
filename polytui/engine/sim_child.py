"""Reach the simulator: start `polytui sim` as a child process, or ask a running one.

`start_sim_child` runs `python -m polytui sim --host 127.0.0.1 --port 0 ...`, reads the JSON
object the simulator prints as its first stdout line, and on exit stops it (SIGTERM, then SIGKILL
after a grace period). `fetch_endpoints` asks an already running simulator
(`GET <clob>/_sim/endpoints`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path

import httpx

from polytui.config import SimSettings
from polytui.venue.endpoints import Endpoints

STDERR_TAIL_LINES = 30


class SimulatorError(RuntimeError):
    """The simulator could not be started or reached. The message says why."""


def sim_command(sim: SimSettings, python: str = sys.executable) -> list[str]:
    """The child's command line: loopback, a free port, and only the options that are set."""
    command = [python, "-m", "polytui", "sim", "--host", "127.0.0.1", "--port", "0"]
    command += ["--exit-with-stdin"]  # it stops when we are gone, even after a SIGKILL
    options = {
        "--seed": sim.seed,
        "--markets": sim.markets,
        "--rate": sim.rate,
        "--faults": sim.faults,
        "--start-ms": sim.start_ms,
        "--time-scale": sim.time_scale,
        "--leader-activity": sim.leader_activity,
    }
    for flag, value in options.items():
        if value is not None:
            command += [flag, str(value)]
    return command


def _child_env() -> dict[str, str]:
    # The child must run this very polytui, even from a checkout that was never installed.
    package_root = str(Path(__file__).resolve().parents[2])
    pythonpath = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"}


class SimChild:
    """A running simulator child process."""

    def __init__(self, process: asyncio.subprocess.Process, endpoints: Endpoints) -> None:
        self._process = process
        self.endpoints = endpoints

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def wait(self) -> int:
        """Wait until the child exits; return its exit code (negative: killed by a signal)."""
        return await self._process.wait()


@contextlib.asynccontextmanager
async def start_sim_child(
    sim: SimSettings,
    *,
    command: Sequence[str] | None = None,
    startup_timeout: float = 30.0,
    stop_timeout: float = 5.0,
) -> AsyncIterator[SimChild]:
    """Start the simulator, yield it once it has printed its endpoints, stop it on exit."""
    command = list(command or sim_command(sim))
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,  # held open, never written: see --exit-with-stdin
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_env(),
        )
    except OSError as exc:
        raise SimulatorError(f"cannot start the simulator ({command[0]}): {exc}") from None
    assert process.stdout is not None
    assert process.stderr is not None
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    drains = [asyncio.create_task(_drain(process.stderr, stderr_tail))]
    try:
        try:
            endpoints = await _read_endpoints(process, startup_timeout)
        except _StartupFailed as failed:
            await stop_process(process, stop_timeout)
            await asyncio.wait(drains, timeout=1.0)  # collect the last stderr lines
            raise SimulatorError(_describe_failure(str(failed), stderr_tail)) from None
        # Keep reading stdout so the child never blocks on a full pipe.
        drains.append(asyncio.create_task(_drain(process.stdout, None)))
        yield SimChild(process, endpoints)
    finally:
        # The child must be stopped even if this task is cancelled again while it stops.
        try:
            await _complete_despite_cancellation(stop_process(process, stop_timeout))
        finally:
            for task in drains:
                task.cancel()


async def _complete_despite_cancellation(aw: Awaitable[object]) -> None:
    """Await `aw` to the end; a cancellation that arrives meanwhile is re-raised afterwards."""
    task = asyncio.ensure_future(aw)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    task.result()


class _StartupFailed(Exception):
    pass


async def _read_endpoints(process: asyncio.subprocess.Process, limit_s: float) -> Endpoints:
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), limit_s)
    except TimeoutError:
        raise _StartupFailed(f"did not print its endpoints within {limit_s:g} s") from None
    except ValueError:  # a first line longer than the stream limit
        raise _StartupFailed("printed an over-long first line instead of its endpoints") from None
    if not line:
        code = await process.wait()
        raise _StartupFailed(f"exited with code {code} before printing its endpoints")
    try:
        return Endpoints.from_json(json.loads(line))
    except ValueError as exc:
        shown = line.decode(errors="replace").strip()[:200]
        raise _StartupFailed(f"printed {shown!r} instead of its endpoints ({exc})") from None


def _describe_failure(problem: str, stderr_tail: deque[str]) -> str:
    message = f"the simulator {problem}"
    if stderr_tail:
        message += "\nsimulator stderr (last lines):\n" + "\n".join(
            "  " + line for line in stderr_tail
        )
    return message


async def _drain(stream: asyncio.StreamReader, keep: deque[str] | None) -> None:
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # over-long line: skip what is buffered and go on
            continue
        if not line:
            return
        if keep is not None:
            keep.append(line.decode(errors="replace").rstrip())


async def stop_process(process: asyncio.subprocess.Process, grace_s: float) -> int:
    """SIGTERM, wait up to `grace_s` seconds, then SIGKILL. Return the exit code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    return await process.wait()


async def fetch_endpoints(clob_url: str, *, timeout_s: float = 5.0) -> Endpoints:
    """Ask a running simulator for its endpoints: `GET <clob_url>/_sim/endpoints`."""
    url = clob_url.rstrip("/") + "/_sim/endpoints"
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(url)
            response.raise_for_status()
            return Endpoints.from_json(response.json())
    except httpx.HTTPStatusError as exc:
        raise SimulatorError(
            f"{url} answered HTTP {exc.response.status_code}; is {clob_url} a polytui simulator?"
        ) from None
    except httpx.HTTPError as exc:
        raise SimulatorError(f"cannot reach the simulator at {url}: {exc!r}") from None
    except ValueError as exc:
        raise SimulatorError(f"{url} did not return simulator endpoints: {exc}") from None
