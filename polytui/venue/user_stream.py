"""The user channel (protocol §5.1, §5.3): order and trade events of the API key's wallet.

    stream = UserStream(endpoints.ws_user, creds, sink, markets=[condition_id])
    async with stream:
        ...

One connection (``user-1``), authenticated by the L2 credentials in its first frame. No
``markets`` means every market of the wallet; note that, as at the venue, unsubscribing the
last named market leaves an empty filter, which is "every market" again. A server that closes
the socket right after the subscribe refused the credentials: ``DISCONNECTED`` with a reason
starting ``refused``, then retries with backoff like any other drop. The secret and the
passphrase never reach a log line, a reason or an exception text.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable

import msgspec

from polytui.core.clock import Clock, SystemClock
from polytui.protocol.auth import ApiCreds
from polytui.protocol.wire.user_ws import decode_user_frame
from polytui.venue.capture import CaptureWriter, Source
from polytui.venue.ws import (
    Channel,
    ConnectionFactory,
    CountedStream,
    Sink,
    Sleep,
    StreamStats,
    WsConnection,
    WsSettings,
    default_rng,
)

CHANNEL = Channel(Source.WS_USER, decode_user_frame)
CONN_ID = "user-1"
_encode = msgspec.json.Encoder().encode


class UserStream(CountedStream):
    def __init__(
        self,
        url: str,
        creds: ApiCreds,
        sink: Sink,
        *,
        markets: Iterable[str] | None = None,
        settings: WsSettings = WsSettings(),  # noqa: B008 - frozen
        clock: Clock = SystemClock(),  # noqa: B008 - stateless
        rng: random.Random | None = None,
        capture: CaptureWriter | None = None,
        sleep: Sleep = asyncio.sleep,
        connection: ConnectionFactory = WsConnection,
    ) -> None:
        self._creds = creds
        self._markets: dict[str, None] = dict.fromkeys(markets or ())
        self.counters = StreamStats()
        self._conn = connection(
            CONN_ID,
            url,
            CHANNEL,
            initial=self._subscribe_frame,
            subscribed=lambda: tuple(self._markets),
            sink=sink,
            settings=settings,
            clock=clock,
            rng=default_rng(rng),
            sleep=sleep,
            capture=capture,
            stats=self.counters,
        )
        self._closed = False

    def __repr__(self) -> str:
        return f"UserStream({self._conn.url!r}, api_key={self._creds.api_key!r})"

    def _subscribe_frame(self) -> str:
        auth = {
            "apiKey": self._creds.api_key,
            "secret": self._creds.secret,
            "passphrase": self._creds.passphrase,
        }
        msg: dict[str, object] = {"type": "user", "auth": auth}
        if self._markets:
            msg["markets"] = list(self._markets)
        return _encode(msg).decode()

    async def __aenter__(self) -> UserStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("a closed stream cannot be started again")
        self._conn.start()

    async def close(self) -> None:
        self._closed = True
        await self._conn.close()

    async def subscribe(self, markets: Iterable[str]) -> None:
        """Add condition ids to the filter (sent on the open socket, else at the next open)."""
        new = [m for m in dict.fromkeys(markets) if m not in self._markets]
        if not new:
            return
        self._markets.update(dict.fromkeys(new))
        await self._conn.send(_encode({"operation": "subscribe", "markets": new}).decode())

    async def unsubscribe(self, markets: Iterable[str]) -> None:
        gone = [m for m in dict.fromkeys(markets) if m in self._markets]
        if not gone:
            return
        for market in gone:
            del self._markets[market]
        await self._conn.send(_encode({"operation": "unsubscribe", "markets": gone}).decode())

    # ---- inspection --------------------------------------------------------------------------

    @property
    def markets(self) -> tuple[str, ...]:
        """The condition ids of the filter; empty: every market of the wallet."""
        return tuple(self._markets)

    @property
    def connected(self) -> bool:
        return self._conn.connected

    def stats(self) -> dict[str, int]:
        return {**self.counters.as_dict(), "connected": int(self._conn.connected)}
