"""Copy-trading: follow leader wallets, copy the intent of their trades, not each fill.

    params = CopyParams.of(settings.copytrade, settings.risk)
    feed = LeaderFeed(DataApiSource(data_api, clock), params.leaders.values(), params.feed,
                      clock, sink=queue.put_nowait)
    trader = CopyTrader(params, on_record=...)

``LeaderFeed`` (I/O through the ``FillSource`` port) turns leader fills into deltas,
snapshots and scores; ``CopyTrader`` (pure) turns them into order intents and "why not
copied" records. See each module for the rules.
"""

from polytui.strategies.copytrade.aggregate import Aggregator, DeltaKind, LeaderBook, LeaderDelta
from polytui.strategies.copytrade.copier import CopyRecord, CopyTrader, Outcome
from polytui.strategies.copytrade.feed import FeedItem, LeaderFeed, LeaderSnapshot
from polytui.strategies.copytrade.fills import LeaderFill
from polytui.strategies.copytrade.params import CopyParams, FeedParams, LeaderParams, ScoreParams
from polytui.strategies.copytrade.scoring import LeaderScore, estimate_cash, score_leader
from polytui.strategies.copytrade.source import DataApiReads, DataApiSource, FillSource
from polytui.strategies.copytrade.watermark import Watermark

__all__ = [
    "Aggregator",
    "CopyParams",
    "CopyRecord",
    "CopyTrader",
    "DataApiReads",
    "DataApiSource",
    "DeltaKind",
    "FeedItem",
    "FeedParams",
    "FillSource",
    "LeaderBook",
    "LeaderDelta",
    "LeaderFeed",
    "LeaderFill",
    "LeaderParams",
    "LeaderScore",
    "LeaderSnapshot",
    "Outcome",
    "ScoreParams",
    "Watermark",
    "estimate_cash",
    "score_leader",
]
