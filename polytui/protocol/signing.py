"""CLOB V2 order signing: the EIP-712 order digest (= the venue's order id) and its signature.

Byte for byte what py-clob-client-v2 1.2.1 signs and posts, at a fraction of its cost: every
constant part of the digest (domain separators, type hash, the maker/signer words, the side and
signature-type words) is packed once per signer, so one order costs two keccaks over prepacked
32-byte words and one libsecp256k1 recoverable signature. The official client rebuilds and
re-parses a typed-data dictionary through eth_account for every order.

The order id is known before anything is sent, which is what lets the engine write the signed
order to the ledger first and, after a crash, look the order up at the venue instead of
re-sending it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from enum import Enum, IntEnum, StrEnum

import coincurve
import msgspec
from Crypto.Hash import keccak as _keccak

from polytui.protocol.amounts import OrderAmounts, Side

ZERO_BYTES32 = "0x" + "00" * 32
_UINT256_LIMIT = 1 << 256
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32_RE = re.compile(r"0x[0-9a-fA-F]{64}")
_PRIVATE_KEY_RE = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_V_BYTE = (b"\x1b", b"\x1c")  # recovery id 0/1 -> Ethereum v 27/28
_ZERO_WORD = bytes(32)


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (not NIST SHA3-256: the padding differs)."""
    return _keccak.new(data=data, digest_bits=256).digest()


def checksum_address(address: str) -> str:
    """EIP-55 form of ``address``; a mixed-case input must already carry a valid checksum."""
    if not _ADDRESS_RE.fullmatch(address):
        raise ValueError(f"not an address (0x + 40 hex digits): {address!r}")
    lower = address[2:].lower()
    nibbles = keccak256(lower.encode("ascii")).hex()
    checksummed = "0x" + "".join(
        char.upper() if int(nibble, 16) >= 8 else char
        for char, nibble in zip(lower, nibbles, strict=False)
    )
    body = address[2:]
    if body != body.lower() and body != body.upper() and address != checksummed:
        raise ValueError(f"address {address} has a bad EIP-55 checksum (expected {checksummed})")
    return checksummed


def intent_metadata(intent_id: str) -> str:
    """The order's ``metadata`` bytes32: ``0x`` + keccak256(utf-8 of the intent id).

    It is our client order id, so an order can be recognised on the venue after a crash even
    when its venue order id was never seen.
    """
    return "0x" + keccak256(intent_id.encode("utf-8")).hex()


def official_salt(now_ms: int, rng: Callable[[], float] = random.random) -> int:
    """A salt drawn the way py-clob-client-v2 draws it: ``int(random() * now_ms)``.

    The venue has only ever seen salts in that range (below the current epoch milliseconds), so
    this keeps ours unremarkable. Signing takes the salt as an argument so tests can fix it.
    """
    return int(rng() * now_ms)


class SigningKey:
    """A secp256k1 private key and its Ethereum address. Its repr shows the address only."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: str) -> None:
        if not isinstance(private_key, str) or not _PRIVATE_KEY_RE.fullmatch(private_key):
            # Never echo the input: it may be a private key with a typo.
            raise ValueError("a private key is 64 hex digits, with or without 0x")
        self._key = coincurve.PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))
        public = self._key.public_key.format(compressed=False)[1:]
        self.address = checksum_address("0x" + keccak256(public)[-20:].hex())

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte r || s || v over a 32-byte digest, v = 27 or 28, low s (as eth_account)."""
        signature = self._key.sign_recoverable(digest, hasher=None)
        return signature[:64] + _V_BYTE[signature[64]]

    def __repr__(self) -> str:
        return f"SigningKey(address={self.address})"


class AddressKey:
    """An address without its private key: what a replay signs with. It rebuilds orders, and
    their ids (the EIP-712 digest needs no key), from a record; a signature it would have to
    make itself is all zeros, which no venue accepts."""

    __slots__ = ("address",)

    def __init__(self, address: str) -> None:
        self.address = checksum_address(address)

    def sign_digest(self, digest: bytes) -> bytes:
        return bytes(65)

    def __repr__(self) -> str:
        return f"AddressKey(address={self.address})"


class SignatureType(IntEnum):
    """How the exchange checks an order's signature against its maker."""

    EOA = 0
    """The maker is the signing key's own address."""
    POLY_PROXY = 1
    """The maker is a Polymarket proxy wallet owned by the key (email / Magic login)."""
    POLY_GNOSIS_SAFE = 2
    """The maker is a Gnosis Safe owned by the key."""
    POLY_1271 = 3
    """The maker is a deposit wallet (ERC-1271); the signature is an ERC-7739 blob."""


class Exchange(Enum):
    """Which exchange contract settles the order: the EIP-712 ``verifyingContract``."""

    CTF = "CTFExchangeV2"
    """Standard CLOB-V2 markets (domain version "2")."""
    NEG_RISK = "NegRiskCtfExchangeV2"
    """Neg-risk CLOB-V2 markets (domain version "2")."""
    PROTOCOL_V2 = "ExchangeV3"
    """Protocol-V2 markets (Gamma ``version: "v2"``), traded by position id (domain version "3")."""


class OrderType(StrEnum):
    """Time in force: rest until cancelled / until expiration, fill all now or kill, fill what
    is there now and cancel the rest."""

    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    FAK = "FAK"


DOMAIN_NAME = "Polymarket CTF Exchange"
DOMAIN_VERSION = {Exchange.CTF: "2", Exchange.NEG_RISK: "2", Exchange.PROTOCOL_V2: "3"}

EXCHANGE_ADDRESSES: dict[int, dict[Exchange, str]] = {
    137: {
        Exchange.CTF: "0xE111180000d2663C0091e4f400237545B87B996B",
        Exchange.NEG_RISK: "0xe2222d279d744050d28e00520010520000310F59",
        Exchange.PROTOCOL_V2: "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
    },
    80002: {
        Exchange.CTF: "0xE111180000d2663C0091e4f400237545B87B996B",
        Exchange.NEG_RISK: "0xe2222d279d744050d28e00520010520000310F59",
        Exchange.PROTOCOL_V2: "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D",
    },
}
"""Copied from py-clob-client-v2 1.2.1 ``config.py`` (Polygon mainnet and Amoy)."""

ORDER_TYPE_STRING = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
    "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
    "uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
_DOMAIN_TYPE_STRING = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
# ERC-7739 nested typed data, as Solady's ERC1271 (the deposit wallet) rebuilds it on chain.
_TYPED_DATA_SIGN_STRING = (
    "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    "address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING
)
_ORDER_TYPE_HASH = keccak256(ORDER_TYPE_STRING.encode())
_TYPED_DATA_SIGN_TYPE_HASH = keccak256(_TYPED_DATA_SIGN_STRING.encode())
_DEPOSIT_WALLET_NAME_HASH = keccak256(b"DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH = keccak256(b"1")
_ORDER_TYPE_TRAILER = (
    ORDER_TYPE_STRING.encode().hex() + len(ORDER_TYPE_STRING).to_bytes(2, "big").hex()
)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def domain_separator(chain_id: int, exchange: Exchange) -> bytes:
    """EIP-712 hashStruct(EIP712Domain) of an exchange contract."""
    return keccak256(
        keccak256(_DOMAIN_TYPE_STRING.encode())
        + keccak256(DOMAIN_NAME.encode())
        + keccak256(DOMAIN_VERSION[exchange].encode())
        + _word(chain_id)
        + _address_word(EXCHANGE_ADDRESSES[chain_id][exchange])
    )


class SignedOrder(msgspec.Struct, frozen=True):
    """A signed CLOB V2 order: the 11 signed fields plus expiration, order id and signature."""

    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: Side
    signature_type: SignatureType
    timestamp_ms: int
    metadata: str
    builder: str
    expiration: int
    """Unix seconds, 0 = none. Sent in the body and enforced by the venue, not signed."""
    order_id: str
    """The EIP-712 digest, ``0x`` + 64 hex: the id the venue gives the order."""
    signature: str

    def post_body(
        self,
        owner: str,
        order_type: OrderType | str = OrderType.GTC,
        *,
        post_only: bool = False,
        defer_exec: bool = False,
    ) -> dict[str, object]:
        """The ``POST /order`` body, keys and value types as py-clob-client-v2 sends them.

        ``owner`` is the API key of the caller. Serialize with
        ``json.dumps(body, separators=(",", ":"), ensure_ascii=False)`` and sign those bytes.
        """
        kind = OrderType(order_type)
        if post_only and kind in (OrderType.FOK, OrderType.FAK):
            raise ValueError("post_only is not supported for FOK/FAK orders")
        if kind is OrderType.GTD and not self.expiration:
            raise ValueError("a GTD order needs an expiration (Unix seconds)")
        return {
            "order": {
                "salt": self.salt,
                "maker": self.maker,
                "signer": self.signer,
                "tokenId": self.token_id,
                "makerAmount": str(self.maker_amount),
                "takerAmount": str(self.taker_amount),
                "side": self.side.name,
                "expiration": str(self.expiration),
                "signatureType": int(self.signature_type),
                "timestamp": str(self.timestamp_ms),
                "metadata": self.metadata,
                "builder": self.builder,
                "signature": self.signature,
            },
            "owner": owner,
            "orderType": kind.value,
            "deferExec": defer_exec,
            "postOnly": post_only,
        }


class OrderSigner:
    """Signs CLOB V2 orders for one key, chain, signature type and funder.

    ``funder`` is the address that holds the pUSD and shares (the order's maker); it defaults to
    the key's own address. For ``POLY_1271`` it is the deposit wallet and must be given: the
    order's signer field is then the wallet too, as in the official client.
    """

    __slots__ = (
        "_key",
        "chain_id",
        "signature_type",
        "maker",
        "signer",
        "_eip712_prefix",
        "_domain_separator",
        "_maker_signer_words",
        "_side_words",
        "_typed_data_sign_tail",
    )

    def __init__(
        self,
        private_key: str | SigningKey | AddressKey,
        chain_id: int,
        signature_type: SignatureType = SignatureType.EOA,
        funder: str | None = None,
    ) -> None:
        if chain_id not in EXCHANGE_ADDRESSES:
            raise ValueError(f"unknown chain id {chain_id}; known: {sorted(EXCHANGE_ADDRESSES)}")
        if isinstance(private_key, str):
            private_key = SigningKey(private_key)
        self._key = private_key
        self.chain_id = chain_id
        self.signature_type = SignatureType(signature_type)
        if self.signature_type is SignatureType.POLY_1271 and funder is None:
            raise ValueError("POLY_1271 orders need the deposit wallet address as funder")
        self.maker = checksum_address(funder) if funder is not None else self._key.address
        self.signer = (
            self.maker if self.signature_type is SignatureType.POLY_1271 else self._key.address
        )
        self._domain_separator = {e: domain_separator(chain_id, e) for e in Exchange}
        self._eip712_prefix = {e: b"\x19\x01" + sep for e, sep in self._domain_separator.items()}
        self._maker_signer_words = _address_word(self.maker) + _address_word(self.signer)
        type_word = _word(self.signature_type)
        self._side_words = {side: _word(side) + type_word for side in Side}
        self._typed_data_sign_tail = (
            _DEPOSIT_WALLET_NAME_HASH
            + _DEPOSIT_WALLET_VERSION_HASH
            + _word(chain_id)
            + _address_word(self.signer)
            + bytes(32)
        )

    @property
    def address(self) -> str:
        """The signing key's address (POLY_ADDRESS of the auth headers)."""
        return self._key.address

    def sign(
        self,
        *,
        token_id: str | int,
        side: Side,
        amounts: OrderAmounts,
        salt: int,
        timestamp_ms: int,
        exchange: Exchange = Exchange.CTF,
        metadata: str = ZERO_BYTES32,
        builder: str = ZERO_BYTES32,
        expiration: int = 0,
    ) -> SignedOrder:
        """Sign one order. ``token_id`` is the CTF token id, or the position id on PROTOCOL_V2."""
        token = int(token_id)
        maker_amount, taker_amount = amounts
        side = Side(side)
        for name, value in (
            ("token_id", token),
            ("maker_amount", maker_amount),
            ("taker_amount", taker_amount),
            ("salt", salt),
            ("timestamp_ms", timestamp_ms),
        ):
            if not 0 <= value < _UINT256_LIMIT:
                raise ValueError(f"{name} {value} is not a uint256")
        if expiration < 0:
            raise ValueError(f"expiration {expiration} is negative")
        struct_hash = keccak256(
            _ORDER_TYPE_HASH
            + salt.to_bytes(32, "big")
            + self._maker_signer_words
            + token.to_bytes(32, "big")
            + maker_amount.to_bytes(32, "big")
            + taker_amount.to_bytes(32, "big")
            + self._side_words[side]
            + timestamp_ms.to_bytes(32, "big")
            + _bytes32(metadata, "metadata")
            + _bytes32(builder, "builder")
        )
        digest = keccak256(self._eip712_prefix[exchange] + struct_hash)
        if self.signature_type is SignatureType.POLY_1271:
            signature = self._erc7739_signature(exchange, struct_hash)
        else:
            signature = "0x" + self._key.sign_digest(digest).hex()
        return SignedOrder(
            salt=salt,
            maker=self.maker,
            signer=self.signer,
            token_id=str(token),
            maker_amount=maker_amount,
            taker_amount=taker_amount,
            side=side,
            signature_type=self.signature_type,
            timestamp_ms=timestamp_ms,
            metadata=metadata,
            builder=builder,
            expiration=expiration,
            order_id="0x" + digest.hex(),
            signature=signature,
        )

    def _erc7739_signature(self, exchange: Exchange, contents_hash: bytes) -> str:
        """The deposit wallet's ERC-7739 ``TypedDataSign`` blob (py-clob-client-v2 layout):

        sig(65) || appDomainSeparator || contentsHash || utf8(orderType) || uint16(len(orderType)).
        The key signs, under the exchange's domain, a ``TypedDataSign`` struct that nests the order
        and names the wallet (``DepositWallet`` / "1", verifyingContract = the wallet, salt 0):
        the wallet checks it under ERC-1271, and it cannot be replayed through another wallet.
        """
        app_separator = self._domain_separator[exchange]
        typed_data_sign_hash = keccak256(
            _TYPED_DATA_SIGN_TYPE_HASH + contents_hash + self._typed_data_sign_tail
        )
        digest = keccak256(b"\x19\x01" + app_separator + typed_data_sign_hash)
        return (
            "0x"
            + self._key.sign_digest(digest).hex()
            + app_separator.hex()
            + contents_hash.hex()
            + _ORDER_TYPE_TRAILER
        )

    def __repr__(self) -> str:
        return (
            f"OrderSigner(address={self.address}, chain_id={self.chain_id}, "
            f"signature_type={self.signature_type.name}, maker={self.maker})"
        )


def _bytes32(value: str, name: str) -> bytes:
    if value == ZERO_BYTES32:
        return _ZERO_WORD
    if not _BYTES32_RE.fullmatch(value):
        raise ValueError(f"{name} must be 0x + 64 hex digits, got {value!r}")
    return bytes.fromhex(value[2:])
