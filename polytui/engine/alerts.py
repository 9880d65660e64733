"""Alerts: something a person should know about, raised by an engine component.

Components take an ``alert`` callable and call it with an ``Alert``; the kernel publishes each
one on the engine bus (the headless log prints it, the UI shows it, the ops layer may post
it to a webhook) and keeps the last few for ``polytui status``. An alert never carries a
secret: it names orders, trades and assets by their public ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    """What happened, as a short stable word: ``order_unknown``, ``fill_stuck``, ``drift``..."""
    key: str
    """What it is about (an order id, a trade id, an asset): one alert per kind and key."""
    message: str


AlertSink = Callable[[Alert], None]


def ignore(_alert: Alert) -> None:
    """The default sink of a component built without one (tests, tools)."""
