"""The copy feed ("why not copied") as `polytui status` shows it, from the health file."""

from __future__ import annotations

from pathlib import Path

from polytui.core.projections import ReadModel
from polytui.engine.status import build_report, render

LINE = {
    "at_ms": 1_795_000_000_000,
    "leader": "0x" + "a" * 40,
    "asset_id": "7" * 77,
    "kind": "open",
    "leader_side": "BUY",
    "leader_shares": "84.36",
    "leader_price": "0.7100",
    "outcome": "skipped",
    "gate": "book_live",
    "reason": "the book of 7777... is RESYNCING",
    "shares": None,
}


def test_status_shows_each_leader_trade_and_what_was_done_with_it(tmp_path: Path):
    health = {"copy_feed": [LINE, {**LINE, "outcome": "copied", "gate": "", "shares": "20"}]}
    report = build_report(ReadModel(), health, tmp_path / "h.json", tmp_path / "l.db", 0.0)
    assert len(report["copy_feed"]) == 2
    text = render(report)
    assert "copy feed" in text
    assert (
        "BUY  84.36 @ 0.7100 (open): skipped by book_live - the book of 7777... is RESYNCING"
        in text
    )
    assert "(open): copied - the book" in text
    quiet = render(build_report(ReadModel(), {}, tmp_path / "h", tmp_path / "l", 0.0))
    assert "copy feed" not in quiet
