"""Venue-client tests run against an in-process simulator on loopback (the ``start_sim``
fixture of the simulator tests), on the same event loop as the client under test."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable

import pytest

from polytui.venue.endpoints import Endpoints
from polytui.venue.http import HttpClient
from polytui.venue.retry import RetryPolicy
from tests.sim.conftest import Running, start_sim
from tests.sim.trading import WARMUP_MS

__all__ = ["start_sim"]


@pytest.fixture
async def venue(start_sim) -> Running:
    """A simulator whose markets have warmed up, its clock held (``time_scale=0``)."""
    running = await start_sim(seed=5, markets=6, rate=100)
    await running.advance(WARMUP_MS)
    return running


class Waits:
    """An injected sleep: records each wait and runs ``then`` instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.then: Callable[[], object] | None = None

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.then is not None:
            result = self.then()
            if hasattr(result, "__await__"):
                await result


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
async def http_for(waits: Waits) -> AsyncIterator[Callable[..., HttpClient]]:
    """``http_for(running, **options)``: an HttpClient on the simulator; closed at the end."""
    made: list[HttpClient] = []

    def make(running: Running, **options) -> HttpClient:
        options.setdefault("rng", random.Random(7))
        options.setdefault("sleep", waits)
        options.setdefault("policy", RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05))
        client = HttpClient(Endpoints.from_json(running.endpoints), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()
