"""Why a market may not be traded now: flags with a reason, pure.

    flags = flags_of(info, now_ms, book_age_ms=..., stale_book_ms=60_000)
    tradable(flags)     # the risk engine refuses an order on a market with any flag

Every downstream consumer (risk engine, strategies, UI) reads the same flags from the
scanner; ``REASONS`` says each in words. Flags are computed from what the scanner knows at the
moment of asking, so a market passes its end date, or its book goes quiet, without waiting
for the next Gamma refresh.
"""

from __future__ import annotations

from enum import StrEnum

from polytui.core.universe import MarketInfo


class Flag(StrEnum):
    UNKNOWN = "unknown"
    NOT_WATCHED = "not_watched"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ARCHIVED = "archived"
    UNLISTED = "unlisted"
    NO_ORDER_BOOK = "no_order_book"
    INACTIVE = "inactive"
    NOT_ACCEPTING = "not_accepting_orders"
    PAST_END = "past_end_date"
    IN_RESOLUTION = "in_resolution"
    STALE_BOOK = "stale_book"


REASONS: dict[Flag, str] = {
    Flag.UNKNOWN: "the scanner has never seen this market",
    Flag.NOT_WATCHED: "the market is outside the universe (filtered out, or beyond the cap)",
    Flag.RESOLVED: "the market resolved",
    Flag.CLOSED: "the market is closed",
    Flag.ARCHIVED: "the market is archived",
    Flag.UNLISTED: "Gamma no longer lists the market as open",
    Flag.NO_ORDER_BOOK: "the market has no order book",
    Flag.INACTIVE: "the market is paused (not active)",
    Flag.NOT_ACCEPTING: "the market does not accept orders",
    Flag.PAST_END: "the market is past its end date",
    Flag.IN_RESOLUTION: "the market is in UMA resolution",
    Flag.STALE_BOOK: "the book had no update and no successful probe for too long",
}

NONE: frozenset[Flag] = frozenset()


def flags_of(
    m: MarketInfo | None,
    now_ms: int,
    book_age_ms: int | None = None,
    stale_book_ms: int | None = None,
) -> frozenset[Flag]:
    """The flags of ``m`` now. ``book_age_ms`` is how long its stalest token went without an
    update or a successful probe (``None``: no book is kept for it, nothing to judge)."""
    if m is None:
        return frozenset((Flag.UNKNOWN,))
    out: set[Flag] = set()
    if m.resolved or m.uma_status == "resolved":
        out.add(Flag.RESOLVED)
    elif m.uma_status:
        out.add(Flag.IN_RESOLUTION)
    if m.closed:
        out.add(Flag.CLOSED)
    if m.archived:
        out.add(Flag.ARCHIVED)
    if not m.listed:
        out.add(Flag.UNLISTED)
    if not m.enable_order_book or not m.tokens:
        out.add(Flag.NO_ORDER_BOOK)
    if not m.active:
        out.add(Flag.INACTIVE)
    if not m.accepting_orders:
        out.add(Flag.NOT_ACCEPTING)
    if m.end_ms is not None and now_ms >= m.end_ms:
        out.add(Flag.PAST_END)
    if book_age_ms is not None and stale_book_ms is not None and book_age_ms > stale_book_ms:
        out.add(Flag.STALE_BOOK)
    return frozenset(out) if out else NONE


def book_age_ms(freshness_ms: list[int | None], watched_since_ms: int, now_ms: int) -> int:
    """How long the stalest token of a market went without an update or a verification.

    ``freshness_ms`` holds, per token, the local time of its last update or successful probe
    (``None``: never); a token never fresh counts from when the market was watched."""
    oldest = min((f if f is not None else watched_since_ms for f in freshness_ms), default=now_ms)
    return now_ms - max(oldest, watched_since_ms)


def tradable(flags: frozenset[Flag]) -> bool:
    """Whether orders may be sent on a market with these flags: only with none."""
    return not flags


def describe(flags: frozenset[Flag]) -> str:
    """The flags in words, in a stable order, for a log line or the UI."""
    return "; ".join(REASONS[f] for f in Flag if f in flags)
