"""Gamma's market rows and the market channel's custom events, as the scanner's MarketInfo.

Gamma names a market's tokens by its ``version`` (protocol §6.2): ``"v1"`` trades the
``clobTokenIds``, ``"v2"`` the ``positionIds``. A row of any other version, or of none, is
refused with a ``BadMarket`` naming it: guessing would subscribe (and one day trade) the
wrong ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from polytui.core.universe import MarketInfo
from polytui.protocol.wire import gamma as g
from polytui.protocol.wire import market_ws as mw


class BadMarket(ValueError):
    """A Gamma row the scanner cannot use; the message names the market and the problem."""


def iso_ms(value: str | None) -> int | None:
    """Epoch ms of an ISO 8601 time (``Z`` or an offset; a bare date is midnight UTC)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _tag_words(tags: Iterable[g.GammaTag], category: str | None) -> set[str]:
    words = {w.lower() for t in tags for w in (t.label, t.slug) if w}
    if category:
        words.add(category.lower())
    return words


def tags_of(row: g.GammaMarket, event_tags: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The market's tags, its category, and those of its events (from the row, or from
    ``event_tags`` when an event was read from ``/events``)."""
    words = _tag_words(row.tags, row.category)
    for event in row.events:
        words |= _tag_words(event.tags, event.category)
        words |= event_tags.get(event.id, frozenset())
    return frozenset(words)


def event_tag_words(event: g.GammaEvent) -> frozenset[str]:
    return frozenset(_tag_words(event.tags, event.category))


def tokens_of(row: g.GammaMarket) -> tuple[str, ...]:
    if row.version == "v1":
        return tuple(row.clob_token_ids)
    if row.version == "v2":
        return tuple(row.position_ids)
    raise BadMarket(f"Gamma market {row.id}: unknown version {row.version!r} (expected v1 or v2)")


def market_info(
    row: g.GammaMarket, event_tags: Mapping[str, frozenset[str]] | None = None
) -> MarketInfo:
    """Raises ``BadMarket``."""
    if not row.condition_id:
        raise BadMarket(f"Gamma market {row.id}: no conditionId")
    uma = (row.uma_resolution_status or "").lower()
    liquidity = row.liquidity_num
    if liquidity is None:
        liquidity = float(row.liquidity) if row.liquidity is not None else 0.0
    return MarketInfo(
        condition_id=row.condition_id,
        gamma_id=row.id,
        slug=row.slug,
        question=row.question,
        tokens=tokens_of(row),
        active=row.active,
        closed=row.closed,
        archived=row.archived,
        accepting_orders=row.accepting_orders,
        enable_order_book=row.enable_order_book,
        resolved=uma == "resolved",
        uma_status=uma,
        end_ms=iso_ms(row.end_date) or iso_ms(row.end_date_iso),
        liquidity=liquidity,
        volume_24hr=row.volume_24hr or 0.0,
        spread=row.spread,
        neg_risk=row.neg_risk,
        tags=tags_of(row, event_tags or {}),
        event_ids=tuple(e.id for e in row.events),
    )


def merged(old: MarketInfo | None, new: MarketInfo) -> MarketInfo:
    """A fresh Gamma view of a market, keeping what only moves one way: a market the market
    channel said resolved stays resolved even if a Gamma page read just before says open."""
    if old is not None and old.resolved and not new.resolved:
        return dataclasses.replace(new, resolved=True, accepting_orders=False)
    return new


def resolved_now(old: MarketInfo | None, event: mw.MarketResolved) -> MarketInfo:
    """``market_resolved``: the market is over, whatever Gamma says until it catches up."""
    if old is None:
        return MarketInfo(
            condition_id=event.market,
            gamma_id=event.id,
            tokens=event.assets_ids,
            resolved=True,
            accepting_orders=False,
            tags=frozenset(t.lower() for t in event.tags),
        )
    return dataclasses.replace(old, resolved=True, accepting_orders=False)
