"""Counting a list by its statuses, for a list the upstream sorts by a date it cannot filter on but
filters by a status with a lifecycle (``Paging.statuses``: Calls). Why the total is exact:
docs/paging.md, "Calls".

The count reads the list's first page (the *head*: block 0 of the view; the later blocks' cursors come
from the sequential walk, extended as pages are asked for: :mod:`gateway.lists.views`), then every status,
stage after stage in lifecycle order, the parts of one stage at once (at most ``Walker.concurrency``
pages in flight). A final status with a date filter is counted in date ranges sized by the density
seen, concurrently (:mod:`gateway.lists.ranges`); the others are read page by page. An item met in a status
that is not final is remembered by its identity and not counted again in a later stage, and an item
created after the head was read is not counted (it is not in the walk). A ``settled`` status's items
that reached it before the count began are counted from the start, alongside the stages.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.lists.ranges import Ranges, Slots
from gateway.lists.walk import (
    DAY,
    Block,
    Chunk,
    Cursor,
    OutOfTime,
    Position,
    Walker,
    between,
    date_in,
    filters_by,
    first_error,
    floor,
    onward,
)
from gateway.resources.listing import DatePartition, StatusPartition


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
    settled: DatePartition | None = None


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
        began = begun(statuses, head.items, datetime.now(UTC))
        total = await Tally(walker, budget, newest, began).run(statuses, stages)
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
    parts = [
        Part(
            cursor,
            status,
            _free(cursor, statuses.date_of(status)),
            _free(cursor, statuses.settled_by(status)),
        )
        for cursor, status in pairs
    ]
    if not any(part.dated is not None for part in parts):
        return None  # a client filter on a date: calls enter its set as they are dialed
    stages = [[part for part in parts if part.status in stage] for stage in statuses.stages]
    return [stage for stage in stages if stage]


def _free(cursor: Cursor, partition: DatePartition | None) -> DatePartition | None:
    """A status's date filter, unless the client filters by that date itself."""
    return None if partition is None or filters_by(cursor, partition) else partition


def begun(statuses: StatusPartition, head: Sequence[Any], now: datetime) -> datetime | None:
    """The newest creation date on the list's first page: the upstream had reached it when the
    count began (one later than ``now``, the gateway's own clock, is taken as ``now``). ``None``
    (settled statuses counted with their stage) when an item of the page in a settled status lacks
    the date it is settled by: an upstream whose items do would have them left out of every range."""
    if statuses.created is None:
        return None
    items = [item for item in head if isinstance(item, Mapping)]
    for item in items:
        settled = statuses.settled_by(str(item.get(statuses.field)))
        if settled is not None and date_in(item, settled.field) is None:
            return None
    newest = max(filter(None, (date_in(item, statuses.created) for item in items)), default=None)
    return None if newest is None else min(newest, now)


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
    begun: datetime | None = None
    """:func:`begun`: a ``settled`` status's items dated a day before it or earlier reached that
    status before the count began (the day allows for the status following the date a little)."""
    seen: set[Hashable] = field(default_factory=set)
    """Identities of the items met in statuses that are not final."""
    limit: asyncio.Semaphore = field(init=False)
    early: asyncio.Semaphore = field(init=False)
    """Pages of settled items in flight: one fewer than the limit, so a stage's page (on the count's
    critical path) never waits for them."""

    def __post_init__(self) -> None:
        self.limit = asyncio.Semaphore(self.walker.concurrency)
        self.early = asyncio.Semaphore(max(1, self.walker.concurrency - 1))

    async def run(self, statuses: StatusPartition, stages: list[list[Part]]) -> int:
        """Stage after stage. The first page of each status counted in date ranges is read first,
        alongside the first stage, to size its ranges (only: its items are counted in its stage). A
        settled status's items from before the count are counted from the start, alongside."""
        total = 0
        try:
            async with asyncio.TaskGroup() as group:
                parts = [part for stage in stages for part in stage]
                early = [group.create_task(self._before(part)) for part in parts if self._split(part)]
                probes = {
                    part: group.create_task(self.read((part.cursor,)))
                    for part in parts
                    if part.dated is not None and not self._split(part)
                }
                for stage in stages:
                    volatile = not statuses.final(stage[0].status)
                    jobs = [self._part(part, volatile, probes.get(part)) for part in stage]
                    total += sum(await gather(jobs))
                for task in early:
                    total += await task
        except ExceptionGroup as failed:
            raise first_error(failed) from None
        return total

    def _split(self, part: Part) -> bool:
        return part.settled is not None and self.begun is not None

    @property
    def settling(self) -> datetime:
        """Items of a settled status dated before this day reached it before the count began."""
        assert self.begun is not None
        return floor(self.begun, DAY) - DAY

    async def _part(self, part: Part, volatile: bool, probing: asyncio.Task[Chunk] | None) -> int:
        if part.settled is not None and self._split(part):
            return await self._since(part, part.settled)
        probe = await probing if probing is not None else None
        if part.dated is None or probe is None or probe.following is None:
            return await self.walk((part.cursor,), volatile)
        return await Ranges(self, part.cursor, part.dated, probe).count()

    async def _before(self, part: Part) -> int:
        """A settled status's items dated before :attr:`settling`: in ranges of that date, at once,
        none of them looked up among the items met in the stages (none can be)."""
        assert part.settled is not None
        slots = Slots(self.early, self.limit)
        async with slots:
            probe = await self.read_held((between(part.cursor, part.settled, None, self.settling),))
        if probe.following is None:
            return self.take(probe.items, False, stable=True)  # they all fit on its first page
        ranges = Ranges(self, part.cursor, part.settled, probe, self.settling, stable=True, slots=slots)
        return await ranges.count()

    async def _since(self, part: Part, settled: DatePartition) -> int:
        """A settled status's items dated :attr:`settling` or later, in its stage: the day before
        and the days after read at once."""
        days = ((self.settling, self.settling + DAY), (self.settling + DAY, None))
        return sum(await gather([self.walk((between(part.cursor, settled, *day),), False) for day in days]))

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

    def take(self, items: list[Any], volatile: bool, stable: bool = False) -> int:
        """How many of a page's items count: kept, not created after the head, not met before
        (``stable``: none can have been)."""
        counted = 0
        for item in items[self._fresh(items) :]:
            if not self.walker.keep(item):
                continue
            if not stable and (volatile or self.seen):
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
