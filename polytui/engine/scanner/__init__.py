"""The market scanner (architecture §3): which markets polytui watches and may trade, and the
mirror's subscriptions kept in step with them."""

from polytui.engine.scanner.scanner import Scanner, ScannerKpis, UniverseChanged, filter_of
from polytui.engine.scanner.wiring import (
    BookFreshness,
    MirrorSubscriber,
    Subscriber,
    mirror_freshness,
    with_market_events,
)

__all__ = [
    "BookFreshness",
    "MirrorSubscriber",
    "Scanner",
    "ScannerKpis",
    "Subscriber",
    "UniverseChanged",
    "filter_of",
    "mirror_freshness",
    "with_market_events",
]
