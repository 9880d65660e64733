"""Who signed what: ClobAuth (L1) and CLOB V2 order signatures, recovered the way the venue does.

The simulator recovers with eth-account's generic EIP-712 encoder from the typed data written
out in full, an implementation apart from polytui's own signer, so a bug in one shows up as a
rejection by the other. The simulator is Polygon mainnet (chain 137) only.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

CHAIN_ID = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
ZERO_BYTES32 = "0x" + "00" * 32

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
]
_ORDER_TYPE = [
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


class BadSignature(ValueError):
    """The signature is not 65 well-formed bytes, or does not recover."""


def recover_clob_auth(address: str, timestamp: str, nonce: int, signature: str) -> str:
    """The address that signed the L1 ClobAuth message (protocol §3.1)."""
    typed = {
        "primaryType": "ClobAuth",
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": CHAIN_ID},
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "message": {
            "address": address,
            "timestamp": timestamp,
            "nonce": nonce,
            "message": CLOB_AUTH_MESSAGE,
        },
    }
    return _recover(_hash_eip191_message(encode_typed_data(full_message=typed)), signature)


@dataclass(frozen=True, slots=True)
class SignedFields:
    """The 11 signed fields of a CLOB V2 order (protocol §4.2), already type-checked."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int  # 0 BUY, 1 SELL
    signature_type: int
    timestamp: int  # ms
    metadata: str  # 0x + 64 hex
    builder: str


def order_digest(fields: SignedFields, neg_risk: bool) -> bytes:
    """The EIP-712 digest of a V2 order: also its order id."""
    typed = {
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": CHAIN_ID,
            "verifyingContract": NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2,
        },
        "types": {
            "EIP712Domain": [*_DOMAIN_TYPE, {"name": "verifyingContract", "type": "address"}],
            "Order": _ORDER_TYPE,
        },
        "message": {
            "salt": fields.salt,
            "maker": fields.maker,
            "signer": fields.signer,
            "tokenId": fields.token_id,
            "makerAmount": fields.maker_amount,
            "takerAmount": fields.taker_amount,
            "side": fields.side,
            "signatureType": fields.signature_type,
            "timestamp": fields.timestamp,
            "metadata": bytes.fromhex(fields.metadata[2:]),
            "builder": bytes.fromhex(fields.builder[2:]),
        },
    }
    return _hash_eip191_message(encode_typed_data(full_message=typed))


def recover_digest(digest: bytes, signature: str) -> str:
    return _recover(digest, signature)


def _recover(digest: bytes, signature: str) -> str:
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:
            raise BadSignature(f"signature is {len(raw)} bytes, expected 65")
        return Account._recover_hash(digest, signature=raw)
    except BadSignature:
        raise
    except Exception as exc:  # eth-keys raises several types for a malformed signature
        raise BadSignature(str(exc)) from exc
