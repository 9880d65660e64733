"""The venue of a replay: the recording, answering as the venue did.

* :class:`ReplayTransport` sits under the one ``HttpClient`` (an ``httpx`` transport), so the
  budget, the retries and the error classification above it are the engine's own. A request
  gets the next recorded answer to the same request (method, URL with its query, body), once
  the replay has reached that answer's line; an answer recorded as missing (a time-out, a
  dropped connection) is raised as the same ``httpx`` error. A request the recording never
  answered is refused as a connection that could not be made (``httpx.ConnectError``: the
  venue was not reached, so nothing is ambiguous) and counted in ``unanswered``.
* :class:`ReplayLinks` builds the market and user channel's connections: each plays its
  recorded opens, frames and closes when the replay reaches them, decoded by the channel's own
  decoder into the stream's sink.
* :class:`RecordedWallet` signs as the session did without its key: an order the session
  posted (same token, side, amounts, intent hash) is rebuilt with its recorded salt, time and
  signature, so it has the same id; any other order gets its true id and a zero signature.
* :class:`HeldCommits` holds each ledger write's merge until the line that says when it landed.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any

import httpx

from polytui.engine.credentials import CHAIN_ID
from polytui.engine.session.journal import Journal, rest_key
from polytui.protocol.auth import ApiCreds
from polytui.protocol.signing import AddressKey, OrderSigner, SignedOrder
from polytui.protocol.wire.errors import WireError
from polytui.venue.capture import CaptureLine, Source
from polytui.venue.ws import Channel, ConnectionChange, ConnState, Frame, Sink, StreamStats

log = logging.getLogger("polytui.engine.session")

REPLAY_SECRET = base64.urlsafe_b64encode(b"a replay signs nothing").decode()
EXPIRATION_SLACK_S = 2  # a GTD expiration this close to the recorded one is the same order


# ---- REST ---------------------------------------------------------------------------------------


class ReplayTransport(httpx.AsyncBaseTransport):
    def __init__(self, journal: Journal) -> None:
        self._lines = journal.lines
        self._answers = {key: deque(numbers) for key, numbers in journal.answers.items()}
        self._reached = bytearray(len(journal.lines))
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self.unanswered: Counter[str] = Counter()  # "METHOD path" -> requests refused
        self.in_flight_at_end: Counter[str] = Counter()  # asked as the session was stopping
        self.answered = 0
        rest = [n for n, line in enumerate(journal.lines) if line.source is Source.REST]
        self._last_answer = rest[-1] if rest else -1

    def reach(self, number: int) -> None:
        """The replay reached the line of an answer: whoever waits for it gets it."""
        self._reached[number] = 1
        waiter = self._waiting.pop(number, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _reached_end(self) -> bool:
        """Every answer the record holds has been reached: what is asked now, the session
        asked too as it stopped (or never did); either way nothing was answered."""
        return self._last_answer < 0 or bool(self._reached[self._last_answer])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode("utf-8", "replace") if request.content else ""
        queue = self._answers.get(rest_key(request.method, str(request.url), body))
        if not queue:
            what = f"{request.method} {request.url.path}"
            if self._reached_end():  # the session stopped before its answer came
                self.in_flight_at_end[what] += 1
            else:
                self.unanswered[what] += 1
            raise httpx.ConnectError(
                f"not in the recording: {request.method} {request.url.path}", request=request
            )
        number = queue.popleft()
        if not self._reached[number]:
            waiter = self._waiting[number] = asyncio.get_running_loop().create_future()
            await waiter
        if self._lines[number].error == "cancelled":  # the session stopped before its answer
            self.in_flight_at_end[f"{request.method} {request.url.path}"] += 1
            await asyncio.get_running_loop().create_future()  # ... and so does the replay
        self.answered += 1
        return _answer(self._lines[number], request)


def _answer(line: CaptureLine, request: httpx.Request) -> httpx.Response:
    if line.error is not None:
        text = f"recorded: {line.error}"
        if line.error == "timeout":
            raise (httpx.ReadTimeout if line.reached else httpx.ConnectTimeout)(
                text, request=request
            )
        if line.error == "connect":
            raise httpx.ConnectError(text, request=request)
        raise httpx.ReadError(text, request=request)
    headers = {"Content-Type": "application/json"}
    if line.retry_after is not None:
        headers["Retry-After"] = line.retry_after
    return httpx.Response(
        line.status or 200,
        content=(line.payload or "").encode(),
        headers=headers,
        request=request,
    )


# ---- WebSocket ----------------------------------------------------------------------------------


class ReplayConnection:
    """One recorded connection (``market-1``, ``user-1``...), with ``WsConnection``'s face."""

    def __init__(self, links: ReplayLinks, conn_id: str, channel: Channel, **kw: Any) -> None:
        self.id = conn_id
        self._links = links
        self._channel = channel
        self._subscribed: Callable[[], tuple[str, ...]] = kw["subscribed"]
        self._sink: Sink = kw["sink"]
        self._clock = kw["clock"]
        self._stats: StreamStats = kw["stats"]
        self._started = False
        self._open = False
        self._opened_once = False
        self._closed_by_us = False
        self.attempt = 0

    @property
    def started(self) -> bool:
        return self._started

    @property
    def connected(self) -> bool:
        return self._open

    def start(self) -> None:
        if not self._started and not self._closed_by_us:
            self._started = True
            self._links.attach(self)

    async def send(self, text: str) -> bool:
        return self._open

    async def close(self, reason: str = "closed by client") -> None:
        if self._closed_by_us:
            return
        self._closed_by_us = True
        if self._open:
            self._open = False
            self._emit(
                ConnectionChange(
                    self.id,
                    ConnState.DISCONNECTED,
                    self._clock.now_ms(),
                    self._subscribed(),
                    reason,
                )
            )

    def play(self, line: CaptureLine) -> None:
        if self._closed_by_us:
            return
        if line.event == "open":
            self._open = True
            state = ConnState.RECONNECTED if self._opened_once else ConnState.CONNECTED
            self._opened_once = True
            self._stats.connects += 1
            if state is ConnState.RECONNECTED:
                self._stats.reconnects += 1
            self._emit(ConnectionChange(self.id, state, line.recv_ms, self._subscribed()))
        elif line.event == "close":
            if self._open:
                self._open = False
                self._stats.drops += 1
                self._emit(
                    ConnectionChange(
                        self.id,
                        ConnState.DISCONNECTED,
                        line.recv_ms,
                        self._subscribed(),
                        line.reason or "closed (recorded)",
                    )
                )
        elif line.event == "open_failed":
            self._stats.failed_opens += 1
        elif line.payload is not None:
            self._stats.frames += 1
            try:
                frame = Frame(self.id, line.recv_ms, tuple(self._channel.decode(line.payload)))
            except WireError as err:
                self._stats.decode_errors += 1
                frame = Frame(self.id, line.recv_ms, tuple(err.events), err)
            self._emit(frame)

    def _emit(self, item: Frame | ConnectionChange) -> None:
        try:
            self._sink(item)
        except Exception:
            log.exception("%s: the sink raised; the replay goes on", self.id)


class ReplayLinks:
    """The recorded connections; a line for one the engine has not opened yet waits for it."""

    def __init__(self) -> None:
        self.conns: dict[str, ReplayConnection] = {}
        self._pending: dict[str, list[CaptureLine]] = {}
        self.played = 0

    def factory(self, conn_id: str, url: str, channel: Channel, **kw: Any) -> ReplayConnection:
        return ReplayConnection(self, conn_id, channel, **kw)

    def attach(self, conn: ReplayConnection) -> None:
        self.conns[conn.id] = conn
        for line in self._pending.pop(conn.id, ()):
            self.played += 1
            conn.play(line)

    def play(self, line: CaptureLine) -> None:
        conn_id = line.conn or ("user-1" if line.source == "ws_user" else "market-1")
        conn = self.conns.get(conn_id)
        if conn is None:
            self._pending.setdefault(conn_id, []).append(line)
            return
        self.played += 1
        conn.play(line)

    @property
    def unplayed(self) -> int:
        """Lines of connections the replay never opened."""
        return sum(len(v) for v in self._pending.values())


# ---- signing ------------------------------------------------------------------------------------


def _order_key(token: str, side: str, maker: int, taker: int, metadata: str) -> tuple:
    return (str(token), side.upper(), int(maker), int(taker), metadata.lower())


class RecordedSigner:
    """An ``OrderSigner`` that rebuilds the session's orders from their record."""

    def __init__(self, address: str, orders: Sequence[dict[str, Any]]) -> None:
        self._signer = OrderSigner(AddressKey(address), CHAIN_ID)
        self._recorded: dict[tuple, deque[dict[str, Any]]] = {}
        for o in orders:
            try:
                key = _order_key(
                    o["tokenId"], o["side"], o["makerAmount"], o["takerAmount"], o["metadata"]
                )
            except (KeyError, ValueError, TypeError):
                continue
            self._recorded.setdefault(key, deque()).append(o)
        self.reused = 0
        self.fresh = 0
        self.recorded_ids: set[str] = set()  # ids of the orders rebuilt from the record

    @property
    def address(self) -> str:
        return self._signer.address

    def sign(self, **kw: Any) -> SignedOrder:
        maker, taker = kw["amounts"]
        key = _order_key(kw["token_id"], kw["side"].name, maker, taker, kw.get("metadata", ""))
        found = self._recorded.get(key)
        while found:
            o = found.popleft()
            if abs(int(o.get("expiration", 0)) - int(kw.get("expiration", 0))) > EXPIRATION_SLACK_S:
                continue
            self.reused += 1
            order = self._signer.sign(
                **{
                    **kw,
                    "salt": int(o["salt"]),
                    "timestamp_ms": int(o["timestamp"]),
                    "expiration": int(o.get("expiration", 0)),
                }
            )
            self.recorded_ids.add(order.order_id)
            return _with_signature(order, str(o.get("signature", order.signature)))
        self.fresh += 1
        return self._signer.sign(**kw)


def _with_signature(order: SignedOrder, signature: str) -> SignedOrder:
    import msgspec

    return msgspec.structs.replace(order, signature=signature)


class RecordedWallet:
    """The session's wallet as a replay knows it: its address, never its key."""

    def __init__(self, address: str, orders: Sequence[dict[str, Any]]) -> None:
        self.address = address
        self.signer = RecordedSigner(address, orders)

    def signers(self) -> tuple[AddressKey, RecordedSigner]:
        return AddressKey(self.address), self.signer

    def __repr__(self) -> str:
        return f"RecordedWallet(address={self.address!r})"


class ReplayCredentials:
    """The session's API key (from its record); a secret of its own, for headers nobody
    reads."""

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key or "replay"

    async def api_creds(self, http: object, key: object) -> ApiCreds:
        return ApiCreds(api_key=self.api_key, secret=REPLAY_SECRET, passphrase="replay")


# ---- the ledger ---------------------------------------------------------------------------------


class InlineExecutor(Executor):
    """Runs each ledger write at once, on the loop's thread: a replay's ledger lands in a
    known order, not when a thread gets to it."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiter, as a thread would
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


class HeldApplies:
    """The mirror's gate in a replay: a batch of what it received is applied where the record
    says it was (``allow`` at each ``apply`` line), with the clock of that instant; ``open``
    lets everything through (the record is over)."""

    def __init__(self) -> None:
        self.allowed = 0
        self._wake: Callable[[], None] = lambda: None
        self._open = False

    def bind(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def ready(self, waiting: int) -> int:
        return waiting if self._open else min(waiting, self.allowed)

    def applied(self, count: int) -> None:
        self.allowed = max(0, self.allowed - count)

    def allow(self, count: int) -> None:
        self.allowed += count
        self._wake()

    def open(self) -> None:
        self._open = True
        self._wake()


class HeldCommits:
    """The ledger's gate in a replay: a landed write's merge waits for its recorded instant
    (``release_one`` at each ``commit`` line). A line reached before its write landed is a
    credit the next landed write uses at once; ``open`` lets everything through (the record
    is over)."""

    def __init__(self) -> None:
        self.held: deque[Callable[[], None]] = deque()
        self._credit = 0
        self._open = False

    def __call__(self, merge: Callable[[], None]) -> None:
        if self._open or self._credit:
            self._credit = max(0, self._credit - 1)
            merge()
        else:
            self.held.append(merge)

    def release_one(self) -> None:
        if self.held:
            self.held.popleft()()
        else:
            self._credit += 1

    def open(self) -> None:
        self._open = True
        while self.held:
            self.held.popleft()()
