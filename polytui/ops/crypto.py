"""Passphrase encryption for backups and stored API credentials: scrypt (stdlib ``hashlib``)
derives a 256-bit key, AES-256-GCM (pycryptodome, already needed by eth-account) seals the data.

Streams are cut into chunks sealed one by one (the STREAM construction: each chunk's nonce is a
random prefix, the chunk counter and a last-chunk flag, and every chunk authenticates the
header), so a backup of any size is encrypted and decrypted in constant memory, and a file that
was truncated, reordered or altered fails to open instead of restoring part of itself.

File layout: ``MAGIC`` (8 bytes), scrypt log2(n), r, p (1 byte each), salt (16), nonce prefix
(7); then chunks, each a 4-byte big-endian length and the ciphertext with its 16-byte tag.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from typing import BinaryIO

from Crypto.Cipher import AES

from polytui.ops.redact import Secret

MAGIC = b"POLYTUI1"
CHUNK = 1 << 20
SALT_LEN = 16
PREFIX_LEN = 7
TAG_LEN = 16
SCRYPT_LOG_N = 15  # n = 32768, r = 8: 32 MiB and about 0.1 s per derivation
SCRYPT_R = 8
SCRYPT_P = 1


class DecryptionError(ValueError):
    """Wrong passphrase, or data that was damaged or is not ours."""


def derive_key(passphrase: Secret | str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    secret = passphrase.reveal() if isinstance(passphrase, Secret) else passphrase
    n = 1 << log_n
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=32
    )


def _header(log_n: int, salt: bytes, prefix: bytes) -> bytes:
    return MAGIC + bytes((log_n, SCRYPT_R, SCRYPT_P)) + salt + prefix


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


class SealWriter(io.RawIOBase):
    """Writes encrypted chunks to ``out``; ``close()`` writes the last one (not ``out``'s
    close)."""

    def __init__(self, out: BinaryIO, passphrase: Secret | str, log_n: int = SCRYPT_LOG_N) -> None:
        super().__init__()
        self._out = out
        salt, self._prefix = os.urandom(SALT_LEN), os.urandom(PREFIX_LEN)
        self._header = _header(log_n, salt, self._prefix)
        self._key = derive_key(passphrase, salt, log_n, SCRYPT_R, SCRYPT_P)
        self._buffer = bytearray()
        self._counter = 0
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, chunk: bytes, last: bool) -> None:
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=_nonce(self._prefix, self._counter, last))
        cipher.update(self._header)
        sealed, tag = cipher.encrypt_and_digest(chunk)
        self._out.write(struct.pack(">I", len(sealed) + TAG_LEN) + sealed + tag)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class OpenReader(io.RawIOBase):
    """Reads what a `SealWriter` wrote, checking every chunk; raises `DecryptionError`."""

    def __init__(self, src: BinaryIO, passphrase: Secret | str) -> None:
        super().__init__()
        self._src = src
        header = src.read(len(MAGIC) + 3 + SALT_LEN + PREFIX_LEN)
        if len(header) < len(MAGIC) + 3 + SALT_LEN + PREFIX_LEN or not header.startswith(MAGIC):
            raise DecryptionError("not a polytui encrypted file")
        log_n, r, p = header[8], header[9], header[10]
        if not (10 <= log_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise DecryptionError("unsupported key derivation parameters")
        self._header = header
        salt = header[11 : 11 + SALT_LEN]
        self._prefix = header[11 + SALT_LEN :]
        self._key = derive_key(passphrase, salt, log_n, r, p)
        self._plain = b""
        self._counter = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        size_bytes = self._src.read(4)
        if len(size_bytes) < 4:
            raise DecryptionError("the file is truncated")
        (size,) = struct.unpack(">I", size_bytes)
        if not TAG_LEN <= size <= CHUNK + TAG_LEN:
            raise DecryptionError("the file is damaged")
        data = self._src.read(size)
        if len(data) < size:
            raise DecryptionError("the file is truncated")
        sealed, tag = data[:-TAG_LEN], data[-TAG_LEN:]
        for last in (False, True):
            cipher = AES.new(
                self._key, AES.MODE_GCM, nonce=_nonce(self._prefix, self._counter, last)
            )
            cipher.update(self._header)
            try:
                self._plain = cipher.decrypt_and_verify(sealed, tag)
            except ValueError:
                continue
            self._counter += 1
            self._done = last
            if last and self._src.read(1):
                raise DecryptionError("the file has data after its end")
            return
        if self._counter == 0:
            raise DecryptionError("wrong passphrase, or the file is damaged")
        raise DecryptionError("the file is damaged")

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._plain and not self._done:
            self._next_chunk()
        n = min(len(buffer), len(self._plain))
        buffer[:n] = self._plain[:n]
        self._plain = self._plain[n:]
        return n


def seal_bytes(data: bytes, passphrase: Secret | str, log_n: int = SCRYPT_LOG_N) -> bytes:
    out = io.BytesIO()
    writer = SealWriter(out, passphrase, log_n)
    writer.write(data)
    writer.close()
    return out.getvalue()


def open_bytes(blob: bytes, passphrase: Secret | str) -> bytes:
    return OpenReader(io.BytesIO(blob), passphrase).read()
