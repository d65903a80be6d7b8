"""Probe single levers, against the same static nginx upstream as bench/run.py.

1. The upstream client alone (no gateway): N GETs of the caller-id body at concurrency C, each client in
   a fresh process; reports wall time, req/s and the process's CPU time per request (all threads: the
   Rust runtime's included). Candidates: pyreqwest, aiohttp, httpx, and the gateway's own senders on
   top of them (gateway.upstream.transport: pyreqwest behind ``fast``, httpx behind ``httpx``).
2. Each candidate against the hostile upstream of the test suite (tests/hostile.py): does the next
   request still get its own answer after interim 1xx answers, bytes after a complete answer, a 204
   with a body; are close-delimited bodies read; does a body dripped a byte at a time end at the budget.
3. The translated fetch through one gateway worker with each upstream client, event loop and HTTP
   parser (wrk, c=16 then c=1).

    python bench/levers.py [--requests 20000] [--concurrency 16] [--duration 5] [--skip-gateway]
    python bench/levers.py --client NAME URL N C        # (internal) one client measurement
    python bench/levers.py --serve PORT UPSTREAM CLIENT LOOP HTTP   # (internal) one gateway variant
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import run  # noqa: E402
import upstream as static  # noqa: E402

CLIENTS = ["pyreqwest", "aiohttp", "httpx", "gateway fast", "gateway httpx"]
VARIANTS = [
    ("fast", "uvloop", "httptools"),
    ("httpx", "uvloop", "httptools"),
    ("fast", "asyncio", "httptools"),
    ("fast", "uvloop", "h11"),
]
FETCH = run.SCENARIOS["fetch"][1]

Get = Callable[[str], Awaitable[int]]


async def _clients(name: str) -> tuple[Get, Callable[[], Awaitable[None]]]:
    """``get(url) -> body length`` and ``close()`` for one candidate, configured as the gateway would."""
    headers = {"Authorization": run.AUTH, "Accept": "application/json"}
    if name == "pyreqwest":
        from pyreqwest.client import ClientBuilder

        client = ClientBuilder().follow_redirects(False).gzip(False).build()

        async def get_reqwest(url: str) -> int:
            response = await client.get(url).headers(headers).build().send()
            return len(await response.bytes())

        async def close_reqwest() -> None:
            await client.close()
            # as gateway.upstream.transport does: let the runtime drop its connections
            await asyncio.sleep(0.05)

        return get_reqwest, close_reqwest
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(auto_decompress=False)

        async def get_aiohttp(url: str) -> int:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                return len(await response.read())

        return get_aiohttp, session.close
    if name == "httpx":
        import httpx

        httpx_client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))

        async def get_httpx(url: str) -> int:
            return len((await httpx_client.get(url, headers=headers)).content)

        return get_httpx, httpx_client.aclose
    from gateway.upstream.senders import sender

    chosen = sender(
        None,
        connect_timeout=5,
        read_timeout=30,
        limit=100,
        keepalive=50,
        max_body=16 << 20,
        use_httpx=name == "gateway httpx",
    )

    async def get_gateway(url: str) -> int:
        reply = await chosen.send("GET", url, headers, None, deadline=time.monotonic() + 30, timeout=30)
        return len(reply.body)

    return get_gateway, chosen.aclose


async def _measure(name: str, url: str, total: int, concurrency: int) -> dict[str, float]:
    get, close = await _clients(name)
    for _ in range(200):  # warm-up: connections open, code paths hot
        await get(url)
    remaining = [total]

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            if await get(url) <= 0:
                raise RuntimeError("empty answer")

    cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, loop, wall = time.process_time() - cpu, time.thread_time() - loop, time.perf_counter() - wall
    await close()
    return {"cpu_us": cpu / total * 1e6, "loop_us": loop / total * 1e6, "wall_s": wall, "rps": total / wall}


def client_table(url: str, total: int, concurrency: int) -> str:
    lines = [
        "| client | CPU µs/request | event-loop thread µs/request | req/s "
        f"| wall s ({total:,} GETs, c={concurrency}) |",
        "|---|---|---|---|---|",
    ]
    for name in CLIENTS:
        command = [sys.executable, str(Path(__file__)), "--client", name, url, str(total), str(concurrency)]
        result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        lines.append(
            f"| {name} | {result['cpu_us']:.1f} | {result['loop_us']:.1f} | {result['rps']:,.0f} "
            f"| {result['wall_s']:.2f} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


def _hostile(request: Any) -> Any:
    from tests.hostile import json_response, response

    cases = {
        "/interim": [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\n\r\n"],
        "/stray": [json_response(200, {}) + b"JUNK"],
        "/nocontent": [response(204, headers=[("Content-Length", "4")], length=False) + b"BODY"],
        "/close": [response(200, b"{}", version="HTTP/1.0", length=False), None],
        "/drip": [
            b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n",
            *[a for _ in range(40) for a in (0.1, b" ")],
        ],
    }
    script = cases.get(request.path, [])
    return (
        [*script, json_response(200, {"path": request.path})]
        if request.path == "/interim"
        else script or [json_response(200, {"path": request.path})]
    )


async def _behaviour(name: str) -> list[str]:
    """One row: for each case, ``ok`` or what went wrong (the case's request or the next one)."""
    from tests.hostile import HostileUpstream

    get, close = await _bodies(name)
    cells = []
    async with HostileUpstream(_hostile).running() as upstream:
        for case in ("/interim", "/stray", "/nocontent", "/close"):
            try:
                await get(upstream.url + case, 2)
                second = await get(upstream.url + "/next", 2)
                cells.append("ok" if second == b'{"path":"/next"}' else f"next got {second[:20]!r}")
            except Exception as exc:
                cells.append(type(exc).__name__)
        started = time.monotonic()
        try:
            await get(upstream.url + "/drip", 1)
            cells.append(f"read in {time.monotonic() - started:.1f} s")
        except Exception as exc:
            cells.append(f"{type(exc).__name__} after {time.monotonic() - started:.1f} s")
    await close()
    return cells


async def _bodies(
    name: str,
) -> tuple[Callable[[str, float], Awaitable[bytes]], Callable[[], Awaitable[None]]]:
    """Each candidate's GET with a whole-request budget, as the gateway would configure it."""
    if name == "pyreqwest":
        from datetime import timedelta

        from pyreqwest.client import ClientBuilder

        client = ClientBuilder().follow_redirects(False).gzip(False).build()

        async def get_reqwest(url: str, budget: float) -> bytes:
            request = client.get(url).timeout(timedelta(seconds=budget)).build()
            return bytes(await (await request.send()).bytes())

        async def close_reqwest() -> None:
            await client.close()
            await asyncio.sleep(0.05)

        return get_reqwest, close_reqwest
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(auto_decompress=False)

        async def get_aiohttp(url: str, budget: float) -> bytes:
            timeout = aiohttp.ClientTimeout(total=budget)
            async with session.get(url, allow_redirects=False, timeout=timeout) as response:
                return await response.read()

        return get_aiohttp, session.close
    import httpx

    httpx_client = httpx.AsyncClient()

    async def get_httpx(url: str, budget: float) -> bytes:
        return (await httpx_client.get(url, timeout=budget)).content

    return get_httpx, httpx_client.aclose


def behaviour_table() -> str:
    lines = [
        "| client | 100 + 103 before 200 | junk after a 200 | 204 with a body | HTTP/1.0 close-delimited "
        "| 40-byte body at 10 bytes/s, budget 1 s |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("pyreqwest", "aiohttp", "httpx"):
        lines.append(f"| {name} | " + " | ".join(asyncio.run(_behaviour(name))) + " |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def serve(port: int, upstream: int, client: str, loop: str, http: str) -> None:
    import uvicorn

    from gateway.edge.app import create_app
    from gateway.settings import Settings

    settings = Settings(upstream=f"http://127.0.0.1:{upstream}", access_log=False, upstream_client=client)
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, loop=loop, http=http, log_level="warning", access_log=False)  # type: ignore[arg-type]


def gateway_table(upstream_port: int, duration: int) -> str:
    legacy, _, method = run.SCENARIOS["fetch"]
    lines = ["| client | loop | http | c=16 req/s | c=1 req/s |", "|---|---|---|---|---|"]
    for variant in VARIANTS:
        port = run.free_port()
        command = [sys.executable, str(Path(__file__)), "--serve", str(port), str(upstream_port), *variant]
        with run.process(command):
            run.wait_http(f"http://127.0.0.1:{port}/healthz", 60)
            url = f"http://127.0.0.1:{port}{legacy}"
            run.wrk(url, 16, 2, method)
            c16 = run.wrk(url, 16, duration, method)[0]
            c1 = run.wrk(url, 1, duration, method)[0]
        lines.append(f"| {' | '.join(variant)} | {c16:,.0f} | {c1:,.0f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--skip-gateway", action="store_true")
    parser.add_argument("--client", nargs=4, metavar=("NAME", "URL", "N", "C"))
    parser.add_argument("--serve", nargs=5, metavar=("PORT", "UPSTREAM", "CLIENT", "LOOP", "HTTP"))
    args = parser.parse_args()
    if args.client:
        name, url, total, concurrency = args.client
        print(json.dumps(asyncio.run(_measure(name, url, int(total), int(concurrency)))))
        return 0
    if args.serve:
        port, upstream, client, loop, http = args.serve
        serve(int(port), int(upstream), client, loop, http)
        return 0
    print(behaviour_table())
    run.ensure_tools()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        static.write_bodies(root)
        upstream_port = run.free_port()
        nginx = static.start_upstream(root, upstream_port)
        try:
            run.wait_http(f"http://127.0.0.1:{upstream_port}/")
            print(client_table(f"http://127.0.0.1:{upstream_port}{FETCH}", args.requests, args.concurrency))
            if not args.skip_gateway:
                print(gateway_table(upstream_port, args.duration))
        finally:
            nginx.terminate()
            nginx.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
