"""The order tracker (issue 7): intents -> signed, persisted, posted, tracked orders."""

from polytui.engine.alerts import Alert
from polytui.engine.order_tracker.feed import UserFeed
from polytui.engine.order_tracker.tracker import (
    Markets,
    OrderIntent,
    OrderRefused,
    OrderTracker,
    PartialPolicy,
    StrategyPolicy,
    TrackerTimeouts,
)

__all__ = [
    "Alert",
    "Markets",
    "OrderIntent",
    "OrderRefused",
    "OrderTracker",
    "PartialPolicy",
    "StrategyPolicy",
    "TrackerTimeouts",
    "UserFeed",
]
