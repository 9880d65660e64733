"""The status bar, always on top: the mode (SIM), HALTED while the kill switch is engaged,
the engine's state and the engine clock's time (never the wall clock)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from polytui.ui import format as fmt


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $panel; }
    """
    mode: reactive[str] = reactive("SIM")
    state: reactive[str] = reactive("starting")
    detail: reactive[str] = reactive("")
    halted: reactive[bool] = reactive(False)
    now_ms: reactive[int] = reactive(0)
    kill_key: reactive[str] = reactive("^k")

    def render(self) -> Text:
        palette = self.app.theme_variables
        out = Text()
        out.append(f" {self.mode} ", style=f"bold reverse {palette.get('warning', '')}")
        out.append(" ")
        if self.halted:
            out.append(" HALTED ", style=f"bold reverse {palette.get('error', '')}")
            out.append(" ")
        out.append(self.state, style="bold")
        if self.detail:
            out.append(f": {self.detail}")
        if self.now_ms:
            out.append(
                f"  engine clock {fmt.clock(self.now_ms)} UTC", style=palette.get("stale", "")
            )
        out.append(f"  {self.kill_key} kill switch", style=palette.get("error", ""))
        return out
