"""A keyed table drawn with Textual's Line API (style-anchors §4(d) item 7).

Why not ``DataTable`` for the live panes: any ``update_cell`` bumps its update counter, which
is part of every cell's cache key, so each refresh renders every visible cell again through
Rich (measured by ``bench/ui.py``: the markets pane alone took most of a core at 5 updates a
second, and the engine thread shares that interpreter). Here a row is rendered again only
when its cells change, and only its line is refreshed.

The discipline is the same (style-anchors §3.6): stable row keys, fixed column widths, rows
come and go by key, only changed rows are redrawn, sorting is the caller's and rare.

Columns are ``(key, label, width)``; a label starting with ``>`` is right-aligned. A cell is a
``str`` or a Rich ``Text``, cropped to its column; one blank column follows each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cells = tuple[Any, ...]
Column = tuple[str, str, int]


class KeyedTable(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES = {"keyed-table--header", "keyed-table--cursor"}
    DEFAULT_CSS = """
    KeyedTable { height: auto; max-height: 100%; background: $surface; color: $foreground; }
    KeyedTable > .keyed-table--header { text-style: bold; background: $panel; color: $foreground; }
    KeyedTable > .keyed-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    KeyedTable:focus > .keyed-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    class RowHighlighted(Message):
        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class RowSelected(RowHighlighted):
        pass

    def __init__(
        self, columns: Sequence[Column], *, show_cursor: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._columns: list[Column] = list(columns)
        self.show_cursor = show_cursor
        self.shown: dict[str, Cells] = {}
        self._keys: list[str] = []  # in display order
        self._index: dict[str, int] = {}
        self._strips: dict[str, Strip] = {}  # rendered rows, by key (cursor style applied later)
        self._header: Strip | None = None
        self._base: Style | None = None  # the style the cached rows were drawn with
        self.cursor_row = 0

    # ---- columns and rows -------------------------------------------------------------------

    def on_mount(self) -> None:
        self._resize()

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = list(columns)
        self._strips.clear()
        self._header = None
        self._resize()
        self.refresh()

    def width_of(self, key: str) -> int | None:
        return next((w for k, _, w in self._columns if k == key), None)

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def sync(self, rows: Iterable[tuple[str, Cells]]) -> bool:
        """Show exactly ``rows`` (key, cells); True when rows were added or removed. New rows
        go last; only the lines of rows whose cells changed are redrawn."""
        wanted = dict(rows)
        gone = [k for k in self._keys if k not in wanted]
        added = [k for k in wanted if k not in self.shown]
        for key in gone:
            del self.shown[key]
            self._strips.pop(key, None)
        changed = []
        for key, cells in wanted.items():
            if self.shown.get(key) != cells:
                self.shown[key] = cells
                self._strips.pop(key, None)
                changed.append(key)
        if gone or added:
            keep = self.highlighted_key
            self._keys = [k for k in self._keys if k in wanted] + added
            self._reindex(keep)
            self.refresh()
            return True
        for key in changed:
            self.refresh_line(self._index[key] + 1)
        return False

    def order_by(self, keys: Sequence[str]) -> None:
        """Show the rows in this order of keys (others after them); the cursor stays on its
        row."""
        keep = self.highlighted_key
        position = {key: i for i, key in enumerate(keys)}
        self._keys.sort(key=lambda k: position.get(k, len(position)))
        self._reindex(keep)
        self.refresh()

    def _reindex(self, keep: str | None) -> None:
        self._index = {k: i for i, k in enumerate(self._keys)}
        self._resize()
        if keep is not None and keep in self._index:
            self.cursor_row = self._index[keep]
        self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        if keep is None and self._keys and self.show_cursor:
            self.post_message(self.RowHighlighted(self, self._keys[self.cursor_row]))

    def _resize(self) -> None:
        width = sum(w + 1 for _, _, w in self._columns)
        self.virtual_size = Size(width, len(self._keys) + 1)

    @property
    def highlighted_key(self) -> str | None:
        if not self._keys or not self.show_cursor:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def key_at(self, row: int) -> str:
        return self._keys[row]

    def move_to_key(self, key: str | None) -> None:
        if key is not None and key in self._index:
            self._move(self._index[key])

    # ---- cursor ----------------------------------------------------------------------------

    def _move(self, row: int) -> None:
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        old, self.cursor_row = self.cursor_row, row
        self.refresh_line(old + 1)
        self.refresh_line(row + 1)
        top, visible = int(self.scroll_y), max(1, self.size.height - 1)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False)
        if old != row and self.show_cursor:
            self.post_message(self.RowHighlighted(self, self._keys[row]))

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self._move(self.cursor_row + step * max(1, self.size.height - 2))

    def action_jump(self, row: int) -> None:
        self._move(row if row >= 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        if self._keys and self.show_cursor:
            self.post_message(self.RowSelected(self, self._keys[self.cursor_row]))

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y - 1
        if event.y < 1 or not 0 <= row < len(self._keys):
            return
        if row == self.cursor_row:
            self.action_select()
        else:
            self._move(row)

    # ---- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if base != self._base:  # the theme or the table's own style changed: draw again
            self._base = base
            self._strips.clear()
            self._header = None
        scroll_x = int(self.scroll_x)
        if y == 0:
            if self._header is None:
                style = self.get_component_rich_style("keyed-table--header")
                labels = [
                    Text(lb[1:].rjust(w)) if lb.startswith(">") else lb
                    for _, lb, w in self._columns
                ]
                self._header = self._strip(labels, base + style)
            return self._header.crop_extend(scroll_x, scroll_x + width, base)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._keys):
            return Strip.blank(width, base)
        key = self._keys[row]
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._strip(self.shown[key], base)
        if self.show_cursor and row == self.cursor_row:
            strip = strip.apply_style(self.get_component_rich_style("keyed-table--cursor"))
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _strip(self, cells: Sequence[Any], style: Style) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for (_, _, width), cell in zip(self._columns, cells, strict=False):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.truncate(width, overflow="ellipsis", pad=True)
            text.append(" ")
            own = Style.parse(text.style) if isinstance(text.style, str) else text.style
            text.style = style + own  # the cell's own colours over the table's
            text.no_wrap = True
            segments.extend(text.render(console))
        return Strip(segments).simplify()
