"""``polytui replay DIR --ui``: the scrub App. Wiring only: the theme, the scrub screen over a
:class:`~polytui.engine.scrub.Scrubber` (the replay on its own thread and event loop), quit.
Marked REPLAY at all times: nothing here reaches a venue; the recording is the venue."""

from __future__ import annotations

import logging

from textual.app import App
from textual.binding import Binding

from polytui.engine.scrub import Scrubber
from polytui.ui.screens.replay import ReplayScreen
from polytui.ui.themes import VARIABLE_DEFAULTS, install_themes


class ReplayApp(App[None]):
    TITLE = "polytui [REPLAY]"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self, scrubber: Scrubber, at_ms: int | None = None, theme: str = "polytui-dark"
    ) -> None:
        super().__init__()
        self.scrubber = scrubber
        self.at_ms = at_ms
        self.theme_name = theme
        self.animation_level = "none"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    @property
    def replay(self) -> ReplayScreen:
        return self.get_screen("replay")  # type: ignore[return-value]

    def on_mount(self) -> None:
        for problem in install_themes(self, self.theme_name):
            self.notify(problem, severity="warning")
        self.install_screen(ReplayScreen(self.scrubber, self.at_ms), "replay")
        self.push_screen("replay")

    def on_unmount(self) -> None:
        self.scrubber.stop()


def run_replay_tui(
    scrubber: Scrubber, at_ms: int | None = None, theme: str = "polytui-dark"
) -> int:
    # the replayed engine's log records would write over the screen
    logging.getLogger("polytui").addHandler(logging.NullHandler())
    logging.getLogger("polytui").propagate = False
    app = ReplayApp(scrubber, at_ms, theme)
    app.run()
    return app.return_code or 0
