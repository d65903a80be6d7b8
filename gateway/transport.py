"""How bytes go to the upstream hosts: one sender interface over a well-kept HTTP library.

``fast`` (the default) is pyreqwest — Rust's reqwest/hyper behind a Python API: keep-alive pools, 1xx
answers parsed and skipped before the final one, connections with bytes left over after a complete
answer discarded, close-delimited bodies read to their end (docs/performance.md has the measurements
that chose it). httpx is the sender for an injected transport (``httpx.MockTransport`` or
``httpx.ASGITransport`` in unit tests, which so never open sockets) and for ``--upstream-client httpx``.

Both senders hold the same promises: at most ``limit`` requests in flight per sender, the wait for a slot
counted inside the request's deadline; one budget per attempt for connecting, the answer *and its whole
body* (a body sent one byte a second times out); a body longer than ``max_body`` raises
:class:`Oversized` after reading at most ``max_body + 1`` bytes; no decompression is asked for or done
(``Accept-Encoding: identity``); redirects are never followed.

They raise :class:`Unreachable` (connect failures, a connection lost or a malformed answer),
:class:`Timeout` (:class:`Busy` when the deadline passed before the request could go out) and
:class:`Oversized`; :mod:`gateway.upstream` maps those to 502/504 and decides about retries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx
from pyreqwest import exceptions as reqwest_errors
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.response import Response as StreamedResponse

IDENTITY = {"Accept-Encoding": "identity"}


class Unreachable(Exception):
    def __init__(self, message: str, *, connecting: bool) -> None:
        super().__init__(message)
        self.connecting = connecting


class Timeout(Exception):
    def __init__(self, message: str, *, connecting: bool) -> None:
        super().__init__(message)
        self.connecting = connecting


class Busy(Timeout):
    """The deadline passed before the request could be sent (waiting for a slot): not the host's fault."""

    def __init__(self) -> None:
        super().__init__("no upstream connection became free in time", connecting=True)


class Oversized(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the upstream answered with a body over {limit} bytes")
        self.limit = limit


KEPT_HEADERS = ("content-type", "retry-after")
"""The answer headers the gateway reads; no others are copied out of the client."""


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    """Lower-case names, :data:`KEPT_HEADERS` only."""
    body: bytes


class _Slots:
    """At most ``limit`` requests in flight; waiting for a slot ends at the request's deadline."""

    def __init__(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)

    async def acquire(self, deadline: float) -> None:
        if not self.semaphore.locked():
            await self.semaphore.acquire()
            return
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self.semaphore.acquire()
        except TimeoutError:
            raise Busy() from None

    def release(self) -> None:
        self.semaphore.release()


def _declared_length(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class ReqwestSender:
    """The hot path's sender: pyreqwest."""

    def __init__(
        self, *, connect_timeout: float, read_timeout: float, limit: int, keepalive: int, max_body: int
    ) -> None:
        self.read_timeout = read_timeout
        self.client: Client = (
            ClientBuilder()
            .default_headers(IDENTITY)
            .timeout(timedelta(seconds=read_timeout))  # per request: connect, answer and whole body
            .connect_timeout(timedelta(seconds=connect_timeout))
            .pool_max_idle_per_host(keepalive)
            .pool_idle_timeout(timedelta(seconds=4))  # below uvicorn's 5 s: a reused connection is live
            .follow_redirects(False)
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .referer(False)
            .no_proxy()
            .http1_only()
            .user_agent("twilio-legacy-gateway")
            .build()
        )
        self.slots = _Slots(limit)
        self.max_body = max_body

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        deadline: float,
        timeout: float,
    ) -> RawResponse:
        """``timeout`` bounds this attempt (connect, answer, whole body); ``deadline`` (monotonic) also
        bounds the wait for a slot."""
        await self.slots.acquire(deadline)
        try:
            budget = min(timeout, deadline - time.monotonic())
            if budget <= 0:
                raise Busy()
            builder = self.client.request(method, url).headers(headers)
            if body is not None:
                builder = builder.body_bytes(body)
            if budget < self.read_timeout:
                builder = builder.timeout(timedelta(seconds=budget))
            request = builder.build_streamed()
            try:
                async with request as response:
                    kept = {name: value for name in KEPT_HEADERS if (value := response.get_header(name))}
                    return RawResponse(response.status, kept, await self._read(response))
            except reqwest_errors.ConnectTimeoutError:
                raise Timeout("connecting to the upstream timed out", connecting=True) from None
            except reqwest_errors.PoolTimeoutError:
                raise Busy() from None
            except TimeoutError:
                raise Timeout("the upstream did not answer in time", connecting=False) from None
            except reqwest_errors.ConnectError as exc:
                raise Unreachable(f"cannot connect to the upstream: {exc.message}", connecting=True) from None
            except reqwest_errors.PyreqwestError as exc:
                raise Unreachable(f"the upstream exchange failed: {exc.message}", connecting=False) from None
        finally:
            self.slots.release()

    async def _read(self, response: StreamedResponse) -> bytes:
        declared = _declared_length(response.get_header("content-length"))
        if declared is not None:
            if declared > self.max_body:
                raise Oversized(self.max_body)
            return bytes(await response.bytes())  # hyper stops at the declared length
        reader = response.body_reader
        chunks: list[bytes] = []
        size = 0
        while (chunk := await reader.read_chunk()) is not None:
            size += len(chunk)
            if size > self.max_body:
                raise Oversized(self.max_body)
            chunks.append(bytes(chunk))
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def aclose(self) -> None:
        await self.client.close()
        # close() returns before reqwest's runtime thread has dropped the pool's connections; an
        # interpreter that finalizes meanwhile aborts (PyGILState_Release, SIGABRT at exit).
        await asyncio.sleep(0.05)


class HttpxSender:
    """httpx, for an injected transport (tests: ``httpx.MockTransport``, ``httpx.ASGITransport``) or
    ``--upstream-client httpx``."""

    def __init__(self, client: httpx.AsyncClient, *, limit: int, max_body: int) -> None:
        self.client = client
        self.slots = _Slots(limit)
        self.max_body = max_body

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        deadline: float,
        timeout: float,
    ) -> RawResponse:
        await self.slots.acquire(deadline)
        try:
            budget = min(timeout, deadline - time.monotonic())
            if budget <= 0:
                raise Busy()
            connect = min(budget, self.client.timeout.connect or budget)
            limits = httpx.Timeout(budget, connect=connect, pool=connect)
            request = self.client.build_request(
                method, url, headers={**IDENTITY, **headers}, content=body, timeout=limits
            )
            try:
                async with asyncio.timeout(budget):  # httpx's read timeout restarts on every byte
                    response = await self.client.send(request, stream=True)
                    try:
                        content = await self._read(response)
                    finally:
                        await response.aclose()
            except httpx.PoolTimeout:
                raise Busy() from None
            except httpx.ConnectTimeout:
                raise Timeout("connecting to the upstream timed out", connecting=True) from None
            except (httpx.TimeoutException, TimeoutError):
                raise Timeout("the upstream did not answer in time", connecting=False) from None
            except httpx.ConnectError as exc:
                raise Unreachable(str(exc), connecting=True) from None
            except httpx.HTTPError as exc:
                raise Unreachable(str(exc), connecting=False) from None
            kept = {name: value for name in KEPT_HEADERS if (value := response.headers.get(name))}
            return RawResponse(response.status_code, kept, content)
        finally:
            self.slots.release()

    async def _read(self, response: httpx.Response) -> bytes:
        declared = _declared_length(response.headers.get("content-length"))
        if declared is not None and declared > self.max_body:
            raise Oversized(self.max_body)
        if response.is_stream_consumed:  # built in memory (httpx.MockTransport): already read
            if len(response.content) > self.max_body:
                raise Oversized(self.max_body)
            return response.content
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():  # raw: never inflated
            size += len(chunk)
            if size > self.max_body:
                raise Oversized(self.max_body)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self.client.aclose()


Sender = ReqwestSender | HttpxSender


def sender(
    transport: httpx.AsyncBaseTransport | None,
    *,
    connect_timeout: float,
    read_timeout: float,
    limit: int,
    keepalive: int,
    max_body: int,
    use_httpx: bool = False,
) -> Sender:
    """pyreqwest, or httpx when a transport is injected (tests) or asked for."""
    if transport is None and not use_httpx:
        return ReqwestSender(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            limit=limit,
            keepalive=keepalive,
            max_body=max_body,
        )
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=keepalive)
    client = httpx.AsyncClient(
        transport=transport, timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
    )
    return HttpxSender(client, limit=limit, max_body=max_body)
