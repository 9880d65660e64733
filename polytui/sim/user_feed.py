"""The WebSocket user channel (protocol §5.1, §5.3): authenticated by API creds in the first
frame, filtered by the key's wallet and, optionally, by market."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from polytui.sim.accounts import Accounts, ApiKey
from polytui.sim.trading import UserEvent

_encode = msgspec.json.Encoder().encode
QUEUE_LIMIT = 100_000


@dataclass(eq=False)
class UserConnection:
    id: int
    client: str
    address: str = ""  # lower-case wallet, once authenticated
    markets: set[str] = field(default_factory=set)  # empty: every market of the wallet
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    sent: int = 0
    closed: str | None = None

    def stats(self) -> dict:
        return {
            "id": self.id,
            "client": self.client,
            "address": self.address,
            "markets": sorted(self.markets),
            "frames_sent": self.sent,
            "closed": self.closed,
        }


class UserFeed:
    def __init__(self, accounts: Accounts, funder_of: Callable[[ApiKey], str]) -> None:
        self.accounts = accounts
        self.funder_of = funder_of  # the lower-case wallet a key's orders use
        self.connections: dict[int, UserConnection] = {}
        self.rejected = 0  # subscriptions refused for bad credentials
        self._next_id = 0

    def connect(self, client: str) -> UserConnection:
        self._next_id += 1
        conn = UserConnection(self._next_id, client)
        self.connections[conn.id] = conn
        return conn

    def disconnected(self, conn: UserConnection) -> None:
        self.connections.pop(conn.id, None)

    def on_text(self, conn: UserConnection, msg: dict) -> bool:
        """Apply a subscribe/unsubscribe frame; False when the credentials are refused."""
        markets = [str(m) for m in msg.get("markets") or [] if isinstance(m, str)]
        operation = str(msg.get("operation", "")).lower()
        if not conn.address:
            auth = msg.get("auth")
            key = self.accounts.keys.get(auth.get("apiKey", "")) if isinstance(auth, dict) else None
            if (
                key is None
                or auth.get("secret") != key.secret
                or auth.get("passphrase") != key.passphrase
            ):
                self.rejected += 1
                return False
            conn.address = self.funder_of(key)
            conn.markets = set(markets)
        elif operation == "unsubscribe":
            conn.markets.difference_update(markets)
        else:
            conn.markets.update(markets)
        return True

    def dispatch(self, events: list[UserEvent]) -> None:
        for event in events:
            data = None
            for conn in self.connections.values():
                if conn.address != event.address or conn.closed is not None:
                    continue
                if conn.markets and event.market not in conn.markets:
                    continue
                if conn.queue.qsize() >= QUEUE_LIMIT - 1:
                    conn.closed = "slow_consumer"
                    conn.queue.put_nowait(None)
                    continue
                data = data or _encode(event.payload)
                conn.queue.put_nowait(data)
                conn.sent += 1
