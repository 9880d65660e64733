"""A recorded session, read: its manifest and its capture lines, indexed for the replay.

    journal = Journal.open(DIR)             # SessionError / CaptureFormatError naming the fault
    journal.lines                           # every capture line, in order
    journal.answers[key]                    # line numbers of the REST answers to one request
    journal.decisions                       # the decisions recorded, in order

A REST request is known by its method, its URL with the query (as the client sent it) and its
body (with secrets masked as the capture masks them): the same request asked twice is
answered by its recorded answers in order. A capture cut short by a killed process (a torn
last line) is read up to its last whole line; the manifest then has no end, and
``truncated`` says so.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from polytui.engine.session.manifest import CAPTURE, Manifest, SessionError, read_manifest
from polytui.venue.capture import CaptureLine, Source, read_capture, redact

RestKey = tuple[str, str, str]  # method, URL with query, request body (masked)


def rest_key(method: str, url: str, body: str) -> RestKey:
    return (method.upper(), url, redact(body))


@dataclass
class Journal:
    directory: Path
    manifest: Manifest
    lines: list[CaptureLine]
    answers: dict[RestKey, deque[int]] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)  # order bodies as posted
    api_key: str | None = None
    frames: int = 0
    steps: dict[str, int] = field(default_factory=dict)  # "strategy#n" -> its line

    @classmethod
    def open(cls, directory: Path | str) -> Journal:
        directory = Path(directory)
        manifest = read_manifest(directory)
        path = directory / CAPTURE
        if not path.exists():
            raise SessionError(f"{directory} has no {CAPTURE}: nothing to replay")
        journal = cls(directory, manifest, list(read_capture(path)))
        journal._index()
        return journal

    @property
    def truncated(self) -> bool:
        """The session did not stop in order (killed): its end is its last line."""
        return not self.manifest.complete

    @property
    def end_ms(self) -> int:
        if self.manifest.end_ms is not None:
            return self.manifest.end_ms
        return self.lines[-1].recv_ms if self.lines else self.manifest.start_ms

    def _index(self) -> None:
        answers: dict[RestKey, deque[int]] = defaultdict(deque)
        for number, line in enumerate(self.lines):
            source = line.source
            if source is Source.REST:
                key = rest_key(line.method or "GET", line.url or "", line.request or "")
                answers[key].append(number)
                self._learn(line)
            elif source in (Source.WS_MARKET, Source.WS_USER) and line.event is None:
                self.frames += 1
            elif source is Source.ENGINE and line.event == "step" and line.payload:
                self.steps[line.payload] = number
            elif source is Source.ENGINE and line.event == "decision" and line.payload:
                try:
                    self.decisions.append(json.loads(line.payload))
                except ValueError:
                    raise SessionError(
                        f"capture line {number + 1}: a decision is not JSON"
                    ) from None
        self.answers = dict(answers)

    def _learn(self, line: CaptureLine) -> None:
        """The API key the session's orders carry and the orders it posted (their salts,
        times and signatures: a replay signs nothing itself)."""
        path = urlsplit(line.url or "").path
        if line.status == 200 and path.endswith(("/auth/api-key", "/auth/derive-api-key")):
            try:
                self.api_key = json.loads(line.payload or "")["apiKey"]
            except (ValueError, KeyError, TypeError):
                pass
        if line.method == "POST" and path.endswith(("/order", "/orders")) and line.request:
            try:
                body = json.loads(line.request)
            except ValueError:
                return
            for entry in body if isinstance(body, list) else [body]:
                order = entry.get("order") if isinstance(entry, dict) else None
                if isinstance(order, dict):
                    self.orders.append(order)
