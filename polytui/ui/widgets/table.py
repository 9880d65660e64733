"""DataTable discipline (style-anchors §3.6): stable row keys, fixed column widths, only the
cells that changed are updated (``update_width=False``), rows come and go by key, never
``clear()`` on a live table; sorting is the caller's, and rare.

Columns are ``(key, label, width)``; a label starting with ``>`` is right-aligned (numbers).
Cells get one blank column after them instead of the DataTable's padding on both sides, so
80 columns hold more."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import TwoWayDict
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

Cells = tuple[Any, ...]


class KeyedTable(DataTable):
    """A DataTable fed whole row sets by key; ``sync`` turns them into the smallest edit."""

    def __init__(self, columns: Sequence[tuple[str, str, int]], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("cell_padding", 0)
        super().__init__(**kwargs)
        self._columns = list(columns)  # (key, label, width)
        self.shown: dict[str, Cells] = {}

    def on_mount(self) -> None:
        self.set_columns(self._columns)

    def set_columns(self, columns: Sequence[tuple[str, str, int]]) -> None:
        """(Re)build the columns; the rows shown are added back as they were."""
        self._columns = list(columns)
        rows = list(self.shown.items())
        self.clear(columns=True)
        self.shown.clear()
        for key, label, width in self._columns:
            text = Text(label[1:].rjust(width)) if label.startswith(">") else Text(label)
            self.add_column(text, width=width + 1, key=key)
        for key, cells in rows:
            self._add(key, cells)

    def width_of(self, key: str) -> int | None:
        return next((w for k, _, w in self._columns if k == key), None)

    def sync(self, rows: Iterable[tuple[str, Cells]]) -> bool:
        """Show exactly ``rows`` (key, cells); True when rows were added or removed."""
        wanted = dict(rows)
        changed = False
        for key in [k for k in self.shown if k not in wanted]:
            self.shown.pop(key)
            try:
                self.remove_row(key)
            except RowDoesNotExist:
                pass
            changed = True
        keys = [k for k, _, _ in self._columns]
        for key, cells in wanted.items():
            old = self.shown.get(key)
            if old is None:
                self._add(key, cells)
                changed = True
            elif old != cells:
                for column, before, after in zip(keys, old, cells, strict=True):
                    if before != after:
                        try:
                            self.update_cell(key, column, after, update_width=False)
                        except CellDoesNotExist:
                            pass
                self.shown[key] = cells
        return changed

    def _add(self, key: str, cells: Cells) -> None:
        self.add_row(*cells, key=key)
        self.shown[key] = cells

    def order_by(self, keys: Sequence[str]) -> None:
        """Show the rows in this order of keys (others after them), keeping the cursor on
        the row it was on. What ``DataTable.sort`` does, by key (Textual is pinned)."""
        keep = self.highlighted_key
        position = {key: i for i, key in enumerate(keys)}
        ordered = sorted(self.rows, key=lambda k: position.get(k.value, len(position)))
        self._row_locations = TwoWayDict({k: i for i, k in enumerate(ordered)})
        self._update_count += 1
        self.refresh()
        self.move_to_key(keep)

    @property
    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def move_to_key(self, key: str | None) -> None:
        if key is None or key not in self.shown:
            return
        try:
            self.move_cursor(row=self.get_row_index(key), scroll=True)
        except RowDoesNotExist:
            pass
