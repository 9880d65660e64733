"""Exact units of the simulator and their wire strings.

Prices are integers of 1e-4 (the finest tick), sizes integers of 1e-6 shares (the on-chain base
unit). Every string the simulator emits for a price or size is made here, so the wire, the book
hash and the divergence views agree to the byte.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

PRICE_SCALE = 10_000  # price units per 1.0
SIZE_SCALE = 1_000_000  # size units per share

TICKS = {"0.1": 1000, "0.01": 100, "0.001": 10, "0.0001": 1}


def _fmt(units: int, scale: int, places: int) -> str:
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), scale)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{places}d}".rstrip("0")


_PRICE_STR = [_fmt(u, PRICE_SCALE, 4) for u in range(PRICE_SCALE + 1)]


def price_str(units: int) -> str:
    """``5200`` -> ``"0.52"``; normalised, no trailing zeros."""
    return _PRICE_STR[units]


@lru_cache(maxsize=1 << 16)  # level sizes repeat across entries and hashes: the hot path
def size_str(units: int) -> str:
    """``12_500_000`` -> ``"12.5"``."""
    return _fmt(units, SIZE_SCALE, 6)


def usd_str(units_1e6: int) -> str:
    return _fmt(units_1e6, SIZE_SCALE, 6)


def tick_str(tick_units: int) -> str:
    for text, units in TICKS.items():
        if units == tick_units:
            return text
    raise ValueError(f"unsupported tick {tick_units}")


def tick_float(tick_units: int) -> float:
    """``/tick-size`` serves a JSON number whose Python ``str()`` is the tick text."""
    return float(tick_str(tick_units))


def parse_price(text: str) -> int:
    """Wire price text to units; raises ValueError off the 1e-4 grid or outside [0, 1]."""
    try:
        value = Decimal(text) * PRICE_SCALE
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"invalid price {text!r}") from exc
    if value != value.to_integral_value() or not 0 <= value <= PRICE_SCALE:
        raise ValueError(f"invalid price {text!r}")
    return int(value)


def parse_size(text: str) -> int:
    try:
        value = Decimal(text) * SIZE_SCALE
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"invalid size {text!r}") from exc
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"invalid size {text!r}")
    return int(value)
