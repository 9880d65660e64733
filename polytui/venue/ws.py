"""The WebSocket machinery shared by the market and the user channel (protocol §5.1).

One :class:`WsConnection` keeps one socket to one channel open for as long as its stream is
open:

1. connect (the library's own protocol-level keepalive off: Polymarket wants a text ``PING``);
2. send the channel's initial subscribe frame, built from the connection's current
   subscriptions at that instant, so a (re)connect always carries the whole set;
3. report ``CONNECTED`` (first open) or ``RECONNECTED`` (every later open) to the sink;
4. receive: every text frame but ``PONG`` is captured, decoded and handed to the sink as a
   :class:`Frame` (a frame that does not decode arrives with ``error`` set, never crashes the
   loop); ``PONG`` only proves the socket is alive;
5. a heartbeat task sends ``PING`` right after the subscribe and then every
   ``ping_interval_s``, and drops the socket when nothing (``PONG`` included) has arrived for
   ``dead_after_s``;
6. on any drop report ``DISCONNECTED`` with the reason, wait ``backoff_s(attempt, ...)``
   (full jitter) through the injected ``sleep`` and go back to 1. ``attempt`` grows with every
   consecutive failure (a failed open, a socket that drops at once) and starts again at 1 only
   after a session that lasted ``stable_after_s``.

Everything a connection says goes to one synchronous sink, in order: a session's
``DISCONNECTED`` always comes before the frames of the next one. Frame times (``recv_ms``),
change times and session lengths come from the injected clock, backoff waits from the injected
random generator and ``sleep``. Only the heartbeat's wake-ups run on the event loop's own
timer, because they pace a real socket; the silence that declares a socket dead is measured
on the injected clock (a ``FakeClock`` that is not advanced never declares one dead).

A server that closes the socket before it has sent anything back (not even the ``PONG`` of
the first ``PING``), or that closes with 1008 (policy violation), refused the subscription
(bad credentials on the user channel): the reason then starts with ``refused``. The initial
frame of the user channel carries the API secret and passphrase; it is never logged (the
websockets library's frame-by-frame DEBUG log is kept off) and never part of a reason or an
exception text.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from polytui.core.clock import Clock, arrival_ms
from polytui.protocol.wire.codec import PONG
from polytui.protocol.wire.errors import WireError
from polytui.venue.capture import CaptureWriter, Source
from polytui.venue.retry import backoff_s

log = logging.getLogger("polytui.venue.ws")

CLOSE_TIMEOUT_S = 2.0  # a closing handshake the peer does not finish in this time is aborted
POLICY_VIOLATION = 1008  # the close code of a refused subscription
USER_AGENT = "polytui"
_PONG_BYTES = PONG.encode()  # should a venue ever send the heartbeat as a binary frame
_REASON_LIMIT = 120  # characters of a server's close reason kept in our own reason

Sleep = Callable[[float], Awaitable[None]]


class _NoFrameDebug(logging.LoggerAdapter):
    """websockets logs every frame sent and received once its logger is enabled for DEBUG, and
    the user channel's first frame holds the API secret: its debug output is never enabled."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_LIBRARY_LOG = _NoFrameDebug(logging.getLogger("websockets.client"), {})


@dataclass(frozen=True, slots=True)
class WsSettings:
    ping_interval_s: float = 10.0  # send the text "PING" this often
    dead_after_s: float = 30.0  # nothing received (PONG included) for this long: drop, reconnect
    open_timeout_s: float = 10.0
    backoff_base_s: float = 0.5  # reconnect waits: retry.backoff_s(attempt, base, cap, rng)
    backoff_cap_s: float = 30.0
    stable_after_s: float = 60.0  # only a session this long resets the backoff attempt counter
    max_assets_per_conn: int = 200  # market channel sharding cap

    def __post_init__(self) -> None:
        if self.ping_interval_s <= 0 or self.dead_after_s <= 0 or self.open_timeout_s <= 0:
            raise ValueError("ping interval, dead-after and open timeout must be > 0")
        if self.backoff_base_s < 0 or self.backoff_cap_s < 0 or self.stable_after_s < 0:
            raise ValueError("backoff waits and the stable time must be >= 0")
        if self.max_assets_per_conn < 1:
            raise ValueError("a connection must be allowed at least one asset")


class ConnState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"


@dataclass(frozen=True, slots=True)
class ConnectionChange:
    conn: str  # connection (shard) id, e.g. "market-1"; stable across reconnects of that shard
    state: ConnState
    at_ms: int  # clock.now_ms()
    subscribed: tuple[str, ...]  # asset ids (market) or condition ids (user) on this connection
    reason: str = ""  # why it went down ("server closed (code 1006)", "closed by client", ...)


@dataclass(frozen=True, slots=True)
class Frame:
    conn: str
    recv_ms: int  # clock.now_ms() when the frame was received
    events: tuple  # decoded events, in order (market: MarketEvent; user: UserEvent)
    error: WireError | None = None  # the frame did not decode fully; its decoded part is in events


Sink = Callable[[Frame | ConnectionChange], None]
"""Synchronous and must not block; the consumer owns backpressure."""


@dataclass(slots=True)
class StreamStats:
    """Counters of one stream, shared by its connections."""

    frames: int = 0  # frames delivered (PONG excluded)
    decode_errors: int = 0  # frames delivered with ``error`` set
    connects: int = 0  # successful opens, the first included
    reconnects: int = 0  # opens after the first, per connection
    drops: int = 0  # sessions that ended other than by the client
    failed_opens: int = 0  # connects that did not get a socket

    def as_dict(self) -> dict[str, int]:
        return {
            "frames": self.frames,
            "decode_errors": self.decode_errors,
            "connects": self.connects,
            "reconnects": self.reconnects,
            "drops": self.drops,
            "failed_opens": self.failed_opens,
        }


class CountedStream:
    """The counters every stream shows (``counters`` is its ``StreamStats``)."""

    counters: StreamStats

    @property
    def frames(self) -> int:
        return self.counters.frames

    @property
    def reconnects(self) -> int:
        return self.counters.reconnects

    @property
    def decode_errors(self) -> int:
        return self.counters.decode_errors


@dataclass(frozen=True, slots=True)
class Channel:
    """What differs between the market and the user channel."""

    source: Source  # capture source
    decode: Callable[[str | bytes], Sequence[Any]]  # raises WireError


def describe_close(exc: ConnectionClosed) -> str:
    """``server closed (code N[: reason])``; 1006 when no close frame came (a network drop)."""
    if exc.rcvd is None:
        return "server closed (code 1006)"
    text = exc.rcvd.reason[:_REASON_LIMIT]
    return f"server closed (code {exc.rcvd.code}{': ' + text if text else ''})"


def describe_error(exc: BaseException) -> str:
    text = str(exc)[:_REASON_LIMIT]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WsConnection:
    """One socket to one channel, reconnected until :meth:`close`.

    ``initial()`` builds the subscribe frame (called at every open, after the socket is up);
    ``subscribed()`` names what the connection carries, for the change events. :meth:`send`
    writes a frame on the open socket, if there is one: a subscription change made while the
    socket is down reaches the venue through the next initial frame instead.
    """

    def __init__(
        self,
        conn_id: str,
        url: str,
        channel: Channel,
        *,
        initial: Callable[[], str],
        subscribed: Callable[[], tuple[str, ...]],
        sink: Sink,
        settings: WsSettings,
        clock: Clock,
        rng: random.Random,
        sleep: Sleep,
        capture: CaptureWriter | None,
        stats: StreamStats,
    ) -> None:
        self.id = conn_id
        self.url = url
        self._channel = channel
        self._initial = initial
        self._subscribed = subscribed
        self._sink = sink
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._capture = capture
        self._stats = stats
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None  # set once the initial frame is decided
        self._open = False  # between CONNECTED/RECONNECTED and DISCONNECTED
        self._opened_once = False
        self._closing: str | None = None  # the reason given to close()
        self._last_recv = 0.0
        self._dead = False
        self.attempt = 0  # consecutive failures; the next backoff uses this attempt number

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def connected(self) -> bool:
        """Open and subscribed (between ``CONNECTED``/``RECONNECTED`` and ``DISCONNECTED``)."""
        return self._open

    def start(self) -> None:
        if self._task is None and self._closing is None:
            self._task = asyncio.create_task(self._run(), name=f"ws {self.id}")

    async def send(self, text: str) -> bool:
        """Write ``text`` on the open socket; False when there is none (or it just closed)."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(text)
        except ConnectionClosed:
            return False
        return True

    async def close(self, reason: str = "closed by client") -> None:
        """Stop for good: close the socket (reporting ``DISCONNECTED`` with ``reason`` if it
        was open) and end the reconnect loop. Idempotent."""
        if self._closing is None:
            self._closing = reason
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait([task])  # unlike ``await task``, never swallows our own cancellation
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: connection loop failed", self.id, exc_info=task.exception())

    # ---- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        settings = self._settings
        while True:
            began: float | None = None
            try:
                ws = await connect(
                    self.url,
                    open_timeout=settings.open_timeout_s,
                    ping_interval=None,  # Polymarket's heartbeat is the text PING, sent below
                    close_timeout=CLOSE_TIMEOUT_S,
                    max_size=None,  # initial dumps of many books are large
                    user_agent_header=USER_AGENT,
                    logger=_LIBRARY_LOG,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # OSError, handshake refusals, timeouts, a bad URL
                self._stats.failed_opens += 1
                log.warning("%s: connect to %s failed: %s", self.id, self.url, describe_error(exc))
                if self._capture is not None:
                    self._capture.event(
                        self._channel.source,
                        self.id,
                        arrival_ms(self._clock),
                        "open_failed",
                        describe_error(exc),
                    )
            else:
                began = self._clock.monotonic()
                await self._session(ws)
            if began is not None and self._clock.monotonic() - began >= settings.stable_after_s:
                self.attempt = 0
            self.attempt += 1
            await self._sleep(
                backoff_s(self.attempt, settings.backoff_base_s, settings.backoff_cap_s, self._rng)
            )

    async def _session(self, ws: ClientConnection) -> None:
        """One open socket, until it drops or the connection is closed (then re-raises the
        cancellation). Reports the open and the close."""
        self._dead = False
        self._last_recv = self._clock.monotonic()
        self._ws = ws  # from here on, send() writes behind the initial frame
        reason = ""
        opened = received = False
        heartbeat: asyncio.Task[None] | None = None
        try:
            await ws.send(self._initial())
            opened = self._open = True
            self._opened(ws)
            heartbeat = asyncio.create_task(self._heartbeat(ws), name=f"ws {self.id} heartbeat")
            while True:
                data = await ws.recv()
                self._last_recv = self._clock.monotonic()
                received = True
                if data != PONG and data != _PONG_BYTES:
                    self._deliver(data)
        except ConnectionClosed as exc:
            reason = self._drop_reason(exc, received)
        except asyncio.CancelledError:
            reason = self._closing or "closed by client"
            raise
        except Exception as exc:  # a bug of ours; never let it end the reconnect loop
            log.exception("%s: receive loop failed", self.id)
            reason = f"error: {describe_error(exc)}"
        finally:
            self._ws = None
            self._open = False
            if heartbeat is not None:
                heartbeat.cancel()
            if opened:
                self._closed(reason)  # before any await: a second cancellation cannot lose it
            if heartbeat is not None:
                await asyncio.wait([heartbeat])
                if not heartbeat.cancelled() and heartbeat.exception() is not None:
                    log.error("%s: heartbeat failed", self.id, exc_info=heartbeat.exception())
            await ws.close()

    def _drop_reason(self, exc: ConnectionClosed, received: bool) -> str:
        if self._dead:
            return f"dead: nothing received for {self._settings.dead_after_s:.1f} s"
        closed = describe_close(exc)
        if exc.rcvd is not None and not received:
            return f"refused: {closed} right after the subscribe"
        if exc.rcvd is not None and exc.rcvd.code == POLICY_VIOLATION:
            return f"refused: {closed}"
        return closed

    async def _heartbeat(self, ws: ClientConnection) -> None:
        """PING now and every ``ping_interval_s``; drop the socket once nothing has been
        received for ``dead_after_s`` (measured on the injected clock)."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        next_ping = loop.time()
        try:
            while True:
                if loop.time() >= next_ping:
                    await ws.send("PING")
                    next_ping = loop.time() + settings.ping_interval_s
                silent = self._clock.monotonic() - self._last_recv
                if silent >= settings.dead_after_s:
                    self._dead = True
                    ws.transport.abort()  # a dead peer would not finish a closing handshake
                    return
                await asyncio.sleep(
                    max(0.0, min(next_ping - loop.time(), settings.dead_after_s - silent))
                )
        except ConnectionClosed:
            return  # the receive loop sees the close and reports it

    # ---- what the sink hears -----------------------------------------------------------------

    def _opened(self, ws: ClientConnection) -> None:
        at_ms = arrival_ms(self._clock)
        state = ConnState.RECONNECTED if self._opened_once else ConnState.CONNECTED
        self._opened_once = True
        self._stats.connects += 1
        if state is ConnState.RECONNECTED:
            self._stats.reconnects += 1
            log.info("%s: reconnected to %s", self.id, self.url)
        if self._capture is not None:
            self._capture.event(self._channel.source, self.id, at_ms, "open")
        self._emit(ConnectionChange(self.id, state, at_ms, self._subscribed()))

    def _closed(self, reason: str) -> None:
        at_ms = arrival_ms(self._clock)
        if self._closing is None:
            self._stats.drops += 1
            log.warning("%s: connection to %s lost: %s", self.id, self.url, reason)
        if self._capture is not None:
            self._capture.event(self._channel.source, self.id, at_ms, "close", reason)
        self._emit(
            ConnectionChange(self.id, ConnState.DISCONNECTED, at_ms, self._subscribed(), reason)
        )

    def _deliver(self, data: str | bytes) -> None:
        recv_ms = arrival_ms(self._clock)
        if self._capture is not None:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            self._capture.frame(self._channel.source, self.id, recv_ms, text)
        self._stats.frames += 1
        try:
            frame = Frame(self.id, recv_ms, tuple(self._channel.decode(data)))
        except WireError as err:
            self._stats.decode_errors += 1
            log.warning("%s: frame not decoded (%s): %.200s", self.id, err, err.raw)
            frame = Frame(self.id, recv_ms, tuple(err.events), err)
        self._emit(frame)

    def _emit(self, item: Frame | ConnectionChange) -> None:
        try:
            self._sink(item)
        except Exception:
            log.exception("%s: the sink raised; the stream goes on", self.id)


class Connection(Protocol):
    """What a stream needs of one connection: :class:`WsConnection`, or a replay's stand-in
    (``polytui.engine.session``) built with the same keyword arguments."""

    id: str

    @property
    def started(self) -> bool: ...

    @property
    def connected(self) -> bool: ...

    def start(self) -> None: ...

    async def send(self, text: str) -> bool: ...

    async def close(self, reason: str = ...) -> None: ...


ConnectionFactory = Callable[..., Connection]
"""``factory(conn_id, url, channel, *, initial, subscribed, sink, settings, clock, rng, sleep,
capture, stats)``: :class:`WsConnection`'s signature."""


def default_rng(rng: random.Random | None) -> random.Random:
    return rng if rng is not None else random.Random()
