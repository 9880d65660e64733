"""The health snapshot file: what the running engine looks like, for `polytui status`.

The engine writes it beside the ledger (``<db>.health.json``; ``<data_dir>/health.json``
for a database URL) every second: the wallet address, the venue's URLs, the kill switch,
the book states, the order tracker's, heartbeat's and reconciler's figures, the last alerts
and errors, and when it was written. Each write goes to a temporary file that is then
renamed over the old one, so a reader sees a whole snapshot, the old or the new, never half
of one. It holds no secret (no key, no API secret or passphrase).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def health_path(ledger: str | Path, data_dir: Path) -> Path:
    text = str(ledger)
    if "://" in text:
        return data_dir / "health.json"
    return Path(f"{text}.health.json")


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path``: a temporary file in the same directory, flushed,
    then renamed over ``path`` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = json.dumps(data, default=str, separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_health(path: Path) -> dict[str, Any] | None:
    """The last snapshot, or ``None`` when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
