"""Counting a list by its statuses, for a list the upstream sorts by a date it cannot filter on but
filters by a status with a lifecycle (``Paging.statuses``: Calls). Why the total is exact:
docs/paging.md, "Calls".

The count reads the list's first page (the *head*: block 0 of the view; the later blocks' cursors come
from the sequential walk, extended as pages are asked for: :mod:`gateway.views`), then every status,
stage after stage in lifecycle order, the parts of one stage at once (at most ``Walker.concurrency``
pages in flight). A final status with a date filter is counted in date ranges sized by the density
seen, concurrently; the others are read page by page. An item met in a status that is not final is
remembered by its identity and not counted again in a later stage, and an item created after the head
was read is not counted (it is not in the walk).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .resources.model import DatePartition, StatusPartition
from .walk import (
    BLOCK_ITEMS,
    DAY,
    SECOND,
    Block,
    Chunk,
    Cursor,
    OutOfTime,
    Position,
    Walker,
    bound,
    first_error,
    floor,
    onward,
    parse_date,
)

FILL = 0.9
"""The share of its pages a date range is sized to fill: a range that holds a few items more than
its density promised costs one page more, not a second reading."""
RANGE_PAGES = 3
"""A date range is sized for at most this many pages, read one after the other by next-page links."""
WALK_PAGES = 4
"""A range found longer than its first page is read on by next-page links if it looks like at most
this many pages, and split again (its first page read twice) if longer."""
SAMPLE = 40
"""Dates read from a page to size ranges: its order is by creation, not by the filtered date."""


@dataclass(slots=True)
class Counted:
    blocks: list[Block]
    pending: Position | None
    first: Chunk
    total: int | None = None
    """The list's length counted by statuses; the blocks are then a prefix of the walk."""


@dataclass(frozen=True, slots=True)
class Part:
    cursor: Cursor
    status: str
    dated: DatePartition | None


async def count(walker: Walker, start: Position, budget: float) -> Counted:
    """The count of a new view: by statuses where the list allows it, else the walker's own."""
    statuses = walker.statuses
    stages = plan(statuses, start) if statuses is not None else None
    if statuses is None or stages is None:
        return Counted(*await walker.count(start, budget))
    head = await walker.read(start)
    blocks = [Block(start, len(walker.kept(head.items)))]
    if head.following is None:
        return Counted(blocks, None, head)
    if not known(statuses, walker.kept(head.items)):
        more, pending = await walker.extend(head.following, budget, math.inf)
        return Counted(blocks + more, pending, head)
    newest = walker.order(head.items[0]) if walker.order is not None and head.items else None
    try:
        total = await Tally(walker, budget, newest).run(statuses, stages)
    except OutOfTime:
        return Counted(blocks, head.following, head)  # counted on as the pages are asked for
    return Counted(blocks, head.following, head, total)


def plan(statuses: StatusPartition, start: Position) -> list[list[Part]] | None:
    """The parts of the count, stage by stage; ``None`` where counting by statuses gains nothing or
    would not be exact: a client filter on a status the declaration does not know, merged queries
    without a status each, or no status to count in date ranges."""
    live = [cursor for cursor in start if cursor is not None]
    asked = [[value for name, value in cursor.params or () if name == statuses.param] for cursor in live]
    if live and all(len(values) == 1 for values in asked):
        pairs = [(cursor, values[0]) for cursor, values in zip(live, asked, strict=True)]
    elif len(live) == 1 and not asked[0]:
        only = live[0]
        pairs = [
            (Cursor(only.target, (*(only.params or ()), (statuses.param, status))), status)
            for status in statuses.statuses
        ]
    else:
        return None
    if any(status not in statuses.statuses for _, status in pairs):
        return None
    parts = [Part(cursor, status, _dated(statuses, cursor, status)) for cursor, status in pairs]
    if not any(part.dated is not None for part in parts):
        return None
    stages = [[part for part in parts if part.status in stage] for stage in statuses.stages]
    return [stage for stage in stages if stage]


def _dated(statuses: StatusPartition, cursor: Cursor, status: str) -> DatePartition | None:
    """The status's date filter, unless the client filters by that date itself (its bound and a
    range's would be two values of one upstream parameter)."""
    partition = statuses.date_of(status)
    if partition is None:
        return None
    names = {partition.param + suffix for suffix in ("", ">", "<")}
    return None if any(name in names for name, _ in cursor.params or ()) else partition


def known(statuses: StatusPartition, items: Sequence[Any]) -> bool:
    """Every item of the head is in a declared status: an upstream that has a status more than the
    declaration would be counted short, so such a list is counted by its walk."""
    return all(isinstance(item, Mapping) and item.get(statuses.field) in statuses.statuses for item in items)


async def gather(jobs: Sequence[Coroutine[Any, Any, Any]]) -> list[Any]:
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except ExceptionGroup as failed:
        raise first_error(failed) from None
    return [task.result() for task in tasks]


@dataclass
class Tally:
    walker: Walker
    budget: float
    newest: float | None
    """The head's first item's place in the list order: items after it were created since."""
    seen: set[Hashable] = field(default_factory=set)
    """Identities of the items met in statuses that are not final."""
    limit: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.limit = asyncio.Semaphore(self.walker.concurrency)

    async def run(self, statuses: StatusPartition, stages: list[list[Part]]) -> int:
        """Stage after stage. The first page of each status counted in date ranges is read first,
        alongside the first stage, to size its ranges (only: its items are counted in its stage)."""
        total = 0
        try:
            async with asyncio.TaskGroup() as group:
                probes = {
                    part: group.create_task(self.read((part.cursor,)))
                    for stage in stages
                    for part in stage
                    if part.dated is not None
                }
                for stage in stages:
                    volatile = not statuses.final(stage[0].status)
                    jobs = [self._part(part, volatile, probes.get(part)) for part in stage]
                    total += sum(await gather(jobs))
        except ExceptionGroup as failed:
            raise first_error(failed) from None
        return total

    async def _part(self, part: Part, volatile: bool, probing: asyncio.Task[Chunk] | None) -> int:
        probe = await probing if probing is not None else None
        if part.dated is None or probe is None or probe.following is None:
            return await self.walk((part.cursor,), volatile)
        return await Ranges(self, part.cursor, part.dated, probe).count()

    async def read(self, position: Position) -> Chunk:
        async with self.limit:
            return await self.read_held(position)

    async def read_held(self, position: Position) -> Chunk:
        if self.walker.clock() >= self.budget:
            raise OutOfTime()
        return await self.walker.scan(position)

    async def walk(self, position: Position | None, volatile: bool) -> int:
        counted = 0
        links: set[str] = set()
        while position is not None:
            chunk = await self.read(position)
            counted += self.take(chunk.items, volatile)
            position = onward(chunk, links)
        return counted

    def take(self, items: list[Any], volatile: bool) -> int:
        """How many of a page's items count: kept, not created after the head, not met before."""
        counted = 0
        for item in items[self._fresh(items) :]:
            if not self.walker.keep(item):
                continue
            if volatile or self.seen:
                name = self._name(item)
                if name in self.seen:
                    continue
                if volatile:
                    self.seen.add(name)
            counted += 1
        return counted

    def _name(self, item: Any) -> Hashable:
        if self.walker.identity is not None:
            return self.walker.identity(item)
        return item.get("sid") if isinstance(item, Mapping) else id(item)

    def _fresh(self, items: list[Any]) -> int:
        """How many leading items (the list's order) were created after the head was read."""
        order, newest = self.walker.order, self.newest
        if order is None or newest is None or not items or order(items[0]) <= newest:
            return 0
        low, high = 0, len(items)
        while low < high:
            middle = (low + high) // 2
            if order(items[middle]) > newest:
                low = middle + 1
            else:
                high = middle
        return low


@dataclass
class Region:
    """Dates ``[lo, hi)`` not yet asked, carved from the top in ranges sized by ``sized``."""

    lo: datetime
    hi: datetime
    density: float
    """Items per unit, as last seen."""
    rest: bool = False
    """A range carved from it came back empty: what is left is asked as one (accounts start
    somewhere, and the years before cost one call)."""
    open_above: bool = False
    open_below: bool = False
    """Its first range is asked without an upper bound, its last without a lower one: the dates
    above the newest seen and before ``DatePartition.since`` cost no call of their own."""


Work = tuple[datetime | None, datetime | None, Region | None]


def sized(density: float) -> int:
    """Units for a range at ``density`` items a unit: of ranges of 1 to ``RANGE_PAGES`` pages, each
    ``FILL`` full, the one that leaves the least of its pages empty (the fewest pages on a tie)."""
    best, units = 0.0, 1
    for pages in range(1, RANGE_PAGES + 1):
        fits = math.floor(pages * BLOCK_ITEMS * FILL / max(density, 1e-9))
        filled = fits * density / (pages * BLOCK_ITEMS)
        if fits >= 1 and filled > best + 0.05:
            best, units = filled, fits
    return units


class Ranges:
    """One final status counted in date ranges: the open range above the newest date seen, the
    region from ``DatePartition.since`` up to it, and the open range below ``since``. A range that
    is more than a page is split again by the density on its page, or read page by page when it is
    one unit."""

    def __init__(self, tally: Tally, cursor: Cursor, partition: DatePartition, probe: Chunk) -> None:
        self.tally, self.cursor, self.partition = tally, cursor, partition
        self.unit = DAY if partition.unit == "day" else SECOND
        since = parse_date(partition.since)
        assert since is not None
        self.counted = 0
        self.queue: list[Work] = []
        self.regions: list[Region] = []
        self.since = self.top = since
        dates = self._dates(probe.items)
        if not dates or max(dates) < since:
            self.queue = [(None, None, None)]
            return
        self.top = floor(max(dates), self.unit) + self.unit
        density = self._density(len(probe.items), dates, self.top)
        self.regions.append(Region(since, self.top, density, open_above=True, open_below=True))

    async def count(self) -> int:
        limit = self.tally.limit
        running: set[asyncio.Task[None]] = set()
        changed = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                while True:
                    await limit.acquire()
                    work = self._next()
                    if work is None:
                        limit.release()
                        if not running:
                            break
                        changed.clear()
                        await changed.wait()
                        continue
                    task = group.create_task(self._range(*work))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    task.add_done_callback(lambda _: changed.set())
        except ExceptionGroup as failed:
            raise first_error(failed) from None
        return self.counted

    def _next(self) -> Work | None:
        if self.queue:
            return self.queue.pop(0)
        if not self.regions:
            return None
        region = self.regions[0]
        left = math.ceil((region.hi - region.lo) / self.unit)
        units = min(left, sized(region.density))
        above = None if region.open_above else region.hi
        region.open_above = False
        if region.rest or units >= left:
            self.regions.pop(0)
            return None if region.open_below else region.lo, above, region
        region.hi = region.hi - self.unit * units
        return region.hi, above, region

    async def _range(self, lo: datetime | None, hi: datetime | None, region: Region | None) -> None:
        """Holds one slot of the limit (taken by the scheduler) for its first page."""
        try:
            chunk = await self.tally.read_held((self._bounded(lo, hi),))
        finally:
            self.tally.limit.release()
        taken = self.tally.take(chunk.items, False)
        low, high = lo or self.since, hi or self.top  # an open range is split as its known part
        span = (high - low) / self.unit
        if chunk.following is None:
            self.counted += taken
            if region is not None:
                self._learn(region, len(chunk.items), span)
            return
        dates = self._dates(chunk.items)
        density = self._density(len(chunk.items), dates, high) if dates else math.inf
        if region is None or high - low <= self.unit or density * span <= WALK_PAGES * BLOCK_ITEMS:
            rest, items = await self._walk(chunk.following)  # awaited before ``+=`` reads
            self.counted += taken + rest
            if region is not None:
                self._learn(region, len(chunk.items) + items, span)
            return
        if hi is None:
            self.queue.append((self.top, None, None))
        if lo is None:
            self.queue.append((None, self.since, None))
        self.regions.insert(0, Region(low, high, max(density, 2 * BLOCK_ITEMS / span)))  # asked again

    async def _walk(self, position: Position | None) -> tuple[int, int]:
        """The rest of a range by next-page links: the items counted, and all the items read."""
        counted = items = 0
        links: set[str] = set()
        while position is not None:
            chunk = await self.tally.read(position)
            counted += self.tally.take(chunk.items, False)
            items += len(chunk.items)
            position = onward(chunk, links)
        return counted, items

    def _learn(self, region: Region, items: int, units: float) -> None:
        if not items:
            region.rest = True
        else:
            region.density = items / max(units, 1.0)

    def _density(self, items: int, dates: list[datetime], top: datetime) -> float:
        return items / max((top - min(dates)) / self.unit, 1.0)

    def _dates(self, items: list[Any]) -> list[datetime]:
        """Dates of a sample of the page's items (those it can read)."""
        if not items:
            return []
        step = max(1, len(items) // SAMPLE)
        sample = [*items[::step], items[-1]]
        name = self.partition.field
        raw = [item.get(name) for item in sample if isinstance(item, Mapping)]
        return [found for value in raw if isinstance(value, str) and (found := parse_date(value)) is not None]

    def _bounded(self, lo: datetime | None, hi: datetime | None) -> Cursor:
        bounds: list[tuple[str, str]] = []
        if lo is not None:
            bounds.append((self.partition.param + ">", bound(lo, self.unit)))
        if hi is not None:  # ``<`` is on or before, in whole units
            bounds.append((self.partition.param + "<", bound(hi - self.unit, self.unit)))
        return Cursor(self.cursor.target, (*(self.cursor.params or ()), *bounds))
