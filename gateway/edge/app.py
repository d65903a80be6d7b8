"""The ASGI application: legacy URL space, health and metrics, middleware, lifespan.

One upstream client per process, opened in the lifespan (or injected for tests through
``transport``). Everything below ``/2008-08-01/`` (after duplicate slashes are folded) is the legacy
API; ``/healthz``, ``/readyz`` and ``/metrics`` live outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import observability as obs
from gateway import resources
from gateway.asgi import Receive, Scope, Send, header
from gateway.dialect import legacy, render
from gateway.edge.answers import (
    CHALLENGE,
    ClientDisconnected,
    answer_error,
    read_body,
    send_bare,
    send_bytes,
    send_error,
    until_disconnected,
)
from gateway.edge.compression import compressed
from gateway.edge.middleware import ExchangeMiddleware, LimitMiddleware
from gateway.errors import BadRequest, GatewayError, NotFound, ServiceUnavailable
from gateway.hooks.endpoint import Hooks
from gateway.hooks.endpoint import start as start_hooks
from gateway.lists.cache import create_store
from gateway.lists.views import Lists
from gateway.migration.har import HarWriter, RecordMiddleware
from gateway.migration.shadow import Shadow
from gateway.resources import LEGACY_PREFIX
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.settings_values import CALLBACK_TIMEOUT_LIMIT
from gateway.tracing import traced
from gateway.upstream.client import Upstream, deadline, usable

log = logging.getLogger("gateway.app")


def declared(raw_path: str) -> bool:
    """Whether a legacy path belongs to a declared resource (suffix and slashes tolerated)."""
    below, _ = legacy.suffix(legacy.normalise_path(raw_path)[len(LEGACY_PREFIX) :].rstrip("/"))
    return resources.match(below) is not None


def raw_path(scope: Scope) -> str:
    """The path as the client sent it (percent-encoding kept)."""
    return bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")


class GatewayApp:
    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        shadow_transport: httpx.AsyncBaseTransport | None = None,
        recorder: HarWriter | None = None,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.shadow_transport = shadow_transport
        self.recorder = recorder
        self.gateway: Gateway | None = None
        self.hooks: Hooks | None = None
        self.shadow: Shadow | None = None
        self._ready: tuple[float, bool, dict[str, str]] | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        upstream = Upstream(self.settings, self.transport)
        store = create_store(
            self.settings.cache_url.get() if self.settings.cache_url else None,
            self.settings.list_cache_max_lists,
            self.settings.list_cache_max_items,
        )
        lists = Lists(
            store,
            ttl=self.settings.list_cache_ttl,
            count_timeout=self.settings.list_count_timeout,
            total_timeout=self.settings.total_timeout,
        )
        self.hooks = start_hooks(self.settings, store, upstream)
        self.gateway = Gateway(self.settings, upstream, lists)
        if self.hooks is not None:
            self.gateway.callbacks = self.hooks.wrap
        if self.settings.shadow_legacy_upstream:
            self.shadow = Shadow(self.settings, self.shadow_transport)
        try:
            yield
        finally:
            self.gateway = None
            if self.hooks is not None:
                await self.hooks.aclose()
                self.hooks = None
            await upstream.aclose()
            await store.aclose()
            if self.shadow is not None:
                await self.shadow.aclose()
                self.shadow = None
            if self.recorder is not None:
                self.recorder.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = legacy.normalise_path(scope["path"])
        try:
            if path.startswith(LEGACY_PREFIX + "/"):
                legacy.check_segments(raw_path(scope))
                await self._legacy(scope, receive, send)
            elif path in ("/healthz", "/readyz", "/metrics"):
                await self._operational(path, send)
            elif self.hooks is not None and (below := self.hooks.below(path)) is not None:
                await self._hook(self.hooks, below, scope, receive, send)
            else:
                raise NotFound()
        except GatewayError as exc:
            answer = await answer_error(exc, scope, send)
            if self.shadow is not None and self._shadowable(scope, path):
                self._shadow(self.shadow, scope, answer)
        except ClientDisconnected:
            return
        except asyncio.CancelledError:
            await self._cancelled(scope, send)
        except Exception:
            # A bug: the client still gets a legacy 500 (never a stack trace); the log gets the trace.
            log.exception("unexpected error answering %s %s", scope["method"], path)
            with contextlib.suppress(RuntimeError):  # the response may have started already
                await send_error(GatewayError("The gateway failed to answer this request"), scope, send)

    async def _cancelled(self, scope: Scope, send: Send) -> None:
        """The server cancels requests still running when ``--shutdown-timeout`` is over: each gets a
        503 (if its answer had not started) and one log line, and the server no traceback."""
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        exchange = obs.CURRENT.get()
        log.warning(
            "answered 503: %s %s was still running when the shutdown timeout ran out",
            scope["method"],
            exchange.route if exchange else "unmatched",
        )
        with contextlib.suppress(RuntimeError):  # the answer may have started already
            await send_error(
                ServiceUnavailable("The gateway is shutting down; retry the request"), scope, send
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        stack = contextlib.AsyncExitStack()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await stack.enter_async_context(self.lifespan())
                except Exception as exc:  # pragma: no cover - reported to the server
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _legacy(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        if gateway is None:
            raise GatewayError("The gateway is not started", status=503)
        with deadline(self.settings.total_timeout):
            await self._legacy_within(gateway, scope, receive, send)

    async def _legacy_within(self, gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, self.settings.client_timeout)
        if self.settings.legacy_upstream and not declared(scope["path"]):
            await self._forward(gateway, scope, body, send)
            return
        request = legacy.parse(
            "GET" if scope["method"] == "HEAD" else scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            body,
            header(scope, b"content-type") or "",
            header(scope, b"authorization"),
            header(scope, b"range"),
            header(scope, b"if-range"),
        )
        call = gateway.resolve(request)
        if call.operation.action == "list":
            # Only a list read may walk for long: it is cancelled when its client leaves.
            found = await until_disconnected(receive, gateway.dispatch(call))
            if found is None:  # the client left: its list walk was cancelled; 499 for the access log
                await send_bytes(send, 499, b"", None)
                return
            outcome = found
        else:
            outcome = await gateway.dispatch(call)
        if outcome.bare is not None:
            await send_bare(send, outcome.status, outcome.bare)
            return
        if outcome.document is None:
            await send_bytes(send, outcome.status, b"", None)
            return
        payload, content_type = render.render(
            outcome.document,
            request.fmt,
            outcome.status,
            outcome.columns,
            formula_escape=self.settings.csv_formula_escape,
        )
        location = [(b"location", outcome.location.encode())] if outcome.location else None
        await send_bytes(send, outcome.status, payload, content_type, location)
        if self.shadow is not None:
            self._shadow(self.shadow, scope, (outcome.status, content_type, payload))

    async def _hook(self, hooks: Hooks, below: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A callback from Twilio (gateway/hooks/endpoint.py); its answer is Twilio's, not a legacy one."""
        body = await read_body(receive)
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        signed = header(scope, b"x-twilio-signature")
        with deadline(CALLBACK_TIMEOUT_LIMIT):
            answer = await hooks.endpoint.answer(scope["method"], below, query, body, signed)
        await send_bytes(send, answer.status, answer.body, answer.content_type)

    def _shadowable(self, scope: Scope, path: str) -> bool:
        """Error answers are shadowed too, except for paths forwarded to the legacy provider itself."""
        if not path.startswith(LEGACY_PREFIX + "/"):
            return False
        return not (self.settings.legacy_upstream and not declared(scope["path"]))

    def _shadow(self, shadow: Shadow, scope: Scope, answer: tuple[int, str, bytes]) -> None:
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        target = legacy.normalise_path(scope["path"]) + ("?" + query if query else "")
        exchange = obs.CURRENT.get()
        shadow.maybe(
            scope["method"],
            target,
            header(scope, b"authorization"),
            answer,
            exchange.route if exchange else "unmatched",
            exchange.request_id if exchange else "",
        )

    async def _forward(self, gateway: Gateway, scope: Scope, body: bytes, send: Send) -> None:
        """An undeclared legacy path, sent unchanged to the legacy provider: method, path, query,
        body (with its Content-Type) and credentials, nothing else."""
        obs.set_route("passthrough")
        # The same authentication (and, in sidecar mode, account binding) as the declared resources.
        authorization, bound = gateway.authorize(header(scope, b"authorization"))
        if bound is not None and legacy.account_of(legacy.normalise_path(scope["path"])) not in bound:
            raise NotFound()
        target = legacy.normalise_path(raw_path(scope))  # '//2008-08-01' would otherwise name a host
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        headers = {}
        content_type = header(scope, b"content-type")
        if content_type and body:
            headers["Content-Type"] = content_type
        if not all(part.isascii() and part.isprintable() for part in (target, query, *headers.values())):
            raise BadRequest("The request line or Content-Type holds characters that cannot be forwarded")
        reply = await gateway.upstream.send(
            "legacy",
            scope["method"],
            target + ("?" + query if query else ""),
            endpoint="passthrough",
            content=body or None,
            headers=headers,
            authorization=authorization,
        )
        reply = usable(reply)  # never a 1xx, 3xx or out-of-range status to a legacy client
        extra: list[Any] = []
        if reply.status == 401:
            extra.append(CHALLENGE)
        if scope["method"] == "HEAD":  # the provider's length is not relayed: announce none, not 0
            kind = reply.headers.get("content-type")
            headers_out = [*([(b"content-type", kind.encode())] if kind else []), *extra]
            await send({"type": "http.response.start", "status": reply.status, "headers": headers_out})
            await send({"type": "http.response.body", "body": b""})
            return
        await send_bytes(send, reply.status, reply.body, reply.headers.get("content-type"), extra)

    async def _operational(self, path: str, send: Send) -> None:
        obs.set_route(path)
        if path == "/healthz":
            await send_bytes(send, 200, b'{"status":"ok"}', "application/json")
        elif path == "/metrics":
            await send_bytes(send, 200, generate_latest(obs.REGISTRY), CONTENT_TYPE_LATEST)
        else:
            ready, hosts = await self.readiness()
            body = orjson.dumps({"status": "ready" if ready else "unready", "upstreams": hosts})
            await send_bytes(send, 200 if ready else 503, body, "application/json")

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        if self._ready and now - self._ready[0] < self.settings.readiness_cache:
            return self._ready[1], self._ready[2]
        gateway = self.gateway
        if gateway is None:
            return False, {}
        timeout = self.settings.readiness_timeout
        results = await asyncio.gather(
            *(gateway.upstream.probe(host, timeout) for host in gateway.upstream.bases)
        )
        hosts = dict(zip(gateway.upstream.bases, results, strict=True))
        ready = all(result == "reachable" for result in results)
        self._ready = (now, ready, hosts)
        return ready, hosts


def create_app(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    shadow_transport: httpx.AsyncBaseTransport | None = None,
) -> Any:
    """The full stack: limits inside the exchange middleware, so every answer gets a request id, the
    HAR recorder outside both, so it records exactly what the client saw, and gzip outermost, so the
    recorder and the replay diff see the legacy document itself."""
    recorder = HarWriter(settings.record, settings.record_max_bytes) if settings.record else None
    app = GatewayApp(settings, transport, shadow_transport=shadow_transport, recorder=recorder)
    limited = LimitMiddleware(
        app,
        send_error,
        max_body=settings.max_body_bytes,
        max_url=settings.max_url_bytes,
        max_headers=settings.max_header_bytes,
    )
    stack: Any = ExchangeMiddleware(
        traced(limited, settings.otel), log=settings.access_log, trace_context=not settings.otel
    )
    if recorder is not None:
        stack = RecordMiddleware(stack, recorder)
    stack = compressed(stack, settings.gzip_min_bytes)
    stack.gateway_app = app
    return stack


def settle_heap() -> None:
    """Before serving: what start-up built (resources, specs, phone metadata, a sandbox's seed) lives
    as long as the process, so it leaves the collector's generations; collections then walk only what
    requests allocate (docs/performance.md)."""
    gc.collect()
    gc.freeze()


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The ``GATEWAY_*`` variables that reproduce ``settings`` (for worker processes)."""
    from gateway.settings import SPECS, Secret

    env: dict[str, str] = {}
    for spec in SPECS:
        value = getattr(settings, spec.name)
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Secret):
            text = value.get()
        elif isinstance(value, tuple) and all(isinstance(item, str) for item in value):
            text = ",".join(value)
        elif isinstance(value, tuple) and all(isinstance(item, Secret) for item in value):
            text = ",".join(item.get() for item in value)
        elif isinstance(value, tuple):
            text = ",".join(f"{'+'.join(accounts)}:{token.get()}" for _, token, accounts in value)
        else:
            text = str(value)
        env[spec.env] = text
    return env


def app_from_env() -> Any:
    """uvicorn factory for worker processes: settings from the environment."""
    import os

    from gateway.observability import configure_logging

    settings = Settings.load(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    settle_heap()
    return app
