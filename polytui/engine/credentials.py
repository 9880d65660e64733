"""Where the engine gets the wallet's L2 API credentials (protocol §3).

``CredentialSource`` is the port: given the venue's HTTP client and the signing key, answer
the API key, secret and passphrase. ``DerivedCredentials`` (today's only implementation)
derives them through L1 (``POST /auth/api-key``, else ``GET /auth/derive-api-key``: the same
key, address and nonce always give the same credentials) and keeps them in memory for the
life of the process; nothing is written to disk. The encrypted keystore (issue 10) replaces
it with a source that stores them, behind the same two lines.

The credentials never reach a log line, an exception text or a file of polytui's:
``ApiCreds``'s repr hides the secret and the passphrase.
"""

from __future__ import annotations

from typing import Protocol

from polytui.core.clock import Clock
from polytui.protocol.auth import ApiCreds
from polytui.protocol.signing import SigningKey
from polytui.venue.http import HttpClient
from polytui.venue.trading import obtain_creds

CHAIN_ID = 137  # Polygon: the chain the simulator and the venue sign for


class CredentialSource(Protocol):
    async def api_creds(self, http: HttpClient, key: SigningKey) -> ApiCreds: ...


class DerivedCredentials:
    """Derive through L1 once, then answer from memory."""

    def __init__(self, chain_id: int = CHAIN_ID, nonce: int = 0, clock: Clock | None = None):
        self.chain_id = chain_id
        self.nonce = nonce
        self._clock = clock
        self._cached: dict[str, ApiCreds] = {}

    async def api_creds(self, http: HttpClient, key: SigningKey) -> ApiCreds:
        creds = self._cached.get(key.address)
        if creds is None:
            creds = await obtain_creds(http, key, self.chain_id, self.nonce, self._clock)
            self._cached[key.address] = creds
        return creds

    def __repr__(self) -> str:
        return f"DerivedCredentials(chain_id={self.chain_id}, cached={len(self._cached)})"
