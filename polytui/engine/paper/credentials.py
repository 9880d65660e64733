"""Paper mode never authenticates: no API key is created at the venue for a paper wallet."""

from __future__ import annotations

import base64

from polytui.protocol.auth import ApiCreds
from polytui.protocol.signing import SigningKey
from polytui.venue.http import HttpClient

PAPER_SECRET = base64.urlsafe_b64encode(b"paper mode: never sent").decode()


class PaperCredentials:
    """Stand-in L2 credentials: the orders they would sign never leave the process."""

    async def api_creds(self, http: HttpClient, key: SigningKey) -> ApiCreds:
        return ApiCreds(
            api_key=f"paper-{key.address.lower()}", secret=PAPER_SECRET, passphrase="paper"
        )
