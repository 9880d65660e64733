"""A ``Static`` that redraws only when its content changes, and without a layout pass when its
size does not depend on its content (``fixed=True``): at 10 updates a second a layout pass
per text change costs more than everything else on the screen."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class Quiet(Static):
    def __init__(self, content: Any = "", *, fixed: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(content, **kwargs)
        self._fixed = fixed
        self._shown: Any = content

    def show(self, content: Any) -> None:
        if content == self._shown:
            return
        self._shown = content
        self.update(content, layout=not self._fixed)
