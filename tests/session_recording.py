"""Sessions recorded against the simulator for the replay tests: ``polytui --no-ui --record``
in a child process, with its own home and no ``POLYTUI_*`` settings from the caller."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYTUI_")}
    env["HOME"] = str(home)
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        env[var] = str(home / sub)
    env["XDG_CACHE_HOME"] = str(home / "cache")
    env["XDG_STATE_HOME"] = str(home / "state")
    return env


def record(base: Path, config: str, attempt: int, duration_s: int = 8) -> Path:
    """One session of ``duration_s`` seconds with ``config`` (TOML); its directory."""
    path = base / "polytui.toml"
    path.write_text(config)
    directory = base / f"rec-{attempt}"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "polytui",
            "--no-ui",
            "--config",
            str(path),
            "--record",
            str(directory),
            "--duration",
            str(duration_s),
            "--seed",
            "7",
            "--db",
            str(base / f"db-{attempt}" / "polytui.db"),
        ],
        env=child_env(base / "home"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return directory


def record_until(
    base: Path, config: str, enough: Callable[[Path], bool], attempts: int = 3
) -> Path:
    """A live session decides what the market and the leaders make it decide; on a loaded
    machine (the simulator at 10x real time) one may come out too thin for a test. Up to
    ``attempts`` are recorded; the first that is ``enough`` is kept, else the last (the tests
    then say what was missing)."""
    for attempt in range(attempts):
        directory = record(base, config, attempt)
        if enough(directory):
            break
    return directory
