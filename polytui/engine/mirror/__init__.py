"""The self-healing local mirror of the order books (architecture §4)."""

from polytui.engine.mirror.mirror import Mirror, MirrorSettings
from polytui.engine.mirror.state import BookState, BookStateChanged, Reason

__all__ = ["BookState", "BookStateChanged", "Mirror", "MirrorSettings", "Reason"]
