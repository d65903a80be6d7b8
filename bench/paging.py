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
   item (counted sequentially), and of N seeded calls (counted by status: completed calls that ended
   before the count in end-time ranges alongside the live stages, busy and no-answer calls in
   start-time ranges: docs/paging.md), then a page far into that list (the walk extended to it).
   ``--concurrency`` is the gateways' ``GATEWAY_LIST_COUNT_CONCURRENCY`` there. Steps 7 and 8 live in
   ``bench/paging_dated.py``; what the steps share in ``bench/paging_support.py``.

Upstream calls are read from each gateway's ``gateway_upstream_requests_total`` metric.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from paging_dated import dated, partitioned  # noqa: E402
from paging_support import (  # noqa: E402
    ACCOUNT,
    LIST,
    TOKEN,
    Legacy,
    gateway,
    json_uri,
    peak_rss_mb,
    sandbox,
    upstream_calls,
    upstream_seconds,
)

from tests.servers import redis_server  # noqa: E402


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
