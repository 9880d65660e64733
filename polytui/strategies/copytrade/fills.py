"""A leader's fill, normalised from whatever reported it (Data API rows now, chain logs later).

**The unique key.** The Data API has no trade id; protocol §7 dedupes on the transaction
hash, the token, the side and the size. The key here adds the price, and an occurrence
number for rows that agree on all of those within one answer (two fills of one transaction at
one price are indistinguishable otherwise; the n-th such row keeps the same number in every
later answer, because identical rows share a timestamp and so enter or leave a query window
together).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from polytui.core.strategy import OrderSide
from polytui.protocol.wire.data_api import Activity

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LeaderFill:
    key: str
    leader: str  # lower case
    condition_id: str
    asset: str
    side: OrderSide
    size: Decimal  # shares
    price: Decimal
    ts_ms: int  # the leader's fill time (the Data API says seconds)
    tx: str = ""
    title: str = ""
    outcome: str = ""
    seen_ms: int = 0  # when we first saw it

    @property
    def signed(self) -> Decimal:
        """Shares the fill added to the leader's position (a SELL is negative)."""
        return self.size if self.side is OrderSide.BUY else -self.size

    @property
    def notional(self) -> Decimal:
        return self.size * self.price


def base_key(tx: str, asset: str, side: str, size: Decimal, price: Decimal) -> str:
    return f"{tx}:{asset}:{side}:{size.normalize():f}:{price.normalize():f}"


def fills_from_activity(rows: Iterable[Activity], seen_ms: int) -> list[LeaderFill]:
    """The TRADE rows of an ``/activity`` answer as fills, oldest first, keyed."""
    out: list[LeaderFill] = []
    repeats: Counter[str] = Counter()
    usable = [
        r
        for r in rows
        if r.type == "TRADE"
        and r.asset
        and r.side in ("BUY", "SELL")
        and r.size is not None
        and r.size > ZERO
        and r.price is not None
    ]
    usable.sort(key=lambda r: r.timestamp)  # stable: equal timestamps keep the answer's order
    for r in usable:
        assert r.size is not None and r.price is not None
        key = base_key(r.transaction_hash, r.asset, r.side, r.size, r.price)
        n = repeats[key]
        repeats[key] += 1
        out.append(
            LeaderFill(
                key=f"{key}#{n}" if n else key,
                leader=r.proxy_wallet.lower(),
                condition_id=r.condition_id,
                asset=r.asset,
                side=OrderSide(r.side),
                size=r.size,
                price=r.price,
                ts_ms=r.timestamp * 1000,
                tx=r.transaction_hash,
                title=r.title,
                outcome=r.outcome,
                seen_ms=seen_ms,
            )
        )
    return out
