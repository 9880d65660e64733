"""The order tracker (issue 7): intents -> signed, persisted, posted, tracked orders."""

from polytui.engine.order_tracker.feed import UserFeed
from polytui.engine.order_tracker.tracker import (
    Alert,
    OrderIntent,
    OrderRefused,
    OrderTracker,
    PartialPolicy,
    TrackerTimeouts,
)

__all__ = [
    "Alert",
    "OrderIntent",
    "OrderRefused",
    "OrderTracker",
    "PartialPolicy",
    "TrackerTimeouts",
    "UserFeed",
]
