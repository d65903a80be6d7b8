"""The ASGI app around the data path: passthrough of undeclared legacy paths, health, readiness."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import signal
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.edge import app as app_module
from gateway.edge.app import create_app, settle_heap
from gateway.settings import Settings
from tests.conftest import ACCOUNT, PREFIX, TOKEN, CountingTransport, get_scope, parse_xml, serving
from tests.servers import serve

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


# Paths that another server could read differently: refused on every route --------------------------
async def asgi_get(app: Any, raw_path: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """One GET straight through the ASGI interface, with the raw path exactly as given."""
    sent: list[dict[str, Any]] = []
    scope = get_scope(urllib.parse.unquote(raw_path.decode("latin-1")), raw_path=raw_path)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(
    "raw",
    [
        f"{PREFIX}/../ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Queues",
        f"{PREFIX}/%2e%2e/ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Queues",
        f"{PREFIX}/%2E./ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Queues",
        f"{PREFIX}/./Queues",
        f"{PREFIX}/Queues/..",
        f"{PREFIX}%2F..%2FACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Queues",
        f"{PREFIX}/Queues%5c..%5cx",
        f"{PREFIX}/OutgoingCallerIds/../OutgoingCallerIds",
    ],
)
async def test_dot_segments_and_encoded_slashes_are_400_and_never_forwarded(
    passthrough: httpx.AsyncClient, seen: list[httpx.Request], raw: str
) -> None:
    app = passthrough._transport.app  # type: ignore[attr-defined]
    status, _, body = await asgi_get(app, raw.encode())
    assert status == 400
    assert parse_xml(body)[0].findtext("Code") == "20001"
    assert seen == []


async def test_dots_inside_a_segment_are_fine(
    passthrough: httpx.AsyncClient, seen: list[httpx.Request]
) -> None:
    app = passthrough._transport.app  # type: ignore[attr-defined]
    status, _, _ = await asgi_get(app, f"{PREFIX}/Queues/a..b.csv".encode())
    assert status == 201
    assert seen[0].url.raw_path == f"{PREFIX}/Queues/a..b.csv".encode()


async def test_head_is_forwarded_as_head_and_announces_no_length(seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"Content-Type": "text/xml", "Content-Length": "42"})

    settings = Settings(upstream="http://api.test", trunking_upstream="http://t.test", legacy_upstream=LEGACY)
    async with serving(create_app(settings, httpx.MockTransport(handler))) as client:
        response = await client.head(f"{PREFIX}/Queues")
    assert (response.status_code, response.content) == (200, b"")
    assert "content-length" not in response.headers  # not the provider's, which is not relayed: none
    assert response.headers["content-type"] == "text/xml"
    assert seen[0].method == "HEAD"


# HEAD, and the Basic challenge ------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".json", ".csv"])
async def test_head_answers_like_get_without_a_body(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport, suffix: str
) -> None:
    sid = store.add_caller_id(ACCOUNT, "+14158675309", "Home").sid
    for path in (f"{PREFIX}/OutgoingCallerIds{suffix}", f"{PREFIX}/OutgoingCallerIds/{sid}{suffix}"):
        got = await client.get(path)
        upstream.reset()
        head = await client.head(path)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == str(len(got.content))
        assert all(request.method == "GET" for request in upstream.requests)


async def test_head_on_an_error_has_the_errors_headers_and_no_body(client: httpx.AsyncClient) -> None:
    head = await client.head(f"{PREFIX}/OutgoingCallerIds/PN{'0' * 32}")
    get = await client.get(f"{PREFIX}/OutgoingCallerIds/PN{'0' * 32}")
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["content-length"] == str(len(get.content))


async def test_401_carries_a_basic_challenge(make_client: Any) -> None:
    async with make_client() as anonymous:
        response = await anonymous.get(f"{PREFIX}/OutgoingCallerIds")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Twilio API"'


def test_a_client_that_authenticates_only_after_a_challenge(upstream: CountingTransport, store: Any) -> None:
    store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    settings = Settings(
        upstream="http://sandbox.test", trunking_upstream="http://sandbox.test", access_log=False
    )
    with serve(create_app(settings, upstream)) as base:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, base, ACCOUNT, TOKEN)
        opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))
        with opener.open(f"{base}{PREFIX}/OutgoingCallerIds", timeout=10) as response:
            body = response.read()
    assert parse_xml(body)[0].get("total") == "1"
    assert upstream.count() == 1  # the unauthenticated first attempt never went upstream


# A body cut short never reaches the upstream ----------------------------------------------------
def test_a_body_cut_short_is_never_forwarded(upstream: CountingTransport) -> None:
    settings = Settings(
        upstream="http://sandbox.test", trunking_upstream="http://sandbox.test", access_log=False
    )
    form = b"PhoneNumber=4158675309&FriendlyName=Front+desk&CallDelay=0&Extension=5&X=1234567&Y=1234"
    assert len(form) == 87
    auth = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    with serve(create_app(settings, upstream)) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(
                f"POST {PREFIX}/OutgoingCallerIds HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 87\r\n\r\n".encode()
                + form[:60]
            )
            time.sleep(0.3)  # the gateway has read the first 60 bytes
        time.sleep(0.3)  # and has seen the connection close
        with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
            assert client.get(f"{base}/healthz").status_code == 200
    assert upstream.count() == 0


# After --shutdown-timeout: a 503 each, and one log line each --------------------------------------
def test_requests_still_running_after_the_shutdown_timeout_get_503() -> None:
    from tests.e2e.test_e2e import DRAINED, start_cli

    started: list[float] = []

    async def stuck(request: Request) -> Response:
        started.append(time.monotonic())
        await asyncio.sleep(3)  # well past the gateway's shutdown timeout
        return JSONResponse({})

    with serve(Starlette(routes=[Route("/{path:path}", stuck)]), lifespan="off") as upstream:
        process, port = start_cli("--upstream", upstream, "--shutdown-timeout", "0.5")
        url = f"http://127.0.0.1:{port}{PREFIX}/OutgoingCallerIds/PN{'a' * 32}"
        results: list[httpx.Response] = []
        with httpx.Client(auth=(ACCOUNT, TOKEN), timeout=20) as client:
            threads = [threading.Thread(target=lambda: results.append(client.get(url))) for _ in range(3)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while len(started) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            for thread in threads:
                thread.join(20)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode in DRAINED
    assert [r.status_code for r in results] == [503] * 3
    for response in results:
        assert response.headers["content-type"] == "application/xml"
        exception = parse_xml(response.content)[0]
        assert (exception.tag, exception.findtext("Status")) == ("RestException", "503")
    assert "Traceback" not in stderr and "CancelledError" not in stderr
    assert stderr.count("shutdown timeout ran out") == 3


def test_the_start_up_heap_is_left_out_of_later_collections() -> None:
    try:
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the modules, resources and specs loaded by now
        garbage: list[Any] = []
        garbage.append(garbage)  # a cycle made after start-up is still collected
        del garbage
        assert gc.collect() >= 1 and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_worker_processes_settle_their_heap_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    settled: list[bool] = []
    monkeypatch.setattr(app_module, "settle_heap", lambda: settled.append(True))
    monkeypatch.setenv("GATEWAY_UPSTREAM", "http://127.0.0.1:9")
    loggers = [logging.getLogger(name) for name in ("gateway", "uvicorn.error")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    try:
        app_module.app_from_env()  # also sets up the process's logging, undone below
    finally:
        for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
    assert settled == [True]
