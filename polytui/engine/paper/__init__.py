"""Paper mode (``polytui --paper``): the venue's market data, orders filled locally."""

from polytui.engine.paper.credentials import PaperCredentials
from polytui.engine.paper.venue import PaperRejected, PaperUserStream, PaperVenue

__all__ = ["PaperCredentials", "PaperRejected", "PaperUserStream", "PaperVenue"]
