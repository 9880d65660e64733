"""Orders as the venue receives them: the body of ``POST /order`` parsed and checked field by field,
and the records the venue keeps (protocol §4.2, §4.4, §4.5, §4.9)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from polytui.sim.signatures import ZERO_BYTES32, SignedFields
from polytui.sim.units import PRICE_SCALE, SIZE_SCALE

ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
SIDES = {"BUY": 0, "SELL": 1}
GTD_THRESHOLD_S = 60  # a GTD order must live at least this long (protocol §4.5)
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DIGITS = re.compile(r"^[0-9]{1,78}$")

PAYLOAD_ERROR = "Invalid order payload"
VERSION_ERROR = "invalid order version"


class OrderRejected(Exception):
    """A venue rejection: ``message`` is the exact string the venue puts in ``error``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Submission:
    """One element of ``POST /order(s)``: the signed fields and what travels beside them."""

    fields: SignedFields
    signature: str
    token: str
    side: str  # BUY | SELL
    expiration: int  # Unix seconds, 0 = none
    owner: str  # the API key the order claims
    order_type: str
    post_only: bool

    @property
    def immediate(self) -> bool:
        """FOK and FAK never rest."""
        return self.order_type in ("FOK", "FAK")


def parse_submission(body: object) -> Submission:
    """Check the shape of one order body; any deviation is the venue's ``Invalid order payload``
    (a V1-shaped order, without ``timestamp`` and with ``nonce``, is ``invalid order version``)."""
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise OrderRejected(PAYLOAD_ERROR)
    order = body["order"]
    if "timestamp" not in order and ("nonce" in order or "feeRateBps" in order):
        raise OrderRejected(VERSION_ERROR)
    try:
        salt = order["salt"]
        if isinstance(salt, str) and _DIGITS.match(salt):
            salt = int(salt)
        if not isinstance(salt, int) or isinstance(salt, bool) or salt < 0:
            raise ValueError
        maker, signer = str(order["maker"]), str(order["signer"])
        token = str(order["tokenId"])
        amounts = [str(order[k]) for k in ("makerAmount", "takerAmount", "timestamp")]
        expiration = str(order.get("expiration", "0"))
        side = order["side"]
        sig_type = order["signatureType"]
        metadata = str(order.get("metadata", ZERO_BYTES32))
        builder = str(order.get("builder", ZERO_BYTES32))
        signature = str(order["signature"])
        owner = body["owner"]
        order_type = body.get("orderType", "GTC")
        post_only = body.get("postOnly", False)
    except (KeyError, TypeError, ValueError):
        raise OrderRejected(PAYLOAD_ERROR) from None
    if not (
        _ADDRESS.match(maker)
        and _ADDRESS.match(signer)
        and _DIGITS.match(token)
        and all(_DIGITS.match(a) for a in (*amounts, expiration))
        and side in SIDES
        and isinstance(sig_type, int)
        and not isinstance(sig_type, bool)
        and 0 <= sig_type <= 3
        and _HEX32.match(metadata)
        and _HEX32.match(builder)
        and signature.startswith("0x")
        and isinstance(owner, str)
        and order_type in ORDER_TYPES
        and isinstance(post_only, bool)
    ):
        raise OrderRejected(PAYLOAD_ERROR)
    maker_amount, taker_amount, timestamp = (int(a) for a in amounts)
    if maker_amount <= 0 or taker_amount <= 0:
        raise OrderRejected(PAYLOAD_ERROR)
    fields = SignedFields(
        salt=salt,
        maker=maker,
        signer=signer,
        token_id=int(token),
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        side=SIDES[side],
        signature_type=sig_type,
        timestamp=timestamp,
        metadata=metadata.lower(),
        builder=builder.lower(),
    )
    return Submission(fields, signature, token, side, int(expiration), owner, order_type, post_only)


def shares_of(sub: Submission) -> int:
    """Shares in 1e-6 units: a BUY receives ``takerAmount`` shares, a SELL gives ``makerAmount``."""
    f = sub.fields
    return f.taker_amount if sub.side == "BUY" else f.maker_amount


def implied_price(sub: Submission) -> Decimal:
    """The price the amounts imply, to 4 decimals (the finest tick): a market order's share
    amount is rounded, so its exact ratio sits a hair off the grid."""
    f = sub.fields
    usd, shares = (
        (f.maker_amount, f.taker_amount) if sub.side == "BUY" else (f.taker_amount, f.maker_amount)
    )
    return (Decimal(usd) / Decimal(shares)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)


def decimal_str(units: int, scale: int = SIZE_SCALE) -> str:
    """A base-unit amount as the venue prints it: ``"4.5"``, ``"10"``."""
    return format((Decimal(units) / scale).normalize(), "f")


def price_units(price: Decimal) -> int | None:
    """A price in the book's 1e-4 units, or None when it is finer than that."""
    scaled = price * PRICE_SCALE
    return int(scaled) if scaled == scaled.to_integral_value() else None


def decimals(units: int, scale: int = SIZE_SCALE) -> int:
    """How many decimals a base-unit amount needs."""
    digits = len(str(scale)) - 1
    while digits and units % 10 == 0:
        units //= 10
        digits -= 1
    return digits


@dataclass(slots=True)
class OrderRecord:
    """An accepted order, as ``/data/order`` and the user channel describe it."""

    order_id: str
    owner: str  # API key
    address: str  # lower-case funder (maker) address: whose balance it uses
    maker_address: str  # as signed (checksummed)
    signer: str
    market: str
    token: str
    outcome: str
    side: str  # BUY | SELL, token terms
    price: int  # token terms, 1e-4 units
    original: int  # shares, 1e-6 units
    order_type: str
    expiration: int
    created_ms: int
    metadata: str
    matched: int = 0
    status: str = "LIVE"
    trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.original - self.matched

    def wire(self) -> dict:
        """The OpenOrder of ``/data/orders`` (protocol §4.9)."""
        return {
            "id": self.order_id,
            "status": self.status,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "market": self.market,
            "asset_id": self.token,
            "side": self.side,
            "original_size": decimal_str(self.original),
            "size_matched": decimal_str(self.matched),
            "price": decimal_str(self.price, PRICE_SCALE),
            "associate_trades": list(self.trades),
            "outcome": self.outcome,
            "created_at": self.created_ms // 1000,
            "expiration": str(self.expiration),
            "order_type": self.order_type,
        }

    def event(self, kind: str, now_ms: int) -> dict:
        """A user-channel ``order`` event (protocol §5.3)."""
        return {
            "event_type": "order",
            "type": kind,
            "id": self.order_id,
            "owner": self.owner,
            "order_owner": self.owner,
            "maker_address": self.maker_address,
            "market": self.market,
            "asset_id": self.token,
            "side": self.side,
            "price": decimal_str(self.price, PRICE_SCALE),
            "original_size": decimal_str(self.original),
            "size_matched": decimal_str(self.matched),
            "outcome": self.outcome,
            "order_type": self.order_type,
            "status": self.status,
            "associate_trades": list(self.trades) or None,
            "expiration": str(self.expiration),
            "created_at": str(self.created_ms // 1000),
            "timestamp": str(now_ms),
        }
