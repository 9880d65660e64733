"""One venue's REST clients on one shared connection pool, rate budget and capture."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from polytui.venue.clob import ClobClient
from polytui.venue.data_api import DataApiClient
from polytui.venue.endpoints import Endpoints
from polytui.venue.gamma import GammaClient
from polytui.venue.http import HttpClient


@dataclass(frozen=True)
class VenueClients:
    endpoints: Endpoints
    http: HttpClient
    clob: ClobClient
    gamma: GammaClient
    data: DataApiClient


@contextlib.asynccontextmanager
async def open_venue(endpoints: Endpoints, **http_options) -> AsyncIterator[VenueClients]:
    """The REST clients of ``endpoints``; ``http_options`` go to ``HttpClient``."""
    async with HttpClient(endpoints, **http_options) as http:
        yield VenueClients(
            endpoints, http, ClobClient(http), GammaClient(http), DataApiClient(http)
        )
