"""The lean upstream client against scripted HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gateway.transport import Client, Timeout, Unreachable

Handler = Callable[[bytes, int], bytes | None]


class Server:
    """Answers each request on a connection with ``handler(request_bytes, n)``; ``None`` closes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                answer = self.handler(request, len(self.requests))
                if answer is None:
                    writer.close()
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Any]]:
    servers: list[asyncio.base_events.Server] = []

    async def start(handler: Handler) -> tuple[Server, str]:
        state = Server(handler)
        server = await asyncio.start_server(state.serve, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return state, f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()


def ok(body: bytes = b'{"ok":1}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


def client(**kwargs: Any) -> Client:
    return Client(**{"connect_timeout": 2, "read_timeout": 2, "limit": 10, "keepalive": 10, **kwargs})


async def test_keep_alive_reuses_one_connection(serve: Any) -> None:
    state, base = await serve(lambda request, n: ok())
    http = client()
    for _ in range(5):
        response = await http.request("GET", base + "/x?a=1", {"Accept": "application/json"})
        assert (response.status, response.body) == (200, b'{"ok":1}')
        assert response.headers["content-type"] == "application/json"
    assert state.connections == 1
    assert state.requests[0].startswith(b"GET /x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    await http.aclose()


async def test_post_body_and_headers(serve: Any) -> None:
    state, base = await serve(lambda request, n: ok())
    http = client()
    await http.request("POST", base + "/f", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1&b=2")
    assert state.requests[0].endswith(b"Content-Length: 7\r\n\r\na=1&b=2")
    await http.aclose()


async def test_chunked_responses(serve: Any) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"
    _, base = await serve(lambda request, n: chunked)
    http = client()
    assert (await http.request("GET", base + "/", {})).body == b"abcdefg"
    assert (await http.request("GET", base + "/", {})).body == b"abcdefg"
    await http.aclose()


async def test_connection_close_is_honoured(serve: Any) -> None:
    state, base = await serve(lambda request, n: ok(extra=b"Connection: close\r\n"))
    http = client()
    await http.request("GET", base + "/", {})
    await asyncio.sleep(0.05)
    await http.request("GET", base + "/", {})
    assert state.connections == 2
    await http.aclose()


async def test_a_stale_keep_alive_connection_is_retried_for_idempotent_requests(serve: Any) -> None:
    # The server answers the first request, then drops the connection when the second arrives on it.
    state, base = await serve(lambda request, n: None if n == 2 else ok())
    http = client()
    await http.request("GET", base + "/", {})
    response = await http.request("GET", base + "/", {}, retry_stale=True)
    assert response.status == 200
    assert state.connections == 2
    await http.aclose()


async def test_a_stale_connection_is_not_retried_for_posts(serve: Any) -> None:
    _, base = await serve(lambda request, n: None if n == 2 else ok())
    http = client()
    await http.request("POST", base + "/", {}, b"")
    with pytest.raises(Unreachable) as caught:
        await http.request("POST", base + "/", {}, b"x=1", retry_stale=False)
    assert not caught.value.connecting and caught.value.reused
    await http.aclose()


async def test_idle_connections_expire(serve: Any) -> None:
    state, base = await serve(lambda request, n: ok())
    http = client(expiry=0.05)
    await http.request("GET", base + "/", {})
    await asyncio.sleep(0.1)
    await http.request("GET", base + "/", {})
    assert state.connections == 2
    await http.aclose()


async def test_refused_connection_is_unreachable_while_connecting() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(Unreachable) as caught:
        await client().request("GET", f"http://127.0.0.1:{port}/", {})
    assert caught.value.connecting


async def test_slow_answer_is_a_read_timeout() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(Timeout) as caught:
        await client(read_timeout=0.1).request("GET", f"http://127.0.0.1:{port}/", {})
    assert not caught.value.connecting
    server.close()


async def test_garbage_is_unreachable(serve: Any) -> None:
    _, base = await serve(lambda request, n: b"NOT HTTP AT ALL\r\n\r\n")
    with pytest.raises(Unreachable):
        await client().request("GET", base + "/", {})


async def test_the_pool_bounds_connections(serve: Any) -> None:
    gate = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await gate.wait()
                writer.write(ok())
                await writer.drain()

    server = await asyncio.start_server(slow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = client(limit=2)
    tasks = [asyncio.create_task(http.request("GET", f"http://127.0.0.1:{port}/", {})) for _ in range(5)]
    await asyncio.sleep(0.1)
    pool = next(iter(http.pools.values()))
    assert pool.slots._value == 0  # two in flight, three waiting for a slot
    gate.set()
    assert [r.status for r in await asyncio.gather(*tasks)] == [200] * 5
    server.close()
    await http.aclose()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/a b", "http://127.0.0.1:9/a\r\nX-Evil: 1", "http://127.0.0.1:9/\x00"]
)
async def test_urls_that_could_split_the_request_line_are_refused(url: str) -> None:
    with pytest.raises(Unreachable) as caught:
        await client().request("GET", url, {})
    assert not caught.value.connecting  # not retried either


async def test_https_origins_use_tls_with_verification(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    import trustme

    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    state = Server(lambda request, n: ok())
    server = await asyncio.start_server(state.serve, "localhost", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(Unreachable):  # a certificate nobody vouches for
        await client().request("GET", f"https://localhost:{port}/", {})
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # how an operator adds a private CA
    response = await client().request("GET", f"https://localhost:{port}/x", {})
    assert response.status == 200
    assert state.requests[-1].startswith(b"GET /x HTTP/1.1\r\nHost: localhost:")
    server.close()
