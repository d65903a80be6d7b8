"""Legacy paging at real-account scale (not part of the test suite). One command:

    python bench/paging.py [--latency-ms 100] [--items 100000] [--big 1000000] [--out bench/results]

Starts, on loopback, the real CLI: ``python -m gateway sandbox --latency-ms MS --seed-caller-ids N``
and gateways (``python -m gateway serve``) on it, then measures, against the targets of
docs/performance.md ("Paging at scale"):

1. the first legacy page (num=50) of an N-item caller-id list: upstream calls and time, against
   ⌈N/1000⌉ + 1 calls and 1.15 × calls × latency;
2. the next 20 pages of that walk (by ``nextpageuri``): upstream calls and the slowest page;
3. a full walk of the N items by ``nextpageuri`` with num=50: upstream calls, every item once;
4. a caller id created upstream (directly on the sandbox) after the list was read: is it on the very
   next first-page request?
5. three gateway replicas on one Redis behind a round-robin client: one walk, every item once,
   upstream calls in all;
6. a ``--big``-item list (no added latency): first, middle and last pages answered, the gateway's
   peak RSS;
7. the partitioned count of a date-filterable list (in process: the walker against a fake upstream
   with ``StartTime>``/``StartTime<`` filters and the same latency), against the sequential count;
8. the first legacy page (num=50) of N seeded recordings (``--seed recordings=N``: counted in date
   partitions), against the same list with a client filter of the partition date that holds every
   item (counted sequentially), and of N seeded calls (counted by status, completed, busy and
   no-answer calls in start-time ranges: docs/paging.md), then a page far into that list (the walk
   extended to it). ``--concurrency`` is the gateways' ``GATEWAY_LIST_COUNT_CONCURRENCY`` there.

Upstream calls are read from each gateway's ``gateway_upstream_requests_total`` metric.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from gateway.resources import DatePartition  # noqa: E402
from gateway.sandbox import DEFAULT_ACCOUNT_SID as ACCOUNT  # noqa: E402
from gateway.sandbox import DEFAULT_AUTH_TOKEN as TOKEN  # noqa: E402
from gateway.walk import Cursor, Walker  # noqa: E402
from tests.servers import free_port, redis_server  # noqa: E402

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


def scale(items: int, latency_ms: float, results: dict[str, Any]) -> None:
    latency = latency_ms / 1000
    blocks = math.ceil(items / 1000)
    print(f"1-4. {items:,} caller ids, sandbox latency {latency_ms:g} ms", flush=True)
    with sandbox(items, latency_ms) as upstream, gateway(upstream) as (base, process):
        client = Legacy([base])
        before, waited = upstream_calls([base]), upstream_seconds(base)
        attrs, _, elapsed = client.get(f"{LIST}.json?num=50")
        calls = int(upstream_calls([base]) - before)
        waited = upstream_seconds(base) - waited
        results["first_page"] = {
            "calls": calls,
            "calls_target": blocks + 1,
            "seconds": round(elapsed, 3),
            "seconds_target": round(1.15 * calls * latency, 3),
            "upstream_seconds": round(waited, 3),
            "seconds_per_upstream_second": round(elapsed / waited, 3),
            "total": attrs["total"],
            "numpages": attrs["numpages"],
        }
        print(f"  first page: {results['first_page']}", flush=True)
        uri = attrs["nextpageuri"]
        before = upstream_calls([base])
        slowest = 0.0
        for _ in range(20):
            attrs, _, elapsed = client.get(json_uri(uri))
            slowest = max(slowest, elapsed)
            uri = attrs["nextpageuri"]
        calls = int(upstream_calls([base]) - before)
        results["next_20_pages"] = {
            "calls": calls,
            "calls_per_page": calls / 20,
            "slowest_seconds": round(slowest, 3),
            "slowest_target": round(1.5 * latency, 3),
        }
        print(f"  next 20 pages: {results['next_20_pages']}", flush=True)

        before = upstream_calls([base])
        began = time.perf_counter()
        seen, pages = client.walk(f"{LIST}.json?num=50")
        calls = int(upstream_calls([base]) - before)
        results["full_walk"] = {
            "items": len(seen),
            "distinct": len(set(seen)),
            "pages": pages,
            "calls": calls,
            "calls_target": 2 * blocks + 2,
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(f"  full walk: {results['full_walk']}", flush=True)

        number = "+14158675309"
        _, found, _ = client.get(f"{LIST}.json?PhoneNumber={number[1:]}")
        created = httpx.post(
            f"{upstream}/2010-04-01/Accounts/{ACCOUNT}/OutgoingCallerIds.json",
            data={"PhoneNumber": number, "CallDelay": "0"},
            auth=(ACCOUNT, TOKEN),
        )
        _, after, _ = client.get(f"{LIST}.json?PhoneNumber={number[1:]}")
        results["fresh_first_page"] = {
            "before": len(found),
            "created_upstream": created.status_code,
            "after": len(after),
        }
        print(f"  fresh first page: {results['fresh_first_page']}", flush=True)
        results["gateway_peak_rss_mb_100k"] = round(peak_rss_mb(process), 1)


def replicas(items: int, latency_ms: float, results: dict[str, Any]) -> None:
    print(f"5. three replicas on one Redis, {items:,} caller ids, latency {latency_ms:g} ms", flush=True)
    with (
        redis_server() as (url, _),
        sandbox(items, latency_ms) as upstream,
        gateway(upstream, GATEWAY_CACHE_URL=url) as (a, _),
        gateway(upstream, GATEWAY_CACHE_URL=url) as (b, _),
        gateway(upstream, GATEWAY_CACHE_URL=url) as (c, _),
    ):
        bases = [a, b, c]
        client = Legacy(bases)
        began = time.perf_counter()
        seen, pages = client.walk(f"{LIST}.json?num=50")
        calls = int(upstream_calls(bases))
        results["replicas"] = {
            "items": len(seen),
            "distinct": len(set(seen)),
            "pages": pages,
            "calls": calls,
            "calls_target": 2 * math.ceil(items / 1000) + 4,
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(f"  {results['replicas']}", flush=True)


def big(items: int, results: dict[str, Any]) -> None:
    print(f"6. {items:,} caller ids, no added latency", flush=True)
    started = time.perf_counter()
    upstreams: list[Any] = []
    with sandbox(items, 0, upstreams) as upstream, gateway(upstream) as (base, process):
        seeded = time.perf_counter() - started
        client = Legacy([base])
        began = time.perf_counter()
        attrs, first, elapsed = client.get(f"{LIST}.json?num=50")
        last_page = math.ceil(items / 50) - 1  # the list's real last page, counted or not yet
        view = dict(parse_qsl(urlsplit(attrs["nextpageuri"]).query))["view"]
        answered = {"first": (len(first), round(elapsed, 1))}
        final: dict[str, str] = {}
        for name, page in (("middle", last_page // 2), ("last", last_page), ("past the end", last_page + 1)):
            final, sids, elapsed = client.get(f"{LIST}.json?num=50&page={page}&view={view}")
            answered[name] = (len(sids), round(elapsed, 3))
        results["big"] = {
            "items": items,
            "first page total/numpages": (attrs["total"], attrs["numpages"]),
            "final total/numpages": (final["total"], final["numpages"]),
            "pages (items, seconds)": answered,
            "gateway_peak_rss_mb": round(peak_rss_mb(process), 1),
            "seconds": round(time.perf_counter() - began, 1),
            "sandbox_start_seconds": round(seeded, 1),
            "sandbox_peak_rss_mb": round(peak_rss_mb(upstreams[0]), 1),
        }
        print(f"  {results['big']}", flush=True)


class DatedUpstream:
    """Calls newest first by start time; ``StartTime>`` (on or after) / ``StartTime<`` (on or before)
    filters; offset next-page links; a fixed latency per page."""

    TARGET = "/2010-04-01/Accounts/AC1/Calls.json"

    def __init__(self, items: int, latency: float) -> None:
        begin = datetime(2021, 1, 1, tzinfo=UTC).timestamp()
        step = 3 * 365 * 86400 / items
        self.stamps = [int(begin + i * step) for i in range(items)]  # ascending
        self.dates = [format_datetime(datetime.fromtimestamp(stamp, UTC)) for stamp in self.stamps]
        self.latency = latency
        self.calls = 0

    async def fetch(self, target: str, params: Any) -> tuple[list[Any], str | None]:
        self.calls += 1
        query = dict(params) if params is not None else dict(parse_qsl(urlsplit(target).query))
        await asyncio.sleep(self.latency)
        low = bisect.bisect_left(self.stamps, _stamp(query.get("StartTime>"), -math.inf))
        high = bisect.bisect_right(self.stamps, _stamp(query.get("StartTime<"), math.inf))
        offset, size = int(query.get("Offset", "0")), int(query["PageSize"])
        top = high - offset
        chosen = range(top - 1, max(low, top - size) - 1, -1)
        page = [{"sid": f"CA{i:032x}", "start_time": self.dates[i]} for i in chosen]
        more = top - size > low
        link = self.TARGET + "?" + urlencode({**query, "Offset": str(offset + size)}) if more else None
        return page, link


def _stamp(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


async def partitioned(items: int, latency_ms: float, results: dict[str, Any], concurrency: int = 8) -> None:
    print(
        f"7. partitioned count, {items:,} calls, latency {latency_ms:g} ms, {concurrency} at once", flush=True
    )
    start = (Cursor(DatedUpstream.TARGET, (("PageSize", "1000"),)),)
    partition = DatePartition("StartTime", "start_time", since="2020-01-01T00:00:00Z")
    for name, how in (("partitioned", partition), ("sequential", None)):
        upstream = DatedUpstream(items, latency_ms / 1000)
        walker = Walker(upstream.fetch, lambda item: True, how, concurrency=concurrency)
        began = time.perf_counter()
        blocks, pending, _ = await walker.count(start, math.inf)
        results[f"count_{name}"] = {
            "total": sum(block.count for block in blocks),
            "complete": pending is None,
            "calls": upstream.calls,
            "seconds": round(time.perf_counter() - began, 2),
        }
        print(f"  {name}: {results[f'count_{name}']}", flush=True)


DATED = (
    ("recordings", "Recordings", "Recording", "DateCreated>=2008-01-01"),
    ("calls", "Calls", "Call", None),
)
"""Date-filterable lists on the sandbox: (seed name, legacy list, item, a client filter of the
partition date that holds every item, which the gateway then counts sequentially: the baseline)."""


def dated(
    items: int, latency_ms: float, results: dict[str, Any], only: str | None, concurrency: int = 8
) -> None:
    for name, element, item, everything in DATED:
        if only not in (None, name):
            continue
        print(f"8. first page of {items:,} {name}, sandbox latency {latency_ms:g} ms", flush=True)
        metric = re.compile(rf'gateway_upstream_requests_total{{[^}}]*endpoint="{name}\.list"[^}}]*}} (\S+)')
        env = {"GATEWAY_LIST_COUNT_CONCURRENCY": str(concurrency)}
        with (
            sandbox(0, latency_ms, seed=f"{name}={items}") as upstream,
            gateway(upstream, **env) as (base, _),
        ):
            client = Legacy([base], (element, item))
            uri = f"/2008-08-01/Accounts/{ACCOUNT}/{element}.json?num=50"
            cases = [("declared", uri)] + ([("sequential", uri + "&" + everything)] if everything else [])
            for case, query in cases:
                before = upstream_calls([base], metric)
                attrs, _, elapsed = client.get(query)
                results[f"first_page_{name}_{case}"] = {
                    "calls": int(upstream_calls([base], metric) - before),
                    "seconds": round(elapsed, 2),
                    "target_seconds": 2.0,
                    "total": attrs["total"],
                    "numpages": attrs["numpages"],
                }
                print(f"  {case}: {results[f'first_page_{name}_{case}']}", flush=True)
            if everything is None:
                far(client, base, uri, metric, results, name)


def far(
    client: Legacy, base: str, uri: str, metric: re.Pattern[str], results: dict[str, Any], name: str
) -> None:
    """The page of item 50,000 (or the list's middle) of the view the first page opened."""
    attrs, _, _ = client.get(uri)
    view = dict(parse_qsl(urlsplit(attrs["nextpageuri"]).query))["view"]
    page = int(attrs["numpages"]) // 2
    before = upstream_calls([base], metric)
    attrs, sids, elapsed = client.get(f"{uri}&page={page}&view={view}")
    results[f"middle_page_{name}"] = {
        "page": page,
        "items": len(sids),
        "calls": int(upstream_calls([base], metric) - before),
        "seconds": round(elapsed, 2),
        "total": attrs["total"],
    }
    print(f"  middle page: {results[f'middle_page_{name}']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--only", choices=("scale", "replicas", "big", "partitioned", "recordings", "calls"), default=None
    )
    parser.add_argument("--concurrency", type=int, default=8, help="of the partitioned counts")
    args = parser.parse_args()
    results: dict[str, Any] = {"latency_ms": args.latency_ms, "items": args.items}
    steps = {
        "scale": lambda: scale(args.items, args.latency_ms, results),
        "replicas": lambda: replicas(args.items, args.latency_ms, results),
        "big": lambda: big(args.big, results),
        "partitioned": lambda: asyncio.run(
            partitioned(args.items, args.latency_ms, results, args.concurrency)
        ),
        "recordings": lambda: dated(args.items, args.latency_ms, results, args.only, args.concurrency),
    }
    for name, step in steps.items():
        if args.only in (None, name) or (name == "recordings" and args.only == "calls"):
            step()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = f"-{args.only}" if args.only else ""
    suffix += f"-c{args.concurrency}" if args.concurrency != 8 else ""
    (args.out / f"paging{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
