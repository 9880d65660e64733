"""A ledger writer in its own process, for the crash and full-disk tests.

    python -m tests.store.writer_proc URL START COUNT

Appends batches of 1 to 3 fills (trade ids ``b<batch>-<n>``), durably, for batches START to
START+COUNT-1, printing ``<batch> <seq>,<seq>...`` after each append has returned (so every
line printed is committed). On a ``StoreError`` it prints ``error <ClassName> <message>`` and
exits 3. Its parent may SIGKILL it at any moment.
"""

from __future__ import annotations

import sys

from polytui.core.clock import SystemClock
from polytui.store.errors import StoreError
from polytui.store.ledger import Ledger
from tests.ledger_data import fill


def main(url: str, start: int, count: int, pad: int = 0) -> int:
    ledger = Ledger.open(url, SystemClock())
    for batch in range(start, start + count):
        events = [
            fill(f"b{batch}-{n}" + "x" * pad, f"o{batch}", size=str(1 + n))
            for n in range(1 + batch % 3)
        ]
        try:
            seqs = ledger.append(events).seqs
        except StoreError as exc:
            print(f"error {type(exc).__name__} {exc}", flush=True)
            return 3
        print(batch, ",".join(map(str, seqs)), flush=True)
    ledger.close()
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 0))
