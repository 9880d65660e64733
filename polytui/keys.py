"""The sim-mode wallet: a private key created once and kept in the data directory.

The key lives in `<data_dir>/sim-key` (hex, mode 0600, directory created 0700), so the wallet
address stays the same across restarts. It is only ever used against the simulator; the encrypted
keystore for real money comes later.

A key file that group or others can read is refused, not repaired: if it was readable, it may
have been copied, and the user should decide what to do (`chmod 600 PATH` or delete it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from eth_account import Account

SIM_KEY_FILENAME = "sim-key"


class KeyFileError(Exception):
    """The key file cannot be used. The message names the file and the fix."""


class SimKey:
    """A wallet: its address, and its private key, which repr/str never show."""

    __slots__ = ("_key", "address")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.address: str = Account.from_key(key).address

    @property
    def private_key(self) -> str:
        """The 0x-prefixed hex private key, for signing. Never log it."""
        return "0x" + self._key.hex()

    def __repr__(self) -> str:
        return f"SimKey(address={self.address!r})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("SimKey cannot be pickled")


def load_or_create_sim_key(data_dir: Path) -> SimKey:
    """Return the sim wallet in `data_dir`, creating it (atomically, 0600) on first use."""
    path = data_dir / SIM_KEY_FILENAME
    try:
        if not path.exists():
            _create_key_file(path)
        return _read_key_file(path)
    except OSError as exc:
        raise KeyFileError(f"cannot use key file {path}: {exc.strerror or exc}") from None


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = bytes(Account.create().key)
    # Write a private temporary file, then link it into place: the key file either does not
    # exist or is complete, and a concurrent first start keeps whichever key was linked first.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("0x" + key.hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _read_key_file(path: Path) -> SimKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} has mode {mode:04o}; it must be readable by you only. "
            f"Fix it with `chmod 600 {path}` (or delete it to create a new wallet)."
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        return SimKey(parse_private_key(text))
    except ValueError as exc:
        raise KeyFileError(
            f"key file {path} is corrupt ({exc}); delete it to create a new wallet."
        ) from None


def parse_private_key(text: str) -> bytes:
    """32 bytes from 64 hex digits (optional 0x), and a valid secp256k1 scalar."""
    digits = text.removeprefix("0x").removeprefix("0X")
    if len(digits) != 64:
        raise ValueError(f"expected 64 hex digits, found {len(digits)} characters")
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        raise ValueError("not hexadecimal") from None
    try:
        Account.from_key(key)
    except Exception:
        raise ValueError("not a valid secp256k1 private key") from None
    return key
