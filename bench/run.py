"""The benchmark suite (not part of the test suite). One command:

    python bench/run.py [--duration 10] [--rounds 3] [--out bench/results] [--no-profile] [--aiohttp]

Needs nginx and wrk (Debian: apt-get install nginx-light wrk; installed here when missing and run as
root) and py-spy for the profiles (`pip install -e '.[bench]'`). Starts, on loopback: nginx serving fixed
2010-04-01 JSON bodies (the zero-cost upstream), nginx as a plain reverse proxy in front of it (one
worker, upstream keep-alive), the same proxy with its access log on, the bare-stack ceiling
(bench/ceiling.py), the gateway with one and two workers, and the gateway (one worker) with its access
log on (and with ``--aiohttp``, bench/aiohttp_gateway.py: the same, its upstream client aiohttp, for
comparison); drives each with wrk at concurrency 1 and 16 after a warm-up, in interleaved rounds, and
reports requests/s, p50, p99 (median round) and the ratios to the nginx proxy (logging to logging, the
rest to the plain proxy), to the client floor, of two workers to one and of a list to the gateway's own
fetch, per scenario as a table and as JSON. Then walks a
10,000-item account on the sandbox (num=50, by nextpageuri) and reports upstream calls, time and the
gateway's peak RSS.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import upstream as static  # noqa: E402

TOKEN = "benchtoken"
AUTH = "Basic " + base64.b64encode(f"{static.ACCOUNT_FETCH}:{TOKEN}".encode()).decode()
LEGACY = "/2008-08-01/Accounts/{account}/OutgoingCallerIds"
SCENARIOS = {
    # name: (legacy path, 2010 path for the baselines, method)
    "fetch": (
        LEGACY.format(account=static.ACCOUNT_FETCH) + f"/{static.SID}",
        f"/2010-04-01/Accounts/{static.ACCOUNT_FETCH}/OutgoingCallerIds/{static.SID}.json",
        "GET",
    ),
    "list50": (
        LEGACY.format(account=static.ACCOUNT_50) + "?num=50",
        f"/2010-04-01/Accounts/{static.ACCOUNT_50}/OutgoingCallerIds.json?PageSize=1000",
        "GET",
    ),
    "list1000": (
        LEGACY.format(account=static.ACCOUNT_1000) + "?num=1000",
        f"/2010-04-01/Accounts/{static.ACCOUNT_1000}/OutgoingCallerIds.json?PageSize=1000",
        "GET",
    ),
    "validation": (
        LEGACY.format(account=static.ACCOUNT_FETCH),
        f"/2010-04-01/Accounts/{static.ACCOUNT_FETCH}/OutgoingCallerIds.json",
        "POST",
    ),
}


@dataclass
class Row:
    scenario: str
    target: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    rounds: list[float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def ensure_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light", "wrk"], check=True)
        missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"bench: install {', '.join(missing)} (Debian: apt-get install nginx-light wrk)")


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, concurrency: int, seconds: int, method: str) -> tuple[float, float, float]:
    options = ["-H", f"Authorization: {AUTH}"]
    if method == "POST":
        options += ["-s", str(HERE / "post.lua")]
    return run_wrk(url, concurrency, seconds, options, {"BENCH_AUTH": AUTH})


def run_wrk(
    url: str,
    concurrency: int,
    seconds: int,
    options: list[str],
    env: dict[str, str],
    sockets_fail: bool = False,
) -> tuple[float, float, float]:
    """One wrk run (one thread, ``options`` and ``env`` added): requests/s, p50 and p99 in ms; an
    error if any answer was not 2xx (or, with ``sockets_fail``, a socket failed)."""
    command = ["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{seconds}s", "--latency", *options, url]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, check=True)
    if "Non-2xx" in result.stdout or (sockets_fail and "Socket errors" in result.stdout):
        raise RuntimeError(f"wrk saw errors for {url}:\n{result.stdout}")
    latency = {pct: float(value) * _UNIT[unit] for pct, value, unit in _LATENCY.findall(result.stdout)}
    return float(_RPS.findall(result.stdout)[0]), latency["50"], latency["99"]


def measure(
    scenario: str, targets: dict[str, str], concurrency: int, method: str, seconds: int, rounds: int
) -> list[Row]:
    """Every target after a warm-up, in interleaved rounds (every other round in reverse order), so
    that load from elsewhere on the machine falls on all of them alike; each row the median round."""
    for url in targets.values():
        wrk(url, concurrency, 2, method)  # warm-up
    runs: dict[str, list[tuple[float, float, float]]] = {target: [] for target in targets}
    for index in range(rounds):
        order = list(targets.items())
        for target, url in order if index % 2 == 0 else order[::-1]:
            runs[target].append(wrk(url, concurrency, seconds, method))
    return [
        Row(
            scenario,
            target,
            concurrency,
            statistics.median(r[0] for r in done),
            statistics.median(r[1] for r in done),
            statistics.median(r[2] for r in done),
            [r[0] for r in done],
        )
        for target, done in runs.items()
    ]


@contextlib.contextmanager
def process(
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """``log``: the file stderr (the gateway's logs) goes to; otherwise a pipe nobody drains. ``cwd``
    comes first on ``python -m``'s path: the source tree that runs."""
    sink = open(log, "ab") if log is not None else None  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=sink or subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if sink is not None:
            sink.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def gateway_command(
    port: int, upstream_port: int, workers: int, access_log: bool = False
) -> tuple[list[str], dict[str, str]]:
    env = {
        "GATEWAY_PORT": str(port),
        "GATEWAY_UPSTREAM": f"http://127.0.0.1:{upstream_port}",
        "GATEWAY_WORKERS": str(workers),
        "GATEWAY_LIST_CACHE_TTL": "0",  # every list request reads and translates the upstream list
        "GATEWAY_ACCESS_LOG": "true" if access_log else "false",  # as the nginx proxy it is compared to
    }
    return [sys.executable, "-m", "gateway", "serve"], env


def profile(pid: int, url: str, method: str, out: Path) -> None:
    if shutil.which("py-spy") is None:
        return
    spy = subprocess.Popen(  # run in the output's folder: the flame graph's title names the file alone
        ["py-spy", "record", "-p", str(pid), "-d", "6", "-r", "200", "-o", out.name, "--nonblocking"],
        cwd=out.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    wrk(url, 16, 5, method)
    spy.wait(30)


def walk(root: Path, results: Path) -> dict[str, float]:
    sandbox_port, gateway_port = free_port(), free_port()
    account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    token = "0123456789abcdef0123456789abcdef"
    with process(
        [
            sys.executable,
            "-m",
            "gateway",
            "sandbox",
            "--port",
            str(sandbox_port),
            "--seed-caller-ids",
            "10000",
        ]
    ):
        wait_http(f"http://127.0.0.1:{sandbox_port}/")
        env = {
            "GATEWAY_PORT": str(gateway_port),
            "GATEWAY_UPSTREAM": f"http://127.0.0.1:{sandbox_port}",
            "GATEWAY_ACCESS_LOG": "false",
        }
        with process([sys.executable, "-m", "gateway", "serve"], env) as gateway:
            wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
            started = time.perf_counter()
            pages = items = 0
            with httpx.Client(
                base_url=f"http://127.0.0.1:{gateway_port}", auth=(account, token), timeout=60
            ) as client:
                uri = f"/2008-08-01/Accounts/{account}/OutgoingCallerIds?num=50"
                while uri:
                    listing = re.search(rb"<OutgoingCallerIds [^>]*>", client.get(uri).content)
                    assert listing is not None
                    attrs = dict(re.findall(r'(\w+)="([^"]*)"', listing.group(0).decode()))
                    items += int(attrs["end"]) - int(attrs["start"]) + 1
                    pages += 1
                    uri = attrs["nextpageuri"].replace("&amp;", "&")
                elapsed = time.perf_counter() - started
                metrics = client.get("/metrics").text
            calls = sum(
                float(v)
                for v in re.findall(
                    r'gateway_upstream_requests_total\{endpoint="outgoing_caller_ids.list"[^}]*\} ([\d.e+]+)',
                    metrics,
                )
            )
            status = Path(f"/proc/{gateway.pid}/status").read_text()
            peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    return {
        "items": items,
        "pages": pages,
        "upstream_calls": calls,
        "budget": 2 * 10 + 2,
        "seconds": round(elapsed, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


LOGGED = " +log"


def table(rows: list[Row]) -> str:
    """Ratios: a row with its access log on over the logging proxy, the others over the plain one; every
    row over the client floor of its scenario and concurrency (the targets are stated against it); two
    workers over one worker logging the same way; a list over the gateway's own fetch (same workers,
    same logging, same concurrency)."""
    rps = {(r.scenario, r.concurrency, r.target): r.rps for r in rows}
    lines = [
        "| scenario | c | target | req/s | p50 ms | p99 ms | ÷ nginx proxy | ÷ client floor | 2w ÷ 1w "
        "| ÷ own fetch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def over(r: Row, scenario: str, target: str) -> str:
        base = rps.get((scenario, r.concurrency, target))
        return f"{r.rps / base:.3f}" if base else ""

    for r in rows:
        logged = LOGGED if r.target.endswith(LOGGED) else ""
        proxy = over(r, r.scenario, "nginx proxy" + logged)
        floor = over(r, r.scenario, "client floor")
        workers = over(r, r.scenario, "gateway 1w" + logged) if r.target.startswith("gateway 2w") else ""
        fetch = over(r, "fetch", r.target) if r.target.startswith("gateway") and r.scenario != "fetch" else ""
        lines.append(
            f"| {r.scenario} | {r.concurrency} | {r.target} | {r.rps:,.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {proxy} | {floor} | {workers} | {fetch} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--skip-walk", action="store_true")
    parser.add_argument(
        "--aiohttp", action="store_true", help="also the gateway on aiohttp (bench/aiohttp_gateway.py)"
    )
    args = parser.parse_args()
    ensure_tools()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers run as an unprivileged user
        static.write_bodies(root)
        served = ("ceiling", "floor", "gateway", "gateway2", "gatewaylog", "gateway2log")
        names = ("upstream", "proxy", "proxylog", *served, "aiohttp")
        ports = {name: free_port() for name in names}
        upstream = static.start_upstream(root, ports["upstream"])
        proxy = static.start_proxy(root, ports["proxy"], ports["upstream"])
        proxy_log = static.start_proxy(root, ports["proxylog"], ports["upstream"], access_log=True)
        try:
            for port in ("upstream", "proxy", "proxylog"):
                wait_http(f"http://127.0.0.1:{ports[port]}/")
            one, env1 = gateway_command(ports["gateway"], ports["upstream"], 1)
            two, env2 = gateway_command(ports["gateway2"], ports["upstream"], 2)
            logged, env_logged = gateway_command(ports["gatewaylog"], ports["upstream"], 1, access_log=True)
            logged2, env_logged2 = gateway_command(
                ports["gateway2log"], ports["upstream"], 2, access_log=True
            )
            floor = [
                sys.executable,
                str(HERE / "floor.py"),
                str(ports["floor"]),
                f"http://127.0.0.1:{ports['upstream']}",
            ]
            aio, env_aio = gateway_command(ports["aiohttp"], ports["upstream"], 1, access_log=True)
            aio = (
                [sys.executable, str(HERE / "aiohttp_gateway.py")]
                if args.aiohttp
                else [sys.executable, "-c", ""]
            )
            with (
                process([sys.executable, str(HERE / "ceiling.py"), str(ports["ceiling"])]),
                process(one, env1) as gateway,
                process(two, env2),
                process(logged, env_logged, log=root / "gateway.access.log"),
                process(logged2, env_logged2, log=root / "gateway2.access.log"),
                process(floor, {"PYTHONPATH": str(ROOT)}),
                process(aio, env_aio, log=root / "aiohttp.access.log"),
            ):
                started = (*served, *(("aiohttp",) if args.aiohttp else ()))
                for port in started:
                    wait_http(f"http://127.0.0.1:{ports[port]}/")
                for name in args.scenarios.split(","):
                    legacy, modern, method = SCENARIOS[name]
                    targets = {
                        "direct upstream": f"http://127.0.0.1:{ports['upstream']}{modern}",
                        "nginx proxy": f"http://127.0.0.1:{ports['proxy']}{modern}",
                        "nginx proxy" + LOGGED: f"http://127.0.0.1:{ports['proxylog']}{modern}",
                        "bare starlette": f"http://127.0.0.1:{ports['ceiling']}{legacy}",
                        "client floor": f"http://127.0.0.1:{ports['floor']}{modern}",
                        "gateway 1w": f"http://127.0.0.1:{ports['gateway']}{legacy}",
                        "gateway 2w": f"http://127.0.0.1:{ports['gateway2']}{legacy}",
                        "gateway 1w" + LOGGED: f"http://127.0.0.1:{ports['gatewaylog']}{legacy}",
                        "gateway 2w" + LOGGED: f"http://127.0.0.1:{ports['gateway2log']}{legacy}",
                    }
                    if args.aiohttp:
                        targets["gateway 1w aiohttp" + LOGGED] = (
                            f"http://127.0.0.1:{ports['aiohttp']}{legacy}"
                        )
                    for concurrency in (1, 16):
                        rows += measure(name, targets, concurrency, method, args.duration, args.rounds)
                        done = [r for r in rows if r.scenario == name and r.concurrency == concurrency]
                        print("\n".join(table(done).splitlines()[2:]), flush=True)
                    if not args.no_profile:
                        profile(gateway.pid, targets["gateway 1w"], method, out / f"profile-{name}.svg")
        finally:
            for nginx in (proxy_log, proxy, upstream):
                nginx.send_signal(signal.SIGQUIT)
                nginx.wait(10)
    walked = {} if args.skip_walk else walk(Path(tempfile.gettempdir()), out)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
        "rows": [asdict(r) for r in rows],
        "walk_10000": walked,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    text = table(rows) + ("\n\n10,000-item walk (num=50): " + json.dumps(walked) if walked else "")
    (out / "results.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
