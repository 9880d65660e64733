"""Startup shared by the headless run and the TUI: reach the simulator, then check the venue.

`open_simulator` yields the endpoints (starting a child simulator unless `sim.url` names a running
one). `check_venue` verifies `/ok` and `/version`, measures the clock skew from `/time` and counts
the markets Gamma lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from polytui.config import SimSettings
from polytui.engine.sim_child import Endpoints, SimChild, fetch_endpoints, start_sim_child

CLOB_VERSION = 2
GAMMA_PAGE_SIZE = 100
MAX_GAMMA_PAGES = 1000
RETRIES = 3


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


@dataclass(frozen=True)
class VenueStatus:
    version: int
    server_time: int  # unix seconds on the venue's clock
    clock_skew_s: float  # venue clock minus local clock
    markets: int  # markets listed by Gamma


async def check_venue(
    client: httpx.AsyncClient, endpoints: Endpoints, wall_clock: Callable[[], float] = time.time
) -> VenueStatus:
    ok = (await _get(client, f"{endpoints.clob}/ok")).text.strip().strip('"')
    if ok != "OK":
        raise VenueCheckError(f"GET {endpoints.clob}/ok answered {ok[:80]!r}, expected 'OK'")
    version = _json(await _get(client, f"{endpoints.clob}/version"))
    if not isinstance(version, dict) or version.get("version") != CLOB_VERSION:
        raise VenueCheckError(
            f"GET {endpoints.clob}/version answered {version!r}, expected a CLOB V{CLOB_VERSION}"
        )
    server_time, skew = await fetch_server_time(client, endpoints, wall_clock)
    markets = await count_markets(client, endpoints)
    return VenueStatus(CLOB_VERSION, server_time, skew, markets)


async def fetch_server_time(
    client: httpx.AsyncClient, endpoints: Endpoints, wall_clock: Callable[[], float] = time.time
) -> tuple[int, float]:
    """The venue's clock (unix seconds) and its skew from ours, taken at the request midpoint."""
    sent = wall_clock()
    answer = _json(await _get(client, f"{endpoints.clob}/time"))
    received = wall_clock()
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise VenueCheckError(f"GET {endpoints.clob}/time answered {answer!r}, expected seconds")
    return answer, clock_skew(answer, sent, received)


def clock_skew(server_seconds: int, sent: float, received: float) -> float:
    """Server clock minus local clock at the midpoint of the request (1 s resolution)."""
    return round(server_seconds - (sent + received) / 2, 3)


async def count_markets(client: httpx.AsyncClient, endpoints: Endpoints) -> int:
    """Page through Gamma `/markets` until an empty page."""
    total = 0
    for _ in range(MAX_GAMMA_PAGES):
        url = f"{endpoints.gamma}/markets"
        page = _json(await _get(client, url, params={"limit": GAMMA_PAGE_SIZE, "offset": total}))
        if not isinstance(page, list):
            raise VenueCheckError(f"GET {url} answered {type(page).__name__}, expected a list")
        if not page:
            return total
        total += len(page)
    raise VenueCheckError(f"Gamma listed more than {MAX_GAMMA_PAGES} pages of markets")


async def venue_alive(client: httpx.AsyncClient, endpoints: Endpoints) -> bool:
    try:
        await _get(client, f"{endpoints.clob}/ok", retries=1)
    except VenueCheckError:
        return False
    return True


async def _get(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, Any] | None = None,
    retries: int = RETRIES,
) -> httpx.Response:
    """GET with a few quick retries on transport errors, 429 and 5xx."""
    problem = ""
    for attempt in range(retries):
        if attempt:
            await asyncio.sleep(0.2 * attempt)
        try:
            response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            problem = f"failed: {exc!r}"
            continue
        if response.status_code == 429 or response.status_code >= 500:
            problem = f"answered HTTP {response.status_code}"
            continue
        if response.is_error:
            raise VenueCheckError(f"GET {url} answered HTTP {response.status_code}")
        return response
    raise VenueCheckError(f"GET {url} {problem}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise VenueCheckError(f"GET {response.url} did not answer JSON") from None
