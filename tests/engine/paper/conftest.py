"""Paper tests: the mirror rig on an in-process simulator (held clock)."""

from __future__ import annotations

from tests.engine.mirror.conftest import rig
from tests.sim.conftest import start_sim

__all__ = ["rig", "start_sim"]
