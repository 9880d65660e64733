"""Encrypted online backups of the ledger and the keys: round trip, while an engine writes,
and every way a restore must refuse rather than lose something."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from polytui.core.clock import SystemClock
from polytui.ops import backup as b
from polytui.ops.crypto import CHUNK
from polytui.ops.redact import Secret
from polytui.store.ledger import Ledger
from tests.ledger_data import fill

REPO_ROOT = Path(__file__).resolve().parents[2]
PASS = Secret("backup passphrase")
SIM_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318\n"


def make_ledger(path: Path, batches: int, prefix: str = "t") -> None:
    ledger = Ledger.open(str(path), SystemClock())
    for n in range(batches):
        ledger.append([fill(f"{prefix}{n}", f"o{n}")])
    ledger.close()


def events_in(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*), MAX(seq) FROM ledger_event").fetchone()
    finally:
        conn.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    make_ledger(data / "polytui.db", 30)
    key = data / "sim-key"
    key.write_text(SIM_KEY)
    os.chmod(key, 0o600)
    return data


def test_round_trip(data: Path, tmp_path: Path) -> None:
    report = b.create_backup(
        tmp_path / "out" / "x.backup",
        db=data / "polytui.db",
        key_files=[data / "sim-key", data / "keystore.json"],
        passphrase=PASS,
    )
    raw = report.path.read_bytes()
    assert os.stat(report.path).st_mode & 0o777 == 0o600
    assert SIM_KEY.strip()[2:].encode() not in raw and b"ledger_event" not in raw
    assert report.manifest["ledger"]["events"] == 30
    assert set(report.manifest["files"]) == {"ledger.db", "keys/sim-key"}
    assert b.check_backup(report.path, PASS)["ledger"]["last_seq"] == 30

    target = tmp_path / "restored"
    result = b.restore_backup(report.path, PASS, db=target / "polytui.db", data_dir=target)
    assert sorted(p.name for p in result.restored) == ["polytui.db", "sim-key"]
    assert (target / "sim-key").read_text() == SIM_KEY
    assert events_in(target / "polytui.db") == (30, 30)
    ledger = Ledger.open(str(target / "polytui.db"), SystemClock())  # a working ledger again
    assert ledger.append([fill("t-new", "o-new")]).seqs == [31]
    ledger.close()


def test_a_backup_is_consistent_while_a_writer_appends(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    make_ledger(db, 1)
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.store.writer_proc", str(db), "0", "400"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    seen = []
    try:
        writer.stdout.readline()  # the writer holds the ledger now
        for n in range(4):
            report = b.create_backup(
                tmp_path / f"b{n}.backup", db=db, key_files=[], passphrase=PASS
            )
            ledger = report.manifest["ledger"]
            assert ledger["events"] == ledger["last_seq"]  # no gap: one transaction's snapshot
            seen.append(ledger["last_seq"])
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    assert seen == sorted(seen) and seen[-1] > 1
    out = tmp_path / "r"
    b.restore_backup(tmp_path / "b3.backup", PASS, db=out / "live.db", data_dir=out)
    assert events_in(out / "live.db") == (seen[-1], seen[-1])


def test_wrong_passphrase_damage_and_truncation_are_refused(data: Path, tmp_path: Path) -> None:
    report = b.create_backup(
        tmp_path / "x.backup", db=data / "polytui.db", key_files=[], passphrase=PASS
    )
    with pytest.raises(b.BackupError, match="wrong passphrase"):
        b.check_backup(report.path, Secret("another passphrase"))
    raw = bytearray(report.path.read_bytes())
    raw[len(raw) // 2] ^= 1
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(b.BackupError, match="damaged"):
        b.check_backup(damaged, PASS)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(report.path.read_bytes()[:-40])
    with pytest.raises(b.BackupError):
        b.check_backup(cut, PASS)
    with pytest.raises(b.BackupError, match="not a polytui"):
        b.check_backup(data / "sim-key", PASS)
    target = tmp_path / "t"
    with pytest.raises(b.BackupError):
        b.restore_backup(damaged, PASS, db=target / "polytui.db", data_dir=target)
    assert not (target / "polytui.db").exists()


def test_large_ledgers_span_many_chunks(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE blob (data BLOB)")
    conn.executemany("INSERT INTO blob VALUES (?)", [(os.urandom(CHUNK // 4),)] * 10)
    conn.commit()
    conn.close()
    report = b.create_backup(tmp_path / "big.backup", db=db, key_files=[], passphrase=PASS)
    assert report.size > 2 * CHUNK
    assert b.check_backup(report.path, PASS)["ledger"] == {
        "source": str(db),
        "events": 0,
        "last_seq": 0,
    }


def test_restore_never_loses_what_is_there(data: Path, tmp_path: Path) -> None:
    report = b.create_backup(
        tmp_path / "x.backup", db=data / "polytui.db", key_files=[data / "sim-key"], passphrase=PASS
    )
    make_ledger(data / "polytui.db", 5, "later")  # the live ledger moved on: 35 events
    with pytest.raises(b.BackupError, match="--force"):
        b.restore_backup(report.path, PASS, db=data / "polytui.db", data_dir=data)
    assert events_in(data / "polytui.db") == (35, 35)

    holder = Ledger.open(str(data / "polytui.db"), SystemClock())  # an engine is running
    try:
        with pytest.raises(b.BackupError, match="in use"):
            b.restore_backup(report.path, PASS, db=data / "polytui.db", data_dir=data, force=True)
    finally:
        holder.close()
    assert events_in(data / "polytui.db") == (35, 35)

    result = b.restore_backup(report.path, PASS, db=data / "polytui.db", data_dir=data, force=True)
    assert events_in(data / "polytui.db") == (30, 30)
    kept = {p.name.split(".before-restore-")[0] for p in result.kept_aside}
    assert {"polytui.db", "sim-key"} <= kept
    old = next(p for p in result.kept_aside if p.name.startswith("polytui.db.before"))
    assert events_in(old) == (35, 35)  # the replaced ledger is whole, beside the restored one


def test_nothing_to_back_up_and_an_existing_destination(tmp_path: Path, data: Path) -> None:
    with pytest.raises(b.BackupError, match="nothing to back up"):
        b.create_backup(
            tmp_path / "x.backup", db=None, key_files=[tmp_path / "sim-key"], passphrase=PASS
        )
    (tmp_path / "taken.backup").write_text("mine")
    with pytest.raises(b.BackupError, match="exists"):
        b.create_backup(
            tmp_path / "taken.backup", db=data / "polytui.db", key_files=[], passphrase=PASS
        )
    assert (tmp_path / "taken.backup").read_text() == "mine"
    folder = tmp_path / "backups"
    folder.mkdir()
    report = b.create_backup(folder, db=data / "polytui.db", key_files=[], passphrase=PASS)
    assert report.path.parent == folder and report.path.name.startswith("polytui-")
