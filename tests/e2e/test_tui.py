"""`polytui` (the TUI) as a real process in a pseudo-terminal: it draws LIVE books, and SIGTERM
and SIGHUP stop the engine and the simulator in order (the terminal restored on SIGTERM)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.processes import process_is_gone

REPO_ROOT = Path(__file__).resolve().parents[2]
LEAVE_ALT_SCREEN = b"\x1b[?1049l"

pytestmark = pytest.mark.slow


class Tui:
    """`python -m polytui` on a pty of 100x30; everything it writes is kept in ``screen``."""

    def __init__(self, tmp_path: Path) -> None:
        self.master, slave = pty.openpty()
        _set_size(slave, 30, 100)
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "POLYTUI_PATHS__DATA_DIR": str(tmp_path / "data"),
            "POLYTUI_SIM__MARKETS": "3",
            "POLYTUI_METRICS__PORT": "0",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "polytui"],
            cwd=REPO_ROOT,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,  # its own controlling terminal: the pty
        )
        os.close(slave)
        self.screen = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side closed
                    return
                if not chunk:
                    return
                self.screen += chunk

    def wait_for(self, needle: bytes, timeout_s: float = 40.0) -> None:
        end = time.monotonic() + timeout_s
        while needle not in self.screen and time.monotonic() < end:
            self.read(0.2)
        assert needle in self.screen, self.screen[-2000:]

    def children(self) -> list[int]:
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    out.append(int(entry.name))
        return out

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        try:
            os.close(self.master)
        except OSError:
            pass


def _set_size(fd: int, rows: int, cols: int) -> None:
    import fcntl
    import struct

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@pytest.fixture
def tui(tmp_path: Path):
    t = Tui(tmp_path)
    yield t
    t.close()


def test_sigterm_stops_the_engine_and_the_simulator_and_restores_the_terminal(tui: Tui) -> None:
    tui.wait_for(b"LIVE")
    tui.wait_for(b"SIM")
    children = tui.children()
    assert children, "the simulator child should be running"
    tui.process.send_signal(signal.SIGTERM)
    end = time.monotonic() + 20
    while tui.process.poll() is None and time.monotonic() < end:
        tui.read(0.2)
    assert tui.process.returncode == 0
    tui.read(0.5)
    assert LEAVE_ALT_SCREEN in tui.screen  # the terminal is back to normal
    assert all(process_is_gone(pid) for pid in children)


def test_sighup_with_the_terminal_gone_still_stops_everything(tui: Tui) -> None:
    tui.wait_for(b"LIVE")
    children = tui.children()
    assert children
    os.close(tui.master)  # the terminal goes away (an SSH drop, a closed tmux window)
    tui.master = os.open(os.devnull, os.O_RDONLY)  # something for close() to close
    tui.process.send_signal(signal.SIGHUP)
    tui.process.wait(30)
    assert tui.process.returncode == 0
    deadline = time.monotonic() + 5
    while not all(process_is_gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(process_is_gone(pid) for pid in children)
