"""What a callback costs in the gateway: Twilio → hook → legacy app → rewritten TwiML, against the app alone.

    python bench/callbacks.py [--concurrency 1,16] [--rounds 5] [--duration 5] [--workers 1]
                              [--app-latency-ms MS]

A legacy app (uvicorn, one process: it answers a 2008 ``<Gather>`` document) and the gateway
(``python -m gateway serve``, one worker unless ``--workers``; callbacks on, access log on) run on
loopback. wrk sends the same call
request two ways, in interleaved rounds (the order alternates, so load from elsewhere on the machine
falls on both alike): straight to the app, as 2008 Twilio did, and to a hook URL, as Twilio does today
(2010 parameters, ``X-Twilio-Signature``): the gateway opens the hook, checks the signature, requests
the app (2008 parameters, signed, cookie jar read), rewrites its answer (the action becomes a hook
URL) and answers. Reported per concurrency: the median over rounds of each way's p50 and p99, and
the gateway's addition (hook minus direct). Targets: ≤ 1 ms added at p50 with one request at a time,
≤ 5 ms added at p99 with 16. Results: ``bench/results/callbacks.json``.

``--app-latency-ms`` makes the app take that long to answer, as a real app that reads a database does:
with an app that answers at once, 16 requests at a time keep one gateway worker saturated, so its p99
is queueing for the CPU; with an app that takes time, the same 16 callbacks measure what the gateway
adds to a callback in flight. Results with it: ``bench/results/callbacks-app{MS}ms.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from run import ROOT, ensure_tools, free_port, process, run_wrk, wait_http

sys.path.insert(0, str(ROOT))

from gateway.hooks.signature import expected
from gateway.hooks.urls import Hook, HookKeys

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "callbacks.json"
ACCOUNT = "AC" + "a" * 32
TOKEN = "0123456789abcdef0123456789abcdef"
KEY = "bench-hook-key-0123456789abcdef"
CALL = "CA" + "c" * 32
ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/next" numDigits="1">'
    b"<Say>Press one to talk to sales, two for support.</Say></Gather><Say>Goodbye</Say></Response>"
)
LEGACY = {"CallSid": CALL, "AccountSid": ACCOUNT, "Caller": "6465550000", "Called": "4155551212",
          "CallStatus": "in-progress", "DialStatus": "answered"}  # fmt: skip
TODAY = {"CallSid": CALL, "AccountSid": ACCOUNT, "From": "+16465550000", "To": "+14155551212",
         "Caller": "+16465550000", "Called": "+14155551212", "CallStatus": "in-progress",
         "Direction": "outbound-api", "ApiVersion": "2010-04-01", "FromCity": "NEW YORK",
         "ToState": "CA"}  # fmt: skip
LUA = """wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local signature = os.getenv("BENCH_SIGNATURE")
if signature and signature ~= "" then wrk.headers["X-Twilio-Signature"] = signature end
"""


APP_LATENCY = float(os.environ.get("BENCH_APP_LATENCY_MS", "0")) / 1000


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The legacy app: reads the request, answers the same document (after ``--app-latency-ms``)."""
    if scope["type"] != "http":
        return
    message = await receive()
    while message.get("more_body"):
        message = await receive()
    if APP_LATENCY:
        await asyncio.sleep(APP_LATENCY)
    headers = [(b"content-type", b"text/xml"), (b"content-length", str(len(ANSWER)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


def wrk(
    url: str, concurrency: int, seconds: int, body: str, signature: str, script: Path
) -> tuple[float, float, float]:
    env = {"BENCH_BODY": body, "BENCH_SIGNATURE": signature}
    return run_wrk(url, concurrency, seconds, ["-s", str(script)], env, sockets_fail=True)


@contextlib.contextmanager
def servers(root: Path, workers: int = 1, app_latency_ms: float = 0) -> Iterator[tuple[str, str]]:
    """(the app's URL, the gateway's base URL), both running."""
    app_port, gateway_port = free_port(), free_port()
    app_command = [sys.executable, "-m", "uvicorn", "callbacks:app", "--port", str(app_port),
                   "--log-level", "warning", "--no-access-log", "--app-dir", str(HERE)]  # fmt: skip
    gateway = f"http://127.0.0.1:{gateway_port}"
    env = {
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_WORKERS": str(workers),
        "GATEWAY_UPSTREAM": "http://127.0.0.1:9",  # never asked: the document has no <Sms>
        "GATEWAY_PUBLIC_URL": gateway,
        "GATEWAY_HOOK_KEYS": KEY,
        "GATEWAY_CALLBACK_ACCOUNTS": f"{ACCOUNT}:{TOKEN}",
        "GATEWAY_CALLBACK_HOSTS": "127.0.0.0/8",
    }
    with (
        process(app_command, {"BENCH_APP_LATENCY_MS": str(app_latency_ms)}, log=root / "app.log", cwd=HERE),
        process([sys.executable, "-m", "gateway", "serve"], env, log=root / "gateway.log"),
    ):
        wait_http(f"http://127.0.0.1:{app_port}/")
        wait_http(f"{gateway}/healthz")
        yield f"http://127.0.0.1:{app_port}/voice", gateway


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--app-latency-ms", type=float, default=0)
    args = parser.parse_args()
    ensure_tools()
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        servers(Path(tmp), args.workers, args.app_latency_ms) as (app_url, gateway),
    ):
        script = Path(tmp) / "hook.lua"
        script.write_text(LUA)
        hook = HookKeys([KEY]).mint(gateway, Hook("voice", ACCOUNT, app_url, "POST"))
        direct_body, hook_body = urlencode(LEGACY), urlencode(TODAY)
        ways = {
            "direct": (app_url, direct_body, ""),
            "hook": (hook, hook_body, expected(hook, TODAY, TOKEN)),
        }
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            runs: dict[str, list[tuple[float, float, float]]] = {"direct": [], "hook": []}
            for url, body, signed in ways.values():
                wrk(url, concurrency, 2, body, signed, script)  # warm-up
            for round_ in range(args.rounds):
                for way in sorted(ways, reverse=round_ % 2 == 1):
                    url, body, signed = ways[way]
                    runs[way].append(wrk(url, concurrency, args.duration, body, signed, script))
            row = summary(concurrency, runs)
            results.append(row)
            print(json.dumps(row), flush=True)
    out = RESULTS if args.workers == 1 else RESULTS.with_name(f"callbacks-{args.workers}w.json")
    if args.app_latency_ms:
        out = out.with_name(f"{out.stem}-app{args.app_latency_ms:g}ms.json")
    record = {
        "command": " ".join(["python", "bench/callbacks.py", *sys.argv[1:]]),
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "results": results,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    return 0


def summary(concurrency: int, runs: dict[str, list[tuple[float, float, float]]]) -> dict[str, object]:
    def median(way: str, index: int) -> float:
        return round(statistics.median(run[index] for run in runs[way]), 3)

    row: dict[str, object] = {"concurrency": concurrency}
    for way in ("direct", "hook"):
        row[way] = {"rps": round(median(way, 0)), "p50_ms": median(way, 1), "p99_ms": median(way, 2)}
    row["added_p50_ms"] = round(median("hook", 1) - median("direct", 1), 3)
    row["added_p99_ms"] = round(median("hook", 2) - median("direct", 2), 3)
    row["rounds"] = {way: [list(run) for run in runs[way]] for way in runs}
    return row


if __name__ == "__main__":
    sys.exit(main())
