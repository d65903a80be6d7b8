"""The app fetch, against scripted servers on loopback only; refusals are decided before any connection."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from urllib.parse import parse_qsl, urlsplit

import pytest
import trustme

from gateway.hooks.fetch import AppFailure, AppFetcher, origin, target
from tests.hostile import HostileUpstream, Request, Script, response

LOOPBACK = ["127.0.0.1"]


class Names:
    """A resolver of made-up names, counting its look-ups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if host in self.table:
            return self.table[host]
        if host.replace(".", "").isdigit() or ":" in host:
            return [host]
        raise OSError("no such name")


def ok(request: Request) -> Script:
    cookies = [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; HttpOnly")]
    return [response(200, b"<Response/>", headers=[("Content-Type", "text/xml"), *cookies])]


@contextlib.asynccontextmanager
async def fetcher(allow: Sequence[str] = LOOPBACK, **kwargs: object) -> AsyncIterator[AppFetcher]:
    app = AppFetcher(allow, **kwargs)  # type: ignore[arg-type]
    try:
        yield app
    finally:
        await app.aclose()


async def test_get_appends_params_and_passes_headers() -> None:
    async with HostileUpstream(ok).running() as server, fetcher() as app:
        answer = await app.fetch(
            "GET", server.url + "/menu.php?step=1", {"CallSid": "CA1", "Caller": "4158675309"},
            {"X-Twilio-Signature": "sig", "Cookie": "a=1", "Host": "evil"}, 5, 1000,
        )  # fmt: skip
    assert (answer.status, answer.content_type, answer.body) == (200, "text/xml", b"<Response/>")
    assert answer.set_cookies == ("a=1; Path=/", "b=2; HttpOnly")
    (request,) = server.requests
    assert request.method == "GET"
    assert request.target == "/menu.php?step=1&CallSid=CA1&Caller=4158675309"
    assert request.headers["x-twilio-signature"] == "sig" and request.headers["cookie"] == "a=1"
    assert request.headers["host"] == urlsplit(server.url).netloc
    assert "authorization" not in request.headers


async def test_post_form_encodes_params() -> None:
    async with HostileUpstream(ok).running() as server, fetcher() as app:
        await app.fetch("post", server.url + "/a?x=1", {"Digits": "1#", "Body": "é &"}, {}, 5, 1000)
    (request,) = server.requests
    assert request.method == "POST" and request.target == "/a?x=1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [("Digits", "1#"), ("Body", "é &")]


async def test_basic_auth_from_the_url_never_in_errors() -> None:
    async with HostileUpstream(ok).running() as server, fetcher() as app:
        url = server.url.replace("http://", "http://us%40er:p%3Ass@") + "/secure"
        answer = await app.fetch("POST", url, {}, {}, 5, 1000)
        assert "p:ss" not in repr(answer) and "p%3Ass" not in repr(answer)
    (request,) = server.requests
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"us@er:p:ss").decode()
    assert request.headers["host"] == urlsplit(server.url).netloc
    async with fetcher(allow=[]) as app:
        with pytest.raises(AppFailure) as caught:
            await app.fetch("GET", url, {}, {}, 5, 1000)
    assert "p%3Ass" not in str(caught.value) and "us%40er" not in str(caught.value)
    assert caught.value.reason == "refused"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://192.168.0.10:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "https://224.0.0.1/",
        "http://loopback.test/",
        "http://mixed.test/",
    ],
)
async def test_refused_addresses_without_an_allow_list(url: str) -> None:
    names = Names({"loopback.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "10.0.0.7"]})
    async with fetcher(allow=[], resolver=names) as app:
        with pytest.raises(AppFailure) as caught:
            await app.fetch("GET", url, {"a": "b"}, {}, 5, 1000)
    assert caught.value.reason == "refused"


async def test_a_name_is_resolved_once_and_the_checked_address_is_used() -> None:
    names = Names({"app.test": ["127.0.0.1"]})
    async with HostileUpstream(ok).running() as server, fetcher(allow=["app.test"], resolver=names) as app:
        port = urlsplit(server.url).port
        answer = await app.fetch("GET", f"http://app.test:{port}/x", None, {}, 5, 1000)
    assert answer.status == 200
    assert names.lookups == ["app.test"]
    assert server.requests[0].headers["host"] == f"app.test:{port}"


async def test_allow_list_by_network() -> None:
    async with HostileUpstream(ok).running() as server, fetcher(allow=["127.0.0.0/8"]) as app:
        assert (await app.fetch("GET", server.url, None, {}, 5, 1000)).status == 200


def redirects(request: Request) -> Script:
    if request.path == "/start":
        return [response(302, headers=[("Location", "/next?n=1"), ("Set-Cookie", "s=1")])]
    if request.path == "/keep":
        return [response(307, headers=[("Location", "/next")])]
    if request.path == "/loop":
        return [response(301, headers=[("Location", "/loop")])]
    if request.path == "/away":
        return [response(302, headers=[("Location", "http://10.0.0.1/inside")])]
    if request.path == "/other-host":
        port = request.headers["host"].rsplit(":", 1)[1]
        return [response(302, headers=[("Location", f"http://localhost:{port}/next")])]
    return ok(request)


async def test_redirects_are_followed_as_a_browser_would() -> None:
    async with HostileUpstream(redirects).running() as server, fetcher() as app:
        answer = await app.fetch("POST", server.url + "/start", {"CallSid": "CA1"}, {}, 5, 1000)
        assert answer.url == server.url + "/next?n=1"
        assert answer.set_cookies == ("s=1", "a=1; Path=/", "b=2; HttpOnly")
        assert [(r.method, r.target, r.body) for r in server.requests] == [
            ("POST", "/start", b"CallSid=CA1"),
            ("GET", "/next?n=1", b""),
        ]
        server.requests.clear()
        await app.fetch("POST", server.url + "/keep", {"CallSid": "CA1"}, {}, 5, 1000)
        assert [(r.method, r.body) for r in server.requests] == [("POST", b"CallSid=CA1")] * 2


async def test_redirect_loops_and_refused_targets_fail() -> None:
    async with HostileUpstream(redirects).running() as server, fetcher() as app:
        with pytest.raises(AppFailure) as loop:
            await app.fetch("GET", server.url + "/loop", None, {}, 5, 1000)
        with pytest.raises(AppFailure) as away:
            await app.fetch("GET", server.url + "/away", None, {}, 5, 1000)
    assert loop.value.reason == "redirects" and away.value.reason == "refused"
    assert len(server.requests) == 6 + 1


async def test_credentials_stay_with_their_origin_across_redirects() -> None:
    names = Names({"localhost": ["127.0.0.1"]})
    async with HostileUpstream(redirects).running() as server, fetcher(resolver=names) as app:
        url = server.url.replace("http://", "http://user:pw@") + "/other-host"
        answer = await app.fetch("GET", url, None, {"Cookie": "jar=1", "X-Other": "y"}, 5, 1000)
    first, second = server.requests
    assert "authorization" in first.headers and "authorization" not in second.headers
    assert first.headers["cookie"] == "jar=1" and "cookie" not in second.headers
    assert second.headers["x-other"] == "y"
    assert second.headers["host"].startswith("localhost:")
    assert "pw" not in answer.url


def big(request: Request) -> Script:
    if request.path == "/declared":
        return [response(200, b"x" * 5000)]
    chunk = b"1000\r\n" + b"y" * 4096 + b"\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n"
    return [head, *([chunk] * 64), b"0\r\n\r\n"]


@pytest.mark.parametrize("path", ["/declared", "/streamed"])
async def test_body_over_the_cap_fails(path: str) -> None:
    async with HostileUpstream(big).running() as server, fetcher() as app:
        with pytest.raises(AppFailure) as caught:
            await app.fetch("GET", server.url + path, None, {}, 5, 4096)
    assert caught.value.reason == "too-large"


async def test_under_the_cap_streams_whole() -> None:
    async with HostileUpstream(big).running() as server, fetcher() as app:
        answer = await app.fetch("GET", server.url + "/streamed", None, {}, 5, 64 * 4096)
    assert len(answer.body) == 64 * 4096


def slow(request: Request) -> Script:
    if request.path == "/trickle":
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        return [head, *([b"x", 0.1] * 100)]
    return [3.0, response(200, b"late")]


@pytest.mark.parametrize("path", ["/stall", "/trickle"])
async def test_total_deadline(path: str) -> None:
    async with HostileUpstream(slow).running() as server, fetcher() as app:
        began = time.monotonic()
        with pytest.raises(AppFailure) as caught:
            await app.fetch("GET", server.url + path, None, {}, 0.4, 1000)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - began < 2


async def test_error_statuses_are_answers() -> None:
    def failing(request: Request) -> Script:
        return [response(500, b"oops", headers=[("Content-Type", "text/html")])]

    async with HostileUpstream(failing).running() as server, fetcher() as app:
        answer = await app.fetch("GET", server.url, None, {}, 5, 1000)
    assert (answer.status, answer.body) == (500, b"oops")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "http://", "http://127.0.0.1:99999/", "not a url", "file:///etc/passwd", ""]
)
async def test_bad_urls(url: str) -> None:
    async with fetcher() as app:
        with pytest.raises(AppFailure) as caught:
            await app.fetch("GET", url, None, {}, 5, 1000)
    assert caught.value.reason == "url"


async def test_unresolvable_name_and_closed_port() -> None:
    async with fetcher(resolver=Names({"empty.test": []})) as app:
        for name in ("nowhere.test", "empty.test"):
            with pytest.raises(AppFailure) as caught:
                await app.fetch("GET", f"http://{name}/", None, {}, 5, 1000)
            assert caught.value.reason == "dns"
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(AppFailure) as closed:
            await app.fetch("GET", f"http://127.0.0.1:{port}/", None, {}, 5, 1000)
    assert closed.value.reason == "connect"


async def test_proxies_from_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    async with HostileUpstream(ok).running() as proxy, HostileUpstream(ok).running() as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        async with fetcher() as app:
            await app.fetch("GET", server.url, None, {}, 5, 1000)
    assert proxy.requests == [] and len(server.requests) == 1


@contextlib.asynccontextmanager
async def tls_server(name: str) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response(200, b"<Response/>", headers=[("Content-Type", "text/xml")]))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    try:
        yield server.sockets[0].getsockname()[1], client_context
    finally:
        server.close()
        await server.wait_closed()


async def test_https_verifies_the_name_while_connecting_to_the_checked_address() -> None:
    names = Names({"app.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    async with tls_server("app.test") as (port, trust), fetcher(resolver=names, verify=trust) as app:
        answer = await app.fetch("GET", f"https://app.test:{port}/x", None, {}, 5, 1000)
        assert answer.body == b"<Response/>"
        with pytest.raises(AppFailure) as caught:
            await app.fetch("GET", f"https://other.test:{port}/x", None, {}, 5, 1000)
    assert caught.value.reason == "connect"


def test_target_is_what_the_app_sees() -> None:
    assert target("GET", "https://u:p@app.example.com/a?x=1#frag", {"b": "2 3"}) == (
        "https://app.example.com/a?x=1&b=2+3"
    )
    assert target("POST", "https://u:p@app.example.com/a?x=1", {"b": "2"}) == "https://app.example.com/a?x=1"
    assert target("GET", "http://app.example.com", {"b": "2"}) == "http://app.example.com?b=2"


def test_origin_has_no_credentials() -> None:
    assert origin("https://u:secret@app.example.com/x") == "https://app.example.com:443"
    assert origin("http://[::1]:8080/") == "http://::1:8080"
    assert origin("http://h:bad/") == "(malformed URL)"
