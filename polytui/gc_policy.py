"""The cyclic garbage collector's policy for a long-running polytui process.

A full collection walks every tracked object and holds the GIL while it does. After start-up
most of them are the imported modules' functions, classes and constants (about 130,000 with
the UI, 100,000 for the engine alone), which never become garbage; walking them took about
100 ms on a 2-core VPS (``python bench/ui.py`` prints the figure), and every such pause is
a pause of the engine's thread too, visible as apply lag. So once the process has started
everything, ``settle`` collects once and freezes what survives (``gc.freeze``): later full
collections walk only what the session itself creates. Objects that die by reference
count are still freed at once; only a cycle among objects that were alive at that moment
would never be collected, and those are the process's long-lived parts.

Young collections are made rarer too (``YOUNG_THRESHOLD`` allocations instead of 700): each
one costs little, but thousands a second cost more than a few larger ones.
"""

from __future__ import annotations

import gc
import threading
import time

YOUNG_THRESHOLD = 10_000
_lock = threading.Lock()
_settled: dict[str, float] = {}


def settle() -> dict[str, float] | None:
    """Collect and freeze, once per process (later calls do nothing and return None).
    Returns what it did: the objects frozen and the pause it took, in ms."""
    with _lock:
        if _settled:
            return None
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
        _settled.update(
            frozen=gc.get_freeze_count(), pause_ms=(time.perf_counter() - started) * 1000
        )
        return dict(_settled)


def settled() -> dict[str, float]:
    """What ``settle`` did, empty before it ran."""
    return dict(_settled)


def reset() -> None:
    """Undo ``settle`` as if the process were new: for a benchmark that runs several sessions
    in one process, each as the product would run it."""
    with _lock:
        gc.unfreeze()
        gc.set_threshold(700, *gc.get_threshold()[1:])
        _settled.clear()
