"""The user stream against the simulator: a wallet's order events arrive decoded, bad
credentials are reported as refused (and retried) without the secret ever showing, and a
server-side disconnect is followed by a reconnect that resubscribes with the credentials."""

from __future__ import annotations

import base64
import json
import logging

from polytui.protocol.auth import ApiCreds
from polytui.protocol.wire.user_ws import OrderEvent
from polytui.venue.capture import CaptureWriter, Source, read_capture
from polytui.venue.user_stream import UserStream
from polytui.venue.ws import ConnState, WsSettings
from tests.sim.conftest import Running
from tests.sim.trading import Trader
from tests.venue.test_ws import Collector, MaxRng, Recorded, eventually, local_server, serve_forever

FAST = WsSettings(
    ping_interval_s=0.2,
    dead_after_s=5.0,
    open_timeout_s=2.0,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
)


def url(running: Running) -> str:
    return running.endpoints["ws"] + "/user"


def polytui_creds(trader: Trader) -> ApiCreds:
    c = trader.creds
    return ApiCreds(api_key=c.api_key, secret=c.api_secret, passphrase=c.api_passphrase)


async def subscribed_in_sim(running: Running, address: str, count: int = 1) -> None:
    """Wait until the simulator has authenticated ``count`` user connections of ``address``."""

    async def enough() -> bool:
        conns = (await running.admin("GET", "/stats"))["user_connections"]
        return sum(1 for c in conns if c["address"] == address.lower()) >= count

    await eventually(enough)


def orders(sink: Collector, since: int = 0) -> list[OrderEvent]:
    return [e for e in sink.events(since) if isinstance(e, OrderEvent)]


async def test_an_order_placed_through_the_venue_arrives_as_an_order_event(venue, tmp_path):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    capture = CaptureWriter(tmp_path / "cap.jsonl")
    sink = Collector()
    async with UserStream(
        url(venue), polytui_creds(trader), sink, settings=FAST, capture=capture
    ) as stream:
        await subscribed_in_sim(venue, trader.address)
        placed = await trader.order(m.yes_token, bid, 5)
        await sink.until(lambda: any(o.id == placed["orderID"] for o in orders(sink)))
        (event,) = [o for o in orders(sink) if o.id == placed["orderID"]]
        assert (event.type, event.side, event.status) == ("PLACEMENT", "BUY", "LIVE")
        assert event.market == m.condition_id and event.asset_id == m.yes_token
        assert float(event.price) == bid and event.original_size == 5
        assert sink.changes[0].conn == "user-1" and sink.states() == [ConnState.CONNECTED]
        assert stream.markets == () and sink.changes[0].subscribed == ()
    capture.close()
    lines = list(read_capture(tmp_path / "cap.jsonl"))
    assert {line.source for line in lines} == {Source.WS_USER}
    assert [line.event for line in lines if line.event] == ["open", "close"]
    text = (tmp_path / "cap.jsonl").read_text()
    assert placed["orderID"] in text and trader.creds.api_secret not in text


async def test_bad_credentials_are_refused_and_retried_without_showing_the_secret(venue, caplog):
    caplog.set_level(logging.DEBUG)
    trader = await Trader.open(venue)
    wrong_secret = base64.urlsafe_b64encode(b"not the secret of this key, at all").decode()
    creds = ApiCreds(trader.creds.api_key, wrong_secret, trader.creds.api_passphrase)
    sink = Collector()
    sleep = Recorded(real_s=0.005)
    stream = UserStream(url(venue), creds, sink, settings=FAST, rng=MaxRng(), sleep=sleep)
    async with stream:
        await sink.until(lambda: len([c for c in sink.changes if c.reason]) >= 3)
        await sink.until(lambda: len(sleep.waits) >= 3)  # the third backoff follows its drop
    refusals = [c for c in sink.changes if c.state is ConnState.DISCONNECTED][:3]
    for change in refusals:
        assert change.reason.startswith("refused"), change.reason
        assert "1008" in change.reason
    assert sleep.waits[:3] == [0.01, 0.02, 0.04]  # immediate drops: the attempts grow
    assert (await venue.admin("GET", "/stats"))["user_auth_rejected"] >= 3
    shown = caplog.text + repr(sink.items) + repr(stream) + repr(creds)
    assert "refused" in caplog.text  # the drops were logged...
    assert wrong_secret not in shown and trader.creds.api_passphrase not in shown  # ...safely
    for part in (wrong_secret[:8], wrong_secret[-8:], trader.creds.api_passphrase[-8:]):
        assert part not in shown  # not even the elided frame websockets logs at DEBUG
    assert '"auth"' not in caplog.text


async def test_the_user_channel_reconnects_after_a_server_disconnect(venue):
    trader = await Trader.open(venue)
    m = trader.market()
    bid, _ = trader.best(m)
    sink = Collector()
    sleep = Recorded()
    async with UserStream(
        url(venue),
        polytui_creds(trader),
        sink,
        markets=[m.condition_id],
        settings=FAST,
        rng=MaxRng(),
        sleep=sleep,
    ) as stream:
        await subscribed_in_sim(venue, trader.address)
        answer = await venue.admin("POST", "/disconnect", {"channel": "user"})
        assert len(answer["user_disconnected"]) == 1 and answer["disconnected"] == []
        await sink.until(lambda: ConnState.RECONNECTED in sink.states())
        down, up = sink.changes[1:3]
        assert (down.state, down.reason) == (ConnState.DISCONNECTED, "server closed (code 1001)")
        assert up.subscribed == (m.condition_id,)
        assert sleep.waits == [0.01]
        await subscribed_in_sim(venue, trader.address)
        conns = (await venue.admin("GET", "/stats"))["user_connections"]
        assert [c["markets"] for c in conns] == [[m.condition_id]]
        mark = len(sink.items)
        placed = await trader.order(m.yes_token, bid, 5)
        await sink.until(lambda: any(o.id == placed["orderID"] for o in orders(sink, mark)))
        assert stream.reconnects == 1


async def test_the_user_frames_on_the_wire():
    sink = Collector()
    creds = ApiCreds("key-1", base64.urlsafe_b64encode(b"s" * 32).decode(), "pass-1")

    async def record(ws, received):
        await serve_forever(ws, received, pong=True)

    async with local_server(record) as server:
        async with UserStream(server.url, creds, sink, settings=FAST) as stream:
            await sink.until(lambda: sink.states() == [ConnState.CONNECTED])
            await stream.subscribe(["0xa", "0xb"])
            await stream.subscribe(["0xa"])  # nothing new: nothing sent
            await stream.unsubscribe(["0xb", "0xc"])
            await sink.until(lambda: len([t for t in server.sessions[0] if t != "PING"]) == 3)
        async with UserStream(server.url, creds, sink, markets=["0xm"], settings=FAST):
            await sink.until(lambda: len(server.sessions) == 2 and server.sessions[1])
    first, second = ([json.loads(t) for t in s if t != "PING"] for s in server.sessions)
    auth = {"apiKey": "key-1", "secret": creds.secret, "passphrase": "pass-1"}
    assert first == [
        {"type": "user", "auth": auth},  # no markets: all of the wallet's
        {"operation": "subscribe", "markets": ["0xa", "0xb"]},
        {"operation": "unsubscribe", "markets": ["0xb"]},
    ]
    assert second[0] == {"type": "user", "auth": auth, "markets": ["0xm"]}
    assert stream.markets == ("0xa",)
