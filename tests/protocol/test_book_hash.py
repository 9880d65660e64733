"""polytui's book hash equals the official client's for the same summary."""

from __future__ import annotations

from py_clob_client_v2.clob_types import OrderBookSummary, OrderSummary
from py_clob_client_v2.utilities import generate_orderbook_summary_hash

from polytui.protocol.book_hash import book_hash

MARKET = "0x9d839bf0aa31324b9848f5b89841b779238a7c07dee2f7fca675d934e8ab5bf2"
ASSET = "72610532355343625199299853218161700546393390326785971247545541945337255643692"


def official(bids, asks, last: str) -> str:
    summary = OrderBookSummary(
        market=MARKET,
        asset_id=ASSET,
        timestamp="1785734468581",
        bids=[OrderSummary(price=p, size=s) for p, s in bids],
        asks=[OrderSummary(price=p, size=s) for p, s in asks],
        min_order_size="5",
        tick_size="0.01",
        neg_risk=False,
        last_trade_price=last,
        hash="",
    )
    return generate_orderbook_summary_hash(summary)


def test_the_hash_matches_the_official_helper_and_depends_on_spelling():
    bids = [("0.40", "120"), ("0.47", "55.5"), ("0.48", "10")]
    asks = [("0.60", "80"), ("0.53", "12"), ("0.52", "300")]
    ours = book_hash(MARKET, ASSET, "1785734468581", bids, asks, "5", "0.01", False, "0.50")
    assert ours == official(bids, asks, "0.50")
    respelled = [("0.4", "120"), *bids[1:]]
    assert (
        book_hash(MARKET, ASSET, "1785734468581", respelled, asks, "5", "0.01", False, "0.50")
        != ours
    )
    assert book_hash(MARKET, ASSET, "1785734468581", [], [], "5", "0.01", False, "") == official(
        [], [], ""
    )


def test_the_hash_is_over_the_json_the_official_recipe_writes_even_for_odd_text() -> None:
    """The recipe is ``json.dumps(separators=(",", ":"), ensure_ascii=False)``; polytui
    encodes with msgspec (faster): the same bytes, quotes, escapes and non-ASCII included."""
    import hashlib
    import json

    for text in ['a"b\\c', "héllo", "日本", "\u2028", "\x01\x1f", "0.920"]:
        bids, asks = [(text, "1")], [("0.5", text)]
        summary = {
            "market": text,
            "asset_id": "1",
            "timestamp": "2",
            "hash": "",
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
            "min_order_size": "5",
            "tick_size": "0.01",
            "neg_risk": True,
            "last_trade_price": text,
        }
        official = json.dumps(summary, separators=(",", ":"), ensure_ascii=False).encode()
        assert book_hash(text, "1", "2", bids, asks, "5", "0.01", True, text) == (
            hashlib.sha1(official).hexdigest()
        ), text
