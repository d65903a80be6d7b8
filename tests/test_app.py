"""The ASGI app around the data path: passthrough of undeclared legacy paths, health, readiness."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import ACCOUNT, PREFIX, TOKEN, parse_xml, serving

LEGACY = "http://legacy.test"


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


@pytest.fixture
async def passthrough(seen: list[httpx.Request]) -> AsyncIterator[httpx.AsyncClient]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, content=b"<TwilioResponse><Call/></TwilioResponse>", headers={"Content-Type": "text/xml"}
        )

    settings = Settings(
        upstream="http://api.test", trunking_upstream="http://trunk.test", legacy_upstream=LEGACY
    )
    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        yield client


async def test_undeclared_paths_are_forwarded_unchanged_and_nothing_else(
    passthrough: httpx.AsyncClient, seen: list[httpx.Request]
) -> None:
    response = await passthrough.post(
        f"{PREFIX}/Queues?Url=http%3A%2F%2Fx&_method=POST",
        content=b"Caller=4155551212&Called=4158675309",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": "s=1", "X-Custom": "y"},
    )
    assert response.status_code == 201
    assert response.content == b"<TwilioResponse><Call/></TwilioResponse>"
    assert response.headers["content-type"] == "text/xml"
    (sent,) = seen
    assert sent.method == "POST"
    assert str(sent.url) == f"{LEGACY}{PREFIX}/Queues?Url=http%3A%2F%2Fx&_method=POST"
    assert sent.content == b"Caller=4155551212&Called=4158675309"
    assert (
        sent.headers["authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    )
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "cookie" not in sent.headers and "x-custom" not in sent.headers
    assert "x-request-id" not in sent.headers


async def test_get_with_suffix_is_forwarded(
    passthrough: httpx.AsyncClient, seen: list[httpx.Request]
) -> None:
    await passthrough.get(f"{PREFIX}/Queues.csv")
    assert seen[0].url.path == f"{PREFIX}/Queues.csv"
    assert "content-type" not in seen[0].headers


async def test_declared_paths_are_never_forwarded(
    passthrough: httpx.AsyncClient, seen: list[httpx.Request]
) -> None:
    await passthrough.get(f"{PREFIX}/OutgoingCallerIds/PN{'a' * 32}.json")
    assert all(not str(r.url).startswith(LEGACY) for r in seen)


async def test_without_a_legacy_upstream_undeclared_paths_are_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{PREFIX}/Queues")
    assert response.status_code == 404
    assert parse_xml(response.content)[0].findtext("Status") == "404"


async def test_healthz_never_touches_the_upstream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the upstream was called")

    app = create_app(Settings(upstream="http://down.test"), httpx.MockTransport(handler))
    async with serving(app, auth=None) as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("error", "expected"), [(None, 200), (httpx.ConnectError, 503), (httpx.ConnectTimeout, 503)]
)
async def test_readyz_probes_every_upstream_and_caches(error: Any, expected: int) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        assert "authorization" not in request.headers
        if error is not None:
            raise error("down", request=request)
        return httpx.Response(404)

    settings = Settings(upstream="http://api.test", trunking_upstream="http://trunk.test", readiness_cache=60)
    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=None) as client:
        first = await client.get("/readyz")
        second = await client.get("/readyz")
    assert first.status_code == second.status_code == expected
    assert sorted(calls) == ["http://api.test/", "http://trunk.test/"]
    body = first.json()
    assert body["status"] == ("ready" if expected == 200 else "unready")
    assert set(body["upstreams"]) == {"api", "trunking"}


async def test_a_bug_is_a_legacy_500_not_a_stack_trace(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway.service import Gateway

    async def broken(*args: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(Gateway, "listing", broken)
    response = await client.get(f"{PREFIX}/OutgoingCallerIds")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/xml"
    assert parse_xml(response.content)[0].findtext("Status") == "500"
    assert "boom" not in response.text and "Traceback" not in response.text
    assert "ZeroDivisionError" in caplog.text
