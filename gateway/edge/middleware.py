"""Pure-ASGI middleware for cross-cutting concerns: request id + access log + metrics, and limits."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable

from gateway import observability as obs
from gateway import tracing
from gateway.asgi import ASGIApp, Message, Receive, Scope, Send, header
from gateway.errors import GatewayError, HeadersTooLarge, PayloadTooLarge, UriTooLong

ErrorResponder = Callable[[GatewayError, Scope, Send], Awaitable[None]]

access_log = logging.getLogger("gateway.access")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ExchangeMiddleware:
    """``X-Request-Id`` (honoured when safe, generated otherwise, echoed and forwarded upstream),
    one structured access-log line and the request metrics per HTTP request; no body for HEAD.
    With ``trace_context`` (OpenTelemetry off; on, :class:`gateway.tracing.Tracing` does it with
    its span) the client's ``traceparent`` is kept for the upstream calls and echoed, in this pass."""

    def __init__(self, app: ASGIApp, *, log: bool = True, trace_context: bool = False) -> None:
        self.app = app
        self.log = log
        self.trace_context = trace_context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = given if given and _SAFE_ID.fullmatch(given) else obs.new_request_id()
        exchange = obs.Exchange(request_id)
        token = obs.CURRENT.set(exchange)
        status = 0
        added = [(b"x-request-id", request_id.encode())]
        if self.trace_context and (carrier := tracing.carried(scope)):
            exchange.trace_headers = carrier
            added.insert(0, (b"traceparent", carrier["traceparent"].encode()))

        head = scope["method"] == "HEAD"

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added]
            elif head and message.get("body"):  # HEAD: what GET would answer, Content-Length too, no body
                message = {**message, "body": b""}
            await send(message)

        answered = False
        try:
            await self.app(scope, receive, send_with_id)
            answered = True
        finally:
            obs.CURRENT.reset(token)
            # No answer started: 499 (nginx's "client closed request") when the app returned, since
            # it only does that for a client that left; 500 when it raised.
            self._finish(scope, exchange, status or (499 if answered else 500))

    def _finish(self, scope: Scope, exchange: obs.Exchange, status: int) -> None:
        duration = time.perf_counter() - exchange.started
        method = scope["method"]
        counter, histogram = obs.request_children(exchange.route, method, str(status))
        counter.inc()
        histogram.observe(duration)
        if self.log and access_log.isEnabledFor(logging.INFO):
            fields: dict[str, object] = {
                "request_id": exchange.request_id,
                "method": method,
                "route": exchange.route,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                "upstream_calls": exchange.upstream_calls,
                "upstream_ms": round(exchange.upstream_seconds * 1000, 3),
            }
            if not obs.write_access(fields):
                # A record made directly: ``info`` would walk the stack for a caller no formatter shows.
                record = access_log.makeRecord(
                    access_log.name, logging.INFO, __file__, 0, "access", (), None, extra={"access": fields}
                )
                access_log.handle(record)


class LimitMiddleware:
    """413 for a body over the limit (from Content-Length, or counted while it streams, never read to
    its end), 414 for a long URL, 431 for large headers: all as legacy ``<RestException>``."""

    def __init__(
        self,
        app: ASGIApp,
        respond: ErrorResponder,
        *,
        max_body: int,
        max_url: int,
        max_headers: int,
    ) -> None:
        self.app = app
        self.respond = respond
        self.max_body = max_body
        self.max_url = max_url
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) > self.max_url:
            await self.respond(UriTooLong(), scope, send)
            return
        size, length, chunked = 0, None, False
        for name, value in scope.get("headers", ()):  # one pass: the headers' size and the body's
            size += len(name) + len(value) + 4
            if name == b"content-length" and length is None:
                length = bytes(value).decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = True
        if size > self.max_headers:
            await self.respond(HeadersTooLarge(), scope, send)
            return
        declared = length or ""
        digits = declared.lstrip("0") if declared.isascii() and declared.isdigit() else ""
        if len(digits) > 18 or (digits and int(digits) > self.max_body):
            await self.respond(PayloadTooLarge(), scope, send)
            return
        if length is None and not chunked:  # HTTP/1.1: a request with neither has no body to count
            await self.app(scope, receive, send)
            return
        seen = 0
        limit = self.max_body

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge()
            return message

        await self.app(scope, counted, send)
