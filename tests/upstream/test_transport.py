"""The senders against a hostile upstream on loopback (tests/hostile.py): what reaches the wire and what
comes back when the upstream misbehaves."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import trustme
from pyreqwest.exceptions import (
    CauseErrorDetails,
    ConnectError,
    ConnectTimeoutError,
    ReadError,
    ReadTimeoutError,
)

from gateway.upstream.senders import Sender, sender
from gateway.upstream.transport import (
    Busy,
    Oversized,
    ReqwestSender,
    Timeout,
    Unreachable,
    _reqwest_errors,
)
from gateway.upstream.transport_httpx import HttpxSender
from tests.hostile import HostileUpstream, Request, Script, gzip_bomb, json_response, response

CAP = 64 * 1024


def make(kind: str, *, limit: int = 4, max_body: int = CAP) -> Sender:
    return sender(
        None,
        connect_timeout=1,
        read_timeout=5,
        limit=limit,
        keepalive=4,
        max_body=max_body,
        use_httpx=kind == "httpx",
    )


@pytest.fixture(params=["fast", "httpx"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Sender]:
    made = make(request.param)
    yield made
    await made.aclose()


@pytest.fixture
async def fast() -> AsyncIterator[Sender]:
    made = make("fast")
    yield made
    await made.aclose()


async def get(client: Sender, url: str, timeout: float = 5) -> tuple[int, bytes]:
    reply = await client.send("GET", url, {}, None, deadline=time.monotonic() + timeout, timeout=timeout)
    return reply.status, reply.body


def routes(first: Callable[[Request], Script]) -> Callable[[Request], Script]:
    """``first`` answers /first; every other path gets a 200 naming its path."""

    def handler(request: Request) -> Script:
        if request.path.startswith("/first"):
            return first(request)
        return [json_response(200, {"path": request.path})]

    return handler


def test_the_default_is_pyreqwest_and_an_injected_transport_gets_httpx() -> None:
    assert isinstance(make("fast"), ReqwestSender)
    assert isinstance(make("httpx"), HttpxSender)
    injected = sender(
        httpx.MockTransport(lambda r: httpx.Response(200)),
        connect_timeout=1,
        read_timeout=1,
        limit=1,
        keepalive=1,
        max_body=1,
    )
    assert isinstance(injected, HttpxSender)


@pytest.mark.parametrize(
    "interim", [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"]
)
async def test_interim_answers_are_skipped_and_the_next_request_gets_its_own_answer(
    fast: Sender, interim: bytes
) -> None:
    handler = routes(lambda request: [interim, interim, json_response(200, {"path": "/first"})])
    async with HostileUpstream(handler).running() as upstream:
        assert await get(fast, upstream.url + "/first") == (200, b'{"path":"/first"}')
        assert await get(fast, upstream.url + "/second") == (200, b'{"path":"/second"}')
        assert upstream.connections == 1  # the same connection, in step


@pytest.mark.parametrize(
    "answer",
    [
        json_response(200, {"path": "/first"}) + b"JUNK AFTER THE BODY",
        response(204, headers=[("Content-Length", "9")], length=False) + b"NOT EMPTY",
    ],
)
async def test_bytes_after_a_complete_answer_do_not_fail_the_next_request(
    fast: Sender, answer: bytes
) -> None:
    async with HostileUpstream(routes(lambda request: [answer])).running() as upstream:
        status, _ = await get(fast, upstream.url + "/first")
        assert status in (200, 204)
        assert await get(fast, upstream.url + "/second") == (200, b'{"path":"/second"}')


@pytest.mark.parametrize(
    "answer",
    [
        response(200, b'{"a":1}', version="HTTP/1.0", length=False),
        response(200, b'{"a":1}', headers=[("Connection", "close")], length=False),
    ],
)
async def test_close_delimited_bodies_are_read_to_the_end(client: Sender, answer: bytes) -> None:
    async with HostileUpstream(routes(lambda request: [answer, 0.05, None])).running() as upstream:
        assert await get(client, upstream.url + "/first") == (200, b'{"a":1}')
        assert await get(client, upstream.url + "/second") == (200, b'{"path":"/second"}')


@pytest.mark.parametrize("declared", [True, False])
async def test_a_body_over_the_cap_raises_oversized_without_reading_it_all(
    client: Sender, declared: bool
) -> None:
    size = 64 * CAP
    body = b"x" * size
    if declared:
        script: Script = [response(200, body)]
    else:  # close-delimited: only counting can stop it
        script = [response(200, length=False), *(body[i : i + CAP] for i in range(0, size, CAP)), None]
    async with HostileUpstream(routes(lambda request: script)).running() as upstream:
        with pytest.raises(Oversized):
            await get(client, upstream.url + "/first")
        assert await get(client, upstream.url + "/second") == (200, b'{"path":"/second"}')


async def test_a_body_at_the_cap_is_read(client: Sender) -> None:
    async with HostileUpstream(routes(lambda request: [response(200, b"y" * CAP)])).running() as upstream:
        assert await get(client, upstream.url + "/first") == (200, b"y" * CAP)


async def test_no_decompression_is_asked_for_or_done(client: Sender) -> None:
    bomb = gzip_bomb(256 * CAP)
    script = [response(200, bomb, headers=[("Content-Encoding", "gzip")])]
    async with HostileUpstream(routes(lambda request: script)).running() as upstream:
        assert await get(client, upstream.url + "/first") == (200, bomb)
        assert upstream.requests[0].headers.get("accept-encoding", "identity") == "identity"


async def test_the_timeout_covers_the_whole_body_not_each_byte(client: Sender) -> None:
    drip: Script = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"]
    drip = [*drip, *(part for _ in range(100) for part in (0.05, b"x"))]
    async with HostileUpstream(routes(lambda request: drip)).running() as upstream:
        started = time.monotonic()
        with pytest.raises(Timeout):
            await get(client, upstream.url + "/first", timeout=1)
        assert time.monotonic() - started < 2


async def test_waiting_for_a_slot_ends_at_the_deadline() -> None:
    client = make("fast", limit=1)
    async with HostileUpstream(routes(lambda request: [2.0, json_response(200, {})])).running() as upstream:
        slow = asyncio.create_task(get(client, upstream.url + "/first"))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(Busy):
            await client.send(
                "GET", upstream.url + "/x", {}, None, deadline=time.monotonic() + 0.3, timeout=5
            )
        assert time.monotonic() - started < 1
        slow.cancel()
    await client.aclose()


@pytest.mark.parametrize("status", [999, 302, 100])
async def test_odd_statuses_are_returned_as_they_are_for_the_policy_to_judge(
    fast: Sender, status: int
) -> None:
    answer = response(status, b"", headers=[("Location", "/elsewhere")])
    if status == 100:  # a final answer never comes: the connection closes
        script: Script = [answer, None]
        async with HostileUpstream(routes(lambda request: script)).running() as upstream:
            with pytest.raises(Exception) as raised:
                await get(fast, upstream.url + "/first")
            assert raised.type.__module__ == "gateway.upstream.transport"
        return
    async with HostileUpstream(routes(lambda request: [answer])).running() as upstream:
        assert (await get(fast, upstream.url + "/first"))[0] == status
        assert len(upstream.requests) == 1  # a redirect is never followed


async def test_tls_is_verified_and_a_private_ca_is_added_with_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(json_response(200, {"tls": True}))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "localhost", 0, ssl=server_context)
    url = f"https://localhost:{server.sockets[0].getsockname()[1]}/x"
    untrusting = make("fast")
    with pytest.raises(Unreachable):  # a certificate nobody vouches for
        await get(untrusting, url)
    await untrusting.aclose()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # how an operator adds a private CA
    trusting = make("fast")
    assert await get(trusting, url) == (200, b'{"tls":true}')
    await trusting.aclose()
    server.close()


def _chain(*messages: str) -> CauseErrorDetails:
    return {"causes": [{"message": message} for message in messages]}


SENDING = "error sending request for url (http://127.0.0.1:1/x)"


@pytest.mark.parametrize(
    ("error", "raised", "connecting"),
    [
        (
            ConnectError("connection error", _chain(SENDING, "client error (Connect)", "tcp connect error")),
            Unreachable,
            True,
        ),
        (
            ConnectError(
                "connection error",
                _chain(SENDING, "client error (SendRequest)", "connection closed before message completed"),
            ),
            Unreachable,
            False,
        ),
        (
            ConnectError("connection error", _chain(SENDING, "connection reset, client error (Connect)")),
            Unreachable,
            False,
        ),
        (ConnectError("connection error", {"causes": None}), Unreachable, False),
        (
            ConnectTimeoutError(
                "connection timeout", _chain(SENDING, "client error (Connect)", "deadline has elapsed")
            ),
            Timeout,
            True,
        ),
        (ConnectTimeoutError("connection timeout", _chain(SENDING, "operation timed out")), Timeout, False),
        (ReadTimeoutError("response body timeout", _chain(SENDING)), Timeout, False),
        (ReadError("response body connection error", _chain(SENDING)), Unreachable, False),
    ],
    ids=[
        "refused",
        "dropped-after-sending",
        "kind-inside-text",
        "no-chain",
        "connect-timeout",
        "hung",
        "body-timeout",
        "body-lost",
    ],
)
def test_only_a_failure_hyper_names_a_connect_failure_counts_as_never_sent(
    error: Exception, raised: type[Timeout | Unreachable], connecting: bool
) -> None:
    """pyreqwest raises ConnectError for a connection dropped after the request went out, and
    ConnectTimeoutError for a hung answer: its class alone would have both retried."""
    with pytest.raises(raised) as caught, _reqwest_errors():
        raise error
    assert isinstance(caught.value, Timeout | Unreachable)
    assert caught.value.connecting is connecting
