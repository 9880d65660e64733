"""The mirror's rules on hand-made frames, with no venue: the pure core that replays use."""

from __future__ import annotations

import msgspec

from polytui.core.clock import FakeClock
from polytui.engine.mirror import BookState, Mirror, Reason
from polytui.protocol.wire.market_ws import decode_market_frame
from polytui.venue.ws import ConnectionChange, ConnState, Frame

M, YES, NO = "0xm", "1" * 77, "2" * 77


def frame(clock: FakeClock, *events: dict) -> Frame:
    raw = msgspec.json.encode(list(events))
    return Frame("market-1", clock.now_ms(), tuple(decode_market_frame(raw)))


def book(asset: str, ts: int, bids, asks) -> dict:
    return {
        "event_type": "book",
        "market": M,
        "asset_id": asset,
        "timestamp": str(ts),
        "hash": "x",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
        "tick_size": "0.01",
    }


def change(ts: int, *entries: tuple) -> dict:
    return {
        "event_type": "price_change",
        "market": M,
        "timestamp": str(ts),
        "price_changes": [
            {
                "asset_id": a,
                "price": p,
                "size": s,
                "side": side,
                "hash": "h",
                "best_bid": bb,
                "best_ask": ba,
            }
            for a, p, s, side, bb, ba in entries
        ],
    }


def primed() -> tuple[Mirror, FakeClock]:
    clock = FakeClock(start_ms=1_000_000)
    mirror = Mirror(clock=clock)
    mirror.track(M, [YES, NO])
    mirror.process(
        frame(
            clock,
            book(YES, clock.now_ms(), [("0.40", "10")], [("0.60", "10")]),
            book(NO, clock.now_ms(), [("0.40", "10")], [("0.60", "10")]),
        )
    )
    assert mirror.state(YES) is mirror.state(NO) is BookState.LIVE
    return mirror, clock


def test_mirrored_deltas_keep_both_tokens_live():
    mirror, clock = primed()
    clock.advance(10)
    ts = clock.now_ms()
    mirror.process(
        frame(
            clock,
            change(
                ts,
                (YES, "0.45", "5", "BUY", "0.45", "0.6"),
                (NO, "0.55", "5", "SELL", "0.4", "0.55"),
            ),
        )
    )
    mirror.complete_bursts(force=True)
    assert mirror.state(YES) is mirror.state(NO) is BookState.LIVE
    assert mirror.live_book(YES).best_bid_units == 4500


def test_tokens_that_stop_mirroring_each_other_are_suspect():
    mirror, clock = primed()
    clock.advance(10)
    ts = clock.now_ms()
    # The YES bid moves, the NO side does not follow: each token agrees with its own entry's
    # best_bid/best_ask, but together they describe two different books.
    mirror.process(frame(clock, change(ts, (YES, "0.45", "5", "BUY", "0.45", "0.6"))))
    mirror.complete_bursts(force=True)
    assert mirror.state(YES) is BookState.SUSPECT and mirror.state(NO) is BookState.SUSPECT
    assert mirror.resyncs[Reason.INVARIANT_FAIL] == 2


def test_a_delta_before_the_snapshot_is_buffered_and_never_creates_a_book():
    clock = FakeClock(start_ms=1_000_000)
    mirror = Mirror(clock=clock)
    mirror.track(M, [YES])
    mirror.process(frame(clock, change(clock.now_ms(), (YES, "0.45", "5", "BUY", "0.45", ""))))
    assert mirror.state(YES) is BookState.UNPRIMED and mirror.live_book(YES) is None
    assert len(mirror.tokens[YES].buffer) == 1


def test_a_late_delta_takes_the_token_out_of_live():
    mirror, clock = primed()
    ts = clock.now_ms()
    clock.advance(mirror.settings.lag_bound_ms + 1)
    mirror.process(
        frame(
            clock,
            change(
                ts,
                (YES, "0.45", "5", "BUY", "0.45", "0.6"),
                (NO, "0.55", "5", "SELL", "0.4", "0.55"),
            ),
        )
    )
    assert mirror.state(YES) is BookState.SUSPECT and mirror.tokens[YES].reason is Reason.LAG
    assert mirror.stats()["apply_lag_ms"]["max"] == mirror.settings.lag_bound_ms + 1


def test_a_disconnect_invalidates_the_tokens_it_carried():
    mirror, clock = primed()
    mirror.process(
        ConnectionChange("market-1", ConnState.DISCONNECTED, clock.now_ms(), (YES, NO), "gone")
    )
    assert mirror.state(YES) is BookState.RESYNCING and mirror.live_book(NO) is None
    assert mirror.resyncs[Reason.RECONNECT] == 2


def test_a_shed_frame_makes_its_tokens_suspect():
    mirror, clock = primed()
    small = Mirror(clock=clock, settings=mirror.settings.model_copy(update={"inbox_limit": 1}))
    small.track(M, [YES, NO])
    small.process(frame(clock, book(YES, clock.now_ms(), [("0.40", "1")], [("0.60", "1")])))
    f = frame(clock, change(clock.now_ms(), (YES, "0.41", "5", "BUY", "0.41", "0.6")))
    small.sink(f)
    small.sink(f)  # the inbox holds one: this one is shed
    assert small.stats()["shed"] == 1
    assert small.state(YES) is BookState.SUSPECT and small.tokens[YES].reason is Reason.SHED
