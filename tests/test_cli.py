from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from polytui.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_polytui(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m polytui ARGS` with pipes for stdin/stdout/stderr (so: not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "polytui", *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "sim" in out.split("commands:")[1]
    for flag in ("--no-ui", "--sim-url", "--db", "--config", "--duration", "--live"):
        assert flag in out


def test_live_is_refused_without_touching_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--live", "--no-ui"]) == 2
    assert "live trading is not available yet" in capsys.readouterr().err


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--no-uii"])
    assert exited.value.code == 2
    assert "--no-uii" in capsys.readouterr().err


def test_a_bad_setting_exits_2_naming_the_key_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[sim]\nseed = 'three'\n")
    result = run_polytui("--no-ui", "--config", str(config))
    assert result.returncode == 2
    assert "sim.seed" in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert result.stdout == ""


def test_a_negative_duration_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-ui", "--duration", "-1"]) == 2
    assert "run.duration" in capsys.readouterr().err


def test_the_ui_without_a_terminal_exits_2_and_points_to_no_ui() -> None:
    result = run_polytui()
    assert result.returncode == 2
    assert "polytui --no-ui" in result.stderr
    assert result.stdout == ""  # nothing drawn
    assert not (Path.home() / ".local" / "share" / "polytui").exists()  # and nothing created


def test_sim_help_shows_the_simulator_options() -> None:
    result = run_polytui("sim", "--help")
    assert result.returncode == 0, result.stderr
    for flag in (
        "--host",
        "--port",
        "--seed",
        "--markets",
        "--rate",
        "--faults",
        "--start-ms",
        "--time-scale",
    ):
        assert flag in result.stdout
