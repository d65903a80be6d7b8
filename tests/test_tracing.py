"""W3C trace context through the gateway, and OpenTelemetry spans with the in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway import tracing
from gateway.edge.app import create_app
from gateway.settings import ConfigError
from tests.conftest import ACCOUNT, PREFIX, ROOT, CountingTransport, serving

LIST = f"{PREFIX}/OutgoingCallerIds"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT}-01"


async def test_traceparent_is_propagated_upstream_and_echoed(
    settings: Any, upstream: CountingTransport, store: Any
) -> None:
    item = store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    async with serving(create_app(settings, upstream)) as client:
        response = await client.get(
            f"{LIST}/{item.sid}", headers={"traceparent": TRACEPARENT, "tracestate": "vendor=1"}
        )
    assert response.status_code == 200
    assert response.headers["traceparent"] == TRACEPARENT
    assert [r.headers.get("traceparent") for r in upstream.requests] == [TRACEPARENT]
    assert [r.headers.get("tracestate") for r in upstream.requests] == ["vendor=1"]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "garbage",
        f"ff-{TRACE_ID}-{PARENT}-01",  # version ff is invalid
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE_ID.upper()}-{PARENT}-01",  # upper case is not allowed
    ],
)
async def test_no_or_invalid_traceparent_is_not_passed_on(
    settings: Any, upstream: CountingTransport, value: str | None
) -> None:
    headers = {"traceparent": value} if value else {}
    async with serving(create_app(settings, upstream)) as client:
        response = await client.get(LIST, headers=headers)
    assert response.status_code == 200
    assert "traceparent" not in response.headers
    assert upstream.requests and all("traceparent" not in r.headers for r in upstream.requests)


def test_off_means_opentelemetry_is_never_imported() -> None:
    script = (
        "import sys, asyncio, httpx\n"
        "from gateway.edge.app import create_app\n"
        "from gateway.settings import Settings\n"
        "app = create_app(Settings(upstream='http://u.test', trunking_upstream='http://u.test'),"
        " httpx.MockTransport(lambda r: httpx.Response(404)))\n"
        "async def go():\n"
        "    async with app.gateway_app.lifespan():\n"
        "        transport = httpx.ASGITransport(app=app)\n"
        "        async with httpx.AsyncClient(transport=transport, base_url='http://g') as c:\n"
        f"            r = await c.get('{LIST}', headers={{'traceparent': '{TRACEPARENT}'}})\n"
        "            assert r.headers['traceparent'], r.headers\n"
        "asyncio.run(go())\n"
        "loaded = [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "assert not loaded, loaded\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "span_processor", lambda: SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def hex_id(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


async def test_each_request_is_a_server_span_with_a_client_span_per_upstream_call(
    settings: Any, upstream: CountingTransport, store: Any, exported: InMemorySpanExporter
) -> None:
    item = store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    async with serving(create_app(settings.replace(otel=True), upstream)) as client:
        fetched = await client.get(f"{LIST}/{item.sid}", headers={"traceparent": TRACEPARENT})
        missing = await client.get(f"{LIST}/PN{'0' * 32}")
    assert fetched.status_code == 200 and missing.status_code == 404
    spans: list[ReadableSpan] = list(exported.get_finished_spans())
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    clients = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert len(servers) == 2 and len(clients) == 2
    server, child = servers[0], clients[0]
    assert server.context is not None and child.context is not None and child.parent is not None
    assert hex_id(server.context.trace_id, 32) == TRACE_ID  # joined the client's trace
    assert server.parent is not None and hex_id(server.parent.span_id, 16) == PARENT
    assert child.parent.span_id == server.context.span_id
    assert server.name == "GET /2008-08-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}"
    attributes = dict(server.attributes or {})
    assert attributes["http.route"] == "/2008-08-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}"
    assert attributes["http.response.status_code"] == 200
    assert (attributes["gateway.resource"], attributes["gateway.operation"]) == (
        "outgoing_caller_ids",
        "fetch",
    )
    child_attributes = dict(child.attributes or {})
    assert child_attributes["gateway.operation"] == "fetch"
    assert child_attributes["http.response.status_code"] == 200
    sent = upstream.requests[0].headers["traceparent"]
    assert sent == f"00-{TRACE_ID}-{hex_id(child.context.span_id, 16)}-01"  # upstream sees the client span
    assert fetched.headers["traceparent"] == f"00-{TRACE_ID}-{hex_id(server.context.span_id, 16)}-01"
    other = servers[1]
    assert other.context is not None and other.parent is None  # no traceparent: a new trace
    assert dict(other.attributes or {})["http.response.status_code"] == 404
    assert ACCOUNT not in str([dict(s.attributes or {}) for s in spans])


def test_exporter_follows_otel_traces_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.span_processor() is None
    for name in ("console", "otlp"):
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", name)
        processor = tracing.span_processor()
        assert isinstance(processor, BatchSpanProcessor)
        processor.shutdown()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER"):
        tracing.span_processor()


def test_service_name_defaults_and_follows_otel_service_name(
    monkeypatch: pytest.MonkeyPatch, exported: InMemorySpanExporter
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert tracing.tracer().resource.attributes["service.name"] == tracing.SERVICE_NAME
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-gateway")
    assert tracing.tracer().resource.attributes["service.name"] == "billing-gateway"


def test_otel_without_the_extra_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(ConfigError, match=r"GATEWAY_OTEL.*otel extra"):
        tracing.require()


def test_resource_and_operation() -> None:
    assert tracing.resource_and_operation("trunk_phone_numbers.create") == {
        "gateway.resource": "trunk_phone_numbers",
        "gateway.operation": "create",
    }
    assert tracing.resource_and_operation(None) == {}


def test_traceparent_validation() -> None:
    assert tracing.valid_traceparent(TRACEPARENT)
    assert not tracing.valid_traceparent(TRACEPARENT + "-extra") and not tracing.valid_traceparent("")


def test_outside_a_request_an_upstream_call_is_untraced() -> None:
    headers: dict[str, str] = {}
    assert tracing.upstream_span("api", "GET", "x.fetch", headers) is tracing.UNTRACED
    assert headers == {}
