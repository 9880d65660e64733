"""How a recorded or a replayed session plugs into the engine, in one place.

``Engine(..., session=SessionHooks(...))``: every field is optional and the defaults are the
plain engine. A record (``recording.py``) notes when ledger writes land and when a strategy
steps; a replay (``replay.py``) replaces the WebSocket connections by the recording, writes
the ledger on the loop's thread, holds each write's merge until its recorded instant, and
leaves the side files (health file, control socket, kill requests) alone.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from polytui.engine.mirror.mirror import ApplyGate
from polytui.store.store import CommitGate
from polytui.venue.ws import ConnectionFactory


@dataclass(frozen=True)
class SessionHooks:
    connection: ConnectionFactory | None = None
    """Builds the market and user channel's connections (a replay's stand-ins)."""
    ledger_executor: Executor | None = None
    """Where the ledger writes run (default: its own writer thread)."""
    commit_gate: CommitGate | None = None
    """When a landed ledger write becomes visible to the engine (``Store``)."""
    on_step: Callable[[str], None] | None = None
    """A strategy is about to handle an input or a tick (its name)."""
    apply_gate: ApplyGate | None = None
    """When the mirror applies what it received (``Mirror``)."""
    on_control: Callable[[dict], None] | None = None
    """A command from outside (kill, resume) reaches the engine (``Engine.command``)."""
    trader: Callable[[Any, Any], Any] | None = None
    """``trader(clob_trader, engine)``: the trader port to use instead (a replay with changed
    settings fills the orders its session never posted on paper)."""
    side_files: bool = True
    """The health file, the control socket and kill requests (a replay has none)."""
