"""Memory while streaming a large recording through the gateway (not part of the test suite).

    python bench/media.py [--megabytes 100] [--rounds 3] [--out bench/results]

Starts, on loopback, the sandbox (its own process) holding one recording of the size asked for (a WAV
generated as it is read, so the sandbox holds none of it either) and one of a second, and the gateway
(``python -m gateway serve``, one worker, its own process). Then, per round: fetches the one-second
recording through the gateway (the baseline), reads the gateway's resident memory, and downloads the
large one through the gateway twice — as fast as the client can, and throttled to 25 MB/s (a slow
client: the gateway must wait for it rather than buffer) — sampling the gateway's resident memory every
10 ms, and once straight from the sandbox (the speed baseline). Reports the peak growth of the gateway's
memory over the baseline against the size of the body, the bytes' SHA-256 against the sandbox's, and
the gateway's throughput as a ratio of the direct download's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ACCOUNT = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TOKEN = "0123456789abcdef0123456789abcdef"
SMALL_SECONDS = 1


def serve_sandbox(port: int, seconds: int) -> None:
    """The sandbox process: two recordings (``seconds`` and one second), sids printed for the parent."""
    import uvicorn

    sys.path.insert(0, str(ROOT))
    from gateway.sandbox import SandboxConfig, create_sandbox

    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}))
    sandbox = app.state.sandbox
    voice = sandbox.voice
    call = voice.new_call(ACCOUNT, "+14158675309", "+16465550000", "inbound", at=voice.clock() - 2 * seconds)
    large = sandbox.recordings.add(call, seconds, voice.clock() - 60)
    small = sandbox.recordings.add(call, SMALL_SECONDS, voice.clock() - 30)
    print(json.dumps({"large": large.sid, "small": small.sid}), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Sampler:
    """The peak resident memory of a process, sampled every 10 ms while running."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))


def download(url: str, rate: float | None = None) -> tuple[int, str, float]:
    """(bytes, sha256, seconds); ``rate`` bytes/s caps the reading speed."""
    digest, size = hashlib.sha256(), 0
    started = time.perf_counter()
    with httpx.stream("GET", url, auth=(ACCOUNT, TOKEN), timeout=120) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
            if rate is not None:
                ahead = size / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
    return size, digest.hexdigest(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--throttle", type=float, default=25.0, help="MB/s of the slow client")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--serve-sandbox", nargs=2, type=int, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_sandbox:
        serve_sandbox(*args.serve_sandbox)
        return
    seconds = math.ceil((args.megabytes * 1024 * 1024 - 44) / 16000)
    sandbox_port, gateway_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{sandbox_port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    sandbox_args = [sys.executable, __file__, "--serve-sandbox", str(sandbox_port), str(seconds)]
    gateway_args = [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--port",
        str(gateway_port),
        "--upstream",
        upstream,
    ]
    gateway_args += ["--trunking-upstream", upstream, "--read-timeout", "30", "--total-timeout", "120"]
    with process(sandbox_args, env) as sandbox, process(gateway_args, env) as gateway:
        assert sandbox.stdout is not None
        sids = json.loads(sandbox.stdout.readline())
        wait_for(upstream + "/")
        wait_for(f"http://127.0.0.1:{gateway_port}/healthz")
        legacy = f"http://127.0.0.1:{gateway_port}/2008-08-01/Accounts/{ACCOUNT}/Recordings/"
        direct = f"{upstream}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sids['large']}.wav"
        rounds = []
        for _ in range(args.rounds):
            download(legacy + sids["small"])
            baseline = rss_kib(gateway.pid)
            row: dict[str, object] = {"baseline_rss_mib": round(baseline / 1024, 1)}
            for name, rate in (("fast", None), ("throttled", args.throttle * 1e6)):
                with Sampler(gateway.pid) as sampler:
                    size, digest, elapsed = download(legacy + sids["large"], rate)
                row[f"{name}_peak_growth_mib"] = round((sampler.peak - baseline) / 1024, 1)
                row[f"{name}_seconds"] = round(elapsed, 2)
            size_direct, digest_direct, elapsed_direct = download(direct)
            assert (size, digest) == (size_direct, digest_direct), (
                "the gateway's bytes differ from the sandbox's"
            )
            row["body_mib"] = round(size / 2**20, 1)
            row["direct_seconds"] = round(elapsed_direct, 2)
            row["throughput_ratio"] = round(elapsed_direct / row["fast_seconds"], 2)  # type: ignore[operator]
            rounds.append(row)
            print(json.dumps(row), flush=True)
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "seconds": seconds, "rounds": rounds}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "media.json").write_text(json.dumps(report, indent=2) + "\n")
    worst = max(max(r["fast_peak_growth_mib"], r["throttled_peak_growth_mib"]) for r in rounds)  # type: ignore[type-var]
    print(f"body {rounds[0]['body_mib']} MiB; gateway memory grew at most {worst} MiB over its baseline")


if __name__ == "__main__":
    main()
