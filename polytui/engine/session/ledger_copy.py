"""The ledger of a session, written into its directory as JSON lines of records, and read
back into a ledger of the replay's own.

    export_ledger(target, DIR / "ledger-start.jsonl")    # before the engine opens it
    import_ledger(DIR / "ledger-start.jsonl", scratch)   # a replay's starting ledger

One line per record: ``{"seq", "event_id", "ts_ms", "event": {"kind", ...}}``, whatever the
ledger's database (SQLite or a URL). Read back, each event keeps its id and the time the
ledger took it, so the projections (an order's age included) are the ones the session had.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

import msgspec

from polytui.core.ledger_events import LedgerRecord
from polytui.store.db import database_url, make_engine
from polytui.store.ledger import Ledger, read_records

_ENCODE = msgspec.json.Encoder(decimal_format="string").encode
_DECODE = msgspec.json.Decoder(LedgerRecord).decode
BATCH = 500


def ledger_exists(target: str | Path) -> bool:
    url = database_url(target)
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).exists()
    return True


def export_ledger(target: str | Path, path: Path) -> int:
    """Write every record of the ledger at ``target`` to ``path``; the count (0 and no file
    when there is no ledger yet). Reads only: safe while no engine writes, as at a start."""
    if not ledger_exists(target):
        return 0
    engine = make_engine(target, write=False)
    count = 0
    try:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            for record in read_records(engine):
                f.write(_ENCODE(record) + b"\n")
                count += 1
        tmp.replace(path)
    finally:
        engine.dispose()
    return count


def read_exported(path: Path) -> Iterator[LedgerRecord]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield _DECODE(line)
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{number}: not a ledger record: {exc}") from None


class _At:
    """The ledger's clock while records are put back: the time each one was taken."""

    def __init__(self) -> None:
        self.ms = 0

    def now_ms(self) -> int:
        return self.ms

    def monotonic(self) -> float:
        return self.ms / 1000


def import_ledger(path: Path, target: str | Path) -> int:
    """Append the records of ``path`` to the (new) ledger at ``target``; their count."""
    clock = _At()
    ledger = Ledger.open(target, clock)  # type: ignore[arg-type]
    count = 0
    try:
        for ts_ms, group in groupby(read_exported(path), key=lambda r: r.ts_ms):
            clock.ms = ts_ms
            items = [(r.event, r.event_id) for r in group]
            for start in range(0, len(items), BATCH):
                ledger.append(items[start : start + BATCH])
            count += len(items)
    finally:
        ledger.close()
    return count
