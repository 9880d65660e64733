"""Secrets never reach a log line, an event line or an alert: redaction by construction.

Three nets, applied to everything that is written out (`Redactor.scrub`):

* **names**: a field whose key names a secret (``private_key``, ``secret``, ``passphrase``,
  ``password``, ``api_key``, ``signature``...) is written as ``***`` whatever its value;
* **types**: a ``Secret`` value is ``***`` wherever it goes (``repr``, ``str``, JSON);
* **values**: every secret the process has loaded is registered (`Redactor.register`), and any
  string containing one (an exception message, a URL, a nested payload) has it replaced by
  ``***``, in hex with or without ``0x``, in any letter case.

A caller therefore cannot leak a secret by putting it in the wrong field or in an error text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
MIN_SECRET_LEN = 8  # shorter strings are not registered: they would mask ordinary words

SECRET_KEY_PARTS = (
    "private_key",
    "privatekey",
    "secret",
    "passphrase",
    "password",
    "api_key",
    "apikey",
    "signature",
    "mnemonic",
    "seed_phrase",
    "authorization",
    "cookie",
    "token_secret",
)


def is_secret_key(key: object) -> bool:
    """True when a field named ``key`` holds a secret (case and ``-``/``_`` insensitive)."""
    name = str(key).lower().replace("-", "_")
    return any(part in name for part in SECRET_KEY_PARTS)


class Secret:
    """A string that shows as ``***`` everywhere; ``reveal()`` gives the value to whoever
    needs it (a signer, an HTTP header)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> object:
        raise TypeError("a Secret cannot be pickled")


class Redactor:
    """Scrubs values before they are written. Thread-safe: secrets may be registered from any
    thread while another writes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.register(secret)

    def register(self, secret: str | Secret | None) -> None:
        """Mask ``secret`` wherever it appears from now on (and its hex form without 0x)."""
        if secret is None:
            return
        value = secret.reveal() if isinstance(secret, Secret) else str(secret)
        forms = {value}
        if value[:2] in ("0x", "0X"):
            forms.add(value[2:])
        forms = {form for form in forms if len(form) >= MIN_SECRET_LEN}
        if not forms:
            return
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets |= forms
            # Longest first, so a secret that contains another is masked whole.
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)

    @property
    def registered(self) -> int:
        return len(self._secrets)

    def scrub_text(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text

    def scrub(self, value: Any, _depth: int = 0) -> Any:
        """A JSON-ready copy of ``value`` with every secret masked."""
        if _depth > 20:
            return "..."
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, str):
            return self.scrub_text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {
                self.scrub_text(str(k)): MASK if is_secret_key(k) else self.scrub(v, _depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.scrub(v, _depth + 1) for v in value]
        if isinstance(value, bytes | bytearray):
            return self.scrub_text(bytes(value).hex())
        return self.scrub_text(str(value))


# The process's redactor: whatever loads a secret registers it here, every writer scrubs with it.
REDACTOR = Redactor()


def register_secret(secret: str | Secret | None) -> None:
    REDACTOR.register(secret)
