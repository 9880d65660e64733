"""Gamma rows as MarketInfo, and what the scanner does with rows it cannot use or that carry
no tags (a fake Gamma: the simulator always serves good, tagged v1 rows)."""

from __future__ import annotations

import msgspec
import pytest

from polytui.config import ScannerSettings
from polytui.core.clock import FakeClock
from polytui.core.universe import Excluded
from polytui.engine.scanner import Scanner
from polytui.engine.scanner.gamma_rows import BadMarket, iso_ms, market_info, merged
from polytui.protocol.wire import gamma as g
from polytui.protocol.wire import market_ws as mw
from polytui.protocol.wire.codec import decode
from tests.engine.scanner.conftest import Recorder

NOW = 1_795_000_000_000


def row(n: int, **fields) -> g.GammaMarket:
    base = {
        "id": str(500_000 + n),
        "conditionId": f"0x{n:064x}",
        "version": "v1",
        "slug": f"m-{n}",
        "clobTokenIds": msgspec.json.encode([f"{n}1", f"{n}2"]).decode(),
        "active": True,
        "acceptingOrders": True,
        "enableOrderBook": True,
        "endDate": "2026-11-20T00:00:00Z",
        "liquidityNum": 1000.0,
        "volume24hr": 50.0,
        "spread": 0.01,
        "tags": [{"id": "2", "label": "Politics", "slug": "politics"}],
        "events": [{"id": f"ev{n}"}],
    }
    base.update(fields)
    return decode(g.GammaMarket, msgspec.json.encode(base))


def test_a_row_becomes_market_info() -> None:
    info = market_info(row(1, umaResolutionStatus="Proposed", category="Elections"))
    assert info.tokens == ("11", "12") and info.gamma_id == "500001"
    assert info.tags == {"politics", "elections"}
    assert info.uma_status == "proposed" and not info.resolved
    assert info.end_ms == iso_ms("2026-11-20T00:00:00+00:00")
    assert (info.liquidity, info.volume_24hr, info.spread) == (1000.0, 50.0, 0.01)
    assert market_info(row(1, umaResolutionStatus="resolved")).resolved


def test_tokens_follow_the_version_and_an_unknown_one_is_refused() -> None:
    assert market_info(row(1, version="v2", positionIds=["7"])).tokens == ("7",)
    for version in (None, "v3"):
        with pytest.raises(BadMarket, match="500001: unknown version"):
            market_info(row(1, version=version))


def test_iso_dates() -> None:
    assert iso_ms("2026-11-20") == iso_ms("2026-11-20T00:00:00Z")
    assert iso_ms("") is None and iso_ms("not a date") is None and iso_ms(None) is None


def test_a_resolution_heard_on_the_stream_outlives_an_older_gamma_page() -> None:
    old = market_info(row(1))
    resolved = merged(None, old.__class__(**{**_fields(old), "resolved": True}))
    assert merged(resolved, old).resolved


def _fields(info) -> dict:
    return {f: getattr(info, f) for f in info.__slots__}


class FakeGamma:
    """The three reads the scanner makes, from lists of rows."""

    def __init__(self, rows: list[g.GammaMarket], events: list[g.GammaEvent] = ()) -> None:
        self.rows = rows
        self.events = list(events)
        self.event_asks: list[list[str]] = []

    def _open(self) -> list[g.GammaMarket]:
        return [r for r in self.rows if not r.closed]

    async def markets(self, *, limit, offset, order="", ascending=True, **_):
        rows = sorted(self._open(), key=lambda r: int(r.id), reverse=not ascending)
        return tuple(rows[offset : offset + limit])

    async def markets_by_id(self, ids, *, closed=False, **_):
        return tuple(r for r in self.rows if r.id in ids and r.closed == closed)

    async def events_by_id(self, ids, **_):
        self.event_asks.append(list(ids))
        return tuple(e for e in self.events if e.id in ids)


def scanner_of(gamma: FakeGamma, **settings) -> tuple[Scanner, Recorder]:
    recorder = Recorder()
    s = ScannerSettings(page_size=2, **settings)
    return Scanner(gamma, recorder, s, clock=FakeClock(NOW)), recorder  # type: ignore[arg-type]


async def test_a_bad_row_is_skipped_counted_and_hides_no_market(caplog) -> None:
    gamma = FakeGamma([row(1), row(2), row(3)])
    scanner, recorder = scanner_of(gamma)
    assert await scanner.scan()
    assert len(recorder.assets) == 3
    gamma.rows[1] = msgspec.structs.replace(gamma.rows[1], version="v9")
    assert await scanner.scan()  # the good rows are applied...
    assert await scanner.scan()
    assert scanner.kpis.bad_rows >= 2  # seen in the listing, and again when asked by id
    assert caplog.text.count("unknown version 'v9'") == 1  # ...the bad one logged once
    assert len(recorder.assets) == 3  # ...and its market is not unlisted for being absent
    assert scanner.why_not_watched(f"0x{2:064x}") is None


async def test_markets_without_tags_take_their_events_tags_once() -> None:
    untagged = [row(1, tags=[]), row(2, tags=[], events=[{"id": "ev1"}]), row(3, tags=[])]
    event = decode(
        g.GammaEvent, b'{"id": "ev1", "tags": [{"id": "9", "label": "Crypto", "slug": "crypto"}]}'
    )
    gamma = FakeGamma(untagged, [event])
    scanner, recorder = scanner_of(gamma, categories=("Crypto",))
    assert await scanner.scan()
    assert set(recorder.assets) == {f"0x{1:064x}", f"0x{2:064x}"}
    assert scanner.why_not_watched(f"0x{3:064x}") is Excluded.CATEGORY
    assert await scanner.scan()
    assert gamma.event_asks == [["ev1", "ev3"]]  # each event asked for once


async def test_a_market_that_closes_or_vanishes_leaves_and_a_resolution_is_at_once() -> None:
    gamma = FakeGamma([row(1), row(2), row(3)])
    scanner, recorder = scanner_of(gamma)
    assert await scanner.scan()
    gamma.rows[0] = msgspec.structs.replace(gamma.rows[0], closed=True)
    del gamma.rows[1]
    assert await scanner.refresh()
    assert set(recorder.assets) == {f"0x{3:064x}"}
    assert scanner.why_not_watched(f"0x{1:064x}") is Excluded.CLOSED
    assert scanner.why_not_watched(f"0x{2:064x}") is Excluded.UNLISTED
    resolved = mw.MarketResolved(
        id="500003",
        market=f"0x{3:064x}",
        assets_ids=("31", "32"),
        winning_asset_id="31",
        winning_outcome="Yes",
        timestamp=NOW,
    )
    scanner.on_market_event(resolved)
    scanner.on_market_event(resolved)  # another shard's copy
    assert not scanner.tradable(f"0x{3:064x}") and scanner.kpis.events == 1
    await scanner.catch_up()
    assert recorder.assets == {}
    assert await scanner.refresh()  # Gamma still lists it open: resolved stays resolved
    assert recorder.assets == {}


async def test_a_new_market_is_looked_up_once_at_once_then_by_the_refreshes() -> None:
    gamma = FakeGamma([row(1)])
    scanner, recorder = scanner_of(gamma)
    assert await scanner.scan()
    new = mw.NewMarket(id="500002", market=f"0x{2:064x}", assets_ids=("21", "22"), timestamp=NOW)
    before = scanner.reader.requests
    scanner.on_market_event(new)
    await scanner.catch_up()  # Gamma does not list it yet: asked once, not again and again
    await scanner.catch_up()
    assert scanner.reader.requests == before + 1
    gamma.rows.append(row(2))
    assert await scanner.refresh()  # the refresh asks for it by id, and newest finds it too
    assert set(recorder.assets) == {f"0x{1:064x}", f"0x{2:064x}"}
