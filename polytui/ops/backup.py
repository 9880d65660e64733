"""Encrypted, consistent online backups of the ledger and the keys, and their restore.

    report = create_backup(dest, db=paths.db, key_files=[...], passphrase=secret)
    manifest = check_backup(src, passphrase)                   # decrypt and verify only
    report = restore_backup(src, passphrase, db=paths.db, data_dir=paths.data_dir)

**Consistent while the engine writes**: the SQLite ledger is copied with SQLite's online
backup API (``sqlite3.Connection.backup``), which copies a snapshot of the database as of one
transaction; the engine's WAL-mode writes go on meanwhile and are in the next backup. The copy
is checked (``PRAGMA integrity_check``) and its event count and last seq go in the manifest.

**The file** is a tar stream (``manifest.json``, ``ledger.db``, ``keys/<name>``) sealed with the
passphrase by ``polytui.ops.crypto`` (scrypt + AES-256-GCM in chunks): nothing in it is
readable without the passphrase, and a damaged or truncated file is refused as a whole. It is
written beside ``dest`` and renamed into place, mode 0600.

**Restore loses nothing**: it first decrypts into a private directory and checks every file
against the manifest's SHA-256 and the ledger's integrity; it takes the ledger's writer lock
(so it refuses while an engine runs); existing files are only replaced with ``force``, and are
then kept beside the originals as ``<name>.before-restore-<UTC time>`` (with the ledger's
``-wal`` and ``-shm``, which belong to the old database).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polytui.ops.crypto import DecryptionError, OpenReader, SealWriter
from polytui.ops.redact import Secret

FORMAT = 1
LEDGER_NAME = "ledger.db"
KEY_NAMES = ("keystore.json", "api-creds.enc", "sim-key")


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    manifest: dict[str, Any]
    size: int


@dataclass(frozen=True)
class RestoreReport:
    restored: list[Path]
    kept_aside: list[Path] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ledger_figures(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the ledger copy is damaged ({check})")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "ledger_event" not in tables:
            return {"events": 0, "last_seq": 0}
        events, last = conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM ledger_event"
        ).fetchone()
        return {"events": int(events), "last_seq": int(last)}
    finally:
        conn.close()


def copy_sqlite(src: Path, dst: Path, busy_timeout_s: float = 5.0) -> None:
    """An online, consistent copy of the SQLite database ``src`` (the backup API)."""
    if not src.is_file():
        raise BackupError(f"no ledger at {src}")
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the ledger {src}: {exc}") from None
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot copy the ledger {src}: {exc}") from None
    finally:
        target.close()
        source.close()
    os.chmod(dst, 0o600)


def create_backup(
    dest: Path,
    *,
    db: Path | None,
    key_files: list[Path],
    passphrase: Secret,
    busy_timeout_s: float = 5.0,
    polytui_version: str = "",
) -> BackupReport:
    """Write the encrypted backup ``dest``. ``db`` None: keys only (a PostgreSQL ledger is
    backed up with ``pg_dump``)."""
    if dest.exists() and dest.is_dir():
        dest = dest / f"polytui-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.backup"
    if dest.exists():
        raise BackupError(f"{dest} exists; give a new file name (nothing was written)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".polytui-backup-", dir=dest.parent) as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o700)
        files: dict[str, Path] = {}
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "host": socket.gethostname(),
            "polytui": polytui_version,
            "files": {},
        }
        if db is not None:
            copy = tmp / LEDGER_NAME
            copy_sqlite(db, copy, busy_timeout_s)
            manifest["ledger"] = {"source": str(db), **_ledger_figures(copy)}
            files[LEDGER_NAME] = copy
        for path in key_files:
            if path.name not in KEY_NAMES:
                raise BackupError(f"not a key file polytui knows: {path.name}")
            if path.is_file():
                files[f"keys/{path.name}"] = path
        if not files:
            raise BackupError("nothing to back up: no ledger and no key files")
        for name, path in files.items():
            manifest["files"][name] = {"sha256": _sha256(path), "size": path.stat().st_size}
        partial = tmp / "backup.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            writer = SealWriter(out, passphrase)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
                for name, path in files.items():
                    tar.add(path, arcname=name, recursive=False, filter=_private)
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, dest)
    return BackupReport(dest, manifest, dest.stat().st_size)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _allowed(name: str) -> bool:
    return name in ("manifest.json", LEDGER_NAME) or (
        name.startswith("keys/") and name.removeprefix("keys/") in KEY_NAMES
    )


def unpack(src: Path, passphrase: Secret, into: Path) -> dict[str, Any]:
    """Decrypt ``src`` into the directory ``into`` and verify it; returns the manifest."""
    try:
        raw = src.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {src}: {exc.strerror}") from None
    (into / "keys").mkdir(mode=0o700, exist_ok=True)
    try:
        with raw, tarfile.open(fileobj=OpenReader(raw, passphrase), mode="r|") as tar:
            for member in tar:
                if not member.isfile() or not _allowed(member.name):
                    raise BackupError(f"{src} holds an unexpected entry {member.name!r}")
                source = tar.extractfile(member)
                assert source is not None
                target = into / member.name
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out)
    except DecryptionError as exc:
        raise BackupError(f"cannot open {src}: {exc}") from None
    except tarfile.TarError as exc:
        raise BackupError(f"{src} is damaged: {exc}") from None
    try:
        manifest = json.loads((into / "manifest.json").read_text())
    except (OSError, ValueError):
        raise BackupError(f"{src} has no readable manifest") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src} is backup format {manifest.get('format')}, not {FORMAT}")
    for name, expected in manifest.get("files", {}).items():
        path = into / name
        if not path.is_file() or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{src}: {name} does not match the manifest")
    if (into / LEDGER_NAME).is_file():
        figures = _ledger_figures(into / LEDGER_NAME)
        if figures != {k: manifest["ledger"][k] for k in figures}:
            raise BackupError(f"{src}: the ledger does not match the manifest")
    return manifest


def check_backup(src: Path, passphrase: Secret) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=".polytui-check-") as tmp:
        return unpack(src, passphrase, Path(tmp))


@contextlib.contextmanager
def _writer_lock(db: Path) -> Iterator[None]:
    """The ledger's writer lock (``<db>.lock``, as the engine's store takes it)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    lock = db.with_name(db.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"the ledger {db} is in use (an engine is running): stop it first"
            ) from None
        yield
    finally:
        os.close(fd)


def restore_backup(
    src: Path,
    passphrase: Secret,
    *,
    db: Path | None,
    data_dir: Path,
    keystore: Path | None = None,
    force: bool = False,
) -> RestoreReport:
    """Put the ledger back at ``db`` and the keys in ``data_dir`` (the keystore at
    ``keystore`` if given)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".polytui-restore-", dir=data_dir) as tmp_name:
        tmp = Path(tmp_name)
        manifest = unpack(src, passphrase, tmp)
        plan: list[tuple[Path, Path]] = []
        if (tmp / LEDGER_NAME).is_file():
            if db is None:
                raise BackupError(
                    "the backup holds a SQLite ledger but ledger.url is set: restore it with "
                    "--db PATH, or point ledger.url away"
                )
            plan.append((tmp / LEDGER_NAME, db))
        for name in KEY_NAMES:
            if (tmp / "keys" / name).is_file():
                target = data_dir / name
                if keystore is not None and name in ("keystore.json", "api-creds.enc"):
                    target = keystore.with_name(name) if name != "keystore.json" else keystore
                plan.append((tmp / "keys" / name, target))
        existing = [target for _, target in plan if target.exists()]
        if existing and not force:
            raise BackupError(
                "these files exist and were left as they are: "
                + ", ".join(map(str, existing))
                + "; restore with --force to replace them (the old ones are kept aside)"
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept: list[Path] = []
        lock = _writer_lock(db) if db is not None else contextlib.nullcontext()
        with lock:
            for source, target in plan:
                related = [target]
                if target == db:
                    related += [target.with_name(target.name + s) for s in ("-wal", "-shm")]
                for old in related:
                    if old.exists():
                        aside = old.with_name(f"{old.name}.before-restore-{stamp}")
                        os.replace(old, aside)
                        kept.append(aside)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                staged = target.with_name(f".{target.name}.restore.tmp")
                shutil.copyfile(source, staged)
                os.chmod(staged, 0o600)
                with open(staged, "rb") as f:
                    os.fsync(f.fileno())
                os.replace(staged, target)
        return RestoreReport([target for _, target in plan], kept, manifest)
