"""A hostile upstream on loopback: raw sockets (asyncio streams), scripted byte by byte.

Each request read from a connection is handed to ``handler(request)``, which returns a script: ``bytes``
are written as they are, a ``float`` sleeps that many seconds, ``None`` closes the connection. After a
script that does not close, the next request is read from the same connection (keep-alive), so
whatever a script leaves on the wire reaches the client's next read on that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import orjson

Action = bytes | float | None
Script = Sequence[Action]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Handler = Callable[[Request], Script]


def response(
    status: int,
    body: bytes = b"",
    *,
    headers: Sequence[tuple[str, str]] = (),
    reason: str = "X",
    version: str = "HTTP/1.1",
    length: bool = True,
) -> bytes:
    lines = [f"{version} {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, value: object, *, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    return response(
        status, orjson.dumps(value), headers=[("Content-Type", "application/json"), *headers], reason="OK"
    )


def gzip_bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzipped (about a thousandth of the size)."""
    return gzip.compress(b"\0" * inflated, compresslevel=9)


@dataclass
class HostileUpstream:
    handler: Handler
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    url: str = ""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            while True:
                request = await self._read(reader)
                self.requests.append(request)
                for action in self.handler(request):
                    if action is None:
                        return
                    if isinstance(action, float):
                        await asyncio.sleep(action)
                    else:
                        writer.write(action)
                        await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        except asyncio.CancelledError:
            return  # the test is over
        finally:
            self.tasks.discard(task)
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Request:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        first, *lines = head.split("\r\n")
        method, target, _ = first.split(" ", 2)
        headers: dict[str, str] = {}
        for line in filter(None, lines):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return Request(method, target, headers, body)

    @contextlib.asynccontextmanager
    async def running(self, port: int = 0) -> AsyncIterator[HostileUpstream]:
        """Listening on ``port`` (any free one by default) until the block ends."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            server.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
