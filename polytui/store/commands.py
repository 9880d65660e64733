"""``polytui ledger rebuild | summary | tail``: the ledger from a shell.

``rebuild`` becomes the ledger's writer (so it refuses while the engine runs: one writer),
folds every event from seq 1, rewrites the projection tables and prints the summary: the
same text the running engine shows (``Store.summary``, both ``render_summary``).
``summary`` and ``tail`` only read, and work while the engine runs.

Output is data on stdout; errors go to stderr as one line, exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import msgspec

from polytui.core.clock import SystemClock
from polytui.core.ledger_summary import render_summary
from polytui.store.db import database_url, make_engine
from polytui.store.errors import StoreError
from polytui.store.ledger import Ledger, read_model, tail_records

OK, FAILED = 0, 1
_JSON = msgspec.json.Encoder(decimal_format="string")


def _missing(target: str | Path) -> str | None:
    """A SQLite ledger that does not exist is an error here, never a new empty file."""
    url = database_url(target)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return f"no ledger at {path}"
    return None


def _fail(message: str, err: TextIO | None) -> int:
    print(f"polytui: {message}", file=err or sys.stderr)
    return FAILED


def rebuild(target: str | Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    if problem := _missing(target):
        return _fail(problem, err)
    try:
        ledger = Ledger.open(target, SystemClock())
        try:
            model = ledger.rebuild()
        finally:
            ledger.close()
    except StoreError as exc:
        return _fail(str(exc), err)
    print(render_summary(model), file=out or sys.stdout)
    print(f"polytui: projections rebuilt from {model.stats.events} events", file=err or sys.stderr)
    return OK


def summary(target: str | Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    if problem := _missing(target):
        return _fail(problem, err)
    engine = make_engine(target, write=False)
    try:
        model = read_model(engine)
    except StoreError as exc:
        return _fail(str(exc), err)
    finally:
        engine.dispose()
    print(render_summary(model), file=out or sys.stdout)
    return OK


def tail(
    target: str | Path, count: int, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """The last ``count`` events, one JSON object per line, oldest first."""
    if problem := _missing(target):
        return _fail(problem, err)
    out = out or sys.stdout
    engine = make_engine(target, write=False)
    try:
        for r in tail_records(engine, count):
            line = {"seq": r.seq, "event_id": r.event_id, "ts_ms": r.ts_ms, "event": r.event}
            out.write(_JSON.encode(line).decode() + "\n")
    except StoreError as exc:
        return _fail(str(exc), err)
    finally:
        engine.dispose()
    return OK
