"""A lean HTTP/1.1 client for the hot path: keep-alive connection pools per origin on asyncio protocols,
responses parsed by ``httptools`` (the parser uvicorn uses).

Why it exists: with httpx's default transport, most of the gateway's time went to the client itself —
pool bookkeeping that probes every idle socket on every request, anyio indirection, per-request
objects (docs/performance.md has the profile and the numbers). This client does only what the gateway
needs: one request at a time per connection, Content-Length or chunked bodies, ``Connection: close``,
TLS for ``https`` origins, connect and read timeouts, a bound on connections per origin.

It raises :class:`Unreachable` (connect failures, a connection lost before a complete answer) and
:class:`Timeout`; :mod:`gateway.upstream` turns those into 502/504 and decides about retries.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools
import httpx

_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
"""Nothing that could split the request line: an upstream's next-page link is untrusted input."""


class Unreachable(Exception):
    def __init__(self, message: str, *, connecting: bool, reused: bool = False) -> None:
        super().__init__(message)
        self.connecting = connecting
        self.reused = reused


class Timeout(Exception):
    def __init__(self, message: str, *, connecting: bool) -> None:
        super().__init__(message)
        self.connecting = connecting


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[RawResponse] | None = None
        self.closed = False
        self.used = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._field = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - never asked for
            self._fail(Unreachable("unexpected protocol upgrade", connecting=False))
        except httptools.HttpParserError as exc:
            self._fail(Unreachable(f"invalid HTTP response: {exc}", connecting=False))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(
            Unreachable(
                "connection closed before the response was complete", connecting=False, reused=self.used
            )
        )

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if not self.parser.should_keep_alive():
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        response = RawResponse(status, self._headers, b"".join(self._body))
        self._reset()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def exchange(self, data: bytes, timeout: float) -> RawResponse:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[RawResponse] = loop.create_future()
        self.waiter = waiter
        timer = loop.call_later(timeout, self._expire)  # cheaper than asyncio.wait_for on the hot path
        reused, self.used = self.used, True
        self.transport.write(data)
        try:
            return await waiter
        except Unreachable as exc:
            exc.reused = reused
            raise
        finally:
            timer.cancel()

    def _expire(self) -> None:
        self._fail(Timeout("the upstream did not answer in time", connecting=False))
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Pool:
    def __init__(self, scheme: str, host: str, port: int, limit: int, keepalive: int, expiry: float) -> None:
        self.scheme, self.host, self.port = scheme, host, port
        self.expiry = expiry
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(limit)
        self.keepalive = keepalive
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if scheme == "https" else None

    async def connect(self, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port, ssl=self.ssl), timeout
            )
        except TimeoutError:
            raise Timeout("connecting to the upstream timed out", connecting=True) from None
        except OSError as exc:
            raise Unreachable(
                f"cannot connect to the upstream: {exc.strerror or exc}", connecting=True
            ) from None
        return protocol

    def checkout(self, now: float) -> _Connection | None:
        while self.idle:
            connection = self.idle.pop()
            fresh = now - connection.idle_since < self.expiry
            if (
                fresh
                and not connection.closed
                and connection.transport
                and not connection.transport.is_closing()
            ):
                return connection
            connection.close()
        return None

    def checkin(self, connection: _Connection, now: float) -> None:
        if connection.closed or len(self.idle) >= self.keepalive:
            connection.close()
        else:
            connection.idle_since = now
            self.idle.append(connection)

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


class Client:
    """``await client.request("GET", "http://host:port/path?query", headers, body)``."""

    def __init__(
        self, *, connect_timeout: float, read_timeout: float, limit: int, keepalive: int, expiry: float = 4.0
    ) -> None:
        """``expiry``: idle connections older than this are not reused (servers close theirs; uvicorn's
        default keep-alive is 5 s), so a reused connection is rarely a stale one."""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.limit = limit
        self.keepalive = keepalive
        self.expiry = expiry
        self.pools: dict[tuple[str, str, int], _Pool] = {}

    def _pool(self, scheme: str, host: str, port: int) -> _Pool:
        key = (scheme, host, port)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = _Pool(scheme, host, port, self.limit, self.keepalive, self.expiry)
        return pool

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        retry_stale: bool = False,
        timeout: float | None = None,
    ) -> RawResponse:
        """``timeout`` bounds connecting and waiting for the answer (default: the client's)."""
        read_timeout = self.read_timeout if timeout is None else timeout
        connect_timeout = min(self.connect_timeout, read_timeout)
        if _UNSAFE.search(url):
            raise Unreachable("refusing a URL with spaces or control characters", connecting=False)
        parts = urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        host = parts.hostname or ""
        pool = self._pool(scheme, host, port)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        authority = host if parts.port is None else f"{host}:{port}"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        loop = asyncio.get_running_loop()
        async with pool.slots:
            for attempt in (0, 1):
                connection = pool.checkout(loop.time()) or await pool.connect(connect_timeout)
                try:
                    response = await connection.exchange(data, read_timeout)
                except Unreachable as exc:
                    connection.close()
                    if exc.reused and attempt == 0 and retry_stale:
                        continue  # the server had closed an idle keep-alive connection: try a fresh one
                    raise
                except BaseException:
                    connection.close()
                    raise
                pool.checkin(connection, loop.time())
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()


class RawSender:
    """The hot path's sender: :class:`Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        idempotent: bool,
        timeout: float,
    ) -> RawResponse:
        return await self.client.request(method, url, headers, body, retry_stale=idempotent, timeout=timeout)

    async def aclose(self) -> None:
        await self.client.aclose()


class HttpxSender:
    """httpx, for an injected transport (tests: ``httpx.MockTransport``, ``httpx.ASGITransport``) or
    ``GATEWAY_UPSTREAM_CLIENT=httpx``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        idempotent: bool,
        timeout: float,
    ) -> RawResponse:
        connect = min(timeout, self.client.timeout.connect or timeout)
        limits = httpx.Timeout(timeout, connect=connect, pool=connect)
        try:
            response = await self.client.request(method, url, headers=headers, content=body, timeout=limits)
        except httpx.ConnectTimeout:
            raise Timeout("connecting to the upstream timed out", connecting=True) from None
        except httpx.TimeoutException:
            raise Timeout("the upstream did not answer in time", connecting=False) from None
        except httpx.ConnectError as exc:
            raise Unreachable(str(exc), connecting=True) from None
        except httpx.HTTPError as exc:
            raise Unreachable(str(exc), connecting=False) from None
        return RawResponse(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )

    async def aclose(self) -> None:
        await self.client.aclose()


Sender = RawSender | HttpxSender


def sender(
    transport: httpx.AsyncBaseTransport | None,
    *,
    connect_timeout: float,
    read_timeout: float,
    limit: int,
    keepalive: int,
    use_httpx: bool = False,
) -> Sender:
    """The lean client, or httpx when a transport is injected (tests) or asked for."""
    if transport is None and not use_httpx:
        return RawSender(
            Client(
                connect_timeout=connect_timeout, read_timeout=read_timeout, limit=limit, keepalive=keepalive
            )
        )
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=keepalive)
    client = httpx.AsyncClient(
        transport=transport, timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
    )
    return HttpxSender(client)
