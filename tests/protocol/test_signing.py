"""The order signer against py-clob-client-v2's OrderBuilder (the oracle) and against eth_account.

Every random order must come out byte-identical to the official builder's (signature, order id,
POST body) and must recover, through eth_account's own EIP-712 encoder, to the signing key.
"""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import py_clob_client_v2.order_builder.builder as official_builder_module
import py_clob_client_v2.order_utils.utils as official_salt_module
import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data, hash_domain
from eth_utils import keccak, to_checksum_address
from py_clob_client_v2.clob_types import CreateOrderOptions, MarketOrderArgsV2, OrderArgsV2
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer

from polytui.protocol.amounts import (
    OrderAmounts,
    Side,
    limit_order_amounts,
    market_order_amounts,
)
from polytui.protocol.signing import (
    EXCHANGE_ADDRESSES,
    ORDER_TYPE_STRING,
    ZERO_BYTES32,
    Exchange,
    OrderSigner,
    OrderType,
    SignatureType,
    SignedOrder,
    SigningKey,
    checksum_address,
    intent_metadata,
    official_salt,
)

TICKS = ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NOW_MS = 1_795_569_890_749
ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@pytest.fixture
def official_clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Pin the official builder's clock and salt to values the test chooses.

    ``OrderBuilder.build_order`` stamps ``time.time_ns() // 1e6`` and the exchange builder draws
    its salt with ``generate_order_salt() = int(random.random() * (time.time_ns() // 1e6))``.
    """
    state = SimpleNamespace(now_ms=NOW_MS, draw=0.5)
    fake_time = SimpleNamespace(time_ns=lambda: state.now_ms * 1_000_000)
    monkeypatch.setattr(official_builder_module, "time", fake_time)
    monkeypatch.setattr(official_salt_module, "time", fake_time)
    monkeypatch.setattr(official_salt_module, "random", SimpleNamespace(random=lambda: state.draw))
    return state


@dataclass(frozen=True)
class Case:
    key: str
    chain_id: int
    signature_type: SignatureType
    funder: str | None
    market: bool
    side: Side
    tick: str
    price: Decimal
    quantity: Decimal
    exchange: Exchange
    token_id: str
    metadata: str
    builder: str
    expiration: int
    now_ms: int
    draw: float
    order_type: OrderType
    post_only: bool
    defer_exec: bool


def random_address(rng: random.Random) -> str:
    return to_checksum_address("0x" + rng.randbytes(20).hex())


def official_floats_are_exact(
    price: Decimal, quantity: Decimal, tick: str, market: bool, side: Side
) -> bool:
    """Whether the official client's float arithmetic gets this order's amounts exactly right.

    Amount equivalence, float artefacts included, is test_amounts' subject; here both builders
    must get the same amounts, so values its float floors get wrong (such as 0.29) and results
    too large for its float fix-up are redrawn.
    """
    rounding = ROUNDING_CONFIG[tick]
    floors = ((quantity, rounding.size), (price, rounding.price))
    result = quantity / price if market and side is Side.BUY else quantity * price
    return (
        all(
            math.floor(float(value) * 10**places) == math.floor(value * 10**places)
            for value, places in floors
        )
        and result * 10 ** (rounding.amount + 4) < 2**50
    )


def random_case(rng: random.Random) -> Case:
    tick = rng.choice(TICKS)
    market, side = rng.random() < 0.4, rng.choice(list(Side))
    while True:
        price = Decimal(tick) * rng.randint(1, int(1 / Decimal(tick)) - 1)
        quantity = Decimal(rng.randint(100, 500_000)).scaleb(-2)
        if official_floats_are_exact(price, quantity, tick, market, side):
            break
    signature_type = SignatureType(rng.randint(0, 3))
    funder = None if signature_type is SignatureType.EOA else random_address(rng)
    exchange = rng.choice(
        [Exchange.CTF, Exchange.NEG_RISK, Exchange.NEG_RISK, Exchange.PROTOCOL_V2]
    )
    metadata = rng.choice(
        [ZERO_BYTES32, "0x" + rng.randbytes(32).hex(), intent_metadata(f"copy:{rng.random()}")]
    )
    expiration = 0 if market or rng.random() < 0.5 else NOW_MS // 1000 + rng.randint(90, 86_400)
    if market:
        order_type = rng.choice([OrderType.FOK, OrderType.FAK])
    else:
        order_type = OrderType.GTD if expiration else OrderType.GTC
    return Case(
        key="0x" + rng.randbytes(32).hex(),
        chain_id=rng.choice([137, 80002]),
        signature_type=signature_type,
        funder=funder,
        market=market,
        side=side,
        tick=tick,
        price=price,
        quantity=quantity,
        exchange=exchange,
        token_id=str(rng.getrandbits(256)),
        metadata=metadata,
        builder=rng.choice([ZERO_BYTES32, "0x" + rng.randbytes(32).hex()]),
        expiration=expiration,
        now_ms=NOW_MS + rng.randint(0, 10**9),
        draw=rng.random(),
        order_type=order_type,
        post_only=not market and rng.random() < 0.3,
        defer_exec=rng.random() < 0.3,
    )


def official_order(case: Case):
    builder = OrderBuilder(Signer(case.key, case.chain_id), case.signature_type, case.funder)
    asset = (
        {"position_id": case.token_id}
        if case.exchange is Exchange.PROTOCOL_V2
        else {"token_id": case.token_id}
    )
    options = CreateOrderOptions(tick_size=case.tick, neg_risk=case.exchange is Exchange.NEG_RISK)
    common = {"side": case.side.name, "builder_code": case.builder, "metadata": case.metadata}
    if case.market:
        args = MarketOrderArgsV2(
            amount=float(case.quantity), price=float(case.price), **common, **asset
        )
        return builder.build_market_order(args, options)
    args = OrderArgsV2(
        price=float(case.price),
        size=float(case.quantity),
        expiration=case.expiration,
        **common,
        **asset,
    )
    return builder.build_order(args, options)


def our_order(case: Case) -> SignedOrder:
    signer = OrderSigner(case.key, case.chain_id, case.signature_type, case.funder)
    if case.market:
        amounts = market_order_amounts(case.quantity, case.side, case.price, case.tick)
    else:
        amounts = limit_order_amounts(case.price, case.quantity, case.side, case.tick)
    return signer.sign(
        token_id=case.token_id,
        side=case.side,
        amounts=amounts,
        salt=official_salt(case.now_ms, lambda: case.draw),
        timestamp_ms=case.now_ms,
        exchange=case.exchange,
        metadata=case.metadata,
        builder=case.builder,
        expiration=case.expiration,
    )


def order_typed_data(order: SignedOrder, chain_id: int, exchange: Exchange) -> dict:
    """The typed data, built here from the order's fields for eth_account's own encoder."""
    return {
        "primaryType": "Order",
        "types": {"EIP712Domain": DOMAIN_FIELDS, "Order": ORDER_FIELDS},
        "domain": exchange_domain(chain_id, exchange),
        "message": order_message(order),
    }


def exchange_domain(chain_id: int, exchange: Exchange) -> dict:
    contracts = get_contract_config(chain_id)
    contract = {
        Exchange.CTF: contracts.exchange_v2,
        Exchange.NEG_RISK: contracts.neg_risk_exchange_v2,
        Exchange.PROTOCOL_V2: contracts.exchange_v3,
    }[exchange]
    return {
        "name": "Polymarket CTF Exchange",
        "version": "3" if exchange is Exchange.PROTOCOL_V2 else "2",
        "chainId": chain_id,
        "verifyingContract": contract,
    }


def order_message(order: SignedOrder) -> dict:
    return {
        "salt": order.salt,
        "maker": order.maker,
        "signer": order.signer,
        "tokenId": int(order.token_id),
        "makerAmount": order.maker_amount,
        "takerAmount": order.taker_amount,
        "side": int(order.side),
        "signatureType": int(order.signature_type),
        "timestamp": order.timestamp_ms,
        "metadata": bytes.fromhex(order.metadata[2:]),
        "builder": bytes.fromhex(order.builder[2:]),
    }


def deposit_wallet_typed_data(order: SignedOrder, chain_id: int, exchange: Exchange) -> dict:
    """ERC-7739: the order nested in a TypedDataSign struct under the exchange's domain."""
    return {
        "primaryType": "TypedDataSign",
        "types": {
            "EIP712Domain": DOMAIN_FIELDS,
            "TypedDataSign": [
                {"name": "contents", "type": "Order"},
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
                {"name": "salt", "type": "bytes32"},
            ],
            "Order": ORDER_FIELDS,
        },
        "domain": exchange_domain(chain_id, exchange),
        "message": {
            "contents": order_message(order),
            "name": "DepositWallet",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": order.maker,
            "salt": bytes(32),
        },
    }


def compact(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def test_contract_addresses_are_the_official_ones():
    for chain_id, by_exchange in EXCHANGE_ADDRESSES.items():
        contracts = get_contract_config(chain_id)
        assert by_exchange == {
            Exchange.CTF: contracts.exchange_v2,
            Exchange.NEG_RISK: contracts.neg_risk_exchange_v2,
            Exchange.PROTOCOL_V2: contracts.exchange_v3,
        }


def recovered_signer(order: SignedOrder, case: Case) -> str:
    """Recover the key from the signature with eth_account's EIP-712 encoder, not ours."""
    if case.signature_type is SignatureType.POLY_1271:
        nested = deposit_wallet_typed_data(order, case.chain_id, case.exchange)
        inner_signature = bytes.fromhex(order.signature[2:132])
        return Account.recover_message(
            encode_typed_data(full_message=nested), signature=inner_signature
        )
    typed = order_typed_data(order, case.chain_id, case.exchange)
    return Account.recover_message(encode_typed_data(full_message=typed), signature=order.signature)


def official_order_id(order, case: Case) -> str:
    """The official ``build_order_hash`` of the official order (the builder never exposes it)."""
    domain = exchange_domain(case.chain_id, case.exchange)
    exchange_builder = ExchangeOrderBuilderV2(
        domain["verifyingContract"],
        case.chain_id,
        Signer(case.key, case.chain_id),
        domain_version=domain["version"],
    )
    return exchange_builder.build_order_hash(exchange_builder.build_order_typed_data(order))


def independent_order_id(order: SignedOrder, case: Case) -> str:
    typed = order_typed_data(order, case.chain_id, case.exchange)
    return "0x" + _hash_eip191_message(encode_typed_data(full_message=typed)).hex()


def test_random_orders_are_byte_identical_to_the_official_builder(official_clock):
    rng = random.Random(2026)
    seen = set()
    for _ in range(320):
        case = random_case(rng)
        official_clock.now_ms, official_clock.draw = case.now_ms, case.draw
        theirs = official_order(case)
        ours = our_order(case)
        our_body = ours.post_body(
            "owner-key", case.order_type, post_only=case.post_only, defer_exec=case.defer_exec
        )
        their_body = order_to_json_v2(
            theirs, "owner-key", case.order_type.value, case.post_only, case.defer_exec
        )
        assert ours.signature == theirs.signature, case
        assert compact(our_body) == compact(their_body), case
        assert ours.order_id == official_order_id(theirs, case), case
        assert ours.order_id == independent_order_id(ours, case), case
        assert recovered_signer(ours, case) == Account.from_key(case.key).address, case
        seen.add((case.signature_type, case.exchange, case.market, case.side, case.tick))
    assert {s[0] for s in seen} == set(SignatureType)
    assert {s[1] for s in seen} == set(Exchange)
    assert {s[2] for s in seen} == {True, False}
    assert {s[4] for s in seen} == set(TICKS)


def test_salt_helper_draws_like_the_official_client(official_clock):
    official_clock.now_ms, official_clock.draw = NOW_MS, 0.123456789
    assert official_salt(NOW_MS, lambda: 0.123456789) == int(
        official_salt_module.generate_order_salt()
    )


@pytest.fixture
def eoa_signer() -> OrderSigner:
    return OrderSigner("0x" + "11" * 32, 137)


def sign_default(signer: OrderSigner, **changes) -> SignedOrder:
    fields = {
        "token_id": TOKEN,
        "side": Side.BUY,
        "amounts": OrderAmounts(4_500_000, 10_000_000),
        "salt": 777101988543,
        "timestamp_ms": NOW_MS,
        "exchange": Exchange.CTF,
        "metadata": intent_metadata("intent-1"),
        "builder": ZERO_BYTES32,
        "expiration": 0,
    }
    return signer.sign(**{**fields, **changes})


@pytest.mark.parametrize(
    "change",
    [
        {"token_id": int(TOKEN) + 1},
        {"side": Side.SELL},
        {"amounts": OrderAmounts(4_500_001, 10_000_000)},
        {"amounts": OrderAmounts(4_500_000, 10_000_001)},
        {"salt": 777101988544},
        {"timestamp_ms": NOW_MS + 1},
        {"exchange": Exchange.NEG_RISK},
        {"exchange": Exchange.PROTOCOL_V2},
        {"metadata": intent_metadata("intent-2")},
        {"builder": "0x" + "00" * 31 + "01"},
    ],
)
def test_changing_any_signed_field_changes_the_digest_and_voids_the_signature(eoa_signer, change):
    original = sign_default(eoa_signer)
    tampered = sign_default(eoa_signer, **change)
    assert tampered.order_id != original.order_id
    recovered = Account._recover_hash(
        bytes.fromhex(tampered.order_id[2:]), signature=original.signature
    )
    assert recovered != eoa_signer.address
    assert Account._recover_hash(
        bytes.fromhex(original.order_id[2:]), signature=original.signature
    ) == (eoa_signer.address)


def test_expiration_is_sent_but_not_signed(eoa_signer):
    plain = sign_default(eoa_signer)
    expiring = sign_default(eoa_signer, expiration=NOW_MS // 1000 + 90)
    assert (expiring.order_id, expiring.signature) == (plain.order_id, plain.signature)
    assert expiring.post_body("k", OrderType.GTD)["order"]["expiration"] == str(NOW_MS // 1000 + 90)


def test_chain_changes_the_digest():
    key = "0x" + "22" * 32
    assert (
        sign_default(OrderSigner(key, 137)).order_id
        != sign_default(OrderSigner(key, 80002)).order_id
    )


def test_post_body_has_the_documented_keys_and_types(eoa_signer):
    body = sign_default(eoa_signer).post_body("owner-key", "GTC")
    assert list(body) == ["order", "owner", "orderType", "deferExec", "postOnly"]
    order = body["order"]
    assert list(order) == [
        "salt", "maker", "signer", "tokenId", "makerAmount", "takerAmount", "side",
        "expiration", "signatureType", "timestamp", "metadata", "builder", "signature",
    ]  # fmt: skip
    assert order["salt"] == 777101988543
    assert (order["makerAmount"], order["takerAmount"], order["side"]) == (
        "4500000",
        "10000000",
        "BUY",
    )
    assert (order["tokenId"], order["timestamp"], order["expiration"]) == (TOKEN, str(NOW_MS), "0")
    assert order["signatureType"] == 0
    assert order["maker"] == order["signer"] == eoa_signer.address
    assert len(order["signature"]) == 2 + 130 and order["signature"][-2:] in ("1b", "1c")
    assert (body["orderType"], body["deferExec"], body["postOnly"]) == ("GTC", False, False)


def test_post_only_is_refused_for_immediate_orders(eoa_signer):
    order = sign_default(eoa_signer)
    for order_type in (OrderType.FOK, OrderType.FAK):
        with pytest.raises(ValueError, match="post_only"):
            order.post_body("k", order_type, post_only=True)
    assert order.post_body("k", OrderType.GTC, post_only=True)["postOnly"] is True


def test_a_gtd_order_needs_an_expiration(eoa_signer):
    with pytest.raises(ValueError, match="GTD"):
        sign_default(eoa_signer).post_body("k", OrderType.GTD)


def test_signed_orders_are_immutable(eoa_signer):
    order = sign_default(eoa_signer)
    with pytest.raises(AttributeError):
        order.salt = 1  # type: ignore[misc]


def test_proxy_orders_are_made_by_the_funder_and_signed_by_the_key():
    funder = to_checksum_address("0x" + "ab" * 20)
    signer = OrderSigner("0x" + "33" * 32, 137, SignatureType.POLY_PROXY, funder.lower())
    order = sign_default(signer)
    assert (order.maker, order.signer) == (funder, signer.address)
    assert signer.address == Account.from_key("0x" + "33" * 32).address


def test_deposit_wallet_orders_carry_the_erc7739_blob():
    wallet = to_checksum_address("0x" + "cd" * 20)
    signer = OrderSigner("33" * 32, 137, SignatureType.POLY_1271, wallet)
    order = sign_default(signer)
    assert order.maker == order.signer == wallet
    blob = bytes.fromhex(order.signature[2:])
    type_string = ORDER_TYPE_STRING.encode()
    assert int.from_bytes(blob[-2:], "big") == len(type_string)
    assert blob[129 : 129 + len(type_string)] == type_string
    assert blob[65:97] == hash_domain(exchange_domain(137, Exchange.CTF))


def test_deposit_wallet_orders_need_the_wallet_address():
    with pytest.raises(ValueError, match="deposit wallet"):
        OrderSigner("0x" + "33" * 32, 137, SignatureType.POLY_1271)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metadata": "0x1234"}, "metadata must be 0x"),
        ({"builder": "0x" + "zz" * 32}, "builder must be 0x"),
        ({"amounts": OrderAmounts(-1, 10)}, "maker_amount -1 is not a uint256"),
        ({"salt": 1 << 256}, "salt .* is not a uint256"),
        ({"expiration": -5}, "negative"),
    ],
)
def test_malformed_fields_are_refused(eoa_signer, change, message):
    with pytest.raises(ValueError, match=message):
        sign_default(eoa_signer, **change)


def test_unknown_chain_is_refused():
    with pytest.raises(ValueError, match="unknown chain id 1"):
        OrderSigner("0x" + "33" * 32, 1)


def test_signing_key_address_and_repr_never_show_the_key():
    raw = os.urandom(32).hex()
    key = SigningKey(raw)
    assert key.address == Account.from_key(raw).address
    signer = OrderSigner("0x" + raw, 137)
    for text in (repr(key), str(key), repr(signer)):
        assert raw not in text and key.address in text


@pytest.mark.parametrize("bad", ["0x1234", "zz" * 32, "0x" + "11" * 33])
def test_a_malformed_private_key_is_refused_without_echoing_it(bad):
    with pytest.raises(ValueError, match="64 hex digits") as error:
        SigningKey(bad)
    assert bad not in str(error.value)


def test_checksum_address_matches_eip55_and_catches_typos():
    rng = random.Random(7)
    for _ in range(50):
        address = "0x" + rng.randbytes(20).hex()
        assert checksum_address(address) == to_checksum_address(address)
        assert checksum_address(address.upper().replace("0X", "0x")) == to_checksum_address(address)
    good = to_checksum_address("0x" + "ab" * 20)
    flipped = good[:2] + good[2:].swapcase()
    with pytest.raises(ValueError, match="checksum"):
        checksum_address(flipped)
    with pytest.raises(ValueError, match="not an address"):
        checksum_address("0x1234")


def test_intent_metadata_is_the_keccak_of_the_intent_id():
    assert intent_metadata("leader:0xabc:17") == "0x" + keccak(text="leader:0xabc:17").hex()
    assert intent_metadata("a") != intent_metadata("b")
    assert len(intent_metadata("ünïcode")) == 66
