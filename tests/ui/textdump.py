"""The screen as plain text (for assertions on what a user sees, and for debugging)."""

from __future__ import annotations

from typing import Any


def screen_text(app: Any) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip).rstrip() for strip in strips)
