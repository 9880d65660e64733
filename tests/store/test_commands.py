"""`polytui ledger rebuild | summary | tail` on both backends."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from polytui.cli import main
from polytui.core import ledger_events as ev
from polytui.core.clock import FakeClock
from polytui.store.ledger import Ledger
from polytui.store.store import Store
from tests.ledger_data import random_session


async def engine_session(url: str) -> str:
    """What a running engine would have shown: its Store's summary after a session."""
    store = await Store.open(url, FakeClock())
    try:
        for event in random_session(random.Random(8), 40):
            if event.kind in ev.ORDER_KINDS:
                await store.append(event)
            else:
                store.append_buffered(event)
        await store.flush()
        return store.summary()
    finally:
        await store.close()


async def test_rebuild_prints_what_the_engine_showed(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = await engine_session(ledger_url)
    assert main(["ledger", "rebuild", "--db", ledger_url]) == 0
    out, err = capsys.readouterr()
    assert out == shown + "\n"
    assert "orders:" in out and "positions:" in out and "pnl: realised" in out
    assert "projections rebuilt from" in err


async def test_summary_reads_while_the_engine_writes(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = await engine_session(ledger_url)
    writer = Ledger.open(ledger_url, FakeClock())  # the engine, still running
    try:
        assert main(["ledger", "summary", "--db", ledger_url]) == 0
        assert capsys.readouterr().out == shown + "\n"
        assert main(["ledger", "rebuild", "--db", ledger_url]) == 1
        assert "one writer per ledger" in capsys.readouterr().err
    finally:
        writer.close()


async def test_tail_prints_the_last_events_as_json(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await engine_session(ledger_url)
    assert main(["ledger", "tail", "-n", "3", "--db", ledger_url]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    seqs = [line["seq"] for line in lines]
    assert seqs == sorted(seqs) and seqs[0] + 2 == seqs[-1]
    assert all(line["event"]["kind"] for line in lines)


def test_the_global_db_flag_works_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    Ledger.open(path, FakeClock()).close()
    assert main(["--db", str(path), "ledger", "summary"]) == 0
    assert capsys.readouterr().out.startswith("ledger: 0 events")


def test_the_ledger_url_setting_is_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.db"
    Ledger.open(path, FakeClock()).close()
    monkeypatch.setenv("POLYTUI_LEDGER__URL", f"sqlite:///{path}")
    assert main(["ledger", "summary"]) == 0
    assert capsys.readouterr().out.startswith("ledger: 0 events")


def test_a_missing_ledger_is_an_error_and_no_file_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nothing.db"
    for action in ("rebuild", "summary", "tail"):
        assert main(["ledger", action, "--db", str(path)]) == 1
        assert f"no ledger at {path}" in capsys.readouterr().err
    assert not path.exists()


def test_a_corrupt_ledger_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"definitely not sqlite" * 500)
    assert main(["ledger", "rebuild", "--db", str(path)]) == 1
    assert "damaged" in capsys.readouterr().err


def test_an_action_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ledger"])
    assert exc.value.code == 2
