"""Capture files: what the venue sent, line by line, with no secret in them; a full disk stops
the capture and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polytui.venue.capture import (
    CaptureFormatError,
    CaptureWriter,
    Source,
    read_capture,
)
from polytui.venue.clob import ClobClient
from tests.venue.wallet import Wallet


async def test_rest_answers_are_captured_with_their_request(venue, http_for, tmp_path: Path):
    capture = CaptureWriter(tmp_path / "venue.jsonl")
    http = http_for(venue, capture=capture)
    clob = ClobClient(http)
    m = next(iter(venue.sim.exchange.markets.values()))
    await clob.book(m.yes_token)
    await clob.books([m.yes_token])
    capture.close()
    lines = list(read_capture(tmp_path / "venue.jsonl"))
    assert [(x.source, x.method, x.status) for x in lines] == [
        (Source.REST, "GET", 200),
        (Source.REST, "POST", 200),
    ]
    assert lines[0].url.endswith(f"/book?token_id={m.yes_token}") and lines[0].request == ""
    assert json.loads(lines[0].payload)["asset_id"] == m.yes_token
    assert json.loads(lines[1].request) == [{"token_id": m.yes_token}]
    assert lines[0].recv_ms > 0 and lines[0].conn == "clob"


async def test_no_secret_reaches_the_capture(venue, http_for, tmp_path: Path):
    capture = CaptureWriter(tmp_path / "venue.jsonl")
    wallet = await Wallet.open(venue, http_for(venue, capture=capture))
    await wallet.trader.post_order(wallet.resting(wallet.market()))
    capture.close()
    text = (tmp_path / "venue.jsonl").read_text()
    creds = wallet.trader.creds
    assert creds.secret not in text and creds.passphrase not in text
    auth = [x for x in read_capture(tmp_path / "venue.jsonl") if "/auth/" in x.url]
    assert auth and all(json.loads(x.payload)["secret"] == "***" for x in auth if x.status == 200)
    assert any(x.url.endswith("/order") and x.status == 200 for x in read_capture(capture.path))


def test_websocket_lines_and_a_frames_only_capture_read_back(tmp_path: Path):
    path = tmp_path / "ws.jsonl"
    capture = CaptureWriter(path)
    capture.event(Source.WS_MARKET, "market-1", 10, "open")
    capture.frame(Source.WS_MARKET, "market-1", 11, '[{"event_type":"book"}]')
    capture.event(Source.WS_MARKET, "market-1", 12, "close")
    capture.close()
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    assert raw[0] == {"recv_ms": 10, "source": "ws_market", "conn": "market-1", "event": "open"}
    assert raw[1]["payload"] == '[{"event_type":"book"}]' and "event" not in raw[1]
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"recv_ms": 5, "source": "ws_user", "payload": "[]"}\n')
    (line,) = read_capture(bare)
    assert line.conn is None and line.event is None and line.payload == "[]"


def test_a_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error(tmp_path: Path):
    good = '{"recv_ms": 1, "source": "rest", "payload": "1"}'
    torn = tmp_path / "torn.jsonl"
    torn.write_text(good + "\n" + '{"recv_ms": 2, "sour')
    assert [x.recv_ms for x in read_capture(torn)] == [1]
    broken = tmp_path / "broken.jsonl"
    broken.write_text(good + "\nnot json\n" + good + "\n")
    with pytest.raises(CaptureFormatError, match="broken.jsonl:2"):
        list(read_capture(broken))


def test_a_full_disk_stops_the_capture_without_raising(tmp_path: Path, caplog):
    capture = CaptureWriter("/dev/full", flush_interval_s=0)
    capture.frame(Source.WS_MARKET, "market-1", 1, "x" * 100)
    capture.frame(Source.WS_MARKET, "market-1", 2, "y")  # after the failure: ignored
    assert capture.failed and "space" in capture.failed.lower()
    assert "capture to /dev/full stopped" in caplog.text
    capture.close()  # still safe
