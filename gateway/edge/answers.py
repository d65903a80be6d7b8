"""Answering over ASGI: the bytes of a legacy answer or error, a body read whole (or refused when the
client leaves), media relayed as it comes, and a request's work raced against its client leaving."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from gateway import observability as obs
from gateway.asgi import Message, Receive, Scope, Send
from gateway.call import Bare
from gateway.dialect import legacy, render
from gateway.dialect.document import Problem
from gateway.errors import GatewayError, MethodNotAllowed, RequestTimeout, Unauthorized
from gateway.upstream.transport import Interrupted

T = TypeVar("T")
log = logging.getLogger("gateway.app")
CHALLENGE = (b"www-authenticate", b'Basic realm="Twilio API"')


class ClientDisconnected(Exception):
    """The client went away before its request was complete: nothing of it is acted on."""


def sniff_format(path: str) -> str:
    """The format to answer errors in; never raises."""
    fmt = legacy.suffix(path.rstrip("/"))[1]
    return fmt if fmt in legacy.FORMATS else "xml"


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: str | None,
    extra: list[Any] | None = None,
) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    headers.extend(extra or ())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_bare(send: Send, status: int, bare: Bare) -> None:
    """Text, or upstream media chunk by chunk: each ``send`` waits while the client is slow to read
    (the server's flow control), so no more than a chunk or two is ever held."""
    headers = [(b"content-type", bare.content_type.encode())]
    headers.extend((name.encode(), value.encode("latin-1")) for name, value in bare.headers)
    if bare.stream is None:
        if not any(name == "content-length" for name, _ in bare.headers):
            headers.append((b"content-length", str(len(bare.body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": bare.body})
        return
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        try:
            async for chunk in bare.stream.chunks():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Interrupted as exc:
            # The answer has started: all that is left is to cut it short, which the client sees.
            log.warning("the upstream broke off streaming media: %s", exc)
            return
        await send({"type": "http.response.body", "body": b""})
    finally:
        await bare.stream.aclose()


async def send_error(exc: GatewayError, scope: Scope, send: Send) -> None:
    await answer_error(exc, scope, send)


async def answer_error(exc: GatewayError, scope: Scope, send: Send) -> tuple[int, str, bytes]:
    """Answer with the legacy error; returns what was sent (status, content type, body)."""
    fmt = sniff_format(legacy.normalise_path(scope.get("path", "/")))
    obs.TRANSLATION_ERRORS.labels(type(exc).__name__).inc()
    problem = Problem(exc.status, exc.message, exc.code, exc.more_info)
    body, content_type = render.render(problem, fmt, exc.status)
    extra: list[Any] = []
    if isinstance(exc, MethodNotAllowed) and exc.allowed:
        extra.append((b"allow", ", ".join(exc.allowed).encode()))
    elif isinstance(exc, Unauthorized):
        extra.append(CHALLENGE)
    elif isinstance(exc, RequestTimeout):  # the rest of the body is not waited for
        extra.append((b"connection", b"close"))
    await send_bytes(send, exc.status, body, content_type, extra)
    return exc.status, content_type, body


async def read_body(receive: Receive, timeout: float | None = None) -> bytes:
    """The whole body, or :class:`ClientDisconnected` if the client left before its last byte, or
    :class:`RequestTimeout` if it is not all in within ``timeout`` seconds."""
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnected()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise RequestTimeout() from None


async def until_disconnected(receive: Receive, work: Awaitable[T]) -> T | None:
    """``work``'s result, or ``None`` after cancelling it when the client disconnects first (the
    request body is read already, so the next message can only be the disconnect). ``work`` runs in
    this task; only the wait for the disconnect is a task of its own (one task and no
    ``asyncio.wait`` per request: a third of a fetch's CPU in process, docs/performance.md)."""
    current = asyncio.current_task()
    assert current is not None
    state = {"waiting": True, "left": False}

    def heard(watcher: asyncio.Future[Message]) -> None:
        if not state["waiting"] or watcher.cancelled():
            return
        if watcher.exception() is not None or _disconnect(watcher.result()):
            state["left"] = True
            current.cancel()

    watcher = asyncio.ensure_future(receive())
    watcher.add_done_callback(heard)
    try:
        return await work
    except asyncio.CancelledError:
        if state["left"] and current.uncancel() == 0:
            return None
        raise
    finally:
        state["waiting"] = False
        watcher.cancel()
        # Cancelled with the request (shutdown): what it ends with is not anyone's answer.
        watcher.add_done_callback(_forget)


def _forget(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _disconnect(message: Message) -> bool:
    return bool(message.get("type") == "http.disconnect")
