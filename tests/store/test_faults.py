"""Bad days: a full disk, a locked database, a corrupt file, a writer killed mid-write.

Each has a defined outcome: the write that failed left nothing, an error class says what
happened (``polytui.store.errors``), everything committed before is still there, and the
ledger takes writes again once the cause is gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from polytui.core.clock import FakeClock
from polytui.core.projections import fold
from polytui.store.db import make_engine
from polytui.store.errors import LedgerBusy, LedgerCorrupt, LedgerFull, StoreUnavailable
from polytui.store.ledger import Ledger, read_model, read_projection_tables, read_records
from tests.ledger_data import fill, intent

REPO_ROOT = Path(__file__).resolve().parents[2]


def committed(url: str) -> list[str]:
    engine = make_engine(url, write=False)
    try:
        return [r.event_id for r in read_records(engine)]
    finally:
        engine.dispose()


# ---- full disk ---------------------------------------------------------------------------


def test_a_full_database_refuses_the_write_and_keeps_the_rest(tmp_path: Path) -> None:
    """SQLite's own limit (``max_page_count``) gives the same SQLITE_FULL as a full disk."""
    path = tmp_path / "ledger.db"
    Ledger.open(path, FakeClock()).close()
    engine = make_engine(path)
    limit = {"pages": 1_000_000}

    @sa.event.listens_for(engine, "connect")
    def _limit(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    with engine.connect() as conn:
        limit["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar_one() + 3
    engine.dispose()  # new connections get the limit
    ledger = Ledger.open(engine, FakeClock())
    written: list[str] = []
    failure = None
    for n in range(10_000):
        try:
            ledger.append([intent(f"i{n}", size=str(n) + "0" * 500)])
        except LedgerFull as exc:
            failure = exc
            break
        written.append(f"intent:i{n}")
    assert failure is not None
    assert "disk is full" in str(failure) and "nothing was written" in str(failure)
    assert written  # it filled up after some writes, not at once
    assert ledger.model == read_model(engine)
    assert read_projection_tables(engine) == ledger.model
    ledger.close()
    assert committed(str(path)) == written
    again = Ledger.open(path, FakeClock())  # room again (no limit): writes go on
    again.append([intent("after")])
    again.close()
    assert committed(str(path)) == [*written, "intent:after"]


def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare and a tmpfs mount")
def test_a_really_full_disk(tmp_path: Path) -> None:
    """A writer on a 512 KiB tmpfs (in a private mount namespace) runs until the disk is
    full; every batch it reported is there and the failed one is not. Then a ballast file is
    removed and the next writer writes again."""
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    db = mnt / "ledger.db"
    count = f"{sys.executable} -m tests.store.count_events {db}"
    writer = f"{sys.executable} -m tests.store.writer_proc {db}"
    script = textwrap.dedent(
        f"""
        set -e
        mount -t tmpfs -o size=512k tmpfs {mnt}
        dd if=/dev/zero of={mnt}/ballast bs=1k count=64 2>/dev/null
        {writer} 0 100000 200 > {out}/first || true
        {count} > {out}/events_after_full
        rm {mnt}/ballast
        {writer} 100000 1 > {out}/second || true
        {count} > {out}/events_at_end
        """
    )
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = (out / "first").read_text().splitlines()
    assert lines[-1].startswith("error LedgerFull"), lines[-3:]
    reported = sum(len(line.split()[1].split(",")) for line in lines[:-1])
    assert reported > 10
    assert int((out / "events_after_full").read_text()) == reported
    assert (out / "second").read_text().split()[0] == "100000", (out / "second").read_text()
    assert int((out / "events_at_end").read_text()) == reported + 1 + 100000 % 3


# ---- locked database ---------------------------------------------------------------------


def test_a_locked_sqlite_database_fails_after_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger.open(path, FakeClock(), busy_timeout_ms=200)
    ledger.append([intent("i1")])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(LedgerBusy, match="locked"):
            ledger.append([intent("i2")])
        assert ledger.model.stats.last_seq == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ledger.append([intent("i2")]).seqs == [2]
    ledger.close()
    assert committed(str(path)) == ["intent:i1", "intent:i2"]


def test_a_locked_postgresql_table_fails_after_lock_timeout(pg_url: str) -> None:
    ledger = Ledger.open(pg_url, FakeClock(), busy_timeout_ms=200)
    ledger.append([intent("i1")])
    other = sa.create_engine(pg_url)
    try:
        with other.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE ledger_event IN EXCLUSIVE MODE")
            with pytest.raises(LedgerBusy, match="locked"):
                ledger.append([intent("i2")])
            conn.rollback()
        assert ledger.append([intent("i2")]).seqs == [2]
    finally:
        other.dispose()
        ledger.close()


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match="cannot reach the database"):
        Ledger.open("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2", FakeClock())


# ---- corrupt files -------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(LedgerCorrupt, match="damaged"):
        Ledger.open(path, FakeClock())
    with pytest.raises(LedgerCorrupt):  # again corrupt, not "in use": the lock was let go
        Ledger.open(path, FakeClock())


def test_damaged_pages_are_reported_not_folded(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger.open(path, FakeClock())
    for n in range(40):
        ledger.append([intent(f"i{n}", size=str(n) + "1" * 300)])
    ledger.close()  # checkpoints the WAL into the file
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[2 * page : len(data) - page] = b"\xa5" * (len(data) - 3 * page)  # keep page 1
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerCorrupt, match="damaged"):
        Ledger.open(path, FakeClock())


# ---- a writer killed mid-write -------------------------------------------------------------


def _run_and_kill(url: str, start: int, after_lines: int) -> list[tuple[int, list[int]]]:
    """Start a writer, SIGKILL it once it reported ``after_lines`` batches (plus whatever it
    was doing then); the batches it reported."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.writer_proc", url, str(start), "1000000"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    reported = []
    try:
        for line in proc.stdout:
            batch, seqs = line.split()
            reported.append((int(batch), [int(s) for s in seqs.split(",")]))
            if len(reported) >= after_lines:
                proc.send_signal(signal.SIGKILL)
                break
        rest = proc.stdout.read()  # lines written before the kill landed
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    for line in rest.splitlines():
        batch, seqs = line.split()
        reported.append((int(batch), [int(s) for s in seqs.split(",")]))
    return reported


@pytest.mark.slow
def test_a_killed_writer_loses_nothing_committed(ledger_url: str) -> None:
    reported: list[tuple[int, list[int]]] = []
    for round_, after in enumerate((25, 60, 7)):
        reported += _run_and_kill(ledger_url, 10_000 * (round_ + 1), after)
        engine = make_engine(ledger_url, write=False)
        recs = list(read_records(engine))
        engine.dispose()
        by_seq = {r.seq: r.event_id for r in recs}
        assert [r.seq for r in recs] == list(range(1, len(recs) + 1))  # no gaps
        for batch, seqs in reported:  # everything reported is there...
            assert [by_seq[s].split(":")[1].split("-")[0] for s in seqs] == [f"b{batch}"] * len(
                seqs
            )
        batches: dict[str, int] = {}
        for r in recs:  # ...and every batch is whole (all its fills or none)
            b = r.event_id.split(":")[1].split("-")[0]
            batches[b] = batches.get(b, 0) + 1
        assert all(n == 1 + int(b[1:]) % 3 for b, n in batches.items())
    if ledger_url.endswith(".db"):
        with sqlite3.connect(ledger_url) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    ledger = Ledger.open(ledger_url, FakeClock())  # the lock died with the writer
    try:
        assert read_projection_tables(ledger.engine) == ledger.model
        assert ledger.model == fold(ledger.records()).model
        last = ledger.last_seq
        assert ledger.append([fill("after", "o")]).seqs == [last + 1]
    finally:
        ledger.close()
