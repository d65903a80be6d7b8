"""What the paging benchmarks share (not part of the test suite): the real CLI started on loopback
(a sandbox, gateways), a legacy client, and the gateway's own metrics read back."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from gateway.sandbox import DEFAULT_ACCOUNT_SID as ACCOUNT  # noqa: E402
from gateway.sandbox import DEFAULT_AUTH_TOKEN as TOKEN  # noqa: E402
from tests.servers import free_port  # noqa: E402

LIST = f"/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds"
METRIC = re.compile(
    r'gateway_upstream_requests_total\{[^}]*endpoint="outgoing_caller_ids\.list"[^}]*\} (\S+)'
)


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {url} exited early")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1)
            return
        time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not start")


@contextlib.contextmanager
def sandbox(
    items: int, latency_ms: float, processes: list[Any] | None = None, seed: str = ""
) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "gateway", "sandbox", "--port", str(port)]
    command += ["--seed-caller-ids", str(items), "--latency-ms", str(latency_ms)]
    command += ["--seed", seed] if seed else []
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", process, 600)
        what = seed or f"{items:,} caller ids"
        print(f"  sandbox with {what} up in {time.perf_counter() - began:.1f} s", flush=True)
        if processes is not None:
            processes.append(process)
        yield base
    finally:
        process.terminate()
        process.wait(30)


@contextlib.contextmanager
def gateway(upstream: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    variables = {
        **os.environ,
        "GATEWAY_UPSTREAM": upstream,
        "GATEWAY_TRUNKING_UPSTREAM": upstream,
        "GATEWAY_PORT": str(port),
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "warning",
        **env,
    }
    command = [sys.executable, "-m", "gateway", "serve"]
    process = subprocess.Popen(command, cwd=ROOT, env=variables, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", process)
        yield base, process
    finally:
        process.terminate()
        process.wait(30)


SECONDS = re.compile(
    r'gateway_upstream_duration_seconds_sum\{[^}]*endpoint="outgoing_caller_ids\.list"[^}]*\} (\S+)'
)


def upstream_calls(bases: list[str], metric: re.Pattern[str] = METRIC) -> float:
    total = 0.0
    for base in bases:
        text = httpx.get(base + "/metrics").text
        total += sum(float(value) for value in metric.findall(text))
    return total


def upstream_seconds(base: str) -> float:
    """Time the gateway spent waiting on upstream list pages: the baseline of the same run."""
    return upstream_calls([base], SECONDS)


def peak_rss_mb(process: subprocess.Popen[bytes]) -> float:
    status = Path(f"/proc/{process.pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


class Legacy:
    """A legacy client; ``bases`` round-robin (one base: a single gateway)."""

    def __init__(
        self, bases: list[str], element: tuple[str, str] = ("OutgoingCallerIds", "OutgoingCallerId")
    ) -> None:
        self.bases = bases
        self.element = element
        self.turn = 0
        self.client = httpx.Client(auth=(ACCOUNT, TOKEN), timeout=600)

    def get(self, uri: str) -> tuple[dict[str, str], list[str], float]:
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        began = time.perf_counter()
        response = self.client.get(base + uri)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise SystemExit(f"bench: {uri} answered {response.status_code}: {response.text[:300]}")
        body = response.json()["TwilioResponse"]
        listing = body[self.element[0]]
        attrs = {k: str(v) for k, v in body.items() if k != self.element[0]}
        return attrs, [entry[self.element[1]]["Sid"] for entry in listing], elapsed

    def walk(self, uri: str) -> tuple[list[str], int]:
        seen: list[str] = []
        pages = 0
        while uri:
            attrs, sids, _ = self.get(uri)
            seen += sids
            pages += 1
            uri = attrs.get("nextpageuri", "")
        return seen, pages


def json_uri(uri: str) -> str:
    path, _, query = uri.partition("?")
    if not path.endswith(".json"):
        path += ".json"
    return path + ("?" + query if query else "")
