"""The HTTP/1.1 connection: uvicorn's httptools protocol, with what it lacks for clients that are slow,
silent, too many, or not speaking HTTP (docs/operations.md, "Slow and silent clients").

- Headers: a connection that says nothing within ``GATEWAY_CLIENT_TIMEOUT`` of connecting is closed, and
  a request whose headers are not all in within that time (of connecting, for the first request; of its
  first byte, for later ones) is answered 408 ``<RestException>`` and closed. uvicorn arms no timer before
  a response (its keep-alive timeout starts after one, and any byte stops it), and neither parser has a
  timeout of its own.
- Bodies: the app answers 408 to a body that does not arrive in time (:func:`gateway.edge.answers.read_body`);
  a body no one reads (the answer came first: a 413, say) must end within twice that, or the connection
  is closed.
- The cap: a connection beyond ``GATEWAY_MAX_CONNECTIONS`` is answered 503 ``<RestException>`` at once and
  closed, so clients that hold connections never take the process to its file-descriptor limit, where
  nothing is answered at all.
- What the parser refuses (``GETT``, a bad ``Content-Length`` or chunk size, a space in the target) is
  answered 400 ``<RestException>`` instead of uvicorn's ``text/plain``.

- Writes: each answer's head is held until its body, and both go in one ``write`` (:class:`HeldHead`):
  one system call and one TCP segment per answer where uvicorn makes two.

Each refusal is written and the sending side shut; the connection is closed once what the client sends
next is read (its request, or the end of its side), or after a moment, so the answer is not lost to a
reset — unless more than :data:`LINGERING` refused connections wait so already: then it is closed at
once, and a flood of connections never holds descriptors.
"""

from __future__ import annotations

import asyncio
import functools
import http
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.dialect import render
from gateway.dialect.document import Problem
from gateway.settings import Settings

LINGER = 1.0
"""Seconds a refused connection is read (and dropped) after its answer before it is closed."""
LINGERING = 32
"""Refused connections that linger at most; beyond them (a flood) one is closed right after its answer."""
JOIN_LIMIT = 64 * 1024
"""Bodies above this many bytes are written after their head, not joined to it."""
RESERVED_DESCRIPTORS = 64 + LINGERING
"""Besides upstream and shadow connections: listeners, the HAR and log files, Redis, the event loop,
and the refused connections that linger."""


@dataclass(frozen=True)
class Limits:
    client_timeout: float
    max_connections: int


def limits(settings: Settings) -> Limits:
    return Limits(settings.client_timeout, connection_cap(settings))


def connection_cap(settings: Settings, nofile: int | None = None) -> int:
    """``GATEWAY_MAX_CONNECTIONS``, or what the file-descriptor limit leaves once the upstream
    connections and the process's own files are counted."""
    if settings.max_connections is not None:
        return settings.max_connections
    if nofile is None:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if nofile == resource.RLIM_INFINITY:
            nofile = 1 << 20
    reserved = RESERVED_DESCRIPTORS + settings.pool_max_connections + settings.shadow_max_in_flight
    return max(16, nofile - reserved)


def protocol(settings: Settings) -> Callable[..., asyncio.Protocol]:
    """What uvicorn's ``http`` option takes: a protocol factory carrying the settings' limits (it pickles,
    for worker processes)."""
    return functools.partial(GatewayProtocol, limits=limits(settings))


class GatewayProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.phase = "connected"
        """connected (nothing heard yet), headers, body, between (requests), refused"""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeldHead(transport, self.loop))  # type: ignore[arg-type]
        if len(self.connections) > self.limits.max_connections:
            self.refuse(503, "The gateway has too many open connections; retry the request")
        else:
            self.arm(self.limits.client_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.phase != "refused":
            super().data_received(data)
        elif not self.transport.is_closing():
            self.transport.close()  # what came is read: closing now sends no reset

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase != "connected":  # the first request's headers are due by the connection's deadline
            self.arm(self.limits.client_timeout)
        self.phase = "headers"

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.phase = "body"
        self.arm(2 * self.limits.client_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.phase = "between"  # uvicorn's keep-alive timeout takes over once the answer is sent
        self.disarm()

    def send_400_response(self, msg: str) -> None:
        self.refuse(400, "The request is not valid HTTP")

    def expired(self) -> None:
        self.timer = None
        if self.phase == "headers":
            self.refuse(408, "The request headers did not arrive in time")
        elif not self.transport.is_closing():
            self.transport.close()

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with a legacy error and close: the sending side at once, the connection
        once the client closes its side or :data:`LINGER` has passed."""
        self.phase = "refused"
        if self.transport.is_closing():
            return
        self.transport.write(answer(status, message))
        lingering = len(self.connections) - self.limits.max_connections
        if self.transport.can_write_eof() and lingering <= LINGERING:
            self.transport.write_eof()
            self.arm(LINGER)
        else:
            self.transport.close()

    def arm(self, seconds: float) -> None:
        self.disarm()
        self.timer = self.loop.call_later(seconds, self.expired)

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class HeldHead:
    """The connection's transport, holding an answer's head (a write that starts with ``HTTP/``) until
    the next write, which it joins; anything else is written at once. A head no write follows in the
    same turn of the event loop (a HEAD answer, an interim ``100 Continue``, media whose first chunk is
    on its way) is written at the end of that turn, so nothing waits on it. At most one head is held;
    closing or shutting the sending side writes it first, aborting drops it."""

    __slots__ = ("_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) > JOIN_LIMIT:  # copying a large body costs more than the second call
                self._transport.write(head)
                self._transport.write(data)
            else:
                self._transport.write(head + data)
        elif data[:5] == b"HTTP/":
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@functools.lru_cache(maxsize=8)
def answer(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 answer with a legacy XML error, ending the connection."""
    body, content_type = render.render(Problem(status, message, None, None), "xml", status)
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
