"""Releasing the kill switch needs a deliberate confirmation: type RESUME, then Enter."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from polytui.ui.widgets.inputs import SteadyInput

WORD = "RESUME"


class ReleaseKill(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Keep halted")]
    DEFAULT_CSS = """
    ReleaseKill { align: center middle; }
    ReleaseKill #release { width: 60; max-width: 100%; height: auto; border: thick $error;
                           background: $surface; padding: 0 1; }
    ReleaseKill #release-error { color: $error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="release"):
            yield Static("The kill switch is engaged: nothing is sent.", markup=False)
            yield Static(
                f"Type {WORD} and press Enter to release it (escape keeps it engaged).",
                markup=False,
            )
            yield SteadyInput(placeholder=WORD, id="release-word", compact=True)
            yield Static("", id="release-error", markup=False)
            yield Button("Keep halted", id="release-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#release-word", Input).focus()

    @on(Input.Submitted, "#release-word")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == WORD:
            self.dismiss(True)
        else:
            self.query_one("#release-error", Static).update(f"that is not {WORD}: still halted")

    @on(Button.Pressed, "#release-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
