"""The order tracker (issue 7): intents -> signed, persisted, posted, tracked orders."""

from polytui.engine.alerts import Alert
from polytui.engine.order_tracker.feed import UserFeed
from polytui.engine.order_tracker.tracker import (
    ApprovedOrder,
    Markets,
    OrderRefused,
    OrderTracker,
    PartialPolicy,
    StrategyPolicy,
    TrackerTimeouts,
)

__all__ = [
    "Alert",
    "Markets",
    "ApprovedOrder",
    "OrderRefused",
    "OrderTracker",
    "PartialPolicy",
    "StrategyPolicy",
    "TrackerTimeouts",
    "UserFeed",
]
