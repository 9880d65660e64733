"""Seeded generation of realistic binary markets and their static description."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

CATEGORIES: dict[str, list[str]] = {
    "Politics": [
        "the incumbent",
        "the challenger",
        "the coalition",
        "the senate bill",
        "the mayor",
    ],
    "Sports": ["the Lakers", "Arsenal", "the Yankees", "Djokovic", "the Chiefs", "Real Madrid"],
    "Crypto": ["BTC", "ETH", "SOL", "DOGE", "XRP"],
    "Economics": ["US CPI", "the Fed rate", "unemployment", "the ECB rate", "GDP growth"],
    "Weather": ["Paris", "New York", "Tokyo", "London", "Chicago"],
    "Tech": ["Apple", "OpenAI", "Nvidia", "Tesla", "SpaceX"],
}
TEMPLATES: dict[str, list[str]] = {
    "Politics": ["Will {s} win the vote?", "Will {s} lead the next poll?", "Will {s} resign?"],
    "Sports": ["Will {s} win their next game?", "Will {s} win the title?", "Will {s} score 3+?"],
    "Crypto": ["Will {s} close above its 30-day high?", "Will {s} be up on the day?"],
    "Economics": ["Will {s} come in above consensus?", "Will {s} be cut at the next meeting?"],
    "Weather": ["Will it rain in {s} tomorrow?", "Will {s} hit 30C this week?"],
    "Tech": ["Will {s} announce a new product?", "Will {s} stock close green?"],
}


def hex32(rng: random.Random) -> str:
    return "0x" + f"{rng.getrandbits(256):064x}"


def token_id(rng: random.Random) -> str:
    return str(rng.randrange(10**76, 10**77))  # 77 digits, like real uint256 ids


@dataclass(slots=True)
class Market:
    gamma_id: str
    condition_id: str
    question_id: str
    question: str
    slug: str
    category: str
    event_id: str
    event_slug: str
    event_title: str
    yes_token: str
    no_token: str
    tick: int  # price units
    neg_risk: bool
    neg_risk_market_id: str
    created_ms: int
    end_ms: int
    fair: float  # the synthetic traders' belief of P(YES)
    base_volume: float
    min_size: int = 5
    active: bool = True
    closed: bool = False
    archived: bool = False
    accepting_orders: bool = True
    enable_order_book: bool = True
    uma_status: str = ""
    winner: str | None = None
    closed_ms: int | None = None
    updated_ms: int = 0
    volume: float = 0.0  # traded notional since start
    volume_by_hour: dict[int, float] = field(default_factory=dict)

    @property
    def tokens(self) -> tuple[str, str]:
        return self.yes_token, self.no_token

    @property
    def tradable(self) -> bool:
        return (
            self.active
            and not self.closed
            and not self.archived
            and self.enable_order_book
            and self.accepting_orders
        )

    def is_yes(self, token: str) -> bool:
        return token == self.yes_token

    def add_volume(self, now_ms: int, notional: float) -> None:
        self.volume += notional
        hour = now_ms // HOUR
        self.volume_by_hour[hour] = self.volume_by_hour.get(hour, 0.0) + notional
        for old in [h for h in self.volume_by_hour if h < hour - 24 * 30]:
            del self.volume_by_hour[old]

    def volume_since(self, now_ms: int, hours: int) -> float:
        first = now_ms // HOUR - hours + 1
        return sum(v for h, v in self.volume_by_hour.items() if h >= first)


class MarketFactory:
    """Makes markets from one seeded generator, so a seed always yields the same universe."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._next_gamma_id = 500_000
        self._next_event_id = 20_000

    def _lifetime(self) -> int:
        r = self.rng.random()
        if r < 0.2:
            return self.rng.randint(5, 60) * MINUTE
        if r < 0.5:
            return self.rng.randint(1, 24) * HOUR
        return self.rng.randint(1, 30) * DAY

    def _fair(self) -> float:
        r = self.rng.random()
        if r < 0.1:
            return self.rng.choice([0.055, 0.945])  # near the edges: a tick change is coming
        return self.rng.uniform(0.15, 0.85)

    def event(self, now_ms: int, size: int) -> list[Market]:
        """One event of ``size`` markets; several markets make a neg-risk event."""
        rng = self.rng
        self._next_event_id += 1
        category = rng.choice(sorted(CATEGORIES))
        subjects = rng.sample(CATEGORIES[category], k=min(size, len(CATEGORIES[category])))
        template = rng.choice(TEMPLATES[category])
        neg_risk = size > 1
        event_id = str(self._next_event_id)
        title = template.format(s="who").replace("Will who", "Who will") if neg_risk else ""
        neg_risk_market_id = hex32(rng) if neg_risk else ""
        end_ms = now_ms + self._lifetime()
        markets = []
        for subject in subjects:
            self._next_gamma_id += 1
            question = template.format(s=subject)
            slug = "-".join(question.lower().rstrip("?").replace("+", "").split()) + f"-{event_id}"
            markets.append(
                Market(
                    gamma_id=str(self._next_gamma_id),
                    condition_id=hex32(rng),
                    question_id=hex32(rng),
                    question=question,
                    slug=slug,
                    category=category,
                    event_id=event_id,
                    event_slug=slug if not neg_risk else f"{category.lower()}-event-{event_id}",
                    event_title=title or question,
                    yes_token=token_id(rng),
                    no_token=token_id(rng),
                    tick=rng.choice([100, 100, 100, 10]),
                    neg_risk=neg_risk,
                    neg_risk_market_id=neg_risk_market_id,
                    created_ms=now_ms,
                    end_ms=end_ms,
                    fair=self._fair() if not neg_risk else rng.uniform(0.05, 0.6),
                    base_volume=round(10 ** rng.uniform(3, 6.5), 2),
                    updated_ms=now_ms,
                )
            )
        return markets

    def universe(self, now_ms: int, count: int) -> list[Market]:
        markets: list[Market] = []
        while len(markets) < count:
            size = 3 if self.rng.random() < 0.25 and count - len(markets) >= 3 else 1
            markets.extend(self.event(now_ms, size))
        return markets
