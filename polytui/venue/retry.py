"""When and how long to wait before trying a failed venue call again.

The policy is data (``RetryPolicy``), the waits are a pure function (``wait_s``), and the loop
is tenacity's: ``retrying(policy, rng, sleep)`` gives an ``AsyncRetrying`` that retries only
``VenueError``s marked retryable, honours the venue's ``Retry-After`` and otherwise backs off
exponentially with full jitter under a cap. The random generator and the sleep are injected,
so a test or a replay sees the same waits every run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from polytui.venue.errors import HttpStatusError, VenueError

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first one included
    base_s: float = 0.25  # the first backoff is drawn from [0, base_s]
    cap_s: float = 8.0  # no backoff is longer than this
    max_retry_after_s: float = 30.0  # a venue asking for a longer wait fails the call instead

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")
        if self.base_s < 0 or self.cap_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("retry waits must be >= 0")


NO_RETRY = RetryPolicy(attempts=1)


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]; ``attempt`` counts from 1."""
    ceiling = min(cap_s, base_s * 2 ** min(attempt - 1, 62))
    return rng.uniform(0.0, ceiling)


def wait_s(
    policy: RetryPolicy, attempt: int, error: BaseException | None, rng: random.Random
) -> float:
    """The wait after failed attempt number ``attempt``: the venue's ``Retry-After`` if it
    gave one, else the jittered backoff."""
    if isinstance(error, HttpStatusError) and error.retry_after_s is not None:
        return error.retry_after_s
    return backoff_s(attempt, policy.base_s, policy.cap_s, rng)


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, VenueError) and error.retryable


def _asks_too_long(policy: RetryPolicy, error: BaseException | None) -> bool:
    return (
        isinstance(error, HttpStatusError)
        and error.retry_after_s is not None
        and error.retry_after_s > policy.max_retry_after_s
    )


def retrying(
    policy: RetryPolicy,
    rng: random.Random,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> AsyncRetrying:
    """``async for attempt in retrying(...): with attempt: ...``; the last error is re-raised.

    ``on_retry(error, wait_s)`` is called before each wait (for counters and logs).
    """

    def stop(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        return state.attempt_number >= policy.attempts or _asks_too_long(policy, error)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return wait_s(policy, state.attempt_number, error, rng)

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            on_retry(state.outcome.exception(), state.next_action.sleep)

    return AsyncRetrying(
        sleep=sleep,
        stop=stop,
        wait=wait,
        retry=retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
