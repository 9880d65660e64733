"""How numbers and times look in the panes. Times are the engine clock's epoch ms, and ages
are measured against a view's ``now_ms``: nothing here reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rich.text import Text

DASH = "-"


def price(value: Decimal | None) -> str:
    if value is None:
        return DASH
    text = f"{value:f}"
    if "." in text:
        whole, frac = text.split(".")
        text = f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
    return text


def size(value: Decimal | None) -> str:
    if value is None:
        return DASH
    if abs(value) >= 100_000:
        return f"{value / 1000:,.0f}k"
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if text in ("0", "-0") and value:  # dust: two significant digits, not a 0 that is not one
        return f"{value:.2g}"
    return text


def money(value: Decimal | float | None, sign: bool = False) -> str:
    if value is None:
        return DASH
    return f"{value:+,.2f}" if sign else f"{value:,.2f}"


def volume(value: float | None) -> str:
    if value is None:
        return DASH
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


def age(ms: int | float | None) -> str:
    """A duration, short: 850ms, 4.2s, 3m, 5h, 2d."""
    if ms is None:
        return DASH
    ms = max(0, ms)
    if ms < 1000:
        return f"{ms:.0f}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{s / 60:.0f}m"
    if s < 86400:
        return f"{s / 3600:.0f}h"
    return f"{s / 86400:.0f}d"


def age_coarse(ms: int | float | None) -> str:
    """An age that changes at most once a second: <1s, 4s, 3m... (for tables of many rows)."""
    if ms is None:
        return DASH
    if ms < 1000:
        return "<1s"
    if ms < 60_000:
        return f"{int(ms // 1000)}s"
    return age(ms)


def until(end_ms: int | None, now_ms: int) -> str:
    if end_ms is None:
        return DASH
    if end_ms <= now_ms:
        return "ended"
    return age(end_ms - now_ms)


def clock(ms: int | None) -> str:
    if not ms:
        return DASH
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def stamp(ms: int | None) -> str:
    if not ms:
        return DASH
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


FLAG_WORDS = {
    "stale_book": "stale",
    "not_accepting_orders": "no-orders",
    "in_resolution": "resolving",
    "past_end_date": "ended",
    "no_order_book": "no-book",
    "not_watched": "unwatched",
}
STATE_COLOUR = {
    "LIVE": "success",
    "UNPRIMED": "stale",
    "RESYNCING": "warning",
    "SUSPECT": "error",
    "UNTRACKED": "stale",
}
STATUS_COLOUR = {"OK": "success", "WARN": "warning", "DOWN": "error", "OFF": "stale"}


def styled(text: str, palette: dict[str, str], key: str, bold: bool = False) -> Text:
    colour = palette.get(key)
    style = f"{'bold ' if bold else ''}{colour}" if colour else ("bold" if bold else "")
    return Text(text, style=style)


def state_badge(state: str, palette: dict[str, str]) -> Text:
    return styled(state, palette, STATE_COLOUR.get(state, "stale"), bold=state != "LIVE")


def signed(value: Decimal | None, palette: dict[str, str]) -> Text:
    if value is None:
        return Text(DASH)
    key = "pnl-up" if value > 0 else ("pnl-down" if value < 0 else "stale")
    return styled(money(value, sign=True), palette, key)


def right(text: str | Text, width: int) -> Text:
    out = text if isinstance(text, Text) else Text(text)
    out = out.copy()
    out.truncate(width, overflow="ellipsis")
    out.align("right", width)
    return out


def left(text: str | Text, width: int) -> Text:
    out = text if isinstance(text, Text) else Text(text)
    out = out.copy()
    out.truncate(width, overflow="ellipsis")
    return out
