"""``python -m tests.store.count_events URL``: how many events the ledger holds (a reader)."""

from __future__ import annotations

import sys

from polytui.store.db import make_engine
from polytui.store.ledger import read_model

if __name__ == "__main__":
    print(read_model(make_engine(sys.argv[1], write=False)).stats.events)
