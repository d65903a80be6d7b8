"""The gateway's own CPU per request, in process: the whole ASGI stack (``create_app``, access log on,
written to /dev/null) with the upstream answered by a canned sender (the static body of bench/run.py,
after one turn of the loop), so no socket, server or client is measured: what is left is the gateway.

    python bench/inprocess.py TREE [--scenario fetch|list50] [--requests 3000] [--profile]

Prints the best of five rounds, in µs per request; ``--profile`` then prints cProfile's top entries.
Run it for two trees one after the other, several times, to weigh a lever (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


async def _measure(app: Any, gateway_app: Any, scenario: str, requests: int, profile: bool) -> None:
    import upstream as static

    from gateway.edge.app import settle_heap
    from gateway.upstream.transport import RawResponse

    account = static.ACCOUNT_FETCH if scenario == "fetch" else static.ACCOUNT_50
    item = static.caller_id(account, 7, static.SID)
    body = json.dumps(item if scenario == "fetch" else static.listing(account, 50)).encode()
    path = f"/2008-08-01/Accounts/{account}/OutgoingCallerIds" + (
        f"/{static.SID}" if scenario == "fetch" else ""
    )

    class Canned:
        async def send(self, *args: Any, **kwargs: Any) -> RawResponse:
            await asyncio.sleep(0)
            return RawResponse(200, {"content-type": "application/json"}, body)

        async def aclose(self) -> None:
            return None

    credentials = base64.b64encode(f"{account}:benchtoken".encode())
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"" if scenario == "fetch" else b"num=50",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", b"Basic " + credentials),
            (b"user-agent", b"wrk"),
        ],
        "http_version": "1.1",
        "scheme": "http",
    }
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    async def one() -> None:
        sent.clear()
        await app(dict(scope), receive, send)
        assert sent[0]["status"] == 200, sent

    async with gateway_app.lifespan():
        gateway_app.gateway.upstream.sender = Canned()
        settle_heap()
        for _ in range(300):
            await one()
        rounds = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(requests):
                await one()
            rounds.append((time.process_time() - started) / requests * 1e6)
        each = ", ".join(f"{r:.1f}" for r in rounds)
        print(f"{scenario}: best {min(rounds):.1f} µs per request (rounds {each})")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests):
                await one()
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree")
    parser.add_argument("--scenario", default="fetch", choices=("fetch", "list50"))
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sys.path[:0] = [str(Path(args.tree).resolve()), str(HERE)]
    import uvloop

    from gateway.edge.app import create_app
    from gateway.observability import configure_logging
    from gateway.settings import Settings

    env = {
        "GATEWAY_UPSTREAM": "http://127.0.0.1:9",
        "GATEWAY_LIST_CACHE_TTL": "0",
        "GATEWAY_ACCESS_LOG": "true",
    }
    settings = Settings.load(env)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the access log, and nothing else, goes to stderr
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    uvloop.run(_measure(app, app.gateway_app, args.scenario, args.requests, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
