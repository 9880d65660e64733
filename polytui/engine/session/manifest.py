"""A session directory (``polytui --record DIR``) and its manifest.

    DIR/session.json        the manifest: format, mode, the settings used, the seed, the start
                            (and, once stopped in order, the end) time, the venue's URLs, the
                            wallet's address (never its key)
    DIR/capture.jsonl       everything the venue sent, and the engine's own marks, in order
                            (``polytui.venue.capture``)
    DIR/ledger-start.jsonl  the ledger as the session found it (absent: it was empty)
    DIR/ledger.jsonl        the ledger as the session left it

The manifest is written when the session starts and again when it stops; a session that was
killed keeps the first one (``end_ms`` null) and replays up to its last whole capture line.

Secrets never reach it: alert webhooks (their URLs hold tokens) are left out and a password in
``ledger.url`` is masked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from polytui.config import Settings
from polytui.venue.endpoints import Endpoints

FORMAT = 1
MANIFEST = "session.json"
CAPTURE = "capture.jsonl"
LEDGER_START = "ledger-start.jsonl"
LEDGER_END = "ledger.jsonl"

_URL_PASSWORD = re.compile(r"^([a-z0-9+]+://[^:/@]+:)[^@]*@", re.IGNORECASE)


class SessionError(Exception):
    """A session directory that cannot be recorded into or replayed; the message says why."""


@dataclass
class Manifest:
    format: int
    mode: str
    seed: int
    start_ms: int
    endpoints: dict[str, str]
    settings: dict[str, Any]
    polytui: str = ""
    address: str | None = None
    end_ms: int | None = None
    ended: str | None = None  # why it stopped (duration, SIGTERM, ...)
    lines: int | None = None  # capture lines written
    decisions: int | None = None
    ledger_start: str | None = None
    ledger: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.end_ms is not None


def settings_for_record(settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """The settings as JSON, without their secrets; and notes on what was left out."""
    data = settings.model_dump(mode="json")
    notes = []
    hooks = data.get("alerts", {}).get("webhooks") or []
    if hooks:
        data["alerts"]["webhooks"] = []
        notes.append(f"{len(hooks)} alert webhook(s) left out (their URLs hold tokens)")
    url = data.get("ledger", {}).get("url")
    if url and _URL_PASSWORD.match(url):
        data["ledger"]["url"] = _URL_PASSWORD.sub(r"\1***@", url)
        notes.append("the password in ledger.url is masked")
    data.get("run", {})["record"] = None  # a replay never records itself again
    return data, notes


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` laid over it, section by section (a changed config file
    names only what it changes)."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def settings_from_record(
    recorded: Mapping[str, Any], changes: Mapping[str, Any] | None = None
) -> Settings:
    """The recorded settings (with ``changes`` over them), validated as they were at the
    start; the environment is not read: a replay is the session, not this shell."""
    data = merge(recorded, changes or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SessionError(f"the session's settings are not valid here: {problems}") from None


def write_manifest(directory: Path, manifest: Manifest) -> None:
    path = directory / MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_manifest(directory: Path) -> Manifest:
    """Raises ``SessionError`` naming what is missing or wrong."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise SessionError(f"{directory} is not a session directory")
    if not path.exists():
        raise SessionError(f"{directory} holds no session ({MANIFEST} is missing)")
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SessionError(f"{path} cannot be read: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise SessionError(f"{path}: session format {found!r}, this polytui reads {FORMAT}")
    known = set(Manifest.__dataclass_fields__)
    missing = [f for f in ("seed", "start_ms", "endpoints", "settings", "mode") if f not in raw]
    if missing:
        raise SessionError(f"{path} lacks {', '.join(missing)}")
    try:
        Endpoints.from_json(raw["endpoints"])
    except ValueError as exc:
        raise SessionError(f"{path}: the venue's endpoints are not valid: {exc}") from None
    return Manifest(**{k: v for k, v in raw.items() if k in known})
