"""The WebSocket market channel: subscriptions, fan-out, and faults applied per connection."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import msgspec

from polytui.sim.divergence import DivergenceTracker
from polytui.sim.exchange import Exchange
from polytui.sim.faults import Faults
from polytui.sim.messages import Change, Levels, Outbound

_encode = msgspec.json.Encoder().encode
QUEUE_LIMIT = 100_000  # frames a connection may have waiting before it is cut as too slow
JOURNAL_LIMIT = 10_000  # market messages kept from the start, for determinism checks


@dataclass(slots=True)
class Frame:
    data: bytes
    tokens: tuple[str, ...]
    changes: tuple[Change, ...] = ()
    books: dict[str, Levels] = field(default_factory=dict)


@dataclass(eq=False)
class Connection:
    id: int
    client: str
    connected_ms: int
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    assets: set[str] = field(default_factory=set)
    custom: bool = False
    held: Frame | None = None  # a frame being reordered behind the next one
    dups: list[list] = field(default_factory=list)  # [frames to wait, frame]
    next_disconnect_ms: int | None = None
    sent: int = 0
    dropped: int = 0
    closed: str | None = None  # why the server closed it, if it did

    def stats(self) -> dict:
        return {
            "id": self.id,
            "client": self.client,
            "connected_ms": self.connected_ms,
            "assets": len(self.assets),
            "custom_feature_enabled": self.custom,
            "frames_sent": self.sent,
            "frames_dropped": self.dropped,
            "queued": self.queue.qsize(),
            "closed": self.closed,
        }


class MarketFeed:
    def __init__(
        self, exchange: Exchange, tracker: DivergenceTracker, faults: Faults, rng: random.Random
    ) -> None:
        self.exchange = exchange
        self.tracker = tracker
        self.faults = faults
        self.rng = rng  # the fault generator, apart from the market's own
        self.connections: dict[int, Connection] = {}
        self.frozen: set[str] = set()
        self.closed_log: list[dict] = []
        self.malformed = 0  # client frames that were neither PING nor a subscription
        # The first messages the market said, whole and fault-free, in order: what a client
        # subscribed to everything from the start would read. Same seed and start, same journal,
        # however fast the clock runs and whoever connects.
        self.journal: list[bytes] = []
        self._next_id = 0

    # ---- connections ---------------------------------------------------------------------

    def connect(self, client: str) -> Connection:
        self._next_id += 1
        conn = Connection(self._next_id, client, self.exchange.now_ms)
        self._arm_disconnect(conn)
        self.connections[conn.id] = conn
        return conn

    def _arm_disconnect(self, conn: Connection) -> None:
        mean = self.faults.disconnect
        conn.next_disconnect_ms = (
            self.exchange.now_ms + max(1, round(self.rng.expovariate(1 / mean) * 1000))
            if mean > 0
            else None
        )

    def disconnected(self, conn: Connection, by_server: bool) -> None:
        """Forget a closed connection. A client that left forgets its books; one that was cut keeps
        them, stale, which is what a fault disconnect does to a real client."""
        self.connections.pop(conn.id, None)
        still = set().union(
            *(c.assets for c in self.connections.values() if c.client == conn.client)
        )
        for token in conn.assets - still:
            if by_server:
                self.tracker.fault(conn.client, [token], "disconnect")
            else:
                self.tracker.forget(conn.client, token, "client_closed")
        self.closed_log.append(conn.stats())
        del self.closed_log[:-1000]

    def cut(self, conn: Connection, reason: str) -> None:
        """Close from the server side (fault or slow consumer); the handler does the rest."""
        if conn.closed is None:
            conn.closed = reason
            if not conn.queue.full():
                conn.queue.put_nowait(None)  # wake the writer; a full queue is seen via `closed`

    def due_disconnects(self) -> list[Connection]:
        now = self.exchange.now_ms
        due = [
            c
            for c in self.connections.values()
            if c.next_disconnect_ms is not None and c.next_disconnect_ms <= now
        ]
        for conn in due:
            conn.next_disconnect_ms = None
            self.cut(conn, "fault_disconnect")
        return due

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        for conn in self.connections.values():
            self._arm_disconnect(conn)
        self._choose_frozen()

    def _choose_frozen(self) -> None:
        want = self.faults.freeze
        live = sorted(t for m in self.exchange.markets.values() if m.tradable for t in m.tokens)
        self.frozen = {t for t in self.frozen if t in live}
        spare = [t for t in live if t not in self.frozen]
        while len(self.frozen) < want and spare:
            self.frozen.add(spare.pop(self.rng.randrange(len(spare))))
        while len(self.frozen) > want:
            self.frozen.remove(sorted(self.frozen)[0])

    # ---- subscriptions -------------------------------------------------------------------

    def subscribe(
        self, conn: Connection, assets: list[str], dump: bool, custom: bool | None
    ) -> None:
        if custom is not None:
            conn.custom = custom  # applied even when every asset is a duplicate
        new = [a for a in dict.fromkeys(assets) if a not in conn.assets]
        conn.assets.update(new)
        books = []
        for token in new:
            market = self.exchange.market_of(token)
            if market is None or market.closed:
                continue
            if dump:
                books.append(self.exchange.book_msg(market, token, self.exchange.now_ms))
            else:
                self.tracker.start_empty(conn.client, token, conn.id)
        if books:
            frame = Frame(
                _encode([b.payload for b in books]),
                tuple(t for b in books for t in b.assets),
                books={t: lv for b in books for t, lv in b.books.items()},
            )
            self._enqueue(conn, frame)

    def unsubscribe(self, conn: Connection, assets: list[str]) -> None:
        for token in assets:
            if token in conn.assets:
                conn.assets.discard(token)
                if not any(
                    token in c.assets for c in self.connections.values() if c.client == conn.client
                ):
                    self.tracker.forget(conn.client, token, "unsubscribed")

    def pong(self, conn: Connection) -> None:
        self._put(conn, b"PONG")

    # ---- fan-out -------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Send what the exchange said since the last call, then compare views with the truth."""
        outbox = self.exchange.outbox
        if not outbox:
            return
        self.exchange.outbox = []
        touched: dict[str, set] = {}
        room = JOURNAL_LIMIT - len(self.journal)
        if room > 0:
            self.journal.extend(_encode(msg.payload) for msg in outbox[:room])
        for msg in outbox:
            if msg.kind == "market_resolved":
                for token in msg.assets:
                    self.tracker.forget_token(token, "market_resolved")
            for token, is_bid, price, _ in msg.changes:
                touched.setdefault(token, set()).add((is_bid, price))
            for conn in list(self.connections.values()):
                frame = self._address(msg, conn)
                if frame is not None:
                    self._send_with_faults(conn, frame)
        for token, keys in touched.items():
            self.tracker.truth_changed(token, keys)
        self.tracker.settle()

    def _address(self, msg: Outbound, conn: Connection) -> Frame | None:
        if msg.custom and not conn.custom:
            return None
        if msg.broadcast:
            return Frame(_encode(msg.payload), ())
        wanted = tuple(t for t in msg.assets if t in conn.assets)
        if not wanted:
            return None
        visible = tuple(t for t in wanted if t not in self.frozen)
        if len(visible) < len(wanted):
            self.tracker.fault(conn.client, [t for t in wanted if t in self.frozen], "freeze")
            if not visible:
                return None
        if msg.kind != "price_change" or len(visible) == len(msg.assets):
            payload = msg.payload
            changes = msg.changes
        else:
            payload = dict(msg.payload)
            payload["price_changes"] = [
                e for e in msg.payload["price_changes"] if e["asset_id"] in visible
            ]
            changes = tuple(c for c in msg.changes if c[0] in visible)
        books = {t: lv for t, lv in msg.books.items() if t in visible}
        return Frame(_encode(payload), visible, changes, books)

    def _send_with_faults(self, conn: Connection, frame: Frame) -> None:
        faults, rng = self.faults, self.rng
        if faults.drop and rng.random() < faults.drop:
            conn.dropped += 1
            self.tracker.fault(conn.client, frame.tokens, "drop")
            return
        if faults.reorder and conn.held is None and rng.random() < faults.reorder:
            conn.held = frame
            self.tracker.fault(conn.client, frame.tokens, "reorder")
            return
        self._enqueue(conn, frame)
        if faults.dup and rng.random() < faults.dup:
            conn.dups.append([rng.randint(1, 3), frame])
        if conn.held is not None and conn.held is not frame:
            held, conn.held = conn.held, None
            self._enqueue(conn, held)
        for dup in [d for d in conn.dups if d[1] is not frame]:
            dup[0] -= 1
            if dup[0] <= 0:
                conn.dups.remove(dup)
                self.tracker.fault(conn.client, dup[1].tokens, "dup")
                self._enqueue(conn, dup[1])

    def _enqueue(self, conn: Connection, frame: Frame) -> None:
        if not self._put(conn, frame.data):
            return
        conn.sent += 1
        for token, levels in frame.books.items():
            self.tracker.snapshot(conn.client, token, levels, "ws_book", conn.id)
        if frame.changes:
            self.tracker.apply(conn.client, frame.changes)

    def _put(self, conn: Connection, data: bytes) -> bool:
        if conn.closed is not None:
            return False
        if conn.queue.qsize() >= QUEUE_LIMIT - 1:
            self.tracker.fault(conn.client, conn.assets, "slow_consumer")
            self.cut(conn, "slow_consumer")
            return False
        conn.queue.put_nowait(data)
        return True
