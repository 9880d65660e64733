"""The shared WebSocket machinery, against tiny loopback servers whose misbehaviour each test
writes: the heartbeat and the dead-connection timer, frames that do not decode, the backoff
bookkeeping, what is sent on (re)connect, and a clean close.

The helpers at the top (``Collector``, ``local_server``, ``MaxRng``, ``Recorded``) are shared
with the market and user stream tests."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from polytui.core.clock import FakeClock
from polytui.protocol.wire.errors import WireErrorKind
from polytui.protocol.wire.market_ws import Book
from polytui.venue.market_stream import MarketStream
from polytui.venue.ws import ConnectionChange, ConnState, Frame, WsSettings

FAST = WsSettings(
    ping_interval_s=0.1,
    dead_after_s=0.4,
    open_timeout_s=2.0,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
    stable_after_s=60.0,
)

BOOK = json.dumps(
    {
        "event_type": "book",
        "market": "0xabc",
        "asset_id": "1",
        "timestamp": "1795000000000",
        "hash": "h",
        "bids": [{"price": "0.4", "size": "10"}],
        "asks": [],
    }
)


class Collector:
    """The sink: keeps everything in arrival order; ``until`` waits for a condition."""

    def __init__(self) -> None:
        self.items: list[Frame | ConnectionChange] = []
        self.stamps: list[float] = []  # time.monotonic() at each arrival

    def __call__(self, item: Frame | ConnectionChange) -> None:
        self.items.append(item)
        self.stamps.append(time.monotonic())

    @property
    def changes(self) -> list[ConnectionChange]:
        return [i for i in self.items if isinstance(i, ConnectionChange)]

    @property
    def frames(self) -> list[Frame]:
        return [i for i in self.items if isinstance(i, Frame)]

    def states(self, conn: str | None = None) -> list[ConnState]:
        return [c.state for c in self.changes if conn in (None, c.conn)]

    def events(self, since: int = 0) -> list[Any]:
        return [e for i in self.items[since:] if isinstance(i, Frame) for e in i.events]

    def books(self, since: int = 0) -> set[str]:
        return {e.asset_id for e in self.events(since) if isinstance(e, Book)}

    async def until(self, predicate: Callable[[], bool], within: float = 3.0) -> None:
        await eventually(predicate, within)


async def eventually(predicate: Callable[[], bool | Awaitable[bool]], within: float = 3.0) -> None:
    """Poll until ``predicate()`` (or its awaited result) is true; fail after ``within`` s.
    Polling, not an event: the state watched is often on the other side of a socket."""

    async def holds() -> bool:
        result = predicate()
        return bool(await result) if inspect.isawaitable(result) else bool(result)

    async with asyncio.timeout(within):
        while not await holds():  # noqa: ASYNC110 - see the docstring
            await asyncio.sleep(0.005)


class MaxRng(random.Random):
    """Full jitter pinned to its ceiling, so a wait names its attempt: base * 2^(attempt-1)."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Recorded:
    """An injected sleep that records each wait, then sleeps a little for real (or runs
    ``then`` first, e.g. to change subscriptions while the socket is down)."""

    def __init__(self, real_s: float = 0.0) -> None:
        self.waits: list[float] = []
        self.real_s = real_s
        self.then: Callable[[], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.then is not None:
            await self.then()
        await asyncio.sleep(self.real_s)


Handler = Callable[[ServerConnection, list[str]], Awaitable[None]]


class LocalServer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sessions: list[list[str]] = []  # the text each connection received, in order


@contextlib.asynccontextmanager
async def local_server(handler: Handler) -> AsyncIterator[LocalServer]:
    """A loopback server on a free port; ``handler(ws, received)`` runs per connection with
    the list where that connection's incoming text is recorded by ``recv_into``."""
    box: list[LocalServer] = []

    async def handle(ws: ServerConnection) -> None:
        received: list[str] = []
        box[0].sessions.append(received)
        with contextlib.suppress(ConnectionClosed):
            await handler(ws, received)

    async with serve(handle, "127.0.0.1", 0, ping_interval=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        box.append(LocalServer(f"ws://127.0.0.1:{port}"))
        yield box[0]


async def recv_into(ws: ServerConnection, received: list[str], pong: bool) -> str:
    """The next non-PING message; PINGs are recorded and answered when ``pong``."""
    while True:
        text = await ws.recv()
        received.append(text)
        if text != "PING":
            return text
        if pong:
            await ws.send("PONG")


async def serve_forever(ws: ServerConnection, received: list[str], pong: bool) -> None:
    while True:
        await recv_into(ws, received, pong)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- heartbeat and the dead-connection timer ---------------------------------------------------


async def test_a_silent_server_is_declared_dead_and_the_stream_reconnects():
    async def silent(ws, received):
        await serve_forever(ws, received, pong=False)

    sink = Collector()
    async with local_server(silent) as server:
        stream = MarketStream(server.url, sink, settings=FAST, rng=MaxRng())
        await stream.subscribe(["1"])
        async with stream:
            await sink.until(lambda: ConnState.RECONNECTED in sink.states(), within=3)
        connected, dropped = sink.changes[0], sink.changes[1]
        assert connected.state is ConnState.CONNECTED
        assert dropped.state is ConnState.DISCONNECTED
        assert dropped.reason == "dead: nothing received for 0.4 s"
        silence = sink.stamps[1] - sink.stamps[0]
        assert 0.35 <= silence < 1.5
        first = server.sessions[0]
        assert json.loads(first[0])["type"] == "market"
        assert first[1:] and set(first[1:]) == {"PING"}  # the text PING, sent at once and on
        assert len(first) >= 3
        assert sink.changes[-1].reason == "closed by client"


async def test_pongs_keep_a_quiet_connection_alive():
    async def answering(ws, received):
        await serve_forever(ws, received, pong=True)

    sink = Collector()
    async with local_server(answering) as server:
        stream = MarketStream(server.url, sink, settings=FAST)
        await stream.subscribe(["1"])
        async with stream:
            await asyncio.sleep(1.0)  # 2.5 x dead_after without a single data frame
            assert sink.states() == [ConnState.CONNECTED]
        assert sink.frames == []  # PONG is transport, never delivered
        assert server.sessions[0].count("PING") >= 5


# ---- frames that do not decode -----------------------------------------------------------------


async def test_malformed_and_unknown_frames_are_delivered_with_their_error():
    mixed = f'[{BOOK}, {{"event_type": "mystery"}}]'

    async def odd(ws, received):
        await recv_into(ws, received, pong=True)
        for text in ("not json", '{"event_type": "mystery"}', mixed, BOOK):
            await ws.send(text)
        await serve_forever(ws, received, pong=True)

    sink = Collector()
    async with local_server(odd) as server:
        stream = MarketStream(server.url, sink, settings=FAST)
        await stream.subscribe(["1"])
        async with stream:
            await sink.until(lambda: len(sink.frames) == 4)
            await asyncio.sleep(0.1)
            assert sink.states() == [ConnState.CONNECTED]  # the loop survived
        bad_json, unknown, partial, good = sink.frames
        assert bad_json.error is not None and bad_json.error.kind is WireErrorKind.MALFORMED
        assert bad_json.events == () and bad_json.error.raw == "not json"
        assert unknown.error is not None and unknown.error.kind is WireErrorKind.UNKNOWN_EVENT
        assert partial.error is not None and partial.error.raw == mixed
        assert [type(e) for e in partial.events] == [Book] and partial.events[0].asset_id == "1"
        assert partial.error.events == partial.events
        assert good.error is None and [e.asset_id for e in good.events] == ["1"]
        assert stream.decode_errors == 3 and stream.frames == 4


# ---- backoff -----------------------------------------------------------------------------------


async def test_failed_opens_back_off_exponentially_without_a_disconnect_event():
    sink = Collector()
    sleep = Recorded()
    stream = MarketStream(
        f"ws://127.0.0.1:{closed_port()}", sink, settings=FAST, rng=MaxRng(), sleep=sleep
    )
    await stream.subscribe(["1"])
    async with stream:
        await sink.until(lambda: len(sleep.waits) >= 6)
    assert sleep.waits[:6] == pytest.approx([0.01, 0.02, 0.04, 0.05, 0.05, 0.05])
    assert sink.items == []  # never connected: nothing to report
    assert stream.stats()["failed_opens"] >= 6


async def test_attempts_grow_across_quick_drops_and_reset_after_a_stable_session():
    async def drop_after_a_frame(ws, received):
        await recv_into(ws, received, pong=True)
        await ws.send(BOOK)
        await ws.close(1011)

    clock = FakeClock()
    sink = Collector()
    sleep = Recorded()
    settings = WsSettings(backoff_base_s=1.0, backoff_cap_s=100.0, stable_after_s=60.0)

    def long_third_session(item: Frame | ConnectionChange) -> None:
        sink(item)
        if isinstance(item, Frame) and len(sink.frames) == 3:
            clock.advance(60_000)  # the third session lasts the stable time

    async with local_server(drop_after_a_frame) as server:
        stream = MarketStream(
            server.url,
            long_third_session,
            settings=settings,
            clock=clock,
            rng=MaxRng(),
            sleep=sleep,
        )
        await stream.subscribe(["1"])
        async with stream:
            await sink.until(lambda: len(sleep.waits) >= 5)
    # attempts 1, 2 (quick drops), 1 (after the stable third session), then 2, 3 again
    assert sleep.waits[:5] == [1.0, 2.0, 1.0, 2.0, 4.0]
    drops = [c for c in sink.changes if c.state is ConnState.DISCONNECTED]
    assert drops[0].reason == "server closed (code 1011)"
    states = sink.states()
    assert states[:4] == [
        ConnState.CONNECTED,
        ConnState.DISCONNECTED,
        ConnState.RECONNECTED,
        ConnState.DISCONNECTED,
    ]
    # a DISCONNECTED always comes before the frames of the next session
    kinds = ["F" if isinstance(i, Frame) else i.state.value[0] for i in sink.items]
    assert "".join(kinds).startswith("cFdrFdrFd")


# ---- what is sent on (re)connect -------------------------------------------------------------


async def test_subscriptions_changed_while_down_ride_on_the_next_initial_frame():
    async def first_session_drops(ws, received):
        await recv_into(ws, received, pong=True)
        await ws.send(BOOK)
        if len(server.sessions) == 1:
            await ws.close(1001)
            return
        await serve_forever(ws, received, pong=True)

    sink = Collector()
    sleep = Recorded()
    async with local_server(first_session_drops) as server:
        stream = MarketStream(server.url, sink, settings=FAST, sleep=sleep)
        sleep.then = lambda: stream.subscribe(["3"])  # during the backoff: the socket is down
        await stream.subscribe(["1", "2"])  # before start
        async with stream:
            await sink.until(lambda: ConnState.RECONNECTED in sink.states())
            await stream.subscribe(["4"])
            await stream.unsubscribe(["2"])
            await stream.subscribe(["1"])  # already there: nothing sent
            await sink.until(lambda: len([t for t in server.sessions[1] if t != "PING"]) == 3)
        first, second = ([json.loads(t) for t in s if t != "PING"] for s in server.sessions)
        initial = {"initial_dump": True, "custom_feature_enabled": True, "type": "market"}
        assert first == [{**initial, "assets_ids": ["1", "2"]}]
        assert second == [
            {**initial, "assets_ids": ["1", "2", "3"]},
            {"operation": "subscribe", "assets_ids": ["4"], "custom_feature_enabled": True},
            {"operation": "unsubscribe", "assets_ids": ["2"]},
        ]
        assert stream.shards == {"market-1": frozenset({"1", "3", "4"})}


# ---- close -----------------------------------------------------------------------------------


async def test_close_leaves_no_task_behind(caplog):
    caplog.set_level(logging.DEBUG)
    sink = Collector()
    async with local_server(lambda ws, rec: serve_forever(ws, rec, pong=True)) as server:
        stream = MarketStream(server.url, sink, settings=FAST)
        await stream.subscribe(["1"])
        await stream.start()
        await sink.until(lambda: sink.states() == [ConnState.CONNECTED])
        assert any(t.get_name().startswith("ws market-1") for t in asyncio.all_tasks())
        await stream.close()
        assert sink.states() == [ConnState.CONNECTED, ConnState.DISCONNECTED]
        assert sink.changes[-1].reason == "closed by client"
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("ws ")]
    # a stream retrying a dead address: cancelled in its backoff sleep
    stream = MarketStream(f"ws://127.0.0.1:{closed_port()}", sink, settings=FAST)
    await stream.subscribe(["1"])
    await stream.start()
    await asyncio.sleep(0.05)
    await stream.close()
    await stream.close()  # idempotent
    assert asyncio.all_tasks() == {asyncio.current_task()}
    gc.collect()
    assert "destroyed but it is pending" not in caplog.text
    assert "never retrieved" not in caplog.text
    with pytest.raises(RuntimeError):
        await stream.start()


async def test_a_sink_that_raises_does_not_stop_the_stream(caplog):
    async def two_books(ws, received):
        await recv_into(ws, received, pong=True)
        await ws.send(BOOK)
        await ws.send(BOOK)
        await serve_forever(ws, received, pong=True)

    got: list[Frame | ConnectionChange] = []

    def fragile(item: Frame | ConnectionChange) -> None:
        got.append(item)
        if isinstance(item, Frame) and len(got) == 2:
            raise ValueError("consumer bug")

    async with local_server(two_books) as server:
        stream = MarketStream(server.url, fragile, settings=FAST)
        await stream.subscribe(["1"])
        async with stream:
            await eventually(lambda: len(got) >= 3)
    assert [type(i).__name__ for i in got] == [
        "ConnectionChange",
        "Frame",
        "Frame",
        "ConnectionChange",
    ]
    assert "the sink raised" in caplog.text
