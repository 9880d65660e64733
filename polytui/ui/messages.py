"""Textual messages that carry engine data into the UI: the only module that wraps it.

The bridge posts them from the engine's thread (``post_message`` is thread-safe); the App
routes them to the panes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.message import Message

from polytui.engine.views import EventLine


class EngineUpdate(Message):
    """One flush of the bridge: the views that changed (latest value per key) and every
    event line since the last flush (never dropped)."""

    def __init__(self, seq: int, views: Mapping[str, Any], events: tuple[EventLine, ...]) -> None:
        super().__init__()
        self.seq = seq
        self.views = views
        self.events = events


class EngineStatus(Message):
    """The engine host's lifecycle: ``starting``, ``running``, ``failed``, ``stopped``..."""

    def __init__(self, state: str, detail: str = "", **facts: Any) -> None:
        super().__init__()
        self.state = state
        self.detail = detail
        self.facts = facts


class CommandDone(Message):
    """The engine's answer to a command sent through the bridge."""

    def __init__(self, command: object, result: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.command = command
        self.result = result
        self.error = error

    @property
    def ok(self) -> bool:
        return self.error is None
