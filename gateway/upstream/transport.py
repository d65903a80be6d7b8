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
:class:`Oversized`; :mod:`gateway.upstream.client` maps those to 502/504 and decides about retries.
``connecting`` is true only when the request provably never left: DNS, refused connection, TLS
handshake, connect timeout. A connection lost after the request was written, and a timeout waiting
for the answer, are not: the upstream may have carried the request out.

Media (``open``): a GET whose body stays on the wire, a :class:`Stream` read chunk by chunk as the
legacy client takes it, never whole and never capped (audio may be long). The deadline bounds reaching
the answer; after that each chunk must come within the read timeout (a stalled upstream raises
:class:`Interrupted`), however long the whole takes. Streams have slots of their own (as many), so a
long download never holds up an API call. Bytes come as the upstream sent them, never decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from pyreqwest import exceptions as reqwest_errors
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.response import Response as StreamedResponse

IDENTITY = {"Accept-Encoding": "identity"}
CHUNK = 64 * 1024


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


class Interrupted(Exception):
    """A streamed body broke off, or no chunk of it came within the read timeout."""


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

    async def take(self, deadline: float, cap: float = math.inf) -> float:
        """A slot, and the seconds left for the request (at most ``cap``); :class:`Busy`, the slot
        given back, when none are left."""
        await self.acquire(deadline)
        left = min(cap, deadline - time.monotonic())
        if left <= 0:
            self.release()
            raise Busy()
        return left


STREAM_TIMEOUT = timedelta(days=1)
"""reqwest's bound on a whole media exchange: in practice none (each chunk has the read timeout)."""


class Stream:
    """An answer whose body is still on the wire: :meth:`chunks` or :meth:`read` it, then :meth:`aclose`."""

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        pieces: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
        idle: float,
    ) -> None:
        self.status = status
        self.headers = headers
        """Lower-case names."""
        self._pieces = pieces
        self._close: Callable[[], Awaitable[None]] | None = close
        self._idle = idle

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it comes; :class:`Interrupted` when it breaks off or stalls."""
        while True:
            try:
                async with asyncio.timeout(self._idle):
                    chunk = await anext(self._pieces, None)
            except TimeoutError:
                raise Interrupted("the upstream stopped sending the body") from None
            if chunk is None:
                return
            yield chunk

    async def read(self, limit: int) -> bytes:
        """At most ``limit`` bytes of the body (an error body, never the audio)."""
        body = bytearray()
        async for chunk in self.chunks():
            body += chunk
            if len(body) >= limit:
                break
        return bytes(body[:limit])

    async def aclose(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            await close()


def _declared_length(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


NEVER_SENT_KIND = "client error (Connect)"
"""How hyper's client names its ``Connect`` kind (DNS, TCP connect, TLS handshake, connect timeout:
nothing written yet) in pyreqwest's cause chain. pyreqwest's classes do not carry it: it raises
:class:`~pyreqwest.exceptions.ConnectError` for a connection dropped after the request was written too,
and :class:`~pyreqwest.exceptions.ConnectTimeoutError` for any timeout before the body (a hung
upstream). The chain is the only place the kind survives; a chain without it counts as sent."""


def _never_sent(exc: reqwest_errors.PyreqwestError) -> bool:
    details = getattr(exc, "details", None)
    causes = details.get("causes") if isinstance(details, dict) else None
    return any(isinstance(cause, dict) and cause.get("message") == NEVER_SENT_KIND for cause in causes or ())


@contextlib.contextmanager
def _reqwest_errors() -> Iterator[None]:
    """pyreqwest's failures as this module's; ``connecting`` only where the request provably never
    left (:data:`NEVER_SENT_KIND`)."""
    try:
        yield
    except reqwest_errors.PoolTimeoutError:
        raise Busy() from None
    except reqwest_errors.RequestTimeoutError as exc:
        if _never_sent(exc):
            raise Timeout("connecting to the upstream timed out", connecting=True) from None
        raise Timeout("the upstream did not answer in time", connecting=False) from None
    except TimeoutError:
        raise Timeout("the upstream did not answer in time", connecting=False) from None
    except reqwest_errors.PyreqwestError as exc:
        if _never_sent(exc):
            raise Unreachable(f"cannot connect to the upstream: {exc.message}", connecting=True) from None
        raise Unreachable(f"the upstream exchange failed: {exc.message}", connecting=False) from None


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
        """``timeout`` bounds this attempt (connect, answer, whole body); ``deadline`` (monotonic) also
        bounds the wait for a slot."""
        budget = await self.slots.take(deadline, timeout)
        try:
            builder = self.client.request(method, url).headers(headers)
            if body is not None:
                builder = builder.body_bytes(body)
            if budget < self.read_timeout:
                builder = builder.timeout(timedelta(seconds=budget))
            request = builder.build_streamed()
            with _reqwest_errors():
                async with request as response:
                    kept = {name: value for name in KEPT_HEADERS if (value := response.get_header(name))}
                    return RawResponse(response.status, kept, await self._read(response))
        finally:
            self.slots.release()

    async def open(self, url: str, headers: Mapping[str, str], *, deadline: float) -> Stream:
        """A GET whose body is left on the wire (media); ``deadline`` bounds reaching the answer."""
        remaining = await self.streams.take(deadline)
        try:
            builder = self.client.request("GET", url).headers(headers).timeout(STREAM_TIMEOUT)
            # No read-ahead before the answer is handed over: its head, not 64 KiB of body, is what
            # the deadline waits for; each chunk then comes as the upstream sends it.
            request = builder.streamed_read_buffer_limit(0).build_streamed()
            with _reqwest_errors():
                async with asyncio.timeout(remaining):
                    response = await request.__aenter__()
        except BaseException:
            self.streams.release()
            raise

        async def close() -> None:
            try:
                await request.__aexit__(None, None, None)
            finally:
                self.streams.release()

        headers = dict(response.headers.items())
        return Stream(response.status, headers, _reqwest_pieces(response), close, self.read_timeout)

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


async def _reqwest_pieces(response: StreamedResponse) -> AsyncIterator[bytes]:
    reader = response.body_reader
    try:
        while (chunk := await reader.read_chunk()) is not None:
            yield bytes(chunk)
    except reqwest_errors.PyreqwestError as exc:
        raise Interrupted(f"the upstream broke off the body: {exc.message}") from None
