"""Where the venue is: the base URLs of one CLOB, its WebSocket host, Gamma and the Data API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of one venue: the simulator (which also has ``admin``) or Polymarket."""

    clob: str
    ws: str  # the WebSocket base: channels are ``<ws>/market`` and ``<ws>/user``
    gamma: str
    data: str
    admin: str  # the simulator's control API; empty for the real venue

    @property
    def ws_market(self) -> str:
        return f"{self.ws}/market"

    @property
    def ws_user(self) -> str:
        return f"{self.ws}/user"

    @classmethod
    def from_json(cls, obj: object) -> Endpoints:
        """Validate the endpoints object; raise ValueError naming what is wrong."""
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if not isinstance(obj.get(n), str) or not obj.get(n)]
        if missing:
            raise ValueError(f"missing or non-string keys: {', '.join(missing)}")
        return cls(**{n: obj[n] for n in names})

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


POLYMARKET = Endpoints(
    clob="https://clob.polymarket.com",
    ws="wss://ws-subscriptions-clob.polymarket.com/ws",
    gamma="https://gamma-api.polymarket.com",
    data="https://data-api.polymarket.com",
    admin="",
)
