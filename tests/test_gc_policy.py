"""The collector's policy (polytui/gc_policy.py), each case in a fresh interpreter: freezing
changes the whole process's collector, which a test must not do to the test runner's."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from polytui import gc_policy
import polytui.engine.kernel  # what a running engine has imported
out = {"before": gc.get_freeze_count(), "young_before": gc.get_threshold()[0]}
first = gc_policy.settle()
out.update(first=first, frozen=gc.get_freeze_count(), young=gc.get_threshold()[0])
out["second"] = gc_policy.settle()
out["settled"] = gc_policy.settled()
# a cycle made after settling is still collected
class Node: pass
a, b = Node(), Node(); a.b, b.a = b, a
del a, b
out["collected_after"] = gc.collect()
gc_policy.reset()
out.update(after_reset=gc.get_freeze_count(), young_reset=gc.get_threshold()[0],
           settled_reset=gc_policy.settled(), again=gc_policy.settle() is not None)
print(json.dumps(out))
"""


def probe() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def test_settle_freezes_once_and_a_reset_undoes_it() -> None:
    out = probe()
    assert out["before"] == 0 and out["young_before"] == 700
    assert out["first"]["frozen"] > 20_000  # the modules' objects
    assert abs(out["frozen"] - out["first"]["frozen"]) < 100
    assert out["first"]["pause_ms"] > 0
    assert out["young"] == 10_000
    assert out["second"] is None  # once per process
    assert out["settled"] == out["first"]
    assert out["collected_after"] >= 2  # the new cycle: frozen objects only are left alone
    assert out["after_reset"] == 0 and out["young_reset"] == 700 and out["settled_reset"] == {}
    assert out["again"]
