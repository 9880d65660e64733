"""Which markets polytui watches: the user's filter and the ranking, as pure functions.

    info = MarketInfo(condition_id, gamma_id, tokens=(yes, no), liquidity=..., ...)
    sel = select(infos, Filter(max_markets=200), now_ms, watched=previous.watched)
    sel.watched          # condition ids, best first; subscribe these
    exclusion(info, f, now_ms, watched=False)   # why a market is left out, or None

**Entering and staying.** The filter decides who may *enter* the universe. A market already
watched stays while it is open: a pause (``active`` false, not accepting orders) or a UMA
proposal does not push it out, it is flagged instead (``market_flags``), so its book and its
flag stay in view and trading resumes without a resubscribe when it does. The figures
(liquidity, volume, spread) keep a watched market while they are within ``hysteresis`` of
the thresholds, so a market whose liquidity wobbles around the minimum is not subscribed and
unsubscribed every few seconds. A market leaves when it closes, resolves, is archived, is no
longer listed, ends within ``min_hours_to_end``, or falls out of the cap.

**Allow and deny.** Entries match a condition id, a Gamma id or a slug. Deny always wins. An
allowed market skips the figures, the categories, the neg-risk rule and the time window
(only being open counts) and is ranked before every other market.

**The score** ranks the eligible markets for the cap (``max_markets``):
``log10(1 + volume_24hr) + log10(1 + liquidity) - 10 x spread``, dollars and price units.
Activity and depth count by orders of magnitude; a one-cent spread costs 0.1, so a market
with a ten-cent spread needs ten times the volume of a tight one to rank alike. A market
with no two-sided book (no spread) counts a spread of 1. A watched market gets
``stickiness`` on top, so a newcomer must beat it clearly to take its place. Ties go to the
older market (lower Gamma id), so the ranking is deterministic.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from enum import StrEnum

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What the scanner knows of one market, from Gamma and the market channel."""

    condition_id: str
    gamma_id: str
    slug: str = ""
    question: str = ""
    tokens: tuple[str, ...] = ()
    active: bool = True
    closed: bool = False
    archived: bool = False
    accepting_orders: bool = True
    enable_order_book: bool = True
    resolved: bool = False  # a market_resolved event, or Gamma's UMA status "resolved"
    uma_status: str = ""  # umaResolutionStatus: "", "proposed", "disputed", "resolved"...
    end_ms: int | None = None
    liquidity: float = 0.0
    volume_24hr: float = 0.0
    spread: float | None = None  # None: no two-sided book
    neg_risk: bool = False
    tags: frozenset[str] = frozenset()  # lower-case tag labels and slugs, category included
    event_ids: tuple[str, ...] = ()
    listed: bool = True  # False: Gamma no longer lists it as open

    def names(self) -> tuple[str, ...]:
        """What an allow or deny entry may name it by."""
        return (self.condition_id, self.gamma_id, self.slug)


@dataclass(frozen=True, slots=True)
class Filter:
    """The user's filter. The defaults filter nothing but closed markets (settings carry the
    product's defaults)."""

    min_liquidity: float = 0.0
    min_volume_24hr: float = 0.0
    max_spread: float | None = None
    min_hours_to_end: float = 0.0
    max_hours_to_end: float | None = None
    categories: frozenset[str] = frozenset()  # any of these tags, when given (lower case)
    exclude_categories: frozenset[str] = frozenset()
    allow_neg_risk: bool = True
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    max_markets: int = 200
    hysteresis: float = 0.2  # a watched market keeps its place within 20 % of a threshold
    stickiness: float = 0.1  # score bonus of a watched market

    def __post_init__(self) -> None:
        if self.max_markets < 0:
            raise ValueError("max_markets must be >= 0")
        if not 0 <= self.hysteresis < 1:
            raise ValueError("hysteresis must be in [0, 1)")
        if self.max_hours_to_end is not None and self.max_hours_to_end < self.min_hours_to_end:
            raise ValueError("max_hours_to_end is below min_hours_to_end")


class Excluded(StrEnum):
    """Why a market is not in the universe (the first rule it fails, in this order)."""

    DENIED = "denied"
    CLOSED = "closed"
    RESOLVED = "resolved"
    ARCHIVED = "archived"
    UNLISTED = "unlisted"
    NO_ORDER_BOOK = "no_order_book"
    ENDS_TOO_SOON = "ends_too_soon"
    INACTIVE = "inactive"
    NOT_ACCEPTING = "not_accepting_orders"
    IN_RESOLUTION = "in_resolution"
    NEG_RISK = "neg_risk"
    CATEGORY = "category"
    EXCLUDED_CATEGORY = "excluded_category"
    NO_END_DATE = "no_end_date"
    ENDS_TOO_LATE = "ends_too_late"
    LIQUIDITY = "liquidity"
    VOLUME = "volume"
    SPREAD = "spread"
    CAP = "cap"  # eligible, but ranked below max_markets


def is_allowed(m: MarketInfo, f: Filter) -> bool:
    return bool(f.allow) and any(n in f.allow for n in m.names())


def exclusion(m: MarketInfo, f: Filter, now_ms: int, watched: bool = False) -> Excluded | None:
    """The first rule ``m`` fails, or ``None`` when it is eligible. ``watched``: it is in
    the universe now, so it only has to stay (see the module doc)."""
    if f.deny and any(n in f.deny for n in m.names()):
        return Excluded.DENIED
    gone = _gone(m)
    if gone is not None:
        return gone
    if is_allowed(m, f):
        return None
    if m.end_ms is not None and m.end_ms - now_ms <= f.min_hours_to_end * HOUR_MS:
        return Excluded.ENDS_TOO_SOON
    if not watched:
        state = _not_open_now(m)
        if state is not None:
            return state
    choice = _choices(m, f)
    if choice is not None:
        return choice
    if not watched and f.max_hours_to_end is not None:
        if m.end_ms is None:
            return Excluded.NO_END_DATE
        if m.end_ms - now_ms > f.max_hours_to_end * HOUR_MS:
            return Excluded.ENDS_TOO_LATE
    return _figures(m, f, f.hysteresis if watched else 0.0)


def _not_open_now(m: MarketInfo) -> Excluded | None:
    """A pause or a resolution in progress: keeps a market out, does not push one out."""
    if not m.active:
        return Excluded.INACTIVE
    if not m.accepting_orders:
        return Excluded.NOT_ACCEPTING
    if m.uma_status:
        return Excluded.IN_RESOLUTION
    return None


def _choices(m: MarketInfo, f: Filter) -> Excluded | None:
    """The user's choices about kinds of market: neg-risk and categories."""
    if m.neg_risk and not f.allow_neg_risk:
        return Excluded.NEG_RISK
    if f.categories and not (m.tags & f.categories):
        return Excluded.CATEGORY
    if f.exclude_categories and m.tags & f.exclude_categories:
        return Excluded.EXCLUDED_CATEGORY
    return None


def _gone(m: MarketInfo) -> Excluded | None:
    """A market that can never be traded again (or not at all)."""
    if m.resolved:
        return Excluded.RESOLVED
    if m.closed:
        return Excluded.CLOSED
    if m.archived:
        return Excluded.ARCHIVED
    if not m.listed:
        return Excluded.UNLISTED
    if not m.enable_order_book or not m.tokens:
        return Excluded.NO_ORDER_BOOK
    return None


def _figures(m: MarketInfo, f: Filter, slack: float) -> Excluded | None:
    if m.liquidity < f.min_liquidity * (1 - slack):
        return Excluded.LIQUIDITY
    if m.volume_24hr < f.min_volume_24hr * (1 - slack):
        return Excluded.VOLUME
    if f.max_spread is not None and (m.spread is None or m.spread > f.max_spread * (1 + slack)):
        return Excluded.SPREAD
    return None


def score(m: MarketInfo) -> float:
    """The ranking score of the module doc; higher is better."""
    spread = 1.0 if m.spread is None else m.spread
    return (
        math.log10(1 + max(0.0, m.volume_24hr))
        + math.log10(1 + max(0.0, m.liquidity))
        - 10 * spread
    )


def _gamma_order(gamma_id: str) -> float:
    return float(gamma_id) if gamma_id.isdigit() else math.inf


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome of one selection: the watched markets, best first, and how many markets
    each rule left out (``CAP``: eligible but below the cap)."""

    watched: tuple[str, ...]
    eligible: int
    excluded: Counter[Excluded] = field(default_factory=Counter)


def select(
    markets: Iterable[MarketInfo], f: Filter, now_ms: int, watched: Set[str] = frozenset()
) -> Selection:
    """The universe: the eligible markets, allowed ones first, then by score (a watched one
    with ``stickiness`` added), at most ``max_markets``."""
    excluded: Counter[Excluded] = Counter()
    ranked: list[tuple[bool, float, float, str]] = []
    for m in markets:
        now_watched = m.condition_id in watched
        reason = exclusion(m, f, now_ms, now_watched)
        if reason is not None:
            excluded[reason] += 1
            continue
        bonus = f.stickiness if now_watched else 0.0
        key = (is_allowed(m, f), score(m) + bonus, -_gamma_order(m.gamma_id), m.condition_id)
        ranked.append(key)
    best = heapq.nlargest(f.max_markets, ranked)
    if len(ranked) > len(best):
        excluded[Excluded.CAP] += len(ranked) - len(best)
    return Selection(tuple(k[3] for k in best), len(ranked), excluded)
