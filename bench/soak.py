"""A bounded soak: many mixed legacy requests at high concurrency against ``serve --sandbox``.

    python bench/soak.py [--requests 100000] [--concurrency 64] [--max-seconds 1200] [--seed 11]

Starts ``python -m gateway serve --sandbox`` on a free loopback port (one process: the gateway and its
embedded sandbox, 500 seeded caller ids, verification set to fail so validation requests add nothing),
then sends the requests from ``--concurrency`` keep-alive connections (aiohttp): fetches (some HEAD, some
``.json``), lists, pages with random ``num``/``page``, errors (unknown and malformed sids, wrong and
missing credentials, bad ``num``, 405, unsupported suffix, dot segments) and writes (updates, ``_method``
overrides, validation requests, deletes of unknown sids). Every answer is checked against the status its
kind must get, and every XML or JSON body is parsed. Reports errors (unexpected status, malformed body,
transport failure) and the process's RSS at start, after 10,000 requests and at the end. Stops issuing
requests after ``--max-seconds`` whatever the count. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yarl

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "AC" + "b" * 32
BASE = f"/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds"
SEEDED = 500
CHECKPOINTS = (10_000,)
MIX = {"fetch": 30, "list": 20, "paging": 15, "error": 20, "write": 15}


@dataclass
class Call:
    kind: str
    method: str
    path: str
    expected: int
    auth: str | None = None
    """The Authorization header."""
    data: dict[str, str] | None = None


@dataclass
class Tally:
    done: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)

    def error(self, what: str, call: Call) -> None:
        self.errors[what] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{what}: {call.method} {call.path}")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH = basic(ACCOUNT, TOKEN)


def plan(rng: random.Random, sids: list[str]) -> Call:
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    sid = rng.choice(sids)
    if kind == "fetch":
        suffix = rng.choice(["", "", ".xml", ".json"])
        return Call(kind, "HEAD" if rng.random() < 0.1 else "GET", f"{BASE}/{sid}{suffix}", 200, AUTH)
    if kind == "list":
        return Call(kind, "GET", f"{BASE}?num=50", 200, AUTH)
    if kind == "paging":
        num = rng.randint(1, 100)
        page = rng.randint(0, SEEDED // num + 1)  # one page past the end too: 200, no items
        return Call(kind, "GET", f"{BASE}?num={num}&page={page}", 200, AUTH)
    if kind == "error":
        return rng.choice(
            [
                Call(kind, "GET", f"{BASE}/PN{'0' * 32}", 404, AUTH),
                Call(kind, "GET", f"{BASE}/PN123", 404, AUTH),
                Call(kind, "GET", BASE, 401, basic(ACCOUNT, "wrong")),
                Call(kind, "GET", BASE, 401, None),
                Call(kind, "GET", f"{BASE}?num=%C2%B2", 400, AUTH),
                Call(kind, "PUT", BASE, 405, AUTH),
                Call(kind, "GET", f"{BASE}.yaml", 404, AUTH),
                Call(kind, "GET", f"{BASE}/%2e%2e/{sid}", 400, AUTH),
                Call(kind, "GET", f"/2008-08-01/Accounts/{OTHER}/OutgoingCallerIds", 404, AUTH),
            ]
        )
    return rng.choice(
        [
            Call(kind, "PUT", f"{BASE}/{sid}", 200, AUTH, {"FriendlyName": f"soak {rng.randrange(10**6)}"}),
            Call(kind, "POST", f"{BASE}/{sid}?_method=PUT", 200, AUTH, {"FriendlyName": "soak override"}),
            Call(kind, "POST", BASE, 200, AUTH, {"PhoneNumber": f"415-867-{rng.randrange(10**4):04d}"}),
            Call(kind, "DELETE", f"{BASE}/PN{'f' * 32}", 404, AUTH),
        ]
    )


def well_formed(content_type: str, body: bytes, status: int) -> bool:
    if content_type.startswith("application/xml"):
        root = ET.fromstring(body)
        return root.tag == "TwilioResponse" and (status < 400 or root[0].tag == "RestException")
    if content_type.startswith("application/json"):
        document = json.loads(body)["TwilioResponse"]
        return status < 400 or "RestException" in document
    return False


async def one(session: aiohttp.ClientSession, base: str, call: Call, tally: Tally) -> None:
    try:
        url = yarl.URL(base + call.path, encoded=True)  # sent as written: '%2e%2e' included
        headers = {"Authorization": call.auth} if call.auth else {}
        async with session.request(
            call.method, url, headers=headers, data=call.data, allow_redirects=False
        ) as response:
            body = await response.read()
            status = response.status
            content_type = response.headers.get("Content-Type", "")
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.error(f"transport {type(exc).__name__}", call)
        return
    tally.statuses[str(status)] += 1
    if status != call.expected:
        tally.error(f"{call.kind}: {status} instead of {call.expected}", call)
    elif call.method == "HEAD" or status == 204:
        if body:
            tally.error(f"{call.kind}: a body on {call.method} {status}", call)
    else:
        try:
            if not well_formed(content_type, body, status):
                tally.error(f"{call.kind}: not a legacy document ({content_type})", call)
        except (ET.ParseError, ValueError, KeyError, IndexError):
            tally.error(f"{call.kind}: malformed {content_type}", call)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 1024, 1) if found else float("nan")


async def drive(base: str, pid: int, args: argparse.Namespace, sids: list[str], tally: Tally) -> float:
    rng = random.Random(args.seed)
    issued = 0
    deadline = time.monotonic() + args.max_seconds
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def worker() -> None:
            nonlocal issued
            while issued < args.requests and time.monotonic() < deadline:
                issued += 1
                await one(session, base, plan(rng, sids), tally)
                tally.done += 1
                if tally.done in CHECKPOINTS:
                    tally.rss_mb[f"{tally.done:,}"] = rss_mb(pid)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seeded_sids(base: str) -> list[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}{BASE}?num=1000", headers={"Authorization": AUTH}) as response,
    ):
        return re.findall(r"<Sid>(PN[0-9a-f]{32})</Sid>", await response.text())


async def wait_up(base: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the gateway did not start")
            await asyncio.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=1200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "warning",
        "SANDBOX_SEED_CALLER_IDS": str(SEEDED),
        "SANDBOX_VERIFICATION": "fail",
    }
    command = [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    base = f"http://127.0.0.1:{port}"
    tally = Tally()
    elapsed = 0.0
    with tempfile.TemporaryFile() as log:
        gateway = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            asyncio.run(wait_up(base))
            sids = asyncio.run(seeded_sids(base))
            assert len(sids) == SEEDED, len(sids)
            tally.rss_mb["start"] = rss_mb(gateway.pid)
            elapsed = asyncio.run(drive(base, gateway.pid, args, sids, tally))
            tally.rss_mb[f"{tally.done:,} (end)"] = rss_mb(gateway.pid)
        finally:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gateway.kill()
                gateway.wait()
            log.seek(0)
            stderr = log.read()
    report = {
        "command": " ".join(["python bench/soak.py", *sys.argv[1:]]),
        "requests": tally.done,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(tally.done / elapsed, 1) if elapsed else 0,
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors),
        "error_examples": tally.examples,
        "statuses": dict(sorted(tally.statuses.items())),
        "gateway_5xx": sum(n for status, n in tally.statuses.items() if status.startswith("5")),
        "rss_mb": tally.rss_mb,
        "gateway_log_lines": len(stderr.splitlines()),
        "gateway_tracebacks": stderr.count(b"Traceback"),
    }
    print(json.dumps(report, indent=2))
    return 0 if report["errors"] == 0 and report["gateway_tracebacks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
