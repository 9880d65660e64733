"""A deliberately simple client-side book, written from the protocol text alone, to check the
simulator's stream against its truth."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal


class ReplayBook:
    def __init__(self, market: str, asset: str, min_order_size: str, neg_risk: bool) -> None:
        self.market, self.asset = market, asset
        self.min_order_size, self.neg_risk = min_order_size, neg_risk
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.tick = ""
        self.last_trade = ""

    def load(self, book: dict) -> None:
        self.bids = {lv["price"]: lv["size"] for lv in book["bids"]}
        self.asks = {lv["price"]: lv["size"] for lv in book["asks"]}
        self.tick = book.get("tick_size", self.tick)
        self.last_trade = book.get("last_trade_price", self.last_trade)

    def apply(self, entry: dict) -> None:
        side = self.bids if entry["side"] == "BUY" else self.asks
        if Decimal(entry["size"]) == 0:
            side.pop(entry["price"], None)
        else:
            side[entry["price"]] = entry["size"]

    def wire(self) -> tuple[list[dict], list[dict]]:
        bids = sorted(self.bids.items(), key=lambda kv: Decimal(kv[0]))
        asks = sorted(self.asks.items(), key=lambda kv: Decimal(kv[0]), reverse=True)
        return [{"price": p, "size": s} for p, s in bids], [
            {"price": p, "size": s} for p, s in asks
        ]

    def best(self) -> tuple[str, str]:
        bid = max(self.bids, key=Decimal) if self.bids else "0"
        ask = min(self.asks, key=Decimal) if self.asks else "1"
        return bid, ask

    def crossed(self) -> bool:
        bid, ask = self.best()
        return bool(self.bids and self.asks) and Decimal(bid) >= Decimal(ask)

    def hash(self, timestamp: str) -> str:
        bids, asks = self.wire()
        summary = {
            "market": self.market,
            "asset_id": self.asset,
            "timestamp": timestamp,
            "hash": "",
            "bids": bids,
            "asks": asks,
            "min_order_size": self.min_order_size,
            "tick_size": self.tick,
            "neg_risk": self.neg_risk,
            "last_trade_price": self.last_trade,
        }
        return hashlib.sha1(
            json.dumps(summary, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
