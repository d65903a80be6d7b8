"""Slow and silent clients against an HTTP server: how many connections it still holds after a while,
whether a real request is answered meanwhile, and whether one is answered with the server at its
file-descriptor limit. Loopback only; every figure in docs/operations.md ("Slow and silent clients")
comes from it.

    python bench/slowloris.py [--server NAME …] [--connections 30] [--hold 15] [--nofile 128]
                              [--throughput SECONDS] [--no-slow]

Servers (each in a subprocess, serving :data:`app`, a body-reading ASGI app, unless said otherwise):
``uvicorn-httptools``, ``uvicorn-h11`` (uvicorn's defaults), ``uvicorn-limits`` (httptools with
``--limit-concurrency`` and ``--timeout-keep-alive 1``), ``hypercorn`` (``--keep-alive`` and
``--read-timeout``), ``granian`` (``--http1-header-read-timeout``), and ``gateway`` (``python -m gateway
serve --sandbox`` with ``--client-timeout`` and ``--max-connections``).

Per server: ``--connections`` of each kind — *trickle* (a request line, then a header byte a second, the
headers never ending), *stall* (a POST's headers with ``Content-Length: 100`` and 10 bytes of body, then
nothing), *silent* (connected, nothing sent) — then, after ``--hold`` seconds, how many of each are still
open, and what a real request gets. Then the server again with ``RLIMIT_NOFILE`` set to ``--nofile``:
that many silent connections and more, five real requests (5 s each) beside them, and five more once
the servers' timeouts have passed. With ``--throughput``, also plain GETs a second from 16 keep-alive
connections, to weigh a server's cost against what it protects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 2  # seconds: the servers' header/read/keep-alive timeouts where they have one
SERVERS: dict[str, Callable[[int], list[str]]] = {
    "uvicorn-httptools": lambda port: [
        *("-m", "uvicorn", "bench.slowloris:app", "--http", "httptools", "--port", str(port)),
        *("--log-level", "error"),
    ],
    "uvicorn-h11": lambda port: [
        *("-m", "uvicorn", "bench.slowloris:app", "--http", "h11", "--port", str(port)),
        *("--log-level", "error"),
    ],
    "uvicorn-limits": lambda port: [
        *("-m", "uvicorn", "bench.slowloris:app", "--http", "httptools", "--port", str(port)),
        *("--log-level", "error", "--limit-concurrency", "64", "--timeout-keep-alive", "1"),
    ],
    "hypercorn": lambda port: [
        *("-m", "hypercorn", "bench.slowloris:app", "--bind", f"127.0.0.1:{port}"),
        *("--keep-alive", str(DEADLINE), "--read-timeout", str(DEADLINE), "--log-level", "error"),
    ],
    "granian": lambda port: [
        *("-m", "granian", "--interface", "asgi", "--port", str(port), "--log-level", "error"),
        *("--http1-header-read-timeout", str(DEADLINE * 1000), "bench.slowloris:app"),
    ],
    "gateway": lambda port: [
        *("-m", "gateway", "serve", "--sandbox", "--port", str(port), "--log-level", "error"),
        *("--access-log", "false", "--client-timeout", str(DEADLINE), "--max-connections", "64"),
    ],
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, answers 200."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(name: str, nofile: int | None = None) -> Any:
    port = free_port()

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    process = subprocess.Popen(
        [sys.executable, *SERVERS[name](port)],
        cwd=ROOT,
        preexec_fn=limit,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def target(name: str) -> str:
    return "/healthz" if name == "gateway" else "/"


async def real_request(port: int, path: str, timeout: float = 5) -> int:
    """The status of a GET on a new connection; 0 for none within ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = await reader.read()
            writer.close()
            return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    except (OSError, TimeoutError):
        return 0


def statuses(found: list[int]) -> str:
    return ", ".join(f"{found.count(s)}× {s or 'no answer'}" for s in sorted(set(found), reverse=True))


async def trickle(writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    with contextlib.suppress(OSError):
        while not stop.is_set():
            writer.write(b"a")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)


async def is_open(reader: asyncio.StreamReader) -> bool:
    """Still open: nothing read to its end within a moment (a refusal with an answer counts as closed)."""
    try:
        async with asyncio.timeout(0.3):
            while await reader.read(65536):
                pass
        return False
    except TimeoutError:
        return True
    except OSError:
        return False


@contextlib.asynccontextmanager
async def connections(port: int, count: int) -> AsyncIterator[dict[str, list[asyncio.StreamReader]]]:
    held: dict[str, list[asyncio.StreamReader]] = {"trickle": [], "stall": [], "silent": []}
    writers: list[asyncio.StreamWriter] = []
    stop = asyncio.Event()
    tasks = []
    for kind in held:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            held[kind].append(reader)
            writers.append(writer)
            if kind == "trickle":
                tasks.append(asyncio.create_task(trickle(writer, stop)))
            elif kind == "stall":
                writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    try:
        yield held
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:
            writer.close()


async def hold(name: str, count: int, seconds: float) -> dict[str, Any]:
    with server(name) as port:
        async with connections(port, count) as held:
            await asyncio.sleep(seconds)
            answered = await real_request(port, target(name))
            still = {kind: sum(await asyncio.gather(*map(is_open, found))) for kind, found in held.items()}
    return {"open after hold": still, "of each": count, "a real request": statuses([answered])}


async def at_the_limit(name: str, nofile: int) -> dict[str, Any]:
    with server(name, nofile) as port:
        opened = []
        for _ in range(nofile + 20):
            try:
                opened.append(await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2))
            except (OSError, TimeoutError):
                break
        path = target(name)
        first = await asyncio.gather(*(real_request(port, path) for _ in range(5)))
        await asyncio.sleep(DEADLINE + 1)
        later = await asyncio.gather(*(real_request(port, path) for _ in range(5)))
        for _, writer in opened:
            writer.close()
    return {
        "silent connections": len(opened),
        "5 real requests": statuses(first),
        f"5 more, {DEADLINE + 1} s later": statuses(later),
    }


async def throughput(name: str, seconds: float, clients: int = 16) -> float:
    """Requests a second of a plain GET from ``clients`` keep-alive connections (this client shares the
    machine: a ratio between servers, not a ceiling)."""
    done = 0

    async def client(port: int, until: float) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = f"GET {target(name)} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        while time.monotonic() < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            done += 1
        writer.close()

    with server(name) as port:
        await asyncio.sleep(1)
        until = time.monotonic() + seconds
        await asyncio.gather(*(client(port, until) for _ in range(clients)))
    return round(done / seconds)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", action="append", choices=sorted(SERVERS), help="default: all")
    parser.add_argument("--connections", type=int, default=30, help="of each kind (default 30)")
    parser.add_argument("--hold", type=float, default=15, help="seconds before counting (default 15)")
    parser.add_argument("--nofile", type=int, default=128, help="the servers' RLIMIT_NOFILE (default 128)")
    parser.add_argument(
        "--throughput", type=float, default=0, help="also measure plain GETs a second for this long (s)"
    )
    parser.add_argument("--no-slow", action="store_true", help="skip the slow clients and the fd limit")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    for name in args.server or list(SERVERS):
        started = time.monotonic()
        figures: dict[str, Any] = {"server": name}
        if not args.no_slow:
            figures.update(await hold(name, args.connections, args.hold))
            figures["at RLIMIT_NOFILE"] = {"limit": args.nofile, **await at_the_limit(name, args.nofile)}
        if args.throughput:
            figures["GETs a second"] = await throughput(name, args.throughput)
        figures["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(figures, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    asyncio.run(main())
