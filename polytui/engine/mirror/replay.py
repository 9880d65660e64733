"""``polytui replay CAPTURE.jsonl``: a capture file fed through the mirror offline.

    result = replay_capture(path)
    print(render_text(result))            # or json.dumps(as_json(result))

Every market-channel frame is decoded and applied at the time it was received (the mirror's
clock reads the capture's ``recv_ms``), connection opens and closes become connection changes,
and REST book answers are what they were for the live mirror: for a token out of LIVE, the
snapshot it was waiting for (refused if older than a delta seen before the request left); for a
LIVE token, a truth probe, counted when no delta of the token arrived while it was asked. The
tokens followed are those the capture mentions; the close that ends a connection for good is the
session ending and is not replayed. Nothing is fetched: the capture is the venue.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from polytui.config import MirrorSettings
from polytui.core.book import Side, price_text
from polytui.engine.mirror.mirror import Mirror
from polytui.engine.mirror.state import BookState
from polytui.protocol.wire import market_ws as mw
from polytui.protocol.wire.clob import BookSummary
from polytui.protocol.wire.codec import decode
from polytui.protocol.wire.errors import WireError
from polytui.venue.capture import CaptureLine, Source, read_capture
from polytui.venue.ws import ConnectionChange, ConnState, Frame


class CaptureClock:
    """The receive time of the capture line being applied."""

    def __init__(self) -> None:
        self.ms = 0

    def now_ms(self) -> int:
        return self.ms

    def monotonic(self) -> float:
        return self.ms / 1000

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - a replay never waits
        raise RuntimeError("a replay does not sleep")

    async def wait(self, event, seconds):  # pragma: no cover
        raise RuntimeError("a replay does not wait")


@dataclass
class ReplayResult:
    mirror: Mirror
    lines: int
    rest_answers: int
    rest_errors: int  # REST book answers that could not be read


class _Seen:
    """Per market, the newest delta time seen as of each receive time: what the live mirror
    knew when a request left."""

    def __init__(self) -> None:
        self._times: dict[str, list[int]] = defaultdict(list)
        self._seen: dict[str, list[int]] = defaultdict(list)

    def note(self, market: str, recv_ms: int, ts: int) -> None:
        seen = self._seen[market]
        if not seen or ts > seen[-1]:
            self._times[market].append(recv_ms)
            seen.append(ts)

    def at(self, market: str, when_ms: int) -> int:
        i = bisect.bisect_right(self._times[market], when_ms)
        return self._seen[market][i - 1] if i else 0


def _scan(path: Path | str) -> tuple[dict[str, list[str]], set[int]]:
    """The tokens a capture's market frames mention, by market, in first-seen order; and the
    line numbers of the closes that end a connection for good (the session ending, not a
    fault: the replay keeps the books they would drop)."""
    markets: dict[str, list[str]] = {}
    last_close: dict[str, int] = {}
    for number, line in enumerate(read_capture(path)):
        if line.source is not Source.WS_MARKET:
            continue
        conn = line.conn or "market-1"
        last_close.pop(conn, None)
        if line.event == "close":
            last_close[conn] = number
        if not line.payload or line.payload == "PONG":
            continue
        try:
            raw = msgspec.json.decode(line.payload)
        except msgspec.DecodeError:
            continue
        for obj in raw if isinstance(raw, list) else [raw]:
            if not isinstance(obj, dict) or not isinstance(obj.get("market"), str):
                continue
            changes = obj.get("price_changes") or ()
            assets = [obj.get("asset_id")]
            assets += [e.get("asset_id") for e in changes if isinstance(e, dict)]
            tokens = markets.setdefault(obj["market"], [])
            for asset in assets:
                if isinstance(asset, str) and asset and asset not in tokens:
                    tokens.append(asset)
    return markets, set(last_close.values())


def replay_capture(path: Path | str, settings: MirrorSettings | None = None) -> ReplayResult:
    """Raises ``CaptureFormatError`` for a line that is not a capture record, ``OSError`` for
    a file that cannot be read."""
    clock = CaptureClock()
    mirror = Mirror(settings=settings, clock=clock)  # type: ignore[arg-type]
    markets, final_closes = _scan(path)
    for market, tokens in markets.items():
        mirror.track(market, tokens)
    seen = _Seen()
    lines = answers = bad = 0
    for number, line in enumerate(read_capture(path)):
        lines += 1
        clock.ms = line.recv_ms
        mirror.complete_bursts()
        if number in final_closes:
            continue
        if line.source is Source.WS_MARKET:
            _market_line(mirror, seen, line)
        elif line.source is Source.REST and line.status == 200 and _is_book(line):
            answers += 1
            try:
                books = _books(line)
            except WireError:
                bad += 1
                continue
            _rest_answer(mirror, seen, books, line.sent_ms)
    mirror.complete_bursts(force=True)
    return ReplayResult(mirror, lines, answers, bad)


def _market_line(mirror: Mirror, seen: _Seen, line: CaptureLine) -> None:
    conn = line.conn or "market-1"
    if line.event is not None:
        if line.event not in ("open", "close"):
            return  # a failed open changes nothing the mirror holds
        state = ConnState.CONNECTED if line.event == "open" else ConnState.DISCONNECTED
        mirror.process(ConnectionChange(conn, state, line.recv_ms, (), "in the capture"))
        return
    if line.payload is None:
        return
    try:
        frame = Frame(conn, line.recv_ms, tuple(mw.decode_market_frame(line.payload)))
    except WireError as err:
        frame = Frame(conn, line.recv_ms, tuple(err.events), err)
    for event in frame.events:
        if type(event) is mw.PriceChange:
            seen.note(event.market, line.recv_ms, event.timestamp)
    mirror.process(frame)


def _is_book(line: CaptureLine) -> bool:
    path = urlsplit(line.url or "").path
    return path.endswith("/books") or path.endswith("/book")


def _books(line: CaptureLine) -> tuple[BookSummary, ...]:
    if urlsplit(line.url or "").path.endswith("/books"):
        return decode(tuple[BookSummary, ...], line.payload or "")
    return (decode(BookSummary, line.payload or ""),)


def _rest_answer(
    mirror: Mirror, seen: _Seen, books: tuple[BookSummary, ...], sent_ms: int | None
) -> None:
    for summary in books:
        tok = mirror.tokens.get(summary.asset_id)
        if tok is None:
            continue
        asked_ms = sent_ms if sent_ms is not None else tok.kpis.last_recv_ms
        if tok.state is not BookState.LIVE:
            tok.asked_seen_ms = seen.at(tok.market, asked_ms)
            mirror.rest_books([summary])
        elif tok.kpis.last_recv_ms <= asked_ms:  # nothing arrived while it was asked: a probe
            tok.watch = []
            mirror.judge_probe([summary], {tok.asset_id: tok.kpis.delta_exchange_ms})
            tok.watch = None


# ---- output --------------------------------------------------------------------------------


def book_of(mirror: Mirror, asset: str) -> dict[str, Any]:
    tok = mirror.tokens[asset]
    places = tok.meta.places
    out: dict[str, Any] = {"state": tok.state.value, "bids": [], "asks": [], "tick_size": None}
    if tok.tick is not None:
        out["tick_size"] = price_text(tok.tick)
    if tok.book is not None:
        for side, key in ((Side.BID, "bids"), (Side.ASK, "asks")):
            levels = tok.book.levels(side)
            out[key] = [[price_text(lv.units, places), str(lv.size)] for lv in levels]
    return out


def as_json(result: ReplayResult) -> dict[str, Any]:
    mirror = result.mirror
    books = {}
    for asset in mirror.tokens:
        books[asset] = book_of(mirror, asset) | {"kpis": _kpis(mirror, asset)}
    stats = mirror.stats()
    return {
        "books": books,
        "resyncs": stats["resyncs"],
        "frames": stats["frames"],
        "errors": stats["decode_errors"] + result.rest_errors,
        "kpis": {k: v for k, v in stats.items() if k not in ("resyncs", "frames")},
    }


def _kpis(mirror: Mirror, asset: str) -> dict[str, Any]:
    k = mirror.token_kpis(asset) or {}
    keep = ("reason", "detail", "deltas", "probes", "probe_mismatch_rate", "hash_checks")
    out = {key: k[key] for key in keep if key in k}
    out |= {
        "hash_agreement_rate": k.get("hash_agreement_rate"),
        "stale_snapshots": k.get("stale_snapshots"),
        "resyncs": k.get("resyncs"),
        "last_update_ms": k.get("last_update_ms"),
        "last_verified_ms": k.get("last_verified_ms"),
        "apply_lag_ms": k.get("apply_lag_ms"),
    }
    return out


def render_text(result: ReplayResult, depth: int | None = None) -> str:
    """Per asset: state, tick, the book best first, its KPIs; then the totals."""
    mirror = result.mirror
    out = []
    for asset in mirror.tokens:
        b, k = book_of(mirror, asset), _kpis(mirror, asset)
        tok = mirror.tokens[asset]
        out.append(f"{asset}  {b['state']}  tick {b['tick_size'] or '-'}  market {tok.market}")
        for key in ("bids", "asks"):
            levels = b[key][:depth] if depth else b[key]
            shown = ", ".join(f"{p} x {s}" for p, s in levels) or "-"
            out.append(f"  {key}: {shown}")
        agreement = k["hash_agreement_rate"]
        out.append(
            f"  deltas {k['deltas']}, probes {k['probes']} "
            f"(mismatch {k['probe_mismatch_rate']:.0%}), hash checks {k['hash_checks']}"
            + (f" ({agreement:.0%} agree)" if agreement is not None else "")
            + f", stale snapshots {k['stale_snapshots']}, resyncs {k['resyncs'] or '-'}"
            + (f", last reason {k['reason']}: {k['detail']}" if b["state"] != "LIVE" else "")
        )
    stats = mirror.stats()
    out.append("")
    out.append(
        f"{result.lines} capture lines, {stats['frames']} market frames, "
        f"{stats['entries']} level changes, {result.rest_answers} REST book answers, "
        f"errors {stats['decode_errors'] + result.rest_errors}"
    )
    out.append(f"states {stats['states']}, resyncs {stats['resyncs'] or '-'}")
    out.append(f"apply lag {stats['apply_lag_ms']}, hash agreement {stats['hash_agreement_rate']}")
    return "\n".join(out)


def main_json(result: ReplayResult) -> str:
    return json.dumps(as_json(result), separators=(",", ":"))
