"""The local control channel: how `polytui kill`, `resume` and `status` reach a running engine.

A unix socket beside the ledger (``<db>.control``, mode 0600, so only its owner can talk to
it), one JSON object per line each way:

    -> {"command": "kill", "reason": "manual", "source": "cli"}
    <- {"ok": true, "engaged": true, "ref": "cli:1795000000000:1a2b3c4d"}

The engine stays the ledger's only writer: a command asks it to act, it never writes for
it. Commands: ``ping``, ``kill`` (``reason``, ``source``), ``resume`` (``source``),
``status``. An unknown command or a line that is not a JSON object is answered
``{"ok": false, "error": ...}``; the connection stays usable.

A socket path is limited to about 100 bytes; a ledger deep in a directory tree gets its socket
in ``<tmp>/polytui-<uid>/`` (0700) under a name hashed from the ledger's path instead, which
the engine and the commands compute alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_LINE = 64 * 1024
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlInUse(RuntimeError):
    """Another engine answers on this control socket."""


def control_path(ledger: str | Path, data_dir: Path) -> Path:
    """The control socket of the engine writing ``ledger`` (a SQLite path or a URL)."""
    text = str(ledger)
    wanted = data_dir / "control.sock" if "://" in text else Path(f"{text}.control")
    wanted = wanted.expanduser().absolute()
    if len(os.fsencode(wanted)) <= MAX_SOCKET_PATH:
        return wanted
    digest = hashlib.sha256(os.fsencode(wanted)).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"polytui-{os.getuid()}" / f"{digest}.sock"


class ControlServer:
    """The engine's end: ``await start()``, ``await close()``."""

    def __init__(self, path: Path, handle: Handler) -> None:
        self.path = path
        self._handle = handle
        self._server: asyncio.AbstractServer | None = None
        self.requests = 0
        self.errors = 0

    async def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if await asyncio.to_thread(_answers, self.path):
                raise ControlInUse(f"another engine answers on {self.path}")
            self.path.unlink()  # left by an engine that died
        # Connecting needs write permission on the socket, which a usual umask gives nobody
        # but the owner anyway; it is made 0600 at once (no process-wide umask games: under
        # the TUI the engine shares its process with other threads).
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.path), limit=MAX_LINE
        )
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                self.requests += 1
                answer = await self._answer(line)
                writer.write(json.dumps(answer, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that went away or sent an over-long line
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("command"), str):
            self.errors += 1
            return {"ok": False, "error": 'expected a JSON object with a "command"'}
        try:
            return await self._handle(message)
        except Exception as exc:  # the channel answers; the engine logs the rest
            self.errors += 1
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _answers(path: Path) -> bool:
    try:
        return request(path, {"command": "ping"}, timeout_s=0.5).answered
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command got back: ``answer`` from the engine, or why there was none."""

    answer: dict[str, Any] | None
    problem: str = ""
    """``no engine`` (no socket, or nobody listening) or ``no answer`` (the engine took
    the connection and did not answer in time: it may hang)."""

    @property
    def answered(self) -> bool:
        return self.answer is not None


def request(path: Path, message: dict[str, Any], timeout_s: float = 1.0) -> Reply:
    """Send one command and wait at most ``timeout_s`` (wall clock) for its answer. Blocking:
    for the command line, which has no event loop."""
    deadline = time.monotonic() + timeout_s
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return Reply(None, "no engine")
        except (TimeoutError, BlockingIOError):
            return Reply(None, "no answer")
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return Reply(None, "no answer")
            sock.settimeout(left)
            try:
                chunk = sock.recv(MAX_LINE)
            except TimeoutError:
                return Reply(None, "no answer")
            if not chunk:
                return Reply(None, "no answer")
            data += chunk
        try:
            answer = json.loads(data)
        except ValueError:
            return Reply(None, "an unreadable answer")
        return Reply(answer if isinstance(answer, dict) else None)
    finally:
        sock.close()


# ---- a kill asked for while the engine could not take it ---------------------------------


def kill_request_path(ledger: str | Path, data_dir: Path) -> Path:
    """Where `polytui kill` leaves a kill for an engine that holds the ledger but does not
    answer (it hangs): the engine engages it when it runs again, or at its next start."""
    text = str(ledger)
    if "://" in text:
        return data_dir / "kill-request.json"
    return Path(f"{text}.kill-request.json")


def write_kill_request(path: Path, reason: str, source: str, at_ms: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"reason": reason, "source": source, "at_ms": at_ms}))
    os.replace(tmp, path)


def read_kill_request(path: Path) -> dict[str, Any] | None:
    """The pending kill request, or ``None``. The engine removes it (``clear_kill_request``)
    only once the kill switch is written: a crash in between engages it again."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"reason": "kill request (unreadable)", "source": "cli"}
    return data if isinstance(data, dict) else {"reason": "kill request", "source": "cli"}


def clear_kill_request(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
