"""Shadow reads against a sandbox-backed fake legacy upstream: a second gateway on the same sandbox
serves 2008-08-01 exactly as the primary does, and a wrapper doctors some of its answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.asgi import Message, Receive, Scope, Send
from gateway.edge.app import create_app
from tests.conftest import ACCOUNT, PREFIX, TOKEN, CountingTransport, serving

LIST = f"{PREFIX}/OutgoingCallerIds"
ROUTE_LIST = "/2008-08-01/Accounts/{AccountSid}/OutgoingCallerIds"


class Doctor:
    """Wraps the legacy app: answers for paths containing ``needle`` get 'Home' turned into 'Hone';
    when ``gate`` is set, every answer waits for it."""

    def __init__(self, app: Any, needle: str = "never") -> None:
        self.app, self.needle = app, needle
        self.gate: asyncio.Event | None = None
        self.swap = (b">Home<", b">Hone<")
        self.calls: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls.append(scope["method"] + " " + scope["path"])
            if self.gate is not None:
                await self.gate.wait()
        doctored = scope["type"] == "http" and self.needle in scope["path"] + scope["query_string"].decode()

        async def patched(message: Message) -> None:
            if doctored and message["type"] == "http.response.body":
                message["body"] = message["body"].replace(*self.swap)
            if doctored and message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message["headers"] if k != b"content-length"]
            await send(message)

        await self.app(scope, receive, patched)


def shadow_counts(text: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["route"], s.labels["result"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "gateway_shadow_diffs_total"
    }


@pytest.fixture
async def legacy(settings: Any, upstream: CountingTransport) -> AsyncIterator[Doctor]:
    provider = create_app(settings, upstream)
    async with provider.gateway_app.lifespan():
        yield Doctor(provider, needle="num=2")


@pytest.fixture
async def shadowed(
    settings: Any, upstream: CountingTransport, legacy: Doctor, tmp_path: Path
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Path]]:
    log = tmp_path / "shadow.jsonl"
    app = create_app(
        settings.replace(shadow_legacy_upstream="http://legacy.test", shadow_sample=1.0, shadow_log=str(log)),
        upstream,
        shadow_transport=httpx.ASGITransport(app=legacy),
    )
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        yield app, client, log


async def test_agreements_and_differences_are_counted(
    shadowed: tuple[Any, httpx.AsyncClient, Path], legacy: Doctor, store: Any
) -> None:
    app, client, log = shadowed
    store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    before = shadow_counts((await client.get("/metrics")).text)
    for _ in range(3):
        await client.get(LIST)
    await client.get(LIST, params={"num": 2})
    await client.get(LIST, params={"num": 2, "page": 0})
    await app.gateway_app.shadow.drain()  # a shadow read races with later writes: see docs/migration.md
    await client.post(LIST, data={"PhoneNumber": "4155551212"})  # a write: never shadowed
    await client.post(f"{LIST}?_method=PUT")  # neither is an override
    await app.gateway_app.shadow.drain()
    after = shadow_counts((await client.get("/metrics")).text)
    assert after.get((ROUTE_LIST, "same"), 0) - before.get((ROUTE_LIST, "same"), 0) == 3
    assert after.get((ROUTE_LIST, "different"), 0) - before.get((ROUTE_LIST, "different"), 0) == 2
    assert all(call.startswith("GET ") for call in legacy.calls)
    assert len(legacy.calls) == 5
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0]["route"] == ROUTE_LIST
    assert lines[0]["differences"] == [
        {
            "path": "/TwilioResponse/OutgoingCallerIds/OutgoingCallerId/FriendlyName",
            "legacy": "Hone",
            "gateway": "Home",
        }
    ]
    assert TOKEN not in log.read_text()


async def test_the_client_never_waits_for_the_shadow(
    shadowed: tuple[Any, httpx.AsyncClient, Path], legacy: Doctor, store: Any
) -> None:
    app, client, _ = shadowed
    legacy.gate = asyncio.Event()
    response = await client.get(LIST)
    assert response.status_code == 200  # answered while the legacy provider is still held
    pending = list(app.gateway_app.shadow.tasks)
    assert pending and not any(task.done() for task in pending)
    legacy.gate.set()
    await app.gateway_app.shadow.drain()


async def test_shadow_errors_are_counted_not_raised(settings: Any, upstream: CountingTransport) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    app = create_app(
        settings.replace(shadow_legacy_upstream="http://legacy.test", shadow_sample=1.0),
        upstream,
        shadow_transport=httpx.MockTransport(down),
    )
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        before = shadow_counts((await client.get("/metrics")).text).get((ROUTE_LIST, "error"), 0)
        assert (await client.get(LIST)).status_code == 200
        await app.gateway_app.shadow.drain()
        after = shadow_counts((await client.get("/metrics")).text).get((ROUTE_LIST, "error"), 0)
    assert after - before == 1


async def test_sample_zero_shadows_nothing(settings: Any, upstream: CountingTransport) -> None:
    calls: list[httpx.Request] = []
    app = create_app(
        settings.replace(shadow_legacy_upstream="http://legacy.test", shadow_sample=0.0),
        upstream,
        shadow_transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200)),
    )
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        for _ in range(20):
            await client.get(LIST)
    assert calls == []


def test_sampling_follows_the_fraction() -> None:
    from gateway.migration.shadow import Shadow
    from gateway.settings import Settings

    draws = iter([0.05, 0.5, 0.09, 0.95])
    shadow = Shadow(
        Settings(shadow_legacy_upstream="http://l.test", shadow_sample=0.1), rand=lambda: next(draws)
    )
    started: list[str] = []

    async def scenario() -> None:
        async def fake_run(*args: Any) -> None:
            started.append(args[0])

        shadow._run = fake_run  # type: ignore[method-assign]
        for path in ("/a", "/b", "/c", "/d"):
            shadow.maybe("GET", path, None, (200, "application/xml", b""), "r", "id")
        await shadow.aclose()

    asyncio.run(scenario())
    assert started == ["/a", "/c"]


async def test_shadow_calls_beyond_the_bound_are_skipped_not_queued(
    settings: Any, upstream: CountingTransport, legacy: Doctor
) -> None:
    legacy.gate = asyncio.Event()
    app = create_app(
        settings.replace(
            shadow_legacy_upstream="http://legacy.test", shadow_sample=1.0, shadow_max_in_flight=2
        ),
        upstream,
        shadow_transport=httpx.ASGITransport(app=legacy),
    )
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        before = shadow_counts((await client.get("/metrics")).text).get((ROUTE_LIST, "skipped"), 0)
        for _ in range(5):
            assert (await client.get(LIST)).status_code == 200
        assert len(app.gateway_app.shadow.tasks) == 2
        legacy.gate.set()
        await app.gateway_app.shadow.drain()
        after = shadow_counts((await client.get("/metrics")).text).get((ROUTE_LIST, "skipped"), 0)
    assert after - before == 3


async def test_error_answers_are_shadowed_and_compared(
    shadowed: tuple[Any, httpx.AsyncClient, Path], legacy: Doctor
) -> None:
    app, client, log = shadowed
    missing = f"{LIST}/PN{'0' * 32}"
    route = ROUTE_LIST + "/{Sid}"
    before = shadow_counts((await client.get("/metrics")).text)
    assert (await client.get(missing)).status_code == 404
    legacy.needle, legacy.swap = "PN" + "1" * 32, (b"<Status>404<", b"<Status>400<")
    assert (await client.get(f"{LIST}/PN{'1' * 32}")).status_code == 404
    await app.gateway_app.shadow.drain()
    after = shadow_counts((await client.get("/metrics")).text)
    assert after.get((route, "same"), 0) - before.get((route, "same"), 0) == 1
    assert after.get((route, "different"), 0) - before.get((route, "different"), 0) == 1
    assert [call.split()[1] for call in legacy.calls] == [missing, f"{LIST}/PN{'1' * 32}"]
    line = json.loads(log.read_text().splitlines()[-1])
    assert line["differences"] == [
        {"path": "/TwilioResponse/RestException/Status", "legacy": "400", "gateway": "404"}
    ]
