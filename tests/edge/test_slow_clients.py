"""Clients that are slow, silent or too many, over real sockets on loopback, against the gateway served
as ``serve`` serves it (uvicorn with gateway/edge/protocol.py): each is ended after the client timeout
or refused at once, and real requests are answered meanwhile."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.edge.protocol import connection_cap, protocol
from gateway.settings import Settings
from tests.conftest import ACCOUNT, PREFIX, TOKEN, UPSTREAM, CountingTransport
from tests.servers import serve

TIMEOUT = 0.5
SLACK = 2.0
"""What a loaded machine may add to a deadline before a test calls it missed."""
AUTH = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()


class Slow(httpx.AsyncBaseTransport):
    """The sandbox, answering after ``delay`` seconds."""

    def __init__(self, inner: httpx.AsyncBaseTransport, delay: float) -> None:
        self.inner, self.delay = inner, delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


@contextlib.contextmanager
def gateway(upstream: httpx.AsyncBaseTransport, **changes: object) -> Iterator[int]:
    settings = Settings(
        upstream=UPSTREAM, trunking_upstream=UPSTREAM, access_log=False, client_timeout=TIMEOUT
    ).replace(**changes)
    with serve(create_app(settings, upstream), http=protocol(settings)) as base:
        yield int(base.rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(TIMEOUT + SLACK + 3)
    return sock


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, data = time.monotonic(), b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data, time.monotonic() - started


def one_answer(sock: socket.socket) -> bytes:
    """One answer with a Content-Length, read from a connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            v
            for k, v in (line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
            if k.lower() == b"content-length"
        )
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def rest_exception(answer: bytes, status: int) -> None:
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"content-type: application/xml" in answer.lower()
    assert f"<RestException><Status>{status}</Status>".encode() in answer


def test_a_connection_that_says_nothing_is_closed_after_the_timeout(upstream: CountingTransport) -> None:
    with gateway(upstream) as port, connect(port) as sock:
        data, took = until_closed(sock)
    assert data == b""
    assert TIMEOUT * 0.9 <= took < TIMEOUT + SLACK


def test_headers_trickled_past_the_timeout_get_408_and_a_close(upstream: CountingTransport) -> None:
    with gateway(upstream) as port, connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")

        def trickle() -> None:
            with contextlib.suppress(OSError):
                for _ in range(100):
                    sock.sendall(b"a")
                    time.sleep(0.05)

        threading.Thread(target=trickle, daemon=True).start()
        data, took = until_closed(sock)
    rest_exception(data, 408)
    assert took < TIMEOUT + SLACK


def test_a_stalled_body_gets_408_and_nothing_goes_upstream(upstream: CountingTransport) -> None:
    with gateway(upstream) as port, connect(port) as sock:
        sock.sendall(
            f"POST {PREFIX}/OutgoingCallerIds HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            "PhoneNumb".encode()
        )
        data, took = until_closed(sock)
    rest_exception(data, 408)
    assert b"connection: close" in data.lower()
    assert took < TIMEOUT + SLACK
    assert upstream.count() == 0


def test_a_body_no_one_reads_still_ends_within_twice_the_timeout(upstream: CountingTransport) -> None:
    with gateway(upstream) as port, connect(port) as sock:
        sock.sendall(
            f"POST {PREFIX}/OutgoingCallerIds HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
            "Content-Length: 99999999\r\n\r\nPhone".encode()
        )
        data, took = until_closed(sock)
    rest_exception(data, 413)  # answered at once, from the Content-Length
    assert took < 2 * TIMEOUT + SLACK


def test_beyond_the_cap_a_connection_is_refused_at_once_and_the_others_go_on(
    upstream: CountingTransport,
) -> None:
    with gateway(upstream, client_timeout=30, max_connections=3) as port:
        held = [connect(port) for _ in range(3)]
        time.sleep(0.2)  # accepted by the server
        with connect(port) as extra:
            data, took = until_closed(extra)
        rest_exception(data, 503)
        assert took < SLACK
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert one_answer(held[0]).startswith(b"HTTP/1.1 200 ")
        held[1].close()
        time.sleep(0.2)  # one place free again
        with connect(port) as again:
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert one_answer(again).startswith(b"HTTP/1.1 200 ")
        for sock in held:
            sock.close()


def test_a_request_whose_answer_takes_longer_than_the_timeout_is_answered(
    upstream: CountingTransport,
) -> None:
    with gateway(Slow(upstream, 3 * TIMEOUT)) as port, connect(port) as sock:
        sock.sendall(
            f"GET {PREFIX}/OutgoingCallerIds HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n\r\n".encode()
        )
        answer = one_answer(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"<OutgoingCallerIds" in answer


def test_a_keep_alive_connection_may_wait_between_requests(upstream: CountingTransport) -> None:
    with gateway(upstream) as port, connect(port) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            time.sleep(TIMEOUT / 3)
            sock.sendall(b"Host: x\r\n\r\n")
            assert one_answer(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(2 * TIMEOUT)  # idle: uvicorn's keep-alive timeout (5 s), not the client timeout


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GETT / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /2008-08-01/Accounts /x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    ],
    ids=["unknown method", "space in the target", "bad Content-Length", "bad chunk size"],
)
def test_malformed_http_gets_a_rest_exception(upstream: CountingTransport, request_bytes: bytes) -> None:
    with gateway(upstream) as port, connect(port) as sock:
        sock.sendall(request_bytes)
        data, took = until_closed(sock)
    rest_exception(data, 400)
    assert took < SLACK


def test_the_default_cap_leaves_room_below_the_descriptor_limit() -> None:
    settings = Settings()
    assert connection_cap(settings, nofile=1024) == 1024 - 96 - 100 - 16
    assert connection_cap(settings, nofile=100) == 16
    assert connection_cap(settings.replace(max_connections=7), nofile=1024) == 7
