"""The running engine copying ``polytui sim``'s leaders, for the strategy engine tests."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import httpx

from polytui.config import SimSettings, load_settings
from polytui.engine.kernel import Engine
from polytui.engine.sim_child import start_sim_child
from polytui.engine.startup import connect_venue
from polytui.keys import load_or_create_sim_key


@contextlib.asynccontextmanager
async def trading(tmp_path: Path, faults: str | None = None, **risk):
    sim = SimSettings(seed=4, markets=8, rate=60, faults=faults, leader_activity=80)
    settings = load_settings(
        None,
        {
            "sim": sim.model_dump(exclude_none=True),
            "paths": {"data_dir": str(tmp_path / "data")},
            "orders": {"resolve_s": 0.5, "flush_s": 0.2, "heartbeat_s": 2.0},
            "copytrade": {"poll_s": 0.5, "window_s": 1.0},
            "risk": risk,
            "venue": {"ws_backoff_base_s": 0.05, "ws_backoff_cap_s": 0.2},
        },
    )
    key = load_or_create_sim_key(settings.paths.data_dir)
    async with (
        start_sim_child(settings.sim) as child,
        connect_venue(child.endpoints, settings.venue) as venue,
        httpx.AsyncClient(timeout=10) as admin,
    ):
        engine = Engine(settings, venue, key=key, rng=random.Random(3))
        task = asyncio.create_task(engine.run())
        try:
            async with asyncio.timeout(30):
                await engine.ready.wait()
            yield engine, child.endpoints.admin, admin, key
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
