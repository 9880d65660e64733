"""API keys, request authentication (L1 and L2, protocol §3) and wallets.

Credentials are derived from the simulator's seed, the address and the nonce, so the same
wallet gets the same key on every run: a restarted client can keep its stored credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from polytui.sim.signatures import BadSignature, recover_clob_auth

MAX_UINT256 = 2**256 - 1
Nows = tuple[float, ...]  # the instants, in seconds, a request's timestamp may be close to
L1_ERROR = "Invalid L1 Request headers"
L2_ERROR = "Unauthorized/Invalid api key"


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str  # a UUID: the ``owner`` of orders and trades
    secret: str  # URL-safe base64
    passphrase: str
    address: str  # checksummed signer address
    nonce: int

    def creds(self) -> dict[str, str]:
        return {"apiKey": self.key, "secret": self.secret, "passphrase": self.passphrase}


@dataclass(slots=True)
class Wallet:
    """A funder's pUSD and positions, in 1e-6 base units, as the chain would hold them."""

    address: str
    usd: int
    allowance: int = MAX_UINT256
    positions: dict[str, int] = field(default_factory=dict)  # token -> shares (1e-6)


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Accounts:
    def __init__(self, seed: int, starting_usd: int, skew_s: int) -> None:
        self._seed = f"polytui-sim:{seed}".encode()
        self.starting_usd = starting_usd
        self.skew_s = skew_s  # accepted distance of POLY_TIMESTAMP from now; 0 = any
        self.keys: dict[str, ApiKey] = {}  # api key -> creds
        self._by_address: dict[tuple[str, int], ApiKey] = {}
        self.wallets: dict[str, Wallet] = {}  # lower-case address -> wallet

    # ---- keys ----------------------------------------------------------------------------

    def _make(self, address: str, nonce: int) -> ApiKey:
        root = hmac.new(self._seed, f"{address.lower()}:{nonce}".encode(), "sha256").digest()
        return ApiKey(
            key=str(uuid.UUID(bytes=root[:16], version=4)),
            secret=base64.urlsafe_b64encode(hashlib.sha256(root + b"secret").digest()).decode(),
            passphrase=hashlib.sha256(root + b"passphrase").hexdigest(),
            address=address,
            nonce=nonce,
        )

    def create(self, address: str, nonce: int) -> ApiKey | None:
        """A new key for (address, nonce); None if one exists (the venue then says 400)."""
        if (address.lower(), nonce) in self._by_address:
            return None
        key = self._make(address, nonce)
        self._by_address[(address.lower(), nonce)] = key
        self.keys[key.key] = key
        self.wallet(address)
        return key

    def derive(self, address: str, nonce: int) -> ApiKey | None:
        return self._by_address.get((address.lower(), nonce))

    def delete(self, key: ApiKey) -> None:
        self.keys.pop(key.key, None)
        self._by_address.pop((key.address.lower(), key.nonce), None)

    def of_address(self, address: str) -> list[ApiKey]:
        return [k for (a, _), k in self._by_address.items() if a == address.lower()]

    # ---- wallets -------------------------------------------------------------------------

    def wallet(self, address: str) -> Wallet:
        wallet = self.wallets.get(address.lower())
        if wallet is None:
            wallet = self.wallets[address.lower()] = Wallet(address, self.starting_usd)
        return wallet

    # ---- request checks ------------------------------------------------------------------

    def _check_time(self, headers: Mapping[str, str], nows: Nows, error: str) -> None:
        """POLY_TIMESTAMP within ``skew_s`` of one of ``nows``: the simulated clock, or the host's
        (a client that signs with its own clock rather than ``GET /time`` still works)."""
        try:
            ts = int(headers.get("POLY_TIMESTAMP", ""))
        except ValueError:
            raise AuthError(401, error) from None
        if self.skew_s and all(abs(ts - now) > self.skew_s for now in nows):
            raise AuthError(401, error)

    def check_l1(self, headers: Mapping[str, str], nows: Nows) -> tuple[str, int]:
        """The (address, nonce) an L1 request proves control of, or AuthError 401."""
        address = headers.get("POLY_ADDRESS", "")
        signature = headers.get("POLY_SIGNATURE", "")
        self._check_time(headers, nows, L1_ERROR)
        try:
            nonce = int(headers.get("POLY_NONCE", "0") or "0")
            signer = recover_clob_auth(address, headers["POLY_TIMESTAMP"], nonce, signature)
        except (ValueError, BadSignature, KeyError, TypeError):
            raise AuthError(401, L1_ERROR) from None
        if signer.lower() != address.lower():
            raise AuthError(401, L1_ERROR)
        return signer, nonce

    def check_l2(
        self, headers: Mapping[str, str], method: str, path: str, body: bytes, nows: Nows
    ) -> ApiKey:
        """The API key an L2 request is signed with (HMAC over ts+METHOD+path+body)."""
        key = self.keys.get(headers.get("POLY_API_KEY", ""))
        if (
            key is None
            or headers.get("POLY_PASSPHRASE") != key.passphrase
            or headers.get("POLY_ADDRESS", "").lower() != key.address.lower()
        ):
            raise AuthError(401, L2_ERROR)
        self._check_time(headers, nows, L2_ERROR)
        message = headers["POLY_TIMESTAMP"].encode() + method.upper().encode() + path.encode()
        expected = base64.urlsafe_b64encode(
            hmac.new(base64.urlsafe_b64decode(key.secret), message + body, "sha256").digest()
        ).decode()
        if not hmac.compare_digest(expected, headers.get("POLY_SIGNATURE", "")):
            raise AuthError(401, L2_ERROR)
        return key
