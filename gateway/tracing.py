"""W3C trace context, and OpenTelemetry spans when ``GATEWAY_OTEL`` is on.

Always: a valid ``traceparent`` (and its ``tracestate``) from the client is sent on every upstream call
the request makes and echoed on the answer; an invalid one is ignored. With ``GATEWAY_OTEL=true`` and
the ``otel`` extra installed, each legacy request is also a server span (a child of the client's
``traceparent``, if any) with one client span per upstream call, both carrying the legacy resource and
operation; upstream calls then carry the client span's ``traceparent``, and the answer the server
span's. The SDK is configured by the standard ``OTEL_*`` variables (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_BSP_*``);
``OTEL_TRACES_EXPORTER`` picks ``otlp`` (HTTP/protobuf, the default), ``console`` or ``none``.

Off, nothing from ``opentelemetry`` is imported and a request without ``traceparent`` costs one
header look-up here and one context-variable read per upstream call.
"""

from __future__ import annotations

import os
import re
from types import TracebackType
from typing import Any

from gateway import observability as obs
from gateway.asgi import ASGIApp, Message, Receive, Scope, Send, header
from gateway.settings import ConfigError

_TRACEPARENT = re.compile(r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
SERVICE_NAME = "twilio-legacy-gateway"


def valid_traceparent(value: str | None) -> bool:
    return value is not None and _TRACEPARENT.fullmatch(value) is not None


def resource_and_operation(endpoint: str | None) -> dict[str, str]:
    """``outgoing_caller_ids.list`` → the legacy resource and the operation, as span attributes."""
    if not endpoint:
        return {}
    resource, _, operation = endpoint.rpartition(".")
    return {"gateway.resource": resource or endpoint, "gateway.operation": operation}


def carried(scope: Scope) -> dict[str, str]:
    """The client's trace context: a valid ``traceparent``, and its ``tracestate`` up to 512 bytes;
    empty when there is none (or it is not valid)."""
    incoming = header(scope, b"traceparent")
    carrier: dict[str, str] = {}
    if valid_traceparent(incoming):
        assert incoming is not None
        carrier["traceparent"] = incoming
        state = header(scope, b"tracestate")
        if state and len(state) <= 512:
            carrier["tracestate"] = state
    return carrier


class Tracing:
    """Pure-ASGI: picks up the client's trace context (inside ``ExchangeMiddleware``, so the exchange
    exists) and, with a tracer, wraps the request in a server span."""

    def __init__(self, app: ASGIApp, tracer: Any = None) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = obs.CURRENT.get()
        if scope["type"] != "http" or exchange is None:
            await self.app(scope, receive, send)
            return
        carrier = carried(scope)
        if self.tracer is None:
            if not carrier:
                await self.app(scope, receive, send)
                return
            exchange.trace_headers = carrier
            await self.app(scope, receive, _echo(send, carrier["traceparent"]))
            return
        await self._traced(scope, receive, send, exchange, carrier)

    async def _traced(
        self, scope: Scope, receive: Receive, send: Send, exchange: obs.Exchange, carrier: dict[str, str]
    ) -> None:
        from opentelemetry.trace import SpanKind, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        propagator = TraceContextTextMapPropagator()
        method = scope["method"]
        span = self.tracer.start_span(
            method,
            context=propagator.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "gateway.request_id": exchange.request_id,
            },
        )
        exchange.trace = (self.tracer, span)
        echoed: dict[str, str] = {}
        propagator.inject(echoed, context=_context_of(span))
        status = 500

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await _echo(send, echoed["traceparent"])(message)

        try:
            await self.app(scope, receive, send_traced)
        finally:
            span.update_name(f"{method} {exchange.route}")
            span.set_attribute("http.route", exchange.route)
            span.set_attribute("http.response.status_code", status)
            for key, value in resource_and_operation(exchange.endpoint).items():
                span.set_attribute(key, value)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
            span.end()


def _echo(send: Send, traceparent: str) -> Send:
    async def echo(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"traceparent", traceparent.encode())]
        await send(message)

    return echo


def _context_of(span: Any) -> Any:
    from opentelemetry.trace import set_span_in_context

    return set_span_in_context(span)


class _Untraced:
    """The upstream call of a request that carries no trace: nothing to do."""

    def __enter__(self) -> _Untraced:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def answered(self, status: int) -> None:
        return None


UNTRACED = _Untraced()


class _ClientSpan:
    def __init__(self, tracer: Any, parent: Any, method: str, host: str, endpoint: str, headers: Any) -> None:
        from opentelemetry.trace import SpanKind
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.span = tracer.start_span(
            f"{method} {endpoint}",
            context=_context_of(parent),
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "gateway.upstream": host,
                **resource_and_operation(endpoint),
            },
        )
        TraceContextTextMapPropagator().inject(headers, context=_context_of(self.span))

    def __enter__(self) -> _ClientSpan:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            from opentelemetry.trace import StatusCode

            self.span.set_status(StatusCode.ERROR, kind.__name__)
        self.span.end()

    def answered(self, status: int) -> None:
        self.span.set_attribute("http.response.status_code", status)


def upstream_span(host: str, method: str, endpoint: str, headers: dict[str, str]) -> _Untraced | _ClientSpan:
    """Around one upstream call: adds the trace headers to ``headers``; with a tracer, a client span."""
    exchange = obs.CURRENT.get()
    if exchange is None:
        return UNTRACED
    exchange.endpoint = endpoint
    if exchange.trace is not None:
        tracer, parent = exchange.trace
        return _ClientSpan(tracer, parent, method, host, endpoint, headers)
    if exchange.trace_headers:
        headers.update(exchange.trace_headers)
    return UNTRACED


def require() -> None:
    """Fail at start, naming the setting, when ``GATEWAY_OTEL`` is on without the extra."""
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise ConfigError(
            "GATEWAY_OTEL", "needs the otel extra: python -m pip install 'twilio-legacy-gateway[otel]'"
        ) from None


def span_processor() -> Any:
    """The processor and exporter ``OTEL_TRACES_EXPORTER`` names (``otlp``, ``console``, ``none``)."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if name == "none":
        return None
    if name == "console":
        return BatchSpanProcessor(ConsoleSpanExporter())
    if name != "otlp":
        raise ConfigError("OTEL_TRACES_EXPORTER", f"{name!r} must be otlp, console or none")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter())


def tracer() -> Any:
    """A tracer on a provider of the gateway's own (the global one is left alone)."""
    require()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    processor = span_processor()
    if processor is not None:
        provider.add_span_processor(processor)
    return provider.get_tracer("gateway")


def traced(app: ASGIApp, otel: bool) -> ASGIApp:
    """With OpenTelemetry, the layer that makes the server spans; without, ``app`` itself: the
    exchange middleware picks up and echoes the client's trace context (:func:`carried`)."""
    return Tracing(app, tracer()) if otel else app
