"""What a fanned-out legacy filter costs against a plain one of the same size, in the same run.

    python bench/fanout.py [--calls 2000] [--rounds 5]

In process (the sandbox as an injected transport, no sockets), list snapshots off (TTL 0) so every
request walks the upstream. The sandbox holds ``--calls`` calls, half of them queued and half ringing
(interleaved), and as many in progress. ``Status=0`` reads two upstream lists (queued, ringing) and
merges them; ``Status=1`` reads one list of the same total size. Reports the median time of a full
legacy walk (``num=1000``) of each and the ratio, plus the upstream requests each walk made.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, create_sandbox
from gateway.settings import Settings

ACCOUNT, TOKEN = "AC" + "a" * 32, "0123456789abcdef0123456789abcdef"
NOW = 1_795_000_000.0


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.count = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return await self.inner.handle_async_request(request)


async def walk(client: httpx.AsyncClient, query: str) -> int:
    seen, uri = 0, f"/2008-08-01/Accounts/{ACCOUNT}/Calls?{query}&num=1000"
    while uri:
        response = await client.get(uri)
        response.raise_for_status()
        seen += response.text.count("<Call>")
        found = response.text.split('nextpageuri="', 1)[1].split('"', 1)[0]
        uri = found.replace("&amp;", "&")
    return seen


async def main(calls: int, rounds: int) -> None:
    config = SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=lambda: NOW, call_step=2.0, call_length=3600.0)
    sandbox = create_sandbox(config)
    voice = sandbox.state.sandbox.voice
    for index in range(2 * calls):
        call = voice.new_call(
            ACCOUNT, "+14155551212", "+16465550000", "outbound-api", at=NOW - 10_000 + index
        )
        # odd: in progress; even: queued or ringing, interleaved
        start = NOW - 10 if index % 2 else NOW - (1 if index % 4 == 0 else 3)
        call.timeline = [(start, "queued"), (start + 2, "ringing"), (start + 4, "in-progress")]
    upstream = Counting(httpx.ASGITransport(app=sandbox))
    settings = Settings(
        upstream="http://sandbox.test", trunking_upstream="http://sandbox.test", list_cache_ttl=0
    )
    app = create_app(settings, upstream)
    results: dict[str, list[float]] = {"Status=1": [], "Status=0": []}
    requests: dict[str, int] = {}
    async with (
        app.gateway_app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", auth=(ACCOUNT, TOKEN)
        ) as client,
    ):
        for _ in range(rounds):
            for query in results:
                before = upstream.count
                started = time.perf_counter()
                assert await walk(client, query) == calls, query
                results[query].append(time.perf_counter() - started)
                requests[query] = upstream.count - before
    plain, fanned = (statistics.median(results[q]) for q in ("Status=1", "Status=0"))
    print(f"{calls} calls, median of {rounds} cold walks at num=1000")
    print(f"Status=1 (one upstream list):  {plain * 1000:8.1f} ms, {requests['Status=1']} upstream requests")
    print(f"Status=0 (two lists, merged):  {fanned * 1000:8.1f} ms, {requests['Status=0']} upstream requests")
    print(f"ratio fanned / plain: {fanned / plain:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
