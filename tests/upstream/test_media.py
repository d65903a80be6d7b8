"""Streaming recording audio (gateway/upstream/media.py, Upstream.stream, the service's media answer): the
host allow-list, redirects, credentials, headers both ways, and the upstream's errors, on a mock upstream."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.settings import ConfigError, Settings
from gateway.upstream.media import allowed_host
from tests.conftest import ACCOUNT, PREFIX, UPSTREAM, get_scope, parse_xml, serving

SID = "RE" + "a" * 32
AUDIO_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}.wav"


@pytest.mark.parametrize(
    ("host", "port", "allow", "expected"),
    [
        ("media.example.com", 443, ("media.example.com",), True),
        ("MEDIA.example.com", 443, ("media.example.com",), True),
        ("a.media.example.com", 443, ("media.example.com",), False),
        ("a.example.com", 443, ("*.example.com",), True),
        ("a.b.example.com", 443, ("*.example.com",), True),
        ("example.com", 443, ("*.example.com",), False),
        ("badexample.com", 443, ("*.example.com",), False),
        ("media.example.com", 8443, ("media.example.com:443",), False),
        ("media.example.com", 443, ("media.example.com:443",), True),
        ("media.example.com", 443, (), False),
    ],
)
def test_allowed_hosts(host: str, port: int, allow: tuple[str, ...], expected: bool) -> None:
    assert allowed_host(host, port, allow) is expected


def test_media_hosts_setting() -> None:
    settings = Settings.load({"GATEWAY_MEDIA_HOSTS": " Media.example.com, *.s3.amazonaws.com ,"})
    assert settings.media_hosts == ("media.example.com", "*.s3.amazonaws.com")
    for bad in ("http://x.example", "*", "a.*.example", "user@x.example", "x.example:port"):
        with pytest.raises(ConfigError, match="GATEWAY_MEDIA_HOSTS"):
            Settings.load({"GATEWAY_MEDIA_HOSTS": bad})


def app_on(
    handler: Callable[[httpx.Request], httpx.Response], **settings: Any
) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    config = Settings(upstream=UPSTREAM, trunking_upstream=UPSTREAM, retry_backoff=0.0, **settings)
    return create_app(config, httpx.MockTransport(record)), seen


async def get(app: Any, path: str = f"{PREFIX}/Recordings/{SID}.wav", **headers: str) -> httpx.Response:
    async with serving(app) as client:
        return await client.get(path, headers=headers)


async def test_headers_pass_both_ways() -> None:
    def upstream(request: httpx.Request) -> httpx.Response:
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": "bytes 2-5/10",
            "ETag": '"v1"',
            "Last-Modified": "Fri, 27 Nov 2026 10:00:00 GMT",
            "Set-Cookie": "session=1",
            "X-Upstream-Secret": "no",
        }
        return httpx.Response(206, headers=headers, content=b"WAVE")

    app, seen = app_on(upstream)
    response = await get(app, Range="bytes=2-5", Cookie="c=1")
    assert (response.status_code, response.content) == (206, b"WAVE")
    assert response.headers["content-type"] == "audio/x-wav"
    assert response.headers["content-range"] == "bytes 2-5/10"
    assert (response.headers["etag"], response.headers["content-length"]) == ('"v1"', "4")
    assert "set-cookie" not in response.headers and "x-upstream-secret" not in response.headers
    (request,) = seen
    assert request.url.path == AUDIO_PATH
    assert request.headers["range"] == "bytes=2-5"
    assert "cookie" not in request.headers
    assert request.headers["authorization"].startswith("Basic ")


async def test_a_redirect_within_the_upstream_keeps_the_credentials() -> None:
    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == AUDIO_PATH:
            return httpx.Response(302, headers={"Location": "/media/abc.wav"})
        return httpx.Response(200, content=b"RIFF")

    app, seen = app_on(upstream)
    response = await get(app)
    assert response.content == b"RIFF"
    assert [r.url.path for r in seen] == [AUDIO_PATH, "/media/abc.wav"]
    assert all("authorization" in r.headers for r in seen)


async def test_credentials_once_dropped_stay_dropped() -> None:
    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.host == "sandbox.test" and request.url.path == AUDIO_PATH:
            return httpx.Response(307, headers={"Location": "https://media.example.com/a.wav"})
        if request.url.host == "media.example.com":
            return httpx.Response(302, headers={"Location": f"{UPSTREAM}/back.wav"})
        return httpx.Response(200, content=b"RIFF")

    app, seen = app_on(upstream, media_hosts=("media.example.com",))
    response = await get(app)
    assert response.content == b"RIFF"
    assert [("authorization" in r.headers) for r in seen] == [True, False, False]


@pytest.mark.parametrize(
    "location", ["https://evil.example/a.wav", "ftp://media.example.com/a.wav", "//evil.example/x"]
)
async def test_a_redirect_off_the_allow_list_is_a_502(location: str) -> None:
    app, seen = app_on(
        lambda _: httpx.Response(302, headers={"Location": location}), media_hosts=("media.example.com",)
    )
    response = await get(app)
    assert response.status_code == 502
    assert len(seen) == 1


async def test_endless_redirects_are_a_502() -> None:
    app, seen = app_on(lambda r: httpx.Response(302, headers={"Location": r.url.path + "x"}))
    response = await get(app)
    assert response.status_code == 502
    assert "too many" in parse_xml(response.content)[0].findtext("Message", "")
    assert len(seen) == 6


async def test_the_upstreams_json_error_becomes_a_rest_exception() -> None:
    error = {
        "code": 20404,
        "message": "The requested resource was not found",
        "more_info": "x",
        "status": 404,
    }
    app, _ = app_on(lambda _: httpx.Response(404, content=json.dumps(error).encode()))
    response = await get(app, path=f"{PREFIX}/Recordings/{SID}.mp3")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/xml"
    node = parse_xml(response.content)[0]
    assert (node.findtext("Code"), node.findtext("Message")) == (
        "20404",
        "The requested resource was not found",
    )


async def test_an_upstream_failure_is_a_502_and_an_unreachable_one_too() -> None:
    app, _ = app_on(lambda _: httpx.Response(500, content=b"<html>oops</html>"))
    assert (await get(app)).status_code == 502

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app, _ = app_on(down)
    assert (await get(app)).status_code == 502


async def test_a_bodyless_range_refusal_passes_through() -> None:
    app, _ = app_on(lambda _: httpx.Response(416, headers={"Content-Range": "bytes */10"}))
    response = await get(app, Range="bytes=50-")
    assert (response.status_code, response.headers["content-range"], response.content) == (
        416,
        "bytes */10",
        b"",
    )


async def test_credentials_never_reach_the_storage_host_in_sidecar_mode() -> None:
    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.host == "sandbox.test":
            return httpx.Response(302, headers={"Location": "https://media.example.com/a.wav"})
        return httpx.Response(200, content=b"RIFF")

    from gateway.settings import Secret

    app, seen = app_on(
        upstream,
        media_hosts=("media.example.com",),
        upstream_account_sid=ACCOUNT,
        upstream_auth_token=Secret("injected-secret"),
        client_credentials=((ACCOUNT, Secret("0123456789abcdef0123456789abcdef")),),
    )
    response = await get(app)
    assert response.content == b"RIFF"
    assert "authorization" in seen[0].headers
    assert all("injected-secret" not in str(value) for r in seen[1:] for value in r.headers.values())


class BrokenStream(httpx.AsyncByteStream):
    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b"R" * 70000
        raise httpx.ReadError("connection reset")


async def test_a_stream_broken_off_midway_is_cut_short_not_answered_twice() -> None:
    app, _ = app_on(
        lambda _: httpx.Response(200, headers={"Content-Length": "100000"}, stream=BrokenStream())
    )
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = get_scope(f"{PREFIX}/Recordings/{SID}", password="x")
    async with app.gateway_app.lifespan():
        await app(scope, receive, send)
    starts = [m for m in messages if m["type"] == "http.response.start"]
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert len(starts) == 1 and (starts[0]["status"], dict(starts[0]["headers"])[b"content-length"]) == (
        200,
        b"100000",
    )
    assert b"".join(m["body"] for m in bodies) == b"R" * 65536  # what came in whole pieces
    assert all(m.get("more_body") for m in bodies)  # never finished: the client sees a short body
