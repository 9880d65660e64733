"""Gamma (market discovery, protocol §6): markets and events with the fields a scanner reads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from polytui.sim.markets import HOUR, Market
from polytui.sim.rest import error, iso, iso_ms, sim_of
from polytui.sim.units import PRICE_SCALE, price_str

if TYPE_CHECKING:
    from polytui.sim.server import Simulator

routes = web.RouteTableDef()
MAX_LIMIT = 500
_encode = msgspec.json.Encoder().encode


TAG_IDS = {
    "Crypto": "100",
    "Economics": "101",
    "Politics": "102",
    "Sports": "103",
    "Tech": "104",
    "Weather": "105",
}


def tag_of(category: str) -> dict[str, str]:
    return {"id": TAG_IDS.get(category, "1"), "label": category, "slug": category.lower()}


def gamma_market(sim: Simulator, m: Market) -> dict:
    ex = sim.exchange
    now = ex.now_ms
    book = ex.books[m.condition_id]
    bid, ask = book.best_bid(), book.best_ask()
    last = ex.last_trade.get(m.yes_token)
    yes = last[0] / PRICE_SCALE if last else round(m.fair, 4)
    if m.winner is not None:
        yes = 1.0 if m.winner == m.yes_token else 0.0
    liquidity = sum(p * lv.total for p, lv in book.bids.items()) + sum(
        (PRICE_SCALE - p) * lv.total for p, lv in book.asks.items()
    )
    liquidity_usd = round(liquidity / PRICE_SCALE / 1_000_000, 4)
    volume = round(m.base_volume + m.volume, 2)
    day = round(m.base_volume / 365 + m.volume_since(now, 24), 4)
    tag = tag_of(m.category)
    return {
        "id": m.gamma_id,
        "version": "v1",
        "question": m.question,
        "conditionId": m.condition_id,
        "questionID": m.question_id,
        "slug": m.slug,
        "description": f"Resolves Yes if: {m.question}",
        "category": m.category,
        "outcomes": json.dumps(["Yes", "No"]),
        "outcomePrices": json.dumps([f"{yes:.4g}", f"{1 - yes:.4g}"]),
        "clobTokenIds": json.dumps([m.yes_token, m.no_token]),
        "positionIds": [],
        "active": m.active,
        "closed": m.closed,
        "archived": m.archived,
        "restricted": False,
        "acceptingOrders": m.accepting_orders,
        "acceptingOrdersTimestamp": iso(m.created_ms),
        "enableOrderBook": m.enable_order_book,
        "startDate": iso_ms(m.created_ms),
        "endDate": iso(m.end_ms),
        "endDateIso": iso(m.end_ms)[:10],
        "closedTime": iso_ms(m.closed_ms) if m.closed_ms else None,
        "createdAt": iso_ms(m.created_ms),
        "updatedAt": iso_ms(m.updated_ms),
        "liquidity": str(liquidity_usd),
        "liquidityNum": liquidity_usd,
        "liquidityClob": liquidity_usd,
        "volume": str(volume),
        "volumeNum": volume,
        "volume24hr": day,
        "volume1wk": round(m.base_volume / 52 + m.volume_since(now, 24 * 7), 4),
        "volume1mo": round(m.base_volume / 12 + m.volume_since(now, 24 * 30), 4),
        "bestBid": float(price_str(bid)) if bid is not None else 0,
        "bestAsk": float(price_str(ask)) if ask is not None else 1,
        "spread": float(price_str(ask - bid)) if bid is not None and ask is not None else 1,
        "lastTradePrice": float(price_str(last[0])) if last else 0,
        "oneDayPriceChange": 0,
        "oneWeekPriceChange": 0,
        "negRisk": m.neg_risk,
        "negRiskMarketID": m.neg_risk_market_id,
        "negRiskRequestID": m.question_id if m.neg_risk else "",
        "orderPriceMinTickSize": m.tick / PRICE_SCALE,
        "orderMinSize": m.min_size,
        "groupItemTitle": m.question if m.neg_risk else "",
        "umaResolutionStatus": m.uma_status,
        "umaResolutionStatuses": json.dumps([m.uma_status] if m.uma_status else []),
        "resolvedBy": "0x0000000000000000000000000000000000000000",
        "feesEnabled": False,
        "feeType": "",
        "feeSchedule": {"exponent": 1, "rate": 0, "takerOnly": True, "rebateRate": 0},
        "rewardsMinSize": 0,
        "rewardsMaxSpread": 0,
        "clobRewards": [],
        "events": [
            {
                "id": m.event_id,
                "slug": m.event_slug,
                "title": m.event_title,
                "negRisk": m.neg_risk,
                "tags": [tag],
            }
        ],
        "tags": [tag],
    }


class RowCache:
    """Each market's Gamma row and its JSON, built again only when something it shows changed.

    A listing of 20,000 markets would otherwise rebuild 20,000 rows (about 100 µs each) for
    every page a scanner asks for; with the cache a page costs what its own rows cost, and
    an unchanged row is served as the bytes encoded last time.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[tuple, dict, bytes]] = {}
        self._index: dict[str, Market] = {}

    @staticmethod
    def _key(sim: Simulator, m: Market) -> tuple:
        ex = sim.exchange
        last = ex.last_trade.get(m.yes_token)
        return (
            ex.book_ms.get(m.condition_id),
            m.updated_ms,
            m.end_ms,
            ex.now_ms // HOUR,  # the volume windows move by the hour
            m.volume,
            last,
            None if last else round(m.fair, 4),
            m.active,
            m.closed,
            m.archived,
            m.accepting_orders,
            m.uma_status,
            m.tick,
            m.winner,
        )

    def _entry(self, sim: Simulator, m: Market) -> tuple[tuple, dict, bytes]:
        key = self._key(sim, m)
        hit = self._rows.get(m.condition_id)
        if hit is not None and hit[0] == key:
            return hit
        row = gamma_market(sim, m)
        entry = self._rows[m.condition_id] = (key, row, _encode(row))
        return entry

    def by_gamma_id(self, sim: Simulator) -> dict[str, Market]:
        """Markets by Gamma id (markets are only ever added, so the size tells it is current)."""
        markets = sim.exchange.markets
        if len(self._index) != len(markets):
            self._index = {m.gamma_id: m for m in markets.values()}
        return self._index

    def row(self, sim: Simulator, m: Market) -> dict:
        return self._entry(sim, m)[1]

    def encoded(self, sim: Simulator, m: Market) -> bytes:
        return self._entry(sim, m)[2]


def _bool(value: str) -> bool | None:
    v = value.lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    return None


class FilterError(ValueError):
    pass


def _number(q, name: str) -> float | None:
    if name not in q:
        return None
    try:
        return float(q[name])
    except ValueError as exc:
        raise FilterError(f"invalid {name}") from exc


def _date_ms(q, name: str) -> int | None:
    if name not in q:
        return None
    try:
        return int(datetime.fromisoformat(q[name].replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError as exc:
        raise FilterError(f"invalid {name}") from exc


def _flag(q, name: str, default: bool | None) -> bool | None:
    if name not in q:
        return default
    value = _bool(q[name])
    if value is None:
        raise FilterError(f"invalid {name}")
    return value


ROW_BOUNDS = ("liquidity_num_min", "liquidity_num_max", "volume_num_min", "volume_num_max")


def market_filter(q):
    """Predicates from Gamma's query parameters: one over the market itself, and one over its
    Gamma row for the bounds on figures (``None`` when the query has none), so a listing only
    builds the rows it must."""
    ids = set(q.getall("id", []))
    slugs = set(q.getall("slug", []))
    tokens = {t for v in q.getall("clob_token_ids", []) for t in v.split(",") if t}
    conditions = {c for v in q.getall("condition_ids", []) for c in v.split(",") if c}
    closed = _flag(q, "closed", False)  # omitted means open markets only, as on the real host
    active, archived = _flag(q, "active", None), _flag(q, "archived", None)
    bounds = {n: _number(q, n) for n in ROW_BOUNDS}
    dates = {
        n: _date_ms(q, n)
        for n in ("end_date_min", "end_date_max", "start_date_min", "start_date_max")
    }
    tag_id = q.get("tag_id")
    uma = q.get("uma_resolution_status")

    named = [  # (the query's value, its test); only the filters the query names are run
        (ids or None, lambda m: m.gamma_id in ids),
        (slugs or None, lambda m: m.slug in slugs),
        (tokens or None, lambda m: bool(tokens & set(m.tokens))),
        (conditions or None, lambda m: m.condition_id in conditions),
        (closed, lambda m: m.closed == closed),
        (active, lambda m: m.active == active),
        (archived, lambda m: m.archived == archived),
        (dates["end_date_min"], lambda m: m.end_ms >= dates["end_date_min"]),
        (dates["end_date_max"], lambda m: m.end_ms <= dates["end_date_max"]),
        (dates["start_date_min"], lambda m: m.created_ms >= dates["start_date_min"]),
        (dates["start_date_max"], lambda m: m.created_ms <= dates["start_date_max"]),
        (tag_id, lambda m: tag_of(m.category)["id"] == tag_id),
        (uma, lambda m: m.uma_status == uma),
    ]
    checks = [test for value, test in named if value is not None]

    def keep(m: Market) -> bool:
        return all(check(m) for check in checks)

    if all(v is None for v in bounds.values()):
        return keep, None

    def keep_row(row: dict) -> bool:
        lo_l, hi_l = bounds["liquidity_num_min"], bounds["liquidity_num_max"]
        lo_v, hi_v = bounds["volume_num_min"], bounds["volume_num_max"]
        return (
            (lo_l is None or row["liquidityNum"] >= lo_l)
            and (hi_l is None or row["liquidityNum"] <= hi_l)
            and (lo_v is None or row["volumeNum"] >= lo_v)
            and (hi_v is None or row["volumeNum"] <= hi_v)
        )

    return keep, keep_row


# Row fields a listing can be ordered by without building the rows: the market's own.
STATIC_ORDER = {
    "id": lambda m: int(m.gamma_id),
    "slug": lambda m: m.slug,
    "conditionId": lambda m: m.condition_id,
    "startDate": lambda m: m.created_ms,
    "createdAt": lambda m: m.created_ms,
    "endDate": lambda m: m.end_ms,
}


def _window(q) -> tuple[int, int]:
    try:
        limit = min(MAX_LIMIT, max(0, int(q.get("limit", 20))))
        offset = max(0, int(q.get("offset", 0)))
    except ValueError as exc:
        raise FilterError("invalid limit or offset") from exc
    return offset, limit


def _order(q) -> tuple[list[str], bool]:
    return [f for f in q.get("order", "").split(",") if f], bool(_flag(q, "ascending", True))


def _sort_rows(rows: list[dict], order: list[str], ascending: bool) -> None:
    for field in reversed(order):
        if field == "id":
            rows.sort(key=lambda r: int(r["id"]), reverse=not ascending)
            continue
        rows.sort(key=lambda r, f=field: (r.get(f) is None, r.get(f) or 0), reverse=not ascending)


def _paged(q, rows: list[dict]) -> list[dict]:
    order, ascending = _order(q)
    _sort_rows(rows, order, ascending)
    offset, limit = _window(q)
    return rows[offset : offset + limit]


def _listing(sim: Simulator, q) -> bytes:
    """One page of ``/markets`` as JSON: the market filter first, the rows only of the page
    unless a bound or the order needs every row's figures."""
    keep, keep_row = market_filter(q)
    order, ascending = _order(q)
    offset, limit = _window(q)
    cache = sim.gamma_rows
    ids = q.getall("id", [])
    if ids:  # a lookup by id reads those markets, not the whole catalogue
        index = cache.by_gamma_id(sim)
        candidates = [index[i] for i in dict.fromkeys(ids) if i in index]
    else:
        candidates = sim.exchange.markets.values()
    markets = [m for m in candidates if keep(m)]
    if keep_row is None and all(f in STATIC_ORDER for f in order):
        for field in reversed(order):
            markets.sort(key=STATIC_ORDER[field], reverse=not ascending)
        page = markets[offset : offset + limit]
        return b"[" + b",".join(cache.encoded(sim, m) for m in page) + b"]"
    rows = [(cache.row(sim, m), m) for m in markets]
    if keep_row is not None:
        rows = [(r, m) for r, m in rows if keep_row(r)]
    by_row = {id(r): m for r, m in rows}
    listed = [r for r, _ in rows]
    _sort_rows(listed, order, ascending)
    page = listed[offset : offset + limit]
    return b"[" + b",".join(cache.encoded(sim, by_row[id(r)]) for r in page) + b"]"


@routes.get("/gamma/markets")
async def markets(request: web.Request) -> web.Response:
    try:
        body = _listing(sim_of(request), request.query)
    except FilterError as exc:
        return error(422, str(exc))
    return web.Response(body=body, content_type="application/json")


@routes.get("/gamma/markets/slug/{slug}")
@routes.get("/gamma/markets/{id}")
async def one_market(request: web.Request) -> web.Response:
    sim = sim_of(request)
    key = request.match_info.get("id") or request.match_info.get("slug")
    for m in sim.exchange.markets.values():
        if key in (m.gamma_id, m.slug):
            return web.json_response(gamma_market(sim, m))
    return error(404, "market not found")


def _events(sim: Simulator) -> dict[str, list[Market]]:
    events: dict[str, list[Market]] = {}
    for m in sim.exchange.markets.values():
        events.setdefault(m.event_id, []).append(m)
    return events


def gamma_event(sim: Simulator, markets: list[Market]) -> dict:
    first = markets[0]
    rows = [sim.gamma_rows.row(sim, m) for m in markets]
    return {
        "id": first.event_id,
        "ticker": first.event_slug,
        "slug": first.event_slug,
        "title": first.event_title,
        "description": "",
        "category": first.category,
        "startDate": rows[0]["startDate"],
        "endDate": max(rows, key=lambda r: r["endDate"])["endDate"],
        "active": any(m.active for m in markets),
        "closed": all(m.closed for m in markets),
        "archived": all(m.archived for m in markets),
        "negRisk": first.neg_risk,
        "negRiskMarketID": first.neg_risk_market_id,
        "liquidity": round(sum(r["liquidityNum"] for r in rows), 4),
        "volume": round(sum(r["volumeNum"] for r in rows), 2),
        "volume24hr": round(sum(r["volume24hr"] for r in rows), 4),
        "tags": [tag_of(first.category)],
        "markets": rows,
    }


@routes.get("/gamma/events")
async def events(request: web.Request) -> web.Response:
    """Events filtered on their markets' own state; only the page's events are built unless
    an order needs them all."""
    sim, q = sim_of(request), request.query
    try:
        closed = _flag(q, "closed", False)
        active = _flag(q, "active", None)
        ids = set(q.getall("id", []))
        groups = []
        for group in _events(sim).values():
            first = group[0]
            if ids and first.event_id not in ids:
                continue
            if closed is not None and all(m.closed for m in group) != closed:
                continue
            if active is not None and any(m.active for m in group) != active:
                continue
            if "tag_id" in q and tag_of(first.category)["id"] != q["tag_id"]:
                continue
            groups.append(group)
        order, _ = _order(q)
        if order:
            return web.json_response(_paged(q, [gamma_event(sim, g) for g in groups]))
        offset, limit = _window(q)
        return web.json_response([gamma_event(sim, g) for g in groups[offset : offset + limit]])
    except FilterError as exc:
        return error(422, str(exc))


@routes.get("/gamma/events/{id}")
async def one_event(request: web.Request) -> web.Response:
    sim = sim_of(request)
    group = _events(sim).get(request.match_info["id"])
    if group is None:
        return error(404, "event not found")
    return web.json_response(gamma_event(sim, group))


@routes.get("/gamma/tags")
async def tags(request: web.Request) -> web.Response:
    return web.json_response([tag_of(c) for c in TAG_IDS])
