"""httpx as the sender: for an injected transport (tests: ``httpx.MockTransport``, ``httpx.ASGITransport``,
so unit tests open no sockets) or ``--upstream-client httpx``. Same interface as
:class:`~gateway.upstream.transport.ReqwestSender`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping

import httpx

from gateway.upstream.transport import (
    CHUNK,
    IDENTITY,
    KEPT_HEADERS,
    Busy,
    Interrupted,
    Oversized,
    RawResponse,
    Stream,
    Timeout,
    Unreachable,
    _declared_length,
    _Slots,
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpx's failures (and the deadline's ``TimeoutError``) as :mod:`gateway.upstream.transport`'s.
    httpx's classes tell where it failed: ``ConnectError``/``ConnectTimeout`` only while connecting
    (DNS, TCP, TLS), so nothing was sent; a lost connection or a read timeout after that is another
    class (``RemoteProtocolError``, ``ReadError``, ``ReadTimeout``)."""
    try:
        yield
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


class HttpxSender:
    """httpx, for an injected transport (tests: ``httpx.MockTransport``, ``httpx.ASGITransport``) or
    ``--upstream-client httpx``."""

    def __init__(self, client: httpx.AsyncClient, *, limit: int, max_body: int) -> None:
        self.client = client
        self.slots = _Slots(limit)
        self.streams = _Slots(limit)
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
        budget = await self.slots.take(deadline, timeout)
        try:
            connect = min(budget, self.client.timeout.connect or budget)
            limits = httpx.Timeout(budget, connect=connect, pool=connect)
            request = self.client.build_request(
                method, url, headers={**IDENTITY, **headers}, content=body, timeout=limits
            )
            with _httpx_errors():
                async with asyncio.timeout(budget):  # httpx's read timeout restarts on every byte
                    response = await self.client.send(request, stream=True)
                    try:
                        content = await self._read(response)
                    finally:
                        await response.aclose()
            kept = {name: value for name in KEPT_HEADERS if (value := response.headers.get(name))}
            return RawResponse(response.status_code, kept, content)
        finally:
            self.slots.release()

    async def open(self, url: str, headers: Mapping[str, str], *, deadline: float) -> Stream:
        """A GET whose body is left on the wire (media); ``deadline`` bounds reaching the answer."""
        remaining = await self.streams.take(deadline)
        try:
            connect = min(remaining, self.client.timeout.connect or remaining)
            read = self.client.timeout.read or remaining
            limits = httpx.Timeout(read, connect=connect, pool=connect)
            request = self.client.build_request("GET", url, headers=headers, timeout=limits)
            with _httpx_errors():
                async with asyncio.timeout(remaining):
                    response = await self.client.send(request, stream=True)
        except BaseException:
            self.streams.release()
            raise

        async def close() -> None:
            try:
                await response.aclose()
            finally:
                self.streams.release()

        headers = {name.lower(): value for name, value in response.headers.items()}
        return Stream(response.status_code, headers, _httpx_pieces(response), close, read)

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


async def _httpx_pieces(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:  # built in memory (httpx.MockTransport)
        for start in range(0, len(response.content), CHUNK):
            yield response.content[start : start + CHUNK]
        return
    try:
        async for chunk in response.aiter_raw(CHUNK):  # raw: as the upstream sent it
            yield chunk
    except httpx.HTTPError as exc:
        raise Interrupted(f"the upstream broke off the body: {type(exc).__name__}") from None


def httpx_sender(
    transport: httpx.AsyncBaseTransport | None,
    *,
    connect_timeout: float,
    read_timeout: float,
    limit: int,
    keepalive: int,
    max_body: int,
) -> HttpxSender:
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=keepalive)
    client = httpx.AsyncClient(
        transport=transport, timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
    )
    return HttpxSender(client, limit=limit, max_body=max_body)
