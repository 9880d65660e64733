"""The official py-clob-client-v2 (1.2.1) reads markets and books from the simulator unchanged.

Every call goes through the client's own public methods and HTTP layer (httpx, sync), run in a
worker thread while the simulator serves on the test's event loop. The simulator's clock is
stopped (``time_scale=0``) and moved only through the admin API, so the book cannot change
between a client read and the truth it is compared with.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import BookParams, OrderType, PricesHistoryParams
from py_clob_client_v2.constants import END_CURSOR, INITIAL_CURSOR
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.http_helpers import helpers as client_http
from py_clob_client_v2.utilities import (
    generate_orderbook_summary_hash,
    parse_raw_orderbook_summary,
)

from polytui.sim.server import Simulator
from tests.sim.conftest import START_MS, Running

WARMUP_MS = 30_000  # simulated market life before the reads: books moved, trades happened
UNKNOWN_TOKEN = "1" * 77  # well-formed (77 digits, like a real id) but not in the universe
NO_BOOK = {"error": "No orderbook exists for the requested token id"}


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a synchronous client call off the loop that serves the simulator."""
    return await asyncio.to_thread(fn, *args)


@dataclass
class Venue:
    sim: Simulator
    endpoints: dict[str, str]
    running: Running  # the shared in-process simulator handle (tests/sim/conftest.py)

    def client(self) -> ClobClient:
        """A fresh official client (its tick/neg-risk caches are per instance)."""
        return ClobClient(host=self.endpoints["clob"], chain_id=137)

    async def clock(self, **body: Any) -> dict:
        if body:
            return await self.running.admin("POST", "/clock", body)
        return await self.running.admin("GET", "/clock")

    async def markets(self) -> list[dict]:
        return await self.running.admin("GET", "/markets")

    async def book(self, token: str) -> dict:
        return await self.running.admin("GET", f"/book?token_id={token}")

    async def control(self, condition_id: str, **body: Any) -> dict:
        return await self.running.admin("POST", f"/markets/{condition_id}", body)


@pytest.fixture
def venue_factory(start_sim) -> Callable[..., Any]:
    """Seed 1, clock stopped at START_MS (``time_scale=0``), then ``warmup_ms`` of market life."""

    async def make(markets: int = 10, rate: float = 100, warmup_ms: int = WARMUP_MS) -> Venue:
        running = await start_sim(seed=1, markets=markets, rate=rate)
        assert running.sim.clock.scale == 0
        venue = Venue(running.sim, running.endpoints, running)
        if warmup_ms:
            await venue.clock(advance_ms=warmup_ms)
        return venue

    return make


@pytest.fixture
async def venue(venue_factory) -> Venue:
    return await venue_factory()


def sample_tokens(markets: list[dict]) -> list[str]:
    """YES and NO of: a plain 0.01 market, a neg-risk market, a 0.001 market."""
    live = [m for m in markets if not m["closed"]]
    plain = next(m for m in live if not m["neg_risk"] and m["tick_size"] == "0.01")
    neg = next(m for m in live if m["neg_risk"])
    fine = next(m for m in live if m["tick_size"] == "0.001" and m is not neg)
    return [t for m in (plain, neg, fine) for t in m["tokens"]]


def own_hash(book: dict) -> str:
    """The book hash as the official client computes it (``utilities``), from the raw dict."""
    return generate_orderbook_summary_hash(parse_raw_orderbook_summary(book))


def best(book: dict) -> tuple[Decimal, Decimal]:
    """Best bid and ask of a §2.1 book: the LAST element of each side."""
    return Decimal(book["bids"][-1]["price"]), Decimal(book["asks"][-1]["price"])


def levels(side: list[dict]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(x["price"]), Decimal(x["size"])) for x in side]


def mirrored(side: list[dict]) -> list[tuple[Decimal, Decimal]]:
    return [(1 - p, s) for p, s in levels(side)]


async def expect_error(fn: Callable[..., Any], *args: Any) -> PolyApiException:
    with pytest.raises(PolyApiException) as info:
        await call(fn, *args)
    return info.value


# ---- health, time, version ---------------------------------------------------------------


async def test_ok_time_and_version(venue: Venue) -> None:
    client = venue.client()
    assert await call(client.get_ok) == "OK"
    now_ms = (await venue.clock())["now_ms"]
    assert now_ms == START_MS + WARMUP_MS
    assert await call(client.get_server_time) == now_ms // 1000
    # get_version() answers 2 even when the request fails, so read the same path with the
    # client's own HTTP helper as well: the wire answer itself must be {"version": 2}.
    assert await call(client.get_version) == 2
    assert await call(client_http.get, f"{venue.endpoints['clob']}/version") == {"version": 2}


# ---- market listings ---------------------------------------------------------------------


async def _page_through(method: Callable[[str], dict]) -> tuple[list[dict], int]:
    rows: list[dict] = []
    cursor, pages = INITIAL_CURSOR, 0
    while cursor != END_CURSOR:
        pages += 1
        assert pages <= 10, "cursor paging never reached LTE="
        page = await call(method, cursor)
        assert set(page) == {"limit", "count", "next_cursor", "data"}
        assert page["count"] == len(page["data"]) <= page["limit"]
        rows += page["data"]
        cursor = page["next_cursor"]
    return rows, pages


async def test_listings_page_to_the_end_cursor(venue_factory) -> None:
    """1003 markets span two pages of 1000; every listing ends on LTE= with nothing twice.
    One market is paused and one resolved, so the sampling listings must leave them out."""
    venue = await venue_factory(markets=1003, rate=0, warmup_ms=0)
    truth = await venue.markets()
    paused, resolved = truth[5]["condition_id"], truth[7]["condition_id"]
    await venue.control(paused, action="pause")
    await venue.control(resolved, action="resolve", winner="no")
    truth = {m["condition_id"]: m for m in await venue.markets()}
    assert len(truth) == 1003
    tradable = {c for c, m in truth.items() if m["accepting_orders"] and not m["closed"]}
    assert tradable == set(truth) - {paused, resolved}

    client = venue.client()
    listings = {
        "markets": (client.get_markets, set(truth)),
        "simplified": (client.get_simplified_markets, set(truth)),
        "sampling": (client.get_sampling_markets, tradable),
        "sampling_simplified": (client.get_sampling_simplified_markets, tradable),
    }
    for name, (method, expected) in listings.items():
        rows, pages = await _page_through(method)
        ids = [r["condition_id"] for r in rows]
        assert len(ids) == len(set(ids)), f"{name}: a market listed twice"
        assert set(ids) == expected, name
        assert pages == 2, name
        for row in rows:
            m = truth[row["condition_id"]]
            assert [t["token_id"] for t in row["tokens"]] == m["tokens"]
            assert [t["outcome"] for t in row["tokens"]] == ["Yes", "No"]
            assert (row["closed"], row["accepting_orders"]) == (m["closed"], m["accepting_orders"])
            if "simplified" in name:
                assert set(row) == {
                    "condition_id",
                    "tokens",
                    "rewards",
                    "active",
                    "closed",
                    "archived",
                    "accepting_orders",
                }
    rows, _ = await _page_through(client.get_markets)
    gone = next(r for r in rows if r["condition_id"] == resolved)
    assert [t["winner"] for t in gone["tokens"]] == [False, True]


async def test_get_market_matches_truth(venue: Venue) -> None:
    client = venue.client()
    for m in await venue.markets():
        row = await call(client.get_market, m["condition_id"])
        assert row["condition_id"] == m["condition_id"]
        assert [t["token_id"] for t in row["tokens"]] == m["tokens"]
        assert row["neg_risk"] is m["neg_risk"]
        assert str(row["minimum_tick_size"]) == m["tick_size"]
        assert row["minimum_order_size"] == 5
        assert (row["active"], row["closed"], row["accepting_orders"]) == (
            m["active"],
            m["closed"],
            m["accepting_orders"],
        )
        if m["neg_risk"]:
            assert row["neg_risk_market_id"].startswith("0x")
            assert len(row["neg_risk_market_id"]) == 66
    err = await expect_error(client.get_market, "0x" + "ab" * 32)
    assert err.status_code == 404


# ---- books -------------------------------------------------------------------------------


async def test_order_book_is_the_truth_and_hash_reproduces(venue: Venue) -> None:
    markets = await venue.markets()
    tokens = sample_tokens(markets)
    by_token = {t: m for m in markets for t in m["tokens"]}
    client = venue.client()
    books = {}
    for token in tokens:
        book = await call(client.get_order_book, token)
        books[token] = book
        assert book == await venue.book(token)
        assert list(book) == [
            "market",
            "asset_id",
            "timestamp",
            "hash",
            "bids",
            "asks",
            "min_order_size",
            "tick_size",
            "neg_risk",
            "last_trade_price",
        ]
        m = by_token[token]
        assert (book["market"], book["asset_id"]) == (m["condition_id"], token)
        assert book["tick_size"] == m["tick_size"]
        assert book["neg_risk"] is m["neg_risk"]
        assert book["min_order_size"] == "5"
        assert book["last_trade_price"] != ""  # WARMUP_MS of flow traded every sampled market
        bids, asks = levels(book["bids"]), levels(book["asks"])
        assert bids == sorted(bids)  # ascending: best bid last
        assert len({p for p, _ in bids}) == len(bids)
        assert asks == sorted(asks, reverse=True)  # descending: best ask last
        assert bids[-1][0] < asks[-1][0]  # not crossed at rest
        # the client's own helper, both ways it offers, reproduces the served hash
        assert own_hash(book) == book["hash"]
        assert await call(client.get_order_book_hash, book) == book["hash"]
        tampered = copy.deepcopy(book)
        tampered["bids"][-1]["size"] += "1"
        assert own_hash(tampered) != book["hash"]  # the check is not vacuous
    # NO is YES mirrored: NO bids are 1 - YES asks (same order), NO asks are 1 - YES bids
    for yes, no in zip(tokens[::2], tokens[1::2], strict=True):
        assert levels(books[no]["bids"]) == mirrored(books[yes]["asks"])
        assert levels(books[no]["asks"]) == mirrored(books[yes]["bids"])
        assert Decimal(books[no]["last_trade_price"]) == 1 - Decimal(books[yes]["last_trade_price"])


async def test_order_books_batch(venue: Venue) -> None:
    tokens = sample_tokens(await venue.markets())
    client = venue.client()
    batch = await call(client.get_order_books, [BookParams(token_id=t) for t in tokens])
    assert [b["asset_id"] for b in batch] == tokens
    for book in batch:
        assert book == await call(client.get_order_book, book["asset_id"])
        assert own_hash(book) == book["hash"]


async def test_book_hash_follows_the_book_across_a_tick_change(venue: Venue) -> None:
    markets = await venue.markets()
    m = next(m for m in markets if m["tick_size"] == "0.01" and not m["closed"])
    client = venue.client()
    before = await call(client.get_order_book, m["tokens"][0])
    assert str(await call(client.get_tick_size, m["tokens"][0])) == "0.01"
    await venue.control(m["condition_id"], action="tick", tick="0.001")
    await venue.clock(advance_ms=2_000)  # and let the book move on
    for token in m["tokens"]:
        book = await call(client.get_order_book, token)
        assert book["tick_size"] == "0.001"
        assert own_hash(book) == book["hash"]
        assert str(await call(venue.client().get_tick_size, token)) == "0.001"  # fresh cache
    assert book["hash"] != before["hash"]


# ---- prices ------------------------------------------------------------------------------


async def test_price_midpoint_spread_agree_with_the_book(venue: Venue) -> None:
    tokens = sample_tokens(await venue.markets())
    client = venue.client()
    want: dict[str, tuple[Decimal, Decimal]] = {}
    for token in tokens:
        book = await venue.book(token)
        bid, ask = best(book)
        want[token] = (bid, ask)
        # side=BUY is the best bid (what a seller gets), side=SELL the best ask
        assert Decimal((await call(client.get_price, token, "BUY"))["price"]) == bid
        assert Decimal((await call(client.get_price, token, "SELL"))["price"]) == ask
        assert Decimal((await call(client.get_midpoint, token))["mid"]) == (bid + ask) / 2
        assert Decimal((await call(client.get_spread, token))["spread"]) == ask - bid
        # create_market_order's pricing reads the book best-last; a tiny order fills at the top
        fill = client.calculate_market_price
        assert await call(fill, token, "BUY", 0.01, OrderType.FOK) == float(ask)
        assert await call(fill, token, "SELL", 0.01, OrderType.FOK) == float(bid)

    params = [BookParams(token_id=t, side=s) for t in tokens for s in ("BUY", "SELL")]
    prices = await call(client.get_prices, params)
    assert {t: (Decimal(v["BUY"]), Decimal(v["SELL"])) for t, v in prices.items()} == want
    mids = await call(client.get_midpoints, [BookParams(token_id=t) for t in tokens])
    assert {t: Decimal(v) for t, v in mids.items()} == {
        t: (b + a) / 2 for t, (b, a) in want.items()
    }
    spreads = await call(client.get_spreads, [BookParams(token_id=t) for t in tokens])
    assert {t: Decimal(v) for t, v in spreads.items()} == {t: a - b for t, (b, a) in want.items()}


async def test_last_trade_price(venue: Venue) -> None:
    tokens = sample_tokens(await venue.markets())
    client = venue.client()
    seen = {}
    for token in tokens:
        last = await call(client.get_last_trade_price, token)
        assert last["price"] == (await venue.book(token))["last_trade_price"] != ""
        assert last["side"] in ("BUY", "SELL")
        seen[token] = last
    for yes, no in zip(tokens[::2], tokens[1::2], strict=True):
        assert Decimal(seen[no]["price"]) == 1 - Decimal(seen[yes]["price"])
        assert {seen[yes]["side"], seen[no]["side"]} == {"BUY", "SELL"}
    batch = await call(client.get_last_trades_prices, [BookParams(token_id=t) for t in tokens])
    assert {row["token_id"]: {"price": row["price"], "side": row["side"]} for row in batch} == seen


async def test_untraded_market_reads(venue_factory) -> None:
    venue = await venue_factory(rate=0, warmup_ms=0)
    token = sample_tokens(await venue.markets())[0]
    client = venue.client()
    assert (await call(client.get_order_book, token))["last_trade_price"] == ""
    last = await call(client.get_last_trade_price, token)
    assert last["side"] == ""  # §2.11: "no trade yet" is told by the empty side
    assert last["price"] in ("0", "")
    batch = await call(client.get_last_trades_prices, [BookParams(token_id=token)])
    assert all(row["side"] == "" for row in batch)  # sparse: absent, or marked as no trade
    params = PricesHistoryParams(market=token, interval="max")
    history = await call(client.get_prices_history, params)
    assert history == {"history": []}


async def test_prices_history(venue: Venue) -> None:
    yes, no = sample_tokens(await venue.markets())[:2]
    client = venue.client()
    now_s = (START_MS + WARMUP_MS) // 1000
    history = client.get_prices_history
    full = (await call(history, PricesHistoryParams(market=yes, interval="max")))["history"]
    assert full, "no history after trading"
    ts = [p["t"] for p in full]
    assert ts == sorted(set(ts))
    assert all(isinstance(t, int) and t % 60 == 0 and t <= now_s for t in ts)
    book = await venue.book(yes)
    assert Decimal(str(full[-1]["p"])) == Decimal(book["last_trade_price"])
    mirror = (await call(history, PricesHistoryParams(market=no, interval="1h")))["history"]
    assert [p["t"] for p in mirror] == ts
    assert [Decimal(str(p["p"])) for p in mirror] == [1 - Decimal(str(p["p"])) for p in full]
    window = await call(
        history,
        PricesHistoryParams(market=yes, start_ts=ts[-1], end_ts=now_s, fidelity=1),
    )
    assert window["history"] == full[-1:]


# ---- tick size, neg risk, and the helpers create_market_order relies on ------------------


async def test_tick_size_and_neg_risk(venue: Venue) -> None:
    markets = await venue.markets()
    assert {"0.01", "0.001"} <= {m["tick_size"] for m in markets}
    assert {m["neg_risk"] for m in markets} == {True, False}
    client = venue.client()
    for m in markets:
        for token in m["tokens"]:
            tick = await call(client.get_tick_size, token)
            assert str(tick) == m["tick_size"]
            neg = await call(client.get_neg_risk, token)
            assert neg is m["neg_risk"]
    err = await expect_error(venue.client().get_tick_size, UNKNOWN_TOKEN)
    assert err.status_code == 404
    err = await expect_error(venue.client().get_neg_risk, UNKNOWN_TOKEN)
    assert err.status_code == 404


async def test_market_info_helpers(venue: Venue) -> None:
    """``create_market_order`` resolves a token through /markets-by-token and /clob-markets;
    ``get_fee_exponent`` is the public method that takes that path, and it seeds the tick and
    neg-risk caches from /clob-markets' short keys."""
    markets = await venue.markets()
    for m in (m for m in markets if m["neg_risk"] or m["tick_size"] == "0.001"):
        for token in m["tokens"]:
            client = venue.client()
            assert await call(client.get_fee_exponent, token) == 1
            assert str(await call(client.get_tick_size, token)) == m["tick_size"]
            assert await call(client.get_neg_risk, token) is m["neg_risk"]
        info = await call(venue.client().get_clob_market_info, m["condition_id"])
        assert info["c"] == m["condition_id"]
        assert [(t["t"], t["o"]) for t in info["t"]] == [
            (m["tokens"][0], "Yes"),
            (m["tokens"][1], "No"),
        ]
        assert str(info["mts"]) == m["tick_size"]
        assert info["nr"] is m["neg_risk"]
        url = f"{venue.endpoints['clob']}/markets-by-token/{m['tokens'][1]}"
        by_token = await call(client_http.get, url)
        assert by_token["condition_id"] == m["condition_id"]


# ---- errors ------------------------------------------------------------------------------


async def test_errors_are_client_exceptions_with_the_documented_status(venue: Venue) -> None:
    client = venue.client()
    token = sample_tokens(await venue.markets())[0]

    err = await expect_error(client.get_order_book, UNKNOWN_TOKEN)
    assert (err.status_code, err.error_msg) == (404, NO_BOOK)
    for bad in ("abc", "0x1f", "-5"):
        err = await expect_error(client.get_order_book, bad)
        assert (err.status_code, err.error_msg) == (400, {"error": "Invalid token id"})
    err = await expect_error(client.get_price, token, "HOLD")
    assert (err.status_code, err.error_msg) == (400, {"error": "Invalid side"})
    err = await expect_error(client.get_midpoint, UNKNOWN_TOKEN)
    assert (err.status_code, err.error_msg) == (404, NO_BOOK)
    err = await expect_error(client.get_spread, "abc")
    assert err.status_code == 400
    err = await expect_error(client.get_tick_size, UNKNOWN_TOKEN)
    assert (err.status_code, err.error_msg) == (404, {"error": "market not found"})


async def test_resolved_market_has_no_book(venue: Venue) -> None:
    markets = await venue.markets()
    m = next(m for m in markets if m["neg_risk"])
    client = venue.client()
    assert (await call(client.get_order_book, m["tokens"][0]))["neg_risk"] is True
    await venue.control(m["condition_id"], action="resolve", winner="yes")
    for token in m["tokens"]:
        err = await expect_error(client.get_order_book, token)
        assert (err.status_code, err.error_msg) == (404, NO_BOOK)
    row = await call(client.get_market, m["condition_id"])
    assert row["closed"] is True
    assert [t["winner"] for t in row["tokens"]] == [True, False]
    batch = await call(client.get_order_books, [BookParams(token_id=t) for t in m["tokens"]])
    assert batch == []
