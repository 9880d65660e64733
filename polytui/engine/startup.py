"""Startup shared by the headless run and the TUI: reach the simulator, then check the venue.

`open_simulator` yields the endpoints (starting a child simulator unless `sim.url` names a running
one). `check_venue` verifies `/ok` and `/version`, measures the clock skew from `/time` and counts
the markets Gamma lists.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx

from polytui.config import Settings, SimSettings, VenueSettings
from polytui.core.clock import Clock
from polytui.engine.sim_child import SimChild, fetch_endpoints, start_sim_child
from polytui.protocol.wire.errors import WireError
from polytui.venue.budget import RateBudget
from polytui.venue.capture import CaptureWriter
from polytui.venue.clients import VenueClients, open_venue
from polytui.venue.endpoints import POLYMARKET, Endpoints
from polytui.venue.errors import VenueError
from polytui.venue.retry import RetryPolicy
from polytui.venue.ws import WsSettings

CLOB_VERSION = 2


class VenueCheckError(RuntimeError):
    """The venue answered, but not like a CLOB V2 venue, or not at all."""


@dataclass(frozen=True)
class Simulator:
    endpoints: Endpoints
    child: SimChild | None  # None when polytui uses a simulator it did not start


@contextlib.asynccontextmanager
async def open_simulator(sim: SimSettings) -> AsyncIterator[Simulator]:
    if sim.url is not None:
        yield Simulator(await fetch_endpoints(sim.url), None)
        return
    async with start_sim_child(sim) as child:
        yield Simulator(child.endpoints, child)


@contextlib.asynccontextmanager
async def open_market_data(settings: Settings) -> AsyncIterator[Simulator]:
    """Where the market data comes from: the simulator (started, or ``sim.url``), or, in
    paper mode with ``paper.source = "polymarket"``, Polymarket's own hosts (no simulator:
    orders never leave the process in paper mode)."""
    if settings.run.mode == "paper" and settings.paper.source == "polymarket":
        yield Simulator(POLYMARKET, None)
        return
    async with open_simulator(settings.sim) as simulator:
        yield simulator


def retry_policy(venue: VenueSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=venue.retry_attempts,
        base_s=venue.backoff_base_s,
        cap_s=venue.backoff_cap_s,
        max_retry_after_s=venue.max_retry_after_s,
    )


def ws_settings(venue: VenueSettings) -> WsSettings:
    return WsSettings(
        ping_interval_s=venue.ws_ping_s,
        dead_after_s=venue.ws_dead_s,
        backoff_base_s=venue.ws_backoff_base_s,
        backoff_cap_s=venue.ws_backoff_cap_s,
        stable_after_s=venue.ws_stable_s,
        max_assets_per_conn=venue.ws_max_assets,
    )


@contextlib.asynccontextmanager
async def connect_venue(
    endpoints: Endpoints,
    venue: VenueSettings,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    capture: CaptureWriter | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[VenueClients]:
    """The venue's REST clients as configured, with the capture file open if one is set.

    ``clock`` and ``rng`` (the engine's) pace the retries and the rate budget, so a session
    waits on one clock and draws its jitter from its seed. ``capture`` is a writer someone
    else owns (a session record), used instead of ``venue.capture``; ``transport`` replaces
    the network (a replay)."""
    owned = None
    if capture is None and venue.capture is not None:
        try:
            capture = owned = CaptureWriter(venue.capture)
        except OSError as exc:
            raise VenueCheckError(
                f"cannot write the capture file {venue.capture}: {exc.strerror or exc}"
            ) from None
    timing: dict[str, object] = {}
    budget = RateBudget(venue.rate_budget)
    if clock is not None:
        timing = {"clock": clock, "sleep": clock.sleep}
        budget = RateBudget(venue.rate_budget, monotonic=clock.monotonic, sleep=clock.sleep)
    try:
        async with open_venue(
            endpoints,
            timeout_s=venue.timeout_s,
            policy=retry_policy(venue),
            budget=budget,
            capture=capture,
            rng=rng,
            transport=transport,
            **timing,
        ) as clients:
            yield clients
    finally:
        if owned is not None:
            owned.close()


@dataclass(frozen=True)
class VenueStatus:
    version: int
    server_time: int  # unix seconds on the venue's clock
    clock_skew_s: float  # venue clock minus local clock
    markets: int  # markets listed by Gamma


async def check_venue(
    venue: VenueClients, wall_clock: Callable[[], float] = time.time
) -> VenueStatus:
    """``/ok``, ``/version`` (must be CLOB V2), the clock skew, and Gamma's market count."""
    clob = venue.endpoints.clob
    with _as_check_error():
        if not await venue.clob.ok():
            raise VenueCheckError(f"GET {clob}/ok did not answer 'OK'")
        version = await venue.clob.version()
        if version != CLOB_VERSION:
            raise VenueCheckError(
                f"GET {clob}/version answered {version}, expected a CLOB V{CLOB_VERSION}"
            )
        server_time, skew = await fetch_server_time(venue, wall_clock)
        markets = 0
        async for _ in venue.gamma.all_markets():
            markets += 1
    return VenueStatus(CLOB_VERSION, server_time, skew, markets)


async def fetch_server_time(
    venue: VenueClients, wall_clock: Callable[[], float] = time.time
) -> tuple[int, float]:
    """The venue's clock (unix seconds) and its skew from ours, taken at the request midpoint."""
    with _as_check_error():
        sent = wall_clock()
        answer = await venue.clob.server_time()
        received = wall_clock()
    return answer, clock_skew(answer, sent, received)


def clock_skew(server_seconds: int, sent: float, received: float) -> float:
    """Server clock minus local clock at the midpoint of the request (1 s resolution)."""
    return round(server_seconds - (sent + received) / 2, 3)


async def venue_alive(venue: VenueClients) -> bool:
    try:
        return await venue.clob.ok()
    except (VenueError, WireError):
        return False


@contextlib.contextmanager
def _as_check_error() -> Iterator[None]:
    """A venue that fails or answers out of contract, as one error for the startup report."""
    try:
        yield
    except (VenueError, WireError, RuntimeError) as exc:
        if isinstance(exc, VenueCheckError):
            raise
        raise VenueCheckError(str(exc)) from None
