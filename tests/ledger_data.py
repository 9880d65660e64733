"""Ledger events for tests: builders with defaults, and plausible random order sessions."""

from __future__ import annotations

import random
from decimal import Decimal

from polytui.core import ledger_events as ev
from polytui.core.ledger_events import LedgerEvent, LedgerRecord, event_id
from polytui.core.orders import FillStatus, OrderState

ASSET_A = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
ASSET_B = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
MARKET = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"


def d(text: str | int) -> Decimal:
    return Decimal(str(text))


def intent(
    intent_id: str,
    side: str = "BUY",
    price: str = "0.45",
    size: str = "10",
    asset: str = ASSET_A,
    order_type: str = "GTC",
) -> ev.IntentRecorded:
    return ev.IntentRecorded(
        intent_id=intent_id,
        strategy="test",
        market=MARKET,
        asset_id=asset,
        side=side,
        price=d(price),
        size=d(size),
        order_type=order_type,
        reason="because",
    )


def signed(intent_id: str, order_id: str) -> ev.OrderSigned:
    return ev.OrderSigned(
        intent_id=intent_id,
        order_id=order_id,
        metadata="0x" + "ab" * 32,
        order={"salt": 12345678901234567890123, "tokenId": ASSET_A, "signature": "0x1c"},
    )


def fill(
    trade_id: str,
    order_id: str,
    side: str = "BUY",
    price: str = "0.45",
    size: str = "10",
    asset: str = ASSET_A,
    fee: str = "0",
    status: FillStatus = FillStatus.MATCHED,
) -> ev.FillRecorded:
    return ev.FillRecorded(
        trade_id=trade_id,
        order_id=order_id,
        market=MARKET,
        asset_id=asset,
        side=side,
        price=d(price),
        size=d(size),
        fee=d(fee),
        status=status,
        role="TAKER",
    )


def settle(trade_id: str, order_id: str, status: FillStatus) -> ev.FillSettlementChanged:
    return ev.FillSettlementChanged(trade_id=trade_id, order_id=order_id, status=status)


def records(
    events: list[LedgerEvent], start_seq: int = 1, ts_ms: int = 1_795_000_000_000
) -> list[LedgerRecord]:
    return [LedgerRecord(start_seq + i, event_id(e), ts_ms + i, e) for i, e in enumerate(events)]


def random_session(  # noqa: C901 (one script of a session, read top to bottom)
    rng: random.Random, orders: int, assets: tuple[str, ...] = (ASSET_A, ASSET_B)
) -> list[LedgerEvent]:
    """Orders through their whole lives, interleaved: intents, signing, acks, partial fills,
    settlements (some failing), cancels, the odd stray or repeated event, kill switches,
    risk rejections and PnL snapshots."""
    events: list[LedgerEvent] = []
    live: list[tuple[str, str, str, Decimal, Decimal]] = []  # intent, order, asset, size, matched
    held = dict.fromkeys(assets, Decimal(0))
    unsettled: list[tuple[str, str]] = []
    trade = 0
    for n in range(orders):
        asset = rng.choice(assets)
        side = "SELL" if held[asset] >= 5 and rng.random() < 0.4 else "BUY"
        size = d(rng.randint(1, 20)) if side == "BUY" else d(rng.randint(1, int(held[asset])))
        price = d(rng.randint(1, 99)) / 100
        iid, oid = f"intent-{n}", f"0x{n:064x}"
        if rng.random() < 0.05:
            events.append(ev.RiskRejected(intent_id=iid, gate=rng.choice(["caps", "stale"])))
            continue
        events.append(intent(iid, side, str(price), str(size), asset))
        events.append(signed(iid, oid))
        events.append(ev.OrderSubmitted(order_id=oid))
        if rng.random() < 0.1:
            events.append(ev.OrderStateChanged(order_id=oid, state=OrderState.UNKNOWN))
        events.append(
            ev.OrderAcked(order_id=oid, accepted=rng.random() > 0.05, venue_status="live", error="")
        )
        if side == "SELL":
            held[asset] -= size
        live.append((iid, oid, asset, size, Decimal(0)))
        # Some earlier orders trade, get cancelled, or settle.
        for _ in range(rng.randint(0, 3)):
            if not live:
                break
            k = rng.randrange(len(live))
            iid2, oid2, asset2, size2, matched = live[k]
            if rng.random() < 0.2:
                events.append(
                    ev.OrderStateChanged(
                        order_id=oid2,
                        state=OrderState.CANCELED,
                        venue_status="CANCELED",
                        source="ws",
                    )
                )
                live.pop(k)
                continue
            part = min(size2 - matched, d(rng.randint(1, 10)))
            trade += 1
            tid = f"trade-{trade}"
            side2 = "BUY" if rng.random() < 0.7 else "SELL"
            events.append(
                fill(
                    tid,
                    oid2,
                    side2,
                    str(d(rng.randint(1, 99)) / 100),
                    str(part),
                    asset2,
                    fee=str(d(rng.randint(0, 3)) / 1000),
                )
            )
            if side2 == "BUY":
                held[asset2] += part
            if rng.random() < 0.05:
                events.append(fill(tid, oid2, side2, "0.5", str(part), asset2))  # repeated
            matched += part
            unsettled.append((tid, oid2))
            state = OrderState.FILLED if matched >= size2 else OrderState.PARTIALLY_FILLED
            events.append(
                ev.OrderStateChanged(order_id=oid2, state=state, size_matched=matched, source="ws")
            )
            if state is OrderState.FILLED:
                live.pop(k)
            else:
                live[k] = (iid2, oid2, asset2, size2, matched)
        for _ in range(rng.randint(0, 2)):
            if not unsettled:
                break
            tid, oid2 = unsettled.pop(rng.randrange(len(unsettled)))
            if rng.random() < 0.1:
                events.append(settle(tid, oid2, FillStatus.FAILED))
            else:
                events.append(settle(tid, oid2, FillStatus.MINED))
                if rng.random() < 0.9:
                    events.append(settle(tid, oid2, FillStatus.CONFIRMED))
        roll = rng.random()
        if roll < 0.02:
            events.append(ev.KillSwitchEngaged(ref=f"k{n}", reason="test", source="cli"))
        elif roll < 0.04:
            events.append(ev.KillSwitchReleased(ref=f"r{n}", source="cli"))
        elif roll < 0.1:
            marks = {a: d(rng.randint(1, 99)) / 100 for a in assets if rng.random() < 0.8}
            events.append(ev.PnlSnapshot(at_ms=1_795_000_000_000 + n, marks=marks))
        elif roll < 0.115:
            delta = d(rng.randint(-3, 3))
            events.append(
                ev.PositionCorrected(
                    ref=f"rec{n}",
                    asset_id=asset,
                    market=MARKET,
                    delta=delta,
                    venue_size=held[asset] + delta,
                    price=d(rng.randint(1, 99)) / 100,
                    reason="the venue holds it",
                )
            )
            held[asset] = max(Decimal(0), held[asset] + delta)
        elif roll < 0.12:
            events.append(
                ev.ReconciliationDiff(
                    ref=f"rec{n}",
                    subject="order",
                    key=oid,
                    ours="LIVE",
                    venue="CANCELED",
                    action="alert",
                )
            )
    return events
