"""What the exchange says on the market channel, before it is addressed to any connection."""

from __future__ import annotations

from dataclasses import dataclass, field

# A level change in token terms: (asset_id, is_bid, price units, new size units).
Change = tuple[str, bool, int, int]
# A whole token book in token terms: (bids, asks), each a list of (price, size).
Levels = tuple[list[tuple[int, int]], list[tuple[int, int]]]


@dataclass(slots=True)
class Outbound:
    kind: str  # the event_type
    market: str
    payload: dict
    assets: tuple[str, ...]  # the tokens it concerns; subscriptions filter on these
    changes: tuple[Change, ...] = ()  # price_change: what a client's book must apply
    books: dict[str, Levels] = field(default_factory=dict)  # book: replaces a client's book
    custom: bool = False  # only for connections with custom_feature_enabled
    broadcast: bool = False  # not tied to subscribed assets (new_market, market_resolved)
