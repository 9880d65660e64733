"""The Health pane: each component's state, resyncs by reason, the mirror's and scanner's
figures, REST rate-budget use, and the log of events and alerts (never dropped)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import RichLog

from polytui.engine.views import EventLine, HealthView
from polytui.ui import format as fmt
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

COMPONENTS = [("name", "Component", 11), ("status", "State", 5), ("detail", "Detail", 120)]
LOG_LINES = 1_000
SEVERITY_KEY = {"info": "foreground", "warning": "warning", "error": "error"}


def line_text(line: EventLine, palette: dict[str, str]) -> Text:
    return Text.assemble(
        (fmt.clock(line.at_ms) + " ", palette.get("stale", "")),
        fmt.styled(f"{line.kind:<8} ", palette, SEVERITY_KEY.get(line.severity, "foreground")),
        line.text,
    )


class HealthPane(Vertical):
    DEFAULT_CSS = """
    HealthPane { height: 1fr; }
    HealthPane #health-components { height: auto; max-height: 10; padding: 0 0 0 1; }
    HealthPane #health-figures-row { height: auto; }
    HealthPane #health-figures { width: 1fr; height: auto; padding: 0 1; }
    HealthPane #health-budget { width: 1fr; height: auto; padding: 0 1; }
    HealthPane #health-log { height: 1fr; min-height: 4; border-top: solid $panel; }
    """

    def compose(self) -> ComposeResult:
        yield KeyedTable(COMPONENTS, id="health-components", show_cursor=False)
        with Horizontal(id="health-figures-row"):
            yield Quiet("", id="health-figures")
            yield Quiet("", id="health-budget")
        yield RichLog(id="health-log", max_lines=LOG_LINES, wrap=False, markup=False)

    def show(self, view: HealthView, palette: dict[str, str]) -> None:
        rows = [
            (
                c.name,
                (
                    c.name,
                    fmt.styled(
                        c.status, palette, fmt.STATUS_COLOUR.get(c.status, "stale"), bold=True
                    ),
                    c.detail,
                ),
            )
            for c in view.components
        ]
        self.query_one("#health-components", KeyedTable).sync(rows)
        resyncs = ", ".join(f"{r} {n}" for r, n in view.resyncs) or "none"
        figures = [f"resyncs by reason: {resyncs}"] + [f"{k}: {v}" for k, v in view.figures]
        self.query_one("#health-figures", Quiet).show(" · ".join(figures))
        busy = sorted(view.budget, key=lambda b: (-b[1] / max(b[2], 1), b[0]))[:6]
        budget = " · ".join(
            f"{f} {used}/{limit} ({used / max(limit, 1):.0%})" for f, used, limit in busy
        )
        self.query_one("#health-budget", Quiet).show(
            f"rate budget use (10 s window): {budget}" if busy else "rate budget: unused"
        )

    def log_lines(self, lines: tuple[EventLine, ...], palette: dict[str, str]) -> None:
        log = self.query_one("#health-log", RichLog)
        for line in lines:
            log.write(line_text(line, palette))
