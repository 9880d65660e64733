"""Gamma (market discovery, protocol §6): markets and events with the fields a scanner reads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from polytui.sim.markets import Market
from polytui.sim.rest import error, iso, iso_ms, sim_of
from polytui.sim.units import PRICE_SCALE, price_str

if TYPE_CHECKING:
    from polytui.sim.server import Simulator

routes = web.RouteTableDef()
MAX_LIMIT = 500


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


def market_filter(q):
    """A predicate over (market, its gamma row) from Gamma's query parameters."""
    ids = set(q.getall("id", []))
    slugs = set(q.getall("slug", []))
    tokens = {t for v in q.getall("clob_token_ids", []) for t in v.split(",") if t}
    conditions = {c for v in q.getall("condition_ids", []) for c in v.split(",") if c}
    closed = _flag(q, "closed", False)  # omitted means open markets only, as on the real host
    active, archived = _flag(q, "active", None), _flag(q, "archived", None)
    bounds = {
        n: _number(q, n)
        for n in ("liquidity_num_min", "liquidity_num_max", "volume_num_min", "volume_num_max")
    }
    dates = {
        n: _date_ms(q, n)
        for n in ("end_date_min", "end_date_max", "start_date_min", "start_date_max")
    }
    tag_id = q.get("tag_id")
    uma = q.get("uma_resolution_status")

    def keep(m: Market, row: dict) -> bool:
        checks = [
            not ids or m.gamma_id in ids,
            not slugs or m.slug in slugs,
            not tokens or bool(tokens & set(m.tokens)),
            not conditions or m.condition_id in conditions,
            closed is None or m.closed == closed,
            active is None or m.active == active,
            archived is None or m.archived == archived,
            bounds["liquidity_num_min"] is None
            or row["liquidityNum"] >= bounds["liquidity_num_min"],
            bounds["liquidity_num_max"] is None
            or row["liquidityNum"] <= bounds["liquidity_num_max"],
            bounds["volume_num_min"] is None or row["volumeNum"] >= bounds["volume_num_min"],
            bounds["volume_num_max"] is None or row["volumeNum"] <= bounds["volume_num_max"],
            dates["end_date_min"] is None or m.end_ms >= dates["end_date_min"],
            dates["end_date_max"] is None or m.end_ms <= dates["end_date_max"],
            dates["start_date_min"] is None or m.created_ms >= dates["start_date_min"],
            dates["start_date_max"] is None or m.created_ms <= dates["start_date_max"],
            tag_id is None or tag_of(m.category)["id"] == tag_id,
            uma is None or m.uma_status == uma,
        ]
        return all(checks)

    return keep


def _paged(q, rows: list[dict]) -> list[dict]:
    order = [f for f in q.get("order", "").split(",") if f]
    ascending = _flag(q, "ascending", True)
    for field in reversed(order):
        rows.sort(key=lambda r, f=field: (r.get(f) is None, r.get(f) or 0), reverse=not ascending)
    try:
        limit = min(MAX_LIMIT, max(0, int(q.get("limit", 20))))
        offset = max(0, int(q.get("offset", 0)))
    except ValueError as exc:
        raise FilterError("invalid limit or offset") from exc
    return rows[offset : offset + limit]


def _rows(sim: Simulator, q) -> list[dict]:
    keep = market_filter(q)
    rows = []
    for m in sim.exchange.markets.values():
        row = gamma_market(sim, m)
        if keep(m, row):
            rows.append(row)
    return rows


@routes.get("/gamma/markets")
async def markets(request: web.Request) -> web.Response:
    try:
        return web.json_response(_paged(request.query, _rows(sim_of(request), request.query)))
    except FilterError as exc:
        return error(422, str(exc))


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
    rows = [gamma_market(sim, m) for m in markets]
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
    sim, q = sim_of(request), request.query
    try:
        closed = _flag(q, "closed", False)
        active = _flag(q, "active", None)
        ids = set(q.getall("id", []))
        rows = []
        for group in _events(sim).values():
            event = gamma_event(sim, group)
            if ids and event["id"] not in ids:
                continue
            if closed is not None and event["closed"] != closed:
                continue
            if active is not None and event["active"] != active:
                continue
            if "tag_id" in q and event["tags"][0]["id"] != q["tag_id"]:
                continue
            rows.append(event)
        return web.json_response(_paged(q, rows))
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
