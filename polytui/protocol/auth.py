"""CLOB authentication headers: L1 (EIP-712 ClobAuth, proves the private key) and L2 (HMAC).

L1 is needed only to create or derive API credentials; every trading and account call carries
the L2 headers. Both sign a timestamp in Unix seconds that the caller passes in, so a test or a
client that signs with the venue's clock (``GET /time``) controls it.

Nothing here logs, and :class:`ApiCreds` never shows its secret or passphrase in a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

from polytui.protocol.signing import SigningKey, keccak256

POLY_ADDRESS = "POLY_ADDRESS"
POLY_SIGNATURE = "POLY_SIGNATURE"
POLY_TIMESTAMP = "POLY_TIMESTAMP"
POLY_NONCE = "POLY_NONCE"
POLY_API_KEY = "POLY_API_KEY"
POLY_PASSPHRASE = "POLY_PASSPHRASE"

CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"

_DOMAIN_TYPE_HASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId)")
_CLOB_AUTH_TYPE_HASH = keccak256(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)"
)
_DOMAIN_NAME_HASH = keccak256(b"ClobAuthDomain")
_DOMAIN_VERSION_HASH = keccak256(b"1")  # still "1" in CLOB V2
_MESSAGE_HASH = keccak256(CLOB_AUTH_MESSAGE.encode())


def clob_auth_digest(address: str, chain_id: int, timestamp: int, nonce: int) -> bytes:
    """EIP-712 digest of the ClobAuth message (domain ``ClobAuthDomain``/"1", no contract)."""
    domain_separator = keccak256(
        _DOMAIN_TYPE_HASH + _DOMAIN_NAME_HASH + _DOMAIN_VERSION_HASH + chain_id.to_bytes(32, "big")
    )
    struct_hash = keccak256(
        _CLOB_AUTH_TYPE_HASH
        + bytes(12)
        + bytes.fromhex(address[2:])
        + keccak256(str(timestamp).encode())
        + nonce.to_bytes(32, "big")
        + _MESSAGE_HASH
    )
    return keccak256(b"\x19\x01" + domain_separator + struct_hash)


def l1_headers(key: SigningKey, chain_id: int, timestamp: int, nonce: int = 0) -> dict[str, str]:
    """Headers for ``POST /auth/api-key`` and ``GET /auth/derive-api-key``."""
    digest = clob_auth_digest(key.address, chain_id, timestamp, nonce)
    return {
        POLY_ADDRESS: key.address,
        POLY_SIGNATURE: "0x" + key.sign_digest(digest).hex(),
        POLY_TIMESTAMP: str(timestamp),
        POLY_NONCE: str(nonce),
    }


@dataclass(frozen=True, slots=True)
class ApiCreds:
    """L2 credentials as ``/auth/api-key`` returns them. The repr shows the api key only."""

    api_key: str
    secret: str = field(repr=False)
    """URL-safe base64 HMAC key."""
    passphrase: str = field(repr=False)
    _hmac_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            key = base64.urlsafe_b64decode(self.secret)
        except (binascii.Error, ValueError):
            # Do not chain the decoder's error: its message may quote the secret.
            raise ValueError("the API secret is not URL-safe base64") from None
        object.__setattr__(self, "_hmac_key", key)

    def hmac_signature(
        self, timestamp: int, method: str, request_path: str, body: str | None = None
    ) -> str:
        """URL-safe base64 (with '=' padding) HMAC-SHA256 of ts + METHOD + path + body.

        The query string is not signed, so it is cut off here. ``body`` must be the exact string
        sent on the wire. The official client turns every ``'`` of the body into ``"`` before
        signing; a body with an apostrophe would therefore be signed differently by the two
        conventions, so it is refused rather than sent with a signature that may not verify.
        """
        if body and "'" in body:
            raise ValueError("an L2-signed body must not contain an apostrophe (')")
        message = str(timestamp) + method.upper() + request_path.split("?", 1)[0] + (body or "")
        digest = hmac.new(self._hmac_key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii")


def l2_headers(
    address: str,
    creds: ApiCreds,
    timestamp: int,
    method: str,
    request_path: str,
    body: str | None = None,
) -> dict[str, str]:
    """Headers for every authenticated trading and account call.

    ``address`` is the signing key's address (not the funder).
    """
    return {
        POLY_ADDRESS: address,
        POLY_SIGNATURE: creds.hmac_signature(timestamp, method, request_path, body),
        POLY_TIMESTAMP: str(timestamp),
        POLY_API_KEY: creds.api_key,
        POLY_PASSPHRASE: creds.passphrase,
    }
