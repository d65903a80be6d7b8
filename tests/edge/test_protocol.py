"""Each answer's head and body in one write (gateway/edge/protocol.py, HeldHead); the connection's other
limits are tested in test_slow_clients.py."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from gateway.edge.protocol import JOIN_LIMIT, HeldHead, protocol
from gateway.settings import Settings


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"


async def test_a_head_and_its_body_are_one_write() -> None:
    transport = Transport()
    held = HeldHead(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(HEAD)
    assert transport.writes == []
    held.write(b"body")
    assert transport.writes == [HEAD + b"body"]
    await asyncio.sleep(0)  # the turn's end finds nothing held
    assert transport.writes == [HEAD + b"body"]


async def test_a_head_no_body_follows_is_written_at_the_end_of_the_turn() -> None:
    transport = Transport()
    held = HeldHead(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # an interim answer, or a HEAD answer's head
    await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]


async def test_other_writes_go_at_once_and_a_large_body_is_not_copied() -> None:
    transport = Transport()
    held = HeldHead(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(b"chunk")
    big = b"x" * (JOIN_LIMIT + 1)
    held.write(HEAD)
    held.write(big)
    assert transport.writes == [b"chunk", HEAD, big]


async def test_close_writes_a_held_head_first_abort_drops_it() -> None:
    transport = Transport()
    held = HeldHead(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(HEAD)
    held.close()
    assert transport.writes == [HEAD] and transport.closed
    other = Transport()
    held = HeldHead(other, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(HEAD)
    held.abort()
    await asyncio.sleep(0)
    assert other.writes == [] and other.aborted
    assert held.get_extra_info("peername") == "info:peername"


async def app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    body = b"hello"
    await send(  # type: ignore[operator]
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]}
    )
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_uvicorn_answers_through_it(method: str) -> None:
    http = protocol(Settings(upstream="http://127.0.0.1:9"))
    config = uvicorn.Config(app, http=http, lifespan="off", log_config=None)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):  # keep-alive: the second answer too
            writer.write(f"{method} / HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 5" in head
            if method == "GET":
                assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
        writer.close()
        server.should_exit = True
        await task
