"""What the order side reads about markets, from the mirror and the scanner only.

``MirrorMarkets`` is the tracker's ``Markets`` port in the engine: the touch (best ask for a
BUY, best bid for a SELL) comes from a book only while it is LIVE (``Mirror.live_book``),
never from a book the mirror does not trust; the tick size from the mirrored book; the
neg-risk flag from the scanner's view of the market.
"""

from __future__ import annotations

from decimal import Decimal

from polytui.core.book import UNIT
from polytui.engine.mirror import Mirror
from polytui.engine.scanner import Scanner


class MirrorMarkets:
    def __init__(self, mirror: Mirror, scanner: Scanner) -> None:
        self._mirror = mirror
        self._scanner = scanner

    def touch(self, asset_id: str, side: str) -> Decimal | None:
        book = self._mirror.live_book(asset_id)
        if book is None:
            return None
        level = book.best_ask if side == "BUY" else book.best_bid
        return None if level is None else level.price

    def tick(self, asset_id: str) -> Decimal | None:
        tok = self._mirror.tokens.get(asset_id)
        if tok is None:
            return None
        units = tok.book.tick if tok.book is not None else tok.tick
        return None if units is None else Decimal(units) / UNIT

    def neg_risk(self, market: str) -> bool | None:
        info = self._scanner.markets.get(market)
        return None if info is None else info.neg_risk

    def tradable_assets(self) -> list[tuple[str, str]]:
        """``(condition id, asset id)`` of every watched, tradable market's tokens whose book
        is LIVE now, in universe order."""
        out = []
        for market in self._scanner.universe:
            if not self._scanner.tradable(market):
                continue
            for asset in self._scanner.watched[market].tokens:
                if self._mirror.live_book(asset) is not None:
                    out.append((market, asset))
        return out
