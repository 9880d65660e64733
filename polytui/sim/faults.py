"""Fault settings: what the simulator does wrong on purpose, set at start or at run time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

PROBABILITIES = (
    "drop",
    "dup",
    "reorder",
    "http5xx",
    "http429",
    "stale_rest",
    "order_5xx",
    "order_drop",
    "settle_fail",
)


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Faults:
    drop: float = 0.0  # P(a WS frame is not sent)
    dup: float = 0.0  # P(a WS frame is sent again a few frames later)
    reorder: float = 0.0  # P(a WS frame is sent after the next one)
    freeze: int = 0  # how many tokens silently stop updating while others flow
    disconnect: float = 0.0  # mean simulated seconds between server-side disconnects; 0 never
    http5xx: float = 0.0  # P(a REST answer is a 5xx)
    http429: float = 0.0  # P(a REST answer is a 429 with Retry-After)
    latency_ms: int = 0  # added to every REST answer (mean; 50-150 % of it)
    stale_rest: float = 0.0  # P(a REST book is the one from about a second ago)
    order_5xx: float = 0.0  # P(an accepted order's answer is a 500 anyway: the ambiguous case)
    order_drop: float = 0.0  # P(the connection drops after an order was accepted, no answer)
    user_delay_ms: int = 0  # user-channel events go out this many simulated ms late
    settle_fail: float = 0.0  # P(a trade goes RETRYING -> FAILED instead of MINED -> CONFIRMED)

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """``"drop=0.01,freeze=1,latency_ms=20"`` -> Faults."""
        if not spec:
            return cls()
        values: dict[str, str] = {}
        for part in spec.split(","):
            name, sep, value = part.strip().partition("=")
            if not sep or not name:
                raise FaultSpecError(f"fault {part.strip()!r}: expected NAME=VALUE")
            values[name.strip()] = value.strip()
        return cls().updated(values)

    def updated(self, values: dict[str, object]) -> Faults:
        fields = {f.name: f.type for f in dataclasses.fields(self)}
        changes: dict[str, float | int] = {}
        for name, raw in values.items():
            if name not in fields:
                raise FaultSpecError(f"unknown fault {name!r}; known: {', '.join(fields)}")
            try:
                value: float | int = int(raw) if fields[name] == "int" else float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise FaultSpecError(f"fault {name}: {raw!r} is not a number") from exc
            if value < 0 or (name in PROBABILITIES and value > 1):
                bound = "between 0 and 1" if name in PROBABILITIES else ">= 0"
                raise FaultSpecError(f"fault {name}: {raw!r} must be {bound}")
            changes[name] = value
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)
