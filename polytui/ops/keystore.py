"""The encrypted keystore of the trading key, and the API credentials derived from it.

    store = Keystore(data_dir / "keystore.json")
    address = store.create(passphrase)            # a new random key
    address = store.import_key(hex_key, passphrase)
    store.address()                               # from the file, no passphrase needed
    key = store.unlock(passphrase)                # -> SigningKey (address; signs)
    store.save_creds(creds, passphrase)           # <keystore dir>/api-creds.enc
    creds = store.load_creds(passphrase)

The key file is eth-account's Web3 Secret Storage JSON (version 3) with the scrypt KDF, the
format geth and every Ethereum wallet read. The API credentials (``apiKey``, ``secret``,
``passphrase`` from ``/auth/api-key``) are sealed with the same passphrase by
``polytui.ops.crypto`` (scrypt + AES-256-GCM), bound to the key's address. Both files are
written atomically with mode 0600 in a directory created 0700; a file that group or others can
read is refused, and an existing keystore is never overwritten.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from eth_account import Account

from polytui.ops.crypto import DecryptionError, open_bytes, seal_bytes
from polytui.ops.redact import Secret, register_secret
from polytui.protocol.auth import ApiCreds
from polytui.protocol.signing import SigningKey

KEYSTORE_FILENAME = "keystore.json"
CREDS_FILENAME = "api-creds.enc"
SCRYPT_N = 1 << 18  # eth-account's default: about 1 s and 256 MiB to unlock


class KeystoreError(Exception):
    """The keystore or the credentials cannot be used; the message names the file and the fix."""


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600, its directory 0700 if created."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_private(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeystoreError(
            f"{path} has mode {mode:04o}; it must be readable by you only. Fix it with "
            f"`chmod 600 {path}` (and consider the key exposed if others could read it)."
        )
    return path.read_bytes()


class Keystore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.creds_path = path.with_name(CREDS_FILENAME)

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(read_private(self.path))
        except FileNotFoundError:
            raise KeystoreError(
                f"no keystore at {self.path}: create one with `polytui keys new` or "
                "`polytui keys import`"
            ) from None
        except OSError as exc:
            raise KeystoreError(f"cannot read {self.path}: {exc.strerror}") from None
        except ValueError:
            raise KeystoreError(f"{self.path} is not a keystore (not JSON)") from None
        if not isinstance(data, dict) or data.get("version") != 3 or "crypto" not in data:
            raise KeystoreError(f"{self.path} is not a version 3 keystore")
        return data

    def address(self) -> str:
        data = self._load()
        if not isinstance(data.get("address"), str):
            raise KeystoreError(f"{self.path} does not say its address")
        from eth_utils import to_checksum_address

        return to_checksum_address("0x" + data["address"].removeprefix("0x"))

    def create(self, passphrase: Secret) -> str:
        return self.import_key("0x" + bytes(Account.create().key).hex(), passphrase)

    def import_key(self, private_key: str, passphrase: Secret) -> str:
        text = private_key.strip()
        register_secret(text)
        try:
            signer = SigningKey(text)
        except Exception:
            # Never echo the input: it may be a private key with a typo.
            raise KeystoreError(
                "not a private key: expected 64 hex digits (with or without 0x) of a valid "
                "secp256k1 key; nothing was written"
            ) from None
        key = bytes.fromhex(text.removeprefix("0x").removeprefix("0X"))
        register_secret("0x" + key.hex())
        if self.exists:
            raise KeystoreError(
                f"a keystore already exists at {self.path}; nothing was changed. Move it away "
                "first (it holds a key), or give another --keystore path."
            )
        encrypted = Account.encrypt(key, passphrase.reveal(), kdf="scrypt", iterations=SCRYPT_N)
        write_private(self.path, json.dumps(encrypted).encode())
        return signer.address

    def unlock(self, passphrase: Secret) -> SigningKey:
        data = self._load()
        try:
            key = bytes(Account.decrypt(data, passphrase.reveal()))
        except ValueError:
            raise KeystoreError(f"wrong passphrase for {self.path}") from None
        register_secret("0x" + key.hex())
        return SigningKey("0x" + key.hex())

    def save_creds(self, creds: ApiCreds, passphrase: Secret) -> None:
        address = self.address()
        body = json.dumps(
            {
                "address": address,
                "apiKey": creds.api_key,
                "secret": creds.secret,
                "passphrase": creds.passphrase,
            }
        ).encode()
        write_private(self.creds_path, seal_bytes(body, passphrase))

    def load_creds(self, passphrase: Secret) -> ApiCreds:
        try:
            blob = read_private(self.creds_path)
        except FileNotFoundError:
            raise KeystoreError(
                f"no API credentials at {self.creds_path}: derive them with `polytui keys creds`"
            ) from None
        try:
            data = json.loads(open_bytes(blob, passphrase))
        except DecryptionError as exc:
            raise KeystoreError(f"cannot open {self.creds_path}: {exc}") from None
        if data.get("address") != self.address():
            raise KeystoreError(
                f"{self.creds_path} belongs to {data.get('address')}, not to the keystore's "
                "key; derive them again with `polytui keys creds`"
            )
        for value in (data["apiKey"], data["secret"], data["passphrase"]):
            register_secret(value)
        return ApiCreds(
            api_key=data["apiKey"], secret=data["secret"], passphrase=data["passphrase"]
        )


def keystore_path(data_dir: Path, configured: Path | None) -> Path:
    return configured if configured is not None else data_dir / KEYSTORE_FILENAME
