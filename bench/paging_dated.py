"""Steps 7 and 8 of ``bench/paging.py`` (not part of the test suite): counting date-filterable lists, by
date partitions and, for Calls, by status."""

from __future__ import annotations

import asyncio
import bisect
import math
import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from paging_support import ACCOUNT, Legacy, gateway, sandbox, upstream_calls

from gateway.lists.walk import Cursor, Walker
from gateway.resources import DatePartition


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
