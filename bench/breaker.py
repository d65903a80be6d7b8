"""How long a short upstream outage refuses clients: the circuit breaker's recovery, measured.

    python bench/breaker.py [--outage 3] [--rounds 3] [--workers 4] [--out bench/results]

In one process, on loopback: a tiny upstream (an asyncio server answering every request with one
Outgoing Caller Id) and the gateway (``create_app``, its real pyreqwest client, the default settings:
breaker threshold 5, cooldown 30 s, 2 retries), driven through its ASGI interface by ``--workers``
clients, each sending a fetch every 20 ms. Per round: 2 s healthy; the upstream stops (listener closed,
open connections cut) for ``--outage`` seconds and restarts on the same port; the clients go on until
one second of 200s has followed the upstream's return, or 45 s at most. Reported per round: the time
from the upstream's return to the first 200 through the gateway (``recovery_s``), the span from the
first to the last 503 (``window_503_s``), and the answers by status. Writes ``breaker.json`` in
``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from gateway.edge.app import create_app  # noqa: E402
from gateway.settings import Settings  # noqa: E402

ACCOUNT, TOKEN = "AC" + "a" * 32, "0123456789abcdef0123456789abcdef"
SID = "PN" + "e" * 32
PATH = f"/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds/{SID}"
BODY = json.dumps(
    {
        "sid": SID,
        "account_sid": ACCOUNT,
        "friendly_name": "(415) 555-0100",
        "phone_number": "+14155550100",
        "date_created": "Fri, 21 Aug 2009 00:11:24 +0000",
        "date_updated": "Fri, 21 Aug 2009 00:11:24 +0000",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/OutgoingCallerIds/{SID}.json",
    }
).encode()
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)
PACE = 0.02
HEALTHY = 2.0
AFTER = 1.0
LONGEST = 45.0


class TinyUpstream:
    """Answers every request on a kept-alive connection with :data:`ANSWER`; stops and restarts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the host is stopping
        finally:
            self.writers.discard(writer)
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()  # kept-alive connections die with the host
        await self.server.wait_closed()
        self.server = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def gateway(upstream: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(upstream=upstream, trunking_upstream=upstream, access_log=False))
    async with app.gateway_app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw", auth=(ACCOUNT, TOKEN)) as c:
            yield c


async def client_loop(client: httpx.AsyncClient, seen: list[tuple[float, int]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        answer = await client.get(PATH)
        seen.append((time.monotonic(), answer.status_code))
        await asyncio.sleep(PACE)


async def one_round(outage: float, workers: int) -> dict[str, object]:
    upstream = TinyUpstream(free_port())
    await upstream.start()
    seen: list[tuple[float, int]] = []
    stop = asyncio.Event()
    async with gateway(f"http://127.0.0.1:{upstream.port}") as client:
        loops = [asyncio.create_task(client_loop(client, seen, stop)) for _ in range(workers)]
        await asyncio.sleep(HEALTHY)
        down = time.monotonic()
        await upstream.stop()
        await asyncio.sleep(outage)
        await upstream.start()
        up = time.monotonic()
        while time.monotonic() - up < LONGEST:
            await asyncio.sleep(0.05)
            ok = [at for at, status in seen if at > up and status == 200]
            if ok and time.monotonic() - ok[0] >= AFTER:
                break
        stop.set()
        await asyncio.gather(*loops)
    await upstream.stop()
    return summary(seen, down, up)


def summary(seen: list[tuple[float, int]], down: float, up: float) -> dict[str, object]:
    after = [at for at, status in seen if at > up and status == 200]
    refused = [at for at, status in seen if status == 503]
    statuses = Counter(status for at, status in seen if at > down)
    return {
        "outage_s": round(up - down, 3),
        "recovery_s": round(after[0] - up, 3) if after else None,
        "window_503_s": round(refused[-1] - refused[0], 3) if refused else 0.0,
        "first_503_after_outage_s": round(refused[0] - down, 3) if refused else None,
        "answers_since_outage": dict(sorted((str(key), value) for key, value in statuses.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    rounds = []
    for _ in range(args.rounds):
        row = asyncio.run(one_round(args.outage, args.workers))
        print(json.dumps(row), flush=True)
        rounds.append(row)
    report = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "command": " ".join(["python", "bench/breaker.py", *sys.argv[1:]]),
        "settings": "defaults: breaker_threshold 5, breaker_cooldown 30, retries 2",
        "rounds": rounds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "breaker.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
