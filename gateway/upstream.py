"""The one HTTP client to the upstream hosts: timeouts, retries, circuit breaker, host allow-list.

Only the configured hosts are ever called: a relative target is joined to its host's base URL, and an
absolute one (a ``next_page_url``) must have exactly that base's scheme, host and port, otherwise
:class:`BadGateway` — credentials never follow a link elsewhere. Idempotent requests (GET, DELETE) are
retried on connect errors and 502/503/504 with exponential backoff and full jitter, honouring
``Retry-After``; a POST is never retried (a validation request places a phone call). Each host has a
breaker that opens after consecutive failures and lets one trial call through after a cool-down.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from . import observability as obs
from . import tracing
from .errors import (
    BadGateway,
    GatewayTimeout,
    ServiceUnavailable,
    Unauthorized,
    UpstreamRestError,
)
from .media import MediaClient, MediaReply
from .settings import Settings
from .transport import RawResponse, Timeout, Unreachable, sender

RETRY_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT = frozenset({"GET", "DELETE", "HEAD"})


Reply = RawResponse
"""status, headers (lower-case names), body."""


class Breaker:
    """Closed → open after ``threshold`` consecutive failures → half-open after ``cooldown``."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cooldown else "open"

    def before(self) -> None:
        state = self.state
        if state == "open" or (state == "half-open" and self.trial_running):
            raise ServiceUnavailable()
        if state == "half-open":
            self.trial_running = True

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_running = False

    def failure(self) -> None:
        self.failures += 1
        self.trial_running = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class Upstream:
    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.bases = {"api": settings.upstream, "trunking": settings.trunking_upstream}
        if settings.legacy_upstream:
            self.bases["legacy"] = settings.legacy_upstream
        self.origins = {host: _origin(base) for host, base in self.bases.items()}
        self.breakers = {
            host: Breaker(settings.breaker_threshold, settings.breaker_cooldown) for host in self.bases
        }
        self._sleep = sleep
        self._rand = rand
        self.sender = sender(
            transport,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            limit=settings.pool_max_connections,
            keepalive=settings.pool_max_keepalive,
            use_httpx=settings.upstream_client == "httpx",
        )
        self.media = MediaClient(
            transport,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            hosts=settings.media_hosts,
        )

    async def aclose(self) -> None:
        await self.sender.aclose()
        await self.media.aclose()

    async def probe(self, host: str, timeout: float) -> str:
        """Readiness: does the host answer HTTP at all (any status)? No credentials are sent."""
        try:
            await self.sender.send("GET", self.bases[host] + "/", {}, None, idempotent=True, timeout=timeout)
        except Timeout:
            return "timeout"
        except Unreachable:
            return "unreachable"
        return "reachable"

    def resolve(self, host: str, target: str) -> str:
        base = self.bases[host]
        if target.startswith("/") and not target.startswith("//"):
            return base + target
        if _origin(target) != self.origins[host]:
            raise BadGateway("The upstream API pointed to a page on a host that is not configured")
        return target

    async def send(
        self,
        host: str,
        method: str,
        target: str,
        *,
        endpoint: str,
        params: Sequence[tuple[str, str]] | None = None,
        form: Mapping[str, str] | None = None,
        authorization: str | None = None,
        request_id: str | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """``headers`` replaces the default ones (Accept, X-Request-Id) — for a verbatim forward."""
        url = self.resolve(host, target)
        if headers is None:
            sent = {"Accept": "application/json"}
            if request_id:
                sent["X-Request-Id"] = request_id
        else:
            sent = dict(headers)
        if authorization:
            sent["Authorization"] = authorization
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        if form is not None:
            content = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        deadline = time.monotonic() + self.settings.total_timeout
        with tracing.upstream_span(host, method, endpoint, sent) as span:
            reply = await self._attempts(self.breakers[host], method, url, endpoint, sent, content, deadline)
            span.answered(reply.status)
        return reply

    async def stream(
        self,
        host: str,
        target: str,
        *,
        endpoint: str,
        authorization: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> MediaReply:
        """A GET whose body is streamed, not read (:mod:`gateway.media`); one attempt, under the host's
        breaker. The deadline bounds reaching the answer; the body takes as long as the client reads."""
        url = self.resolve(host, target)
        sent = {"Accept": "*/*", **(headers or {})}
        if request_id:
            sent["X-Request-Id"] = request_id
        if authorization:
            sent["Authorization"] = authorization
        breaker = self.breakers[host]
        breaker.before()
        started = time.perf_counter()
        try:
            with tracing.upstream_span(host, "GET", endpoint, sent) as span:
                reply = await self.media.get(url, sent, time.monotonic() + self.settings.total_timeout)
                span.answered(reply.status)
        except (BadGateway, GatewayTimeout) as exc:
            self._observe(endpoint, "GET", "timeout" if isinstance(exc, GatewayTimeout) else "error", started)
            breaker.failure()
            raise
        self._observe(endpoint, "GET", str(reply.status), started)
        if reply.status >= 500:
            breaker.failure()
        else:
            breaker.success()
        return reply

    async def _attempts(
        self,
        breaker: Breaker,
        method: str,
        url: str,
        endpoint: str,
        headers: dict[str, str],
        body: bytes | None,
        deadline: float,
    ) -> Reply:
        """Attempts share one deadline (``GATEWAY_TOTAL_TIMEOUT``): each gets what is left of it, at
        most the read timeout, and a retry whose wait would pass it is not made."""
        idempotent = method in IDEMPOTENT
        attempts = 1 + (self.settings.retries if idempotent else 0)
        for attempt in range(attempts):
            breaker.before()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GatewayTimeout()
            started = time.perf_counter()
            try:
                reply = await self.sender.send(
                    method,
                    url,
                    headers,
                    body,
                    idempotent=idempotent,
                    timeout=min(self.settings.read_timeout, remaining),
                )
            except (Timeout, Unreachable) as exc:
                self._observe(endpoint, method, "timeout" if isinstance(exc, Timeout) else "error", started)
                breaker.failure()
                if exc.connecting and await self._backoff(attempt, attempts, None, deadline):
                    continue
                raise (GatewayTimeout() if isinstance(exc, Timeout) else BadGateway()) from None
            self._observe(endpoint, method, str(reply.status), started)
            if reply.status >= 500:
                breaker.failure()
            else:
                breaker.success()
            if reply.status in RETRY_STATUSES and await self._backoff(
                attempt, attempts, retry_after(reply.headers), deadline
            ):
                continue
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    async def _backoff(self, attempt: int, attempts: int, hinted: float | None, deadline: float) -> bool:
        """Wait before the next attempt; ``False`` when there is none to make."""
        if attempt == attempts - 1:
            return False
        wait = self._delay(attempt, hinted)
        if time.monotonic() + wait >= deadline:
            return False
        await self._sleep(wait)
        return True

    def _delay(self, attempt: int, hinted: float | None) -> float:
        ceiling = min(self.settings.retry_max_backoff, math.ldexp(self.settings.retry_backoff, attempt))
        jittered = ceiling * self._rand()
        return max(jittered, hinted) if hinted is not None else jittered

    def _observe(self, endpoint: str, method: str, status: str, started: float) -> None:
        obs.upstream_call(endpoint, method, status, time.perf_counter() - started)


def decode(reply: Reply) -> Any:
    if 200 <= reply.status < 300:
        if reply.status == 204 or not reply.body:
            return None
        try:
            body = orjson.loads(reply.body)
        except orjson.JSONDecodeError:
            raise BadGateway("The upstream API answered with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise BadGateway("The upstream API answered with an unexpected body")
        return body
    raise error_of(reply)


def error_of(reply: Reply) -> Exception:
    try:
        body = orjson.loads(reply.body) if reply.body else None
    except orjson.JSONDecodeError:
        body = None
    if reply.status == 401:
        message = body.get("message") if isinstance(body, dict) else None
        return Unauthorized(str(message) if message else None)
    if isinstance(body, dict) and "message" in body:
        code = body.get("code")
        more = body.get("more_info")
        return UpstreamRestError(
            str(body["message"]),
            code=code if isinstance(code, int) else None,
            status=reply.status,
            more_info=str(more) if more else None,
        )
    if reply.status >= 500:
        return BadGateway(f"The upstream API failed with status {reply.status}")
    return UpstreamRestError(f"The upstream API answered with status {reply.status}", status=reply.status)
