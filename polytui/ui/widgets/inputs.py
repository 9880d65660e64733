"""Inputs whose cursor does not blink: a blink is a redraw every half second over SSH, and it
would make every snapshot differ."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class SteadyInput(Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(*args, **kwargs)
        self.cursor_blink = False
