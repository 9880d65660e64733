"""What can go wrong talking to the venue, as types a caller can act on.

``VenueError.retryable`` says whether the same request may simply be sent again: a 5xx, a 429, a
425 (the matching engine restarting) and a request that got no answer are; a 4xx is not. A
signed order is the exception to "retryable": it is never sent twice blindly (see
``trading.ClobTrader.post_order``), and when its fate cannot be learned the caller gets
``OrderOutcomeUnknown`` with the order ids to look up later.

Messages never contain credentials: URLs carry no secrets and request headers are not quoted.
"""

from __future__ import annotations

import email.utils
import math
import time

import msgspec

BODY_SNIPPET = 300  # characters of an error body kept for the message and the log


class VenueError(Exception):
    """Any failure of a venue call."""

    retryable: bool = False


class HttpStatusError(VenueError):
    """The venue answered with a status other than 200.

    ``error`` is the venue's ``{"error": ...}`` message when there is one (else the start of the
    body, which for a Cloudflare 429 is HTML); ``code`` its optional machine code
    (``post_only_mode``); ``retry_after_s`` the wait the venue asked for, if any.
    """

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        body: str,
        retry_after_s: float | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body[:BODY_SNIPPET]
        self.error, self.code, body_retry = _envelope(body)
        self.retry_after_s = retry_after_s if retry_after_s is not None else body_retry
        self.retryable = status in (425, 429) or status >= 500
        super().__init__(f"{method} {url} -> {status}: {self.error or self.body or '(no body)'}")


class NoAnswer(VenueError):
    """The request got no HTTP answer: a timeout, a refused or reset connection.

    ``reached`` says whether the request may have reached the venue (anything but a refused
    connect): for a signed order that is the ambiguous case.
    """

    retryable = True

    def __init__(self, method: str, url: str, kind: str, detail: str, reached: bool) -> None:
        self.method = method
        self.url = url
        self.kind = kind  # "timeout" | "connect" | "network"
        self.reached = reached
        super().__init__(f"{method} {url}: no answer ({kind}: {detail})")


class OrderOutcomeUnknown(VenueError):
    """Orders were sent, the answer was lost, and looking them up did not settle their fate.

    The orders may be live at the venue. Never sign replacements for them: look the ids up
    again later (the order tracker's UNKNOWN state).
    """

    def __init__(self, order_ids: list[str], cause: BaseException) -> None:
        self.order_ids = order_ids
        self.cause = cause
        super().__init__(f"outcome of {len(order_ids)} order(s) unknown after: {cause}")


class _Envelope(msgspec.Struct):
    error: str | None = None
    code: str | None = None
    retry_after_seconds: float | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _envelope(body: str) -> tuple[str | None, str | None, float | None]:
    try:
        env = _ENVELOPE.decode(body)
    except (msgspec.DecodeError, UnicodeEncodeError):
        return None, None, None
    return env.error, env.code, env.retry_after_seconds


def parse_retry_after(value: str | None, now_s: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: either delta seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (now_s if now_s is not None else time.time())
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
