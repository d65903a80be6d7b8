"""The walker against a fake upstream that filters by date (``StartTime>``/``StartTime<``) and by
status: blocks, the partitioned concurrent count, merged queries, and the hard limits."""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import BadGateway, GatewayTimeout
from gateway.lists.fanout import instant
from gateway.lists.walk import Block, Cursor, Position, Walker, parse_date
from gateway.resources import DatePartition

TARGET = "/2010-04-01/Accounts/AC1/Calls.json"
PARTITION = DatePartition("StartTime", "start_time", since="2019-01-01T00:00:00Z")


class DatedUpstream:
    """Newest first by ``start_time``; ``StartTime>`` on or after, ``StartTime<`` on or before (as the
    API reads them); offset links. ``calls`` counts its requests: the budget tests' clock."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = sorted(items, key=lambda item: parse_date(item["start_time"]), reverse=True)
        self.stamps: dict[str, datetime] = {}
        for item in self.items:
            stamp = parse_date(item["start_time"])
            assert stamp is not None
            self.stamps[item["sid"]] = stamp
        self.calls = 0
        self.in_flight = 0
        self.peak = 0

    async def fetch(self, target: str, params: tuple[tuple[str, str], ...] | None) -> Any:
        query = dict(params) if params is not None else dict(parse_qsl(urlsplit(target).query))
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            after = parse_date(query.get("StartTime>", "1900-01-01T00:00:00Z"))
            before = parse_date(query.get("StartTime<", "2999-01-01T00:00:00Z"))
            assert after is not None and before is not None
            status = query.get("Status")
            rows = [
                item
                for item in self.items
                if after <= self.stamps[item["sid"]] <= before and status in (None, item["status"])
            ]
            offset, size = int(query.get("Offset", "0")), int(query["PageSize"])
            link = None
            if offset + size < len(rows):
                link = TARGET + "?" + urlencode({**query, "Offset": str(offset + size)})
            return rows[offset : offset + size], link
        finally:
            self.in_flight -= 1


def calls(count: int, seed: int = 7, statuses: tuple[str, ...] = ("completed",)) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    made = []
    for i in range(count):
        if i % 5 == 0:
            stamp = start + timedelta(days=900)  # a crowd in one second: counted page by page
        elif i % 97 == 0:
            stamp = datetime(2012, 5, 5, tzinfo=UTC)  # older than ``since``
        else:
            stamp = start + timedelta(seconds=rng.randrange(4 * 365 * 86400))
        made.append(
            {
                "sid": f"CA{i:032x}",
                "account_sid": "AC1",
                "start_time": format_datetime(stamp),
                "status": statuses[i % len(statuses)],
            }
        )
    return made


def start(*queries: tuple[tuple[str, str], ...], size: int = 1000) -> Position:
    return tuple(Cursor(TARGET, (*query, ("PageSize", str(size)))) for query in queries)


async def read_all(walker: Walker, blocks: list[Block]) -> list[str]:
    sids: list[str] = []
    for block in blocks:
        chunk = await walker.read(block.position)
        kept = walker.kept(chunk.items)
        assert len(kept) == block.count
        sids += [item["sid"] for item in kept]
    return sids


@pytest.mark.parametrize("total", [0, 1, 999, 1000, 1001, 7300])
async def test_partitioned_count_splices_every_item_once_in_order(total: int) -> None:
    upstream = DatedUpstream(calls(total))
    walker = Walker(upstream.fetch, lambda item: True, PARTITION, concurrency=8)
    blocks, pending, first = await walker.count(start(()), math.inf)
    assert pending is None
    assert sum(block.count for block in blocks) == total
    assert first.items == upstream.items[:1000]
    counted = upstream.calls
    assert await read_all(walker, blocks) == [item["sid"] for item in upstream.items]
    assert upstream.peak <= 8
    if total > 5000:
        assert upstream.peak > 1
        assert counted <= 3 * math.ceil(total / 1000) + MAX_WASTE
    if total <= 1000:
        assert counted == 1


MAX_WASTE = 70  # empty date ranges probed once each


async def test_merged_queries_come_in_the_upstreams_order() -> None:
    items = calls(2600, statuses=("queued", "ringing", "completed"))
    upstream = DatedUpstream(items)
    queries = ((("Status", "queued"),), (("Status", "ringing"),))
    walker = Walker(upstream.fetch, lambda item: True, PARTITION)
    expected = [item["sid"] for item in upstream.items if item["status"] in ("queued", "ringing")]
    blocks, pending, _ = await walker.count(start(*queries, size=100), math.inf)
    assert pending is None
    assert sum(block.count for block in blocks) == len(expected)
    merged = await read_all(walker, blocks)
    assert sorted(merged) == sorted(expected)
    sequential = Walker(upstream.fetch, lambda item: True, PARTITION)
    blocks, _ = await sequential.extend(start(*queries, size=100), math.inf, math.inf)
    in_order = await read_all(sequential, blocks)
    assert sorted(in_order) == sorted(expected)
    stamps = [upstream.stamps[sid] for sid in in_order]
    assert stamps == sorted(stamps, reverse=True)
    assert [upstream.stamps[sid] for sid in merged] == stamps


async def test_ownership_check_applies_to_counts_and_blocks() -> None:
    items = calls(1500)
    for item in items[::3]:
        item["account_sid"] = "AC2"
    upstream = DatedUpstream(items)
    walker = Walker(upstream.fetch, lambda item: item["account_sid"] == "AC1", PARTITION)
    blocks, _, _ = await walker.count(start(()), math.inf)
    mine = [item["sid"] for item in upstream.items if item["account_sid"] == "AC1"]
    assert sum(block.count for block in blocks) == len(mine)
    assert await read_all(walker, blocks) == mine


async def test_pages_only_counted_are_skimmed_and_pages_served_are_read_whole() -> None:
    upstream = DatedUpstream(calls(3500))
    skimmed: list[int] = []

    async def skim(target: str, params: tuple[tuple[str, str], ...] | None) -> Any:
        items, link = await upstream.fetch(target, params)
        skimmed.append(len(items))
        return [{"sid": item["sid"], "start_time": item["start_time"]} for item in items], link

    for partition in (PARTITION, None):  # counted in date ranges, and one page after the other
        upstream.calls, skimmed[:] = 0, []
        walker = Walker(upstream.fetch, lambda item: True, partition, skim=skim)
        blocks, pending, first = await walker.count(start(()), math.inf)
        assert pending is None and sum(block.count for block in blocks) == 3500
        assert first.items == upstream.items[:1000]  # the first page is answered: read whole
        assert len(skimmed) == upstream.calls - 1 and sum(skimmed) >= 2500
        assert await read_all(walker, blocks) == [item["sid"] for item in upstream.items]
        assert (await walker.read(blocks[-1].position)).items[-1] == upstream.items[-1]


async def test_a_budget_that_runs_out_leaves_where_to_go_on() -> None:
    upstream = DatedUpstream(calls(4500))
    walker = Walker(upstream.fetch, lambda item: True, None, clock=lambda: upstream.calls)
    blocks, pending, _ = await walker.count(start(()), 2.5)
    assert pending is not None and len(blocks) == 3
    more, rest = await walker.extend(pending, math.inf, math.inf)
    assert rest is None
    assert await read_all(walker, blocks + more) == [item["sid"] for item in upstream.items]


async def test_a_budget_that_runs_out_in_nested_date_ranges_leaves_where_to_go_on() -> None:
    """Ranges split again run in task groups within task groups: running out deep inside them is
    still a count that goes on later, never an error."""
    upstream = DatedUpstream(calls(7300))
    walker = Walker(upstream.fetch, lambda item: True, PARTITION, clock=lambda: upstream.calls)
    blocks, pending, _ = await walker.count(start(()), 12.5)
    assert pending is not None and blocks
    more, rest = await walker.extend(pending, math.inf, math.inf)
    assert rest is None
    assert await read_all(walker, blocks + more) == [item["sid"] for item in upstream.items]


async def test_an_error_deep_in_the_date_ranges_is_the_error_itself() -> None:
    upstream = DatedUpstream(calls(7300))
    failing = Walker(upstream.fetch, lambda item: True, PARTITION, max_pages=12)
    with pytest.raises(BadGateway):  # the page limit, reached within ranges split again
        await failing.count(start(()), math.inf)


async def test_hard_limits() -> None:
    upstream = DatedUpstream(calls(3000))
    with pytest.raises(BadGateway):
        await Walker(upstream.fetch, lambda item: True, max_pages=2).count(start(()), math.inf)
    with pytest.raises(GatewayTimeout):
        await Walker(upstream.fetch, lambda item: True, deadline=0.0).count(start(()), math.inf)

    async def looping(target: str, params: Any) -> Any:
        return [{"sid": "x"}], TARGET + "?again"

    with pytest.raises(BadGateway):
        await Walker(looping, lambda item: True).count(start(()), math.inf)


async def test_an_item_without_a_date_is_502_when_partitioning() -> None:
    upstream = DatedUpstream(calls(1200))
    upstream.items[999]["start_time"] = "yesterday"
    with pytest.raises(BadGateway):
        await Walker(upstream.fetch, lambda item: True, PARTITION).count(start(()), math.inf)


async def test_an_item_in_two_merged_lists_is_kept_once_within_a_block() -> None:
    items = calls(300, statuses=("queued", "ringing"))
    moved = dict(items[10], status="ringing")  # read as queued and, a moment later, as ringing
    upstream = DatedUpstream([*items, moved])
    queries = ((("Status", "queued"),), (("Status", "ringing"),))
    walker = Walker(upstream.fetch, lambda item: True, PARTITION, identity=lambda item: item["sid"])
    blocks, _ = await walker.extend(start(*queries), math.inf, math.inf)
    sids = await read_all(walker, blocks)
    assert sorted(sids) == sorted(item["sid"] for item in items)
    assert sum(block.count for block in blocks) == 300


@given(st.lists(st.tuples(st.integers(0, 59), st.integers(0, 2)), max_size=60))
def test_merged_queries_equal_a_stable_sort_of_the_upstream_lists(items: list[tuple[int, int]]) -> None:
    """Each query's list newest first, as the upstream sends it; the merge is newest first across
    them, ties in query order, every item once."""
    lists: list[list[dict[str, str]]] = [[], [], []]
    for index, (second, which) in enumerate(items):
        lists[which].append(
            {"sid": f"CA{index}", "date_created": f"Mon, 06 Jul 2009 10:00:{second:02d} +0000"}
        )
    for records in lists:
        records.sort(key=lambda r: instant(r["date_created"]), reverse=True)

    async def fetch(target: str, params: tuple[tuple[str, str], ...] | None) -> Any:
        return lists[int(target)], None

    walker = Walker(
        fetch,
        lambda item: True,
        order=lambda item: instant(item["date_created"]),
        identity=lambda item: item["sid"],
    )
    chunk = asyncio.run(walker.read(tuple(Cursor(str(i), ()) for i in range(3))))
    expected = sorted(
        (r for records in lists for r in records), key=lambda r: instant(r["date_created"]), reverse=True
    )
    assert chunk.items == expected and chunk.following is None
