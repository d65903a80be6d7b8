"""What recording (--record), shadow reads (--shadow-legacy-upstream) and gzip cost the primary request.

    python bench/overhead.py [--duration 5] [--rounds 3] [--out bench/results]
                             [--only observers|gzip|gzip-cpu|tracing-cpu]

Same zero-cost nginx upstream as bench/run.py. Runs the translated fetch through: the gateway as
is; the gateway writing every exchange to a HAR file; the gateway shadowing every GET (sample 1.0) to
a zero-cost legacy provider (nginx answering with the plain gateway's own answer, so every comparison
agrees). Reports requests/s, p50 and p99 for each at concurrency 1 and 16, and each variant's ratio to
the plain gateway in the same run (overhead.md).

Gzip (gzip.md): a gateway with compression off (GATEWAY_GZIP_MIN_BYTES=0) and one with the default
threshold, each asked for the fetch (below the threshold) and the 1000-item list, by a client that does
not send Accept-Encoding and by one that sends "gzip"; ratios against compression off in the same run.
gzip-cpu.md and tracing-cpu.md: the compression and trace-context layers alone, in process, in CPU µs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402
import upstream as static  # noqa: E402

LEGACY_BODY = """
  server {{
    listen 127.0.0.1:{port};
    root {root};
    default_type application/xml;
    location / {{ try_files /legacy.xml =404; }}
  }}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--only", choices=("observers", "gzip", "gzip-cpu", "tracing-cpu"), default=None)
    args = parser.parse_args()
    run.ensure_tools()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "observers"):
        observers(args, out)
    if args.only in (None, "gzip"):
        compression(args, out)
    if args.only in (None, "gzip", "gzip-cpu"):
        compression_cpu(out)
    if args.only in (None, "tracing-cpu"):
        tracing_cpu(out)
    return 0


def observers(args: argparse.Namespace, out: Path) -> None:
    legacy, _, method = run.SCENARIOS["fetch"]
    rows: list[run.Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        static.write_bodies(root)
        ports = {name: run.free_port() for name in ("upstream", "plain", "record", "shadow", "legacy")}
        nginx = static.start_upstream(root, ports["upstream"])
        provider: subprocess.Popen[bytes] | None = None
        try:
            run.wait_http(f"http://127.0.0.1:{ports['upstream']}/")
            variants = {
                "plain": {},
                "record": {"GATEWAY_RECORD": str(root / "traffic.har")},
                "shadow": {
                    "GATEWAY_SHADOW_LEGACY_UPSTREAM": f"http://127.0.0.1:{ports['legacy']}",
                    "GATEWAY_SHADOW_SAMPLE": "1.0",
                    "GATEWAY_SHADOW_LOG": str(root / "shadow.jsonl"),
                },
            }
            commands = []
            for name, extra in variants.items():
                command, env = run.gateway_command(ports[name], ports["upstream"], 1)
                commands.append(run.process(command, {**env, **extra}))
            with commands[0], commands[1], commands[2]:
                for name in variants:
                    run.wait_http(f"http://127.0.0.1:{ports[name]}/healthz")
                answer = httpx.get(
                    f"http://127.0.0.1:{ports['plain']}{legacy}", headers={"Authorization": run.AUTH}
                )
                (root / "legacy.xml").write_bytes(answer.content)
                body = LEGACY_BODY.format(port=ports["legacy"], root=root)
                provider = static.start_nginx(root, "legacy", body)
                run.wait_http(f"http://127.0.0.1:{ports['legacy']}/")
                for concurrency in (1, 16):
                    for name in ("plain", "record", "shadow"):
                        url = f"http://127.0.0.1:{ports[name]}{legacy}"
                        rows.append(
                            run.measure("fetch", name, url, concurrency, method, args.duration, args.rounds)
                        )
                        print(rows[-1], flush=True)
                time.sleep(1)
                har = json.loads((root / "traffic.har").read_text())
                recorded = len(har["log"]["entries"])
        finally:
            for server in (provider, nginx):
                if server is not None:
                    server.terminate()
                    server.wait(10)
    plain = {r.concurrency: r for r in rows if r.target == "plain"}
    lines = ["| variant | c | req/s | p50 ms | p99 ms | req/s ÷ plain |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r.rps / plain[r.concurrency].rps
        lines.append(
            f"| {r.target} | {r.concurrency} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {ratio:.3f} |"
        )
    text = "\n".join(lines) + f"\n\nHAR entries written during the run: {recorded}\n"
    (out / "overhead.md").write_text(text)
    print(text)


_REQUESTS = re.compile(r"(\d+) requests in")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_gzip(
    url: str, concurrency: int, seconds: int, accept: str | None, pid: int
) -> tuple[float, float, float, float]:
    """run.wrk with an Accept-Encoding header; also the gateway's CPU milliseconds per request."""
    headers = {"Authorization": run.AUTH, "Accept-Encoding": accept or "identity"}
    probe = httpx.get(url, headers=headers)
    assert probe.status_code == 200, probe.text[:200]
    zipped = probe.headers.get("content-encoding") == "gzip"
    assert zipped == (accept == "gzip" and len(probe.content) >= 4096)
    command = ["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{seconds}s", "--latency"]
    command += ["-H", f"Authorization: {run.AUTH}", "-H", f"Accept-Encoding: {accept or 'identity'}", url]
    before = cpu_seconds(pid)
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    used = cpu_seconds(pid) - before
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"wrk saw errors for {url}:\n{result.stdout}")
    latency = {pct: float(v) * run._UNIT[unit] for pct, v, unit in run._LATENCY.findall(result.stdout)}
    requests = int(_REQUESTS.findall(result.stdout)[0])
    rps = float(run._RPS.findall(result.stdout)[0])
    return rps, latency["50"], latency["99"], used * 1000 / max(requests, 1)


CASES = (("off", None), ("on", None), ("on", "gzip"))
LABELS = {
    ("off", None): "`GATEWAY_GZIP_MIN_BYTES=0`, identity",
    ("on", None): "default (4096), identity",
    ("on", "gzip"): "default (4096), gzip",
}


def compression(args: argparse.Namespace, out: Path) -> None:
    """Rounds interleave the three cases, so drift on a shared machine hits them alike."""
    results: dict[tuple[str, int, str, str | None], list[tuple[float, float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        static.write_bodies(root)
        ports = {name: run.free_port() for name in ("upstream", "off", "on")}
        nginx = static.start_upstream(root, ports["upstream"])
        try:
            run.wait_http(f"http://127.0.0.1:{ports['upstream']}/")
            commands = []
            for name, threshold in (("off", "0"), ("on", "4096")):
                command, env = run.gateway_command(ports[name], ports["upstream"], 1)
                commands.append(run.process(command, {**env, "GATEWAY_GZIP_MIN_BYTES": threshold}))
            with commands[0] as off, commands[1] as on:
                pids = {"off": off.pid, "on": on.pid}
                for name in ("off", "on"):
                    run.wait_http(f"http://127.0.0.1:{ports[name]}/healthz")
                for scenario in ("fetch", "list1000"):
                    legacy = run.SCENARIOS[scenario][0]
                    for concurrency in (1, 16):
                        for gateway, accept in CASES:
                            url = f"http://127.0.0.1:{ports[gateway]}{legacy}"
                            wrk_gzip(url, concurrency, 2, accept, pids[gateway])  # warm-up
                        for _ in range(args.rounds):
                            for gateway, accept in CASES:
                                url = f"http://127.0.0.1:{ports[gateway]}{legacy}"
                                row = wrk_gzip(url, concurrency, args.duration, accept, pids[gateway])
                                results.setdefault((scenario, concurrency, gateway, accept), []).append(row)
                                print(scenario, concurrency, gateway, accept, row, flush=True)
                sizes = {
                    accept: httpx.get(
                        f"http://127.0.0.1:{ports['on']}{run.SCENARIOS['list1000'][0]}",
                        headers={"Authorization": run.AUTH, "Accept-Encoding": accept},
                    ).num_bytes_downloaded
                    for accept in ("identity", "gzip")
                }
        finally:
            nginx.terminate()
            nginx.wait(10)
    lines = [
        "| answer | gateway, Accept-Encoding | c | req/s | p50 ms | p99 ms | CPU ms/request | req/s ÷ off |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (scenario, c, gateway, accept), runs in results.items():
        rps, p50, p99, cpu = (statistics.median(r[i] for r in runs) for i in range(4))
        base = statistics.median(r[0] for r in results[(scenario, c, "off", None)])
        cells = [scenario, LABELS[(gateway, accept)], str(c), f"{rps:,.0f}", f"{p50:.2f}", f"{p99:.2f}"]
        lines.append("| " + " | ".join(cells) + f" | {cpu:.3f} | {rps / base:.3f} |")
    text = "\n".join(lines) + (
        f"\n\nThe 1000-item list: {sizes['identity']:,} bytes on the wire without gzip, "
        f"{sizes['gzip']:,} with gzip.\n"
    )
    (out / "gzip.md").write_text(text)
    print(text)


def compression_cpu(out: Path) -> None:
    """The compression layer alone, in process: CPU µs per answer for a fixed legacy body, through
    nothing, through the layer for a client without gzip, and through it for a gzip client. Cases are
    interleaved, best of 7 rounds (process CPU time, so other load on the machine matters less)."""
    import asyncio

    from gateway.edge.app import create_app
    from gateway.edge.compression import compressed
    from gateway.sandbox import SandboxConfig, create_sandbox
    from gateway.settings import Settings

    account, token = "AC" + "a" * 32, "0" * 32
    sandbox = create_sandbox(
        SandboxConfig(accounts={account: token}, incoming_numbers=1, seed_caller_ids=1000)
    )
    gateway = create_app(
        Settings(upstream="http://s.test", trunking_upstream="http://s.test", gzip_min_bytes=0),
        httpx.ASGITransport(app=sandbox),
    )
    base = f"/2008-08-01/Accounts/{account}/OutgoingCallerIds"

    async def bodies() -> dict[str, bytes]:
        async with (
            gateway.gateway_app.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://g", auth=(account, token)
            ) as client,
        ):
            listing = await client.get(base, params={"num": 1000})
            sid = re.findall(r"PN[0-9a-f]{32}", listing.text)[0]
            fetched = await client.get(f"{base}/{sid}")
            return {"fetch": fetched.content, "list1000": listing.content}

    documents = asyncio.run(bodies())

    def fixed(body: bytes) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            headers = [(b"content-type", b"application/xml"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return app

    async def nothing(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    def scope(accept: bytes) -> dict[str, Any]:
        return {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-encoding", accept)]}

    async def per_answer(app: Any, accept: bytes, count: int) -> float:
        started = time.process_time()
        for _ in range(count):
            await app(scope(accept), receive, nothing)
        return (time.process_time() - started) / count * 1e6

    lines = [
        "| answer | bytes | no layer µs | layer, client without gzip µs | layer, gzip client, under the"
        " threshold µs | layer, gzip client, compressed µs | gzip bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, body in documents.items():
        count = 3000 if len(body) < 10_000 else 60
        cases = {
            "none": (fixed(body), b"identity"),
            "identity": (compressed(fixed(body), 4096), b"identity"),
            "under": (compressed(fixed(body), len(body) + 1), b"gzip"),
            "gzip": (compressed(fixed(body), 1), b"gzip"),
        }
        best = {case: float("inf") for case in cases}
        for _ in range(7):
            for case, (app, accept) in cases.items():
                best[case] = min(best[case], asyncio.run(per_answer(app, accept, count)))
        size = len(gzip_bytes(body))
        lines.append(
            f"| {name} | {len(body):,} | {best['none']:.1f} | {best['identity']:.1f} | {best['under']:.1f} |"
            f" {best['gzip']:.1f} | {size:,} |"
        )
    text = "\n".join(lines) + "\n"
    (out / "gzip-cpu.md").write_text(text)
    print(text)


def tracing_cpu(out: Path) -> None:
    """The trace-context layer, in process: CPU µs per request for a constant answer without the
    layer, through it without a traceparent, with one, and (with the otel extra) making a server span
    that is exported nowhere. Best of 7."""
    import asyncio

    from gateway import observability as obs
    from gateway.tracing import Tracing

    async def constant(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/xml")]}
        )
        await send({"type": "http.response.body", "body": b"<TwilioResponse/>"})

    async def nothing(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    common = [(b"host", b"gw"), (b"authorization", b"Basic eA=="), (b"accept", b"*/*")]
    traced = [*common, (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]

    async def per_request(app: Any, headers: list[tuple[bytes, bytes]], count: int) -> float:
        obs.CURRENT.set(obs.Exchange("bench"))
        started = time.process_time()
        for _ in range(count):
            await app({"type": "http", "method": "GET", "path": "/", "headers": headers}, receive, nothing)
        return (time.process_time() - started) / count * 1e6

    cases = {
        "no layer": (constant, common),
        "layer, no traceparent": (Tracing(constant), common),
        "layer, traceparent": (Tracing(constant), traced),
    }
    try:
        from opentelemetry.sdk.trace import TracerProvider

        tracer = TracerProvider().get_tracer("bench")  # spans made and ended, exported nowhere
        cases["OpenTelemetry on, server span, no exporter"] = (Tracing(constant, tracer), traced)
    except ImportError:
        pass
    best = {case: float("inf") for case in cases}
    for _ in range(7):
        for case, (app, headers) in cases.items():
            best[case] = min(best[case], asyncio.run(per_request(app, headers, 20_000)))
    lines = ["| case | CPU µs per request |", "|---|---|"]
    lines += [f"| {case} | {value:.2f} |" for case, value in best.items()]
    text = "\n".join(lines) + "\n"
    (out / "tracing-cpu.md").write_text(text)
    print(text)


def gzip_bytes(body: bytes) -> bytes:
    import zlib

    from gateway.edge.compression import LEVEL

    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


if __name__ == "__main__":
    sys.exit(main())
