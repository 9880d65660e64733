"""The one HTTP client of a venue: pooled connections, timeouts, the rate budget, retries, capture.

Every REST call of every service (CLOB, Gamma, Data API) goes through ``HttpClient.call``:

1. wait for the rate budget of the request's families (``budget.RateBudget``);
2. send it on one shared ``httpx.AsyncClient`` (connection pooling, a timeout per request);
3. write the answer to the capture, if one is open;
4. raise ``HttpStatusError`` for any status but 200 and ``NoAnswer`` when there was no answer;
5. when ``retry`` is on, try again on the retryable failures (5xx, 429 with its
   ``Retry-After``, 425, no answer) with full-jitter backoff (``retry.retrying``).

Calls that must not be repeated blindly (a signed order) pass ``retry=False`` and settle an
ambiguous failure themselves. The caller decodes the returned body with the wire types.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import httpx

from polytui.core.clock import Clock, SystemClock, arrival_ms
from polytui.venue.budget import RateBudget
from polytui.venue.capture import CaptureWriter
from polytui.venue.endpoints import Endpoints
from polytui.venue.errors import HttpStatusError, NoAnswer, parse_retry_after
from polytui.venue.retry import NO_RETRY, RetryPolicy, Sleep, retrying

log = logging.getLogger("polytui.venue.http")

DEFAULT_TIMEOUT_S = 5.0  # what the official clients use (httpx's default)
SERVICES = ("clob", "gamma", "data")

Scalar = str | int | float | bool
Params = Mapping[str, Scalar | Sequence[Scalar] | None]  # a sequence repeats the key
Signer = Callable[[str, str, bytes | None], Mapping[str, str]]
"""``sign(method, path, body)``: auth headers for one attempt of one request."""


class HttpClient:
    """Owns the connection pool; ``aclose()`` (or ``async with``) releases it."""

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
        budget: RateBudget | None = None,
        capture: CaptureWriter | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.bases = {"clob": endpoints.clob, "gamma": endpoints.gamma, "data": endpoints.data}
        if endpoints.admin:  # the simulator's control API (the demo reads its leaders)
            self.bases["admin"] = endpoints.admin
        self.policy = policy
        self.budget = budget if budget is not None else RateBudget()
        self.capture = capture
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
            headers={"User-Agent": "polytui", "Accept": "application/json"},
        )
        self.stats: Counter[str] = Counter()  # "requests", "status 429", "retry timeout", ...

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def url(self, service: str, path: str) -> str:
        return self.bases[service] + path

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        sign: Signer | None = None,
        retry: bool = True,
    ) -> bytes:
        """The body of a 200 answer. ``sign(method, path, body)`` (for L2 calls) gives fresh
        auth headers per attempt, so a retried request carries a fresh timestamp."""
        policy = self.policy if retry else NO_RETRY
        async for attempt in retrying(policy, self._rng, self._sleep, self._count_retry):
            with attempt:
                extra = dict(headers or {})
                if sign is not None:
                    extra.update(sign(method, path, body))
                return await self.once(service, method, path, params, body, extra)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def once(
        self,
        service: str,
        method: str,
        path: str,
        params: Params | None,
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> bytes:
        """One attempt: budget, send, capture, classify."""
        await self.budget.spend(service, method, path)
        url = self.url(service, path)
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        self.stats["requests"] += 1
        sent_ms = self._clock.now_ms()
        try:
            response = await self._client.request(
                method, url, params=query, content=body, headers=headers
            )
        except httpx.TransportError as exc:
            error = _no_answer(method, url, exc)
            self.stats[f"no answer {error.kind}"] += 1
            if self.capture is not None:
                self.capture.no_answer(
                    service,
                    arrival_ms(self._clock),
                    method,
                    str(exc.request.url) if _has_request(exc) else url,
                    body.decode("utf-8", "replace") if body else "",
                    error=error.kind,
                    reached=error.reached,
                    sent_ms=sent_ms,
                )
            raise error from None
        except asyncio.CancelledError:
            # Stopped while waiting (the session ends): a record notes the request, so its
            # replay leaves it unanswered too instead of counting it as one it cannot answer.
            if self.capture is not None:
                self.capture.no_answer(
                    service,
                    self._clock.now_ms(),
                    method,
                    str(self._client.build_request(method, url, params=query).url),
                    body.decode("utf-8", "replace") if body else "",
                    error="cancelled",
                    reached=True,
                    sent_ms=sent_ms,
                )
            raise
        text = response.text
        if self.capture is not None:
            self.capture.rest(
                service,
                arrival_ms(self._clock),
                method,
                str(response.request.url),
                response.status_code,
                body.decode("utf-8", "replace") if body else "",
                text,
                sent_ms=sent_ms,
                retry_after=response.headers.get("Retry-After"),
            )
        if response.status_code != 200:
            self.stats[f"status {response.status_code}"] += 1
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self._clock.now_ms() / 1000
            )
            raise HttpStatusError(method, url, response.status_code, text, retry_after)
        return response.content

    def _count_retry(self, error: BaseException, wait_s: float) -> None:
        reason = getattr(error, "kind", None) or getattr(error, "status", "error")
        self.stats[f"retry {reason}"] += 1
        log.info("retrying in %.2f s after: %s", wait_s, error)


def _param(value: Scalar | Sequence[Scalar]) -> str | list[str]:
    if isinstance(value, list | tuple):
        return [_one_param(v) for v in value]
    return _one_param(value)  # type: ignore[arg-type]


def _one_param(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises when the error carries none
    except RuntimeError:
        return False
    return True


def _no_answer(method: str, url: str, exc: httpx.TransportError) -> NoAnswer:
    """Classify a failure without an answer; ``reached`` is False only when the request
    surely never left (the connection was never made, or no pooled connection was free)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return NoAnswer(method, url, "timeout", detail, reached=False)
    if isinstance(exc, httpx.TimeoutException):
        return NoAnswer(method, url, "timeout", detail, reached=True)
    if isinstance(exc, httpx.ConnectError):
        return NoAnswer(method, url, "connect", detail, reached=False)
    return NoAnswer(method, url, "network", detail, reached=True)
