"""The one HTTP client to the upstream hosts: deadline, retries, circuit breaker, host allow-list,
answers the gateway can use.

Only the configured hosts are ever called: a relative target is joined to its host's base URL, and an
absolute one (a ``next_page_url``) must have exactly that base's scheme, host and port, otherwise
:class:`BadGateway` — credentials never follow a link elsewhere. Idempotent requests (GET, DELETE) are
retried on 502/503/504 and on failures before the request left (``connecting``: DNS, refused, TLS,
connect timeout) with exponential backoff and full jitter, honouring ``Retry-After``; never after the
request may have reached the upstream (a connection lost after sending, a read timeout). A POST is
never retried (a validation request places a phone call).

One deadline per legacy request (:func:`deadline`, set by the app when a legacy request starts): every
call made for it — each attempt, each wait for a pool slot, each list page — ends by then (504).

Each host has a breaker (:mod:`gateway.upstream.breaker`) that opens after consecutive *host*
failures — no connection, no answer in time, or 502/503/504 — and lets a few probe calls through after
a short wait that grows while the host stays down. Any other answer, a 500 or a Twilio error about one
request included, is about that request, not the host (docs/operations.md).

Answers the gateway cannot relay are 502: a final 1xx or 3xx, a status outside 100–599, a body over
``GATEWAY_MAX_UPSTREAM_BODY_BYTES``. The credentials sent with a request are removed from an error
answer's body before anything reads it, so no upstream echo of them reaches a client in a
``<RestException>``, a log or a HAR file.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from gateway import observability as obs
from gateway import tracing
from gateway.errors import (
    BadGateway,
    GatewayTimeout,
    Unauthorized,
    UpstreamRestError,
)
from gateway.redaction import credentials_in, scrub
from gateway.settings import Settings
from gateway.upstream.breaker import Breaker
from gateway.upstream.media import MediaClient, MediaReply
from gateway.upstream.senders import sender
from gateway.upstream.transport import Busy, Oversized, RawResponse, Timeout, Unreachable

RETRY_STATUSES = frozenset({502, 503, 504})
HOST_FAILURES = RETRY_STATUSES
IDEMPOTENT = frozenset({"GET", "DELETE", "HEAD"})
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
"""Nothing that could split a request line: an upstream's next-page link is untrusted input."""

DEADLINE: ContextVar[float | None] = ContextVar("upstream_deadline", default=None)
"""The monotonic time by which the current legacy request's upstream calls must be done."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every upstream call made inside (in this task and the tasks it starts) ends within ``seconds``."""
    token = DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        DEADLINE.reset(token)


Reply = RawResponse
"""status, headers (lower-case names), body."""


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
            max_body=settings.max_upstream_body_bytes,
            use_httpx=settings.upstream_client == "httpx",
        )
        self.media = MediaClient(self.sender, hosts=settings.media_hosts)

    async def aclose(self) -> None:
        await self.sender.aclose()

    async def probe(self, host: str, timeout: float) -> str:
        """Readiness: does the host answer HTTP at all (any status)? No credentials are sent."""
        url = self.bases[host] + "/"
        try:
            await self.sender.send("GET", url, {}, None, deadline=time.monotonic() + timeout, timeout=timeout)
        except Timeout:
            return "timeout"
        except Unreachable:
            return "unreachable"
        except Oversized:
            pass  # it answered
        return "reachable"

    def resolve(self, host: str, target: str) -> str:
        base = self.bases[host]
        if not target.isascii() or _UNSAFE.search(target):
            raise BadGateway("The upstream API pointed to a page whose address is not valid")
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
        with tracing.upstream_span(host, method, endpoint, sent) as span:
            reply = await self._attempts(
                self.breakers[host], method, url, endpoint, sent, content, self._deadline()
            )
            span.answered(reply.status)
        return _scrubbed(usable(reply), authorization)

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
        """A GET whose body is streamed, not read (:mod:`gateway.upstream.media`), through the same client as
        :meth:`send`; one attempt, under the host's breaker. The deadline bounds reaching the answer;
        the body takes as long as the client reads, each chunk within the read timeout."""
        url = self.resolve(host, target)
        sent = {"Accept": "*/*", **(headers or {})}
        if request_id:
            sent["X-Request-Id"] = request_id
        if authorization:
            sent["Authorization"] = authorization
        breaker = self.breakers[host]
        ticket = breaker.before()
        started = time.perf_counter()
        try:
            with tracing.upstream_span(host, "GET", endpoint, sent) as span:
                reply = await self.media.get(url, sent, self._deadline())
                span.answered(reply.status)
        except (BadGateway, GatewayTimeout) as exc:
            self._observe(endpoint, "GET", "timeout" if isinstance(exc, GatewayTimeout) else "error", started)
            breaker.failure(ticket)
            raise
        except BaseException:
            breaker.abandon(ticket)
            raise
        self._observe(endpoint, "GET", str(reply.status), started)
        if reply.status in HOST_FAILURES:
            breaker.failure(ticket)
        else:
            breaker.success(ticket)
        return reply

    def _deadline(self) -> float:
        """The legacy request's deadline, at most ``GATEWAY_TOTAL_TIMEOUT`` from now."""
        ends = time.monotonic() + self.settings.total_timeout
        request_deadline = DEADLINE.get()
        return ends if request_deadline is None else min(ends, request_deadline)

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
        """Attempts share one deadline (the legacy request's, at most ``GATEWAY_TOTAL_TIMEOUT`` from now):
        each gets what is left of it, at most the read timeout for the answer and its whole body, the
        wait for a pool slot included; a retry whose wait would pass it is not made."""
        idempotent = method in IDEMPOTENT
        attempts = 1 + (self.settings.retries if idempotent else 0)
        for attempt in range(attempts):
            if deadline <= time.monotonic():
                raise GatewayTimeout()
            ticket = breaker.before()
            started = time.perf_counter()
            try:
                reply = await self.sender.send(
                    method, url, headers, body, deadline=deadline, timeout=self.settings.read_timeout
                )
            except Oversized:
                self._observe(endpoint, method, "oversized", started)
                breaker.success(ticket)
                raise BadGateway(
                    "The upstream API answered with a body larger than the gateway accepts"
                ) from None
            except Busy:
                self._observe(endpoint, method, "busy", started)
                breaker.abandon(ticket)
                raise GatewayTimeout() from None
            except (Timeout, Unreachable) as exc:
                self._observe(endpoint, method, "timeout" if isinstance(exc, Timeout) else "error", started)
                breaker.failure(ticket)
                if exc.connecting and await self._backoff(attempt, attempts, None, deadline):
                    continue
                raise (GatewayTimeout() if isinstance(exc, Timeout) else BadGateway()) from None
            except BaseException:
                breaker.abandon(ticket)  # cancelled: a probe cut short must not hold its slot for good
                raise
            self._observe(endpoint, method, str(reply.status), started)
            if reply.status in HOST_FAILURES:
                breaker.failure(ticket)
            else:
                breaker.success(ticket)
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


def usable(reply: Reply) -> Reply:
    """The reply, if its status is one a legacy client may see: a final 2xx, 4xx or 5xx."""
    if reply.status < 200 or reply.status > 599:
        raise BadGateway(f"The upstream API answered with status {reply.status}, which is not valid")
    if 300 <= reply.status < 400:
        raise BadGateway(f"The upstream API answered with a redirect (status {reply.status})")
    return reply


def _scrubbed(reply: Reply, authorization: str | None) -> Reply:
    """An error answer without the credentials it was sent with. A success is the resource itself:
    an Account's own ``auth_token`` is part of it, as it was in 2008."""
    if reply.status < 300 or not reply.body:
        return reply
    secrets = credentials_in(authorization)
    if not secrets:
        return reply
    body = scrub(reply.body, secrets)
    return reply if body is reply.body else Reply(reply.status, reply.headers, body)


Parse = Callable[[bytes], Any]
"""Reads a success's body, answering :class:`BadGateway` for one it cannot read."""


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadGateway("The upstream API answered with a body that is not JSON") from None


def decode(reply: Reply, parse: Parse = parse_json) -> Any:
    """A success's JSON object (``None`` for 204 or no body), else the error the reply stands for."""
    if 200 <= reply.status < 300:
        if reply.status == 204 or not reply.body:
            return None
        body = parse(reply.body)
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
