"""``polytui replay DIR`` on what is not a whole session: a clear error (exit 2), never a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polytui.cli import main
from polytui.config import Settings
from polytui.engine.session.manifest import CAPTURE, FORMAT, MANIFEST

ENDPOINTS = ("clob", "ws", "gamma", "data", "admin")
WS = '{"recv_ms":1796000000100,"source":"ws_market","conn":"market-1","payload":"[]"}'


def _session(directory: Path, **manifest: object) -> Path:
    directory.mkdir()
    data = {
        "format": FORMAT,
        "mode": "sim",
        "seed": 1,
        "start_ms": 1796000000000,
        "endpoints": {n: f"http://127.0.0.1:9/{n}" for n in ENDPOINTS},
        "settings": Settings().model_dump(mode="json"),
        **manifest,
    }
    (directory / MANIFEST).write_text(json.dumps(data))
    (directory / CAPTURE).write_text(WS + "\n")
    return directory


def _replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["replay", *args])
    return code, capsys.readouterr().err


def test_a_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _replay(capsys, str(tmp_path / "nowhere"))
    assert code == 2
    assert "no such capture file or session directory" in err


def test_a_directory_without_a_manifest(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    code, err = _replay(capsys, str(tmp_path / "empty"))
    assert code == 2
    assert f"holds no session ({MANIFEST} is missing)" in err


def test_a_corrupt_manifest(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    (d / MANIFEST).write_text('{"format": 1, "seed"')
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert "cannot be read" in err and MANIFEST in err


def test_an_unknown_format_version(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s", format=FORMAT + 1)
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert f"session format {FORMAT + 1}, this polytui reads {FORMAT}" in err


def test_a_manifest_that_lacks_fields(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    raw = json.loads((d / MANIFEST).read_text())
    del raw["seed"], raw["start_ms"]
    (d / MANIFEST).write_text(json.dumps(raw))
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert "lacks seed, start_ms" in err


def test_settings_this_polytui_does_not_accept(tmp_path: Path, capsys) -> None:
    settings = Settings().model_dump(mode="json")
    settings["risk"]["max_trade_usdc"] = "-5"
    d = _session(tmp_path / "s", settings=settings)
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert "settings are not valid here" in err and "risk.max_trade_usdc" in err


def test_endpoints_that_are_not_valid(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s", endpoints={"clob": "http://127.0.0.1:9"})
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert "endpoints are not valid" in err and "gamma" in err


def test_no_capture(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    (d / CAPTURE).unlink()
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert f"has no {CAPTURE}: nothing to replay" in err


def test_a_corrupt_line_inside_the_capture(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    (d / CAPTURE).write_text(WS + "\n" + '{"recv_ms": 17960000' + "\n" + WS + "\n")
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert f"{CAPTURE}:2:" in err


def test_a_decision_that_is_not_json(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    bad = '{"recv_ms":1796000000200,"source":"engine","event":"decision","payload":"{oops"}'
    (d / CAPTURE).write_text(WS + "\n" + bad + "\n")
    code, err = _replay(capsys, str(d))
    assert code == 2
    assert "capture line 2: a decision is not JSON" in err


def test_an_instant_that_is_not_a_time(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    code, err = _replay(capsys, str(d), "--at", "half past four")
    assert code == 2
    assert "give a time as HH:MM:SS.mmm" in err


def test_a_diff_without_changed_settings(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    code, err = _replay(capsys, str(d), "--diff")
    assert code == 2
    assert "give them with --config" in err


def test_a_changed_config_that_is_not_valid(tmp_path: Path, capsys) -> None:
    d = _session(tmp_path / "s")
    changed = tmp_path / "changed.toml"
    changed.write_text("[risk]\nmax_orders_per_window = 0\n")
    code, err = _replay(capsys, str(d), "--diff", "--config", str(changed))
    assert code == 2
    assert "max_orders_per_window" in err
