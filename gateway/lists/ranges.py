"""Counting one final status in date ranges, for :mod:`gateway.lists.tally`: the ranges sized by the
density of the pages read, at most ``Walker.concurrency`` pages in flight with the rest of the count.
A range found longer than planned is read on by next-page links, or split again."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gateway.lists.walk import (
    BLOCK_ITEMS,
    Chunk,
    Cursor,
    Position,
    between,
    date_in,
    first_error,
    floor,
    onward,
    parse_date,
    unit_of,
)
from gateway.resources.listing import DatePartition


class Tally(Protocol):
    """What the ranges need of the count they serve (:class:`gateway.lists.tally.Tally`)."""

    limit: asyncio.Semaphore

    async def read_held(self, position: Position) -> Chunk: ...

    def take(self, items: list[Any], volatile: bool, stable: bool = False) -> int: ...


class Slots:
    """A slot of each semaphore, taken in order: a page in flight counts against all of them."""

    def __init__(self, *limits: asyncio.Semaphore) -> None:
        self.limits = limits

    async def acquire(self) -> None:
        taken: list[asyncio.Semaphore] = []
        try:
            for limit in self.limits:
                await limit.acquire()
                taken.append(limit)
        except BaseException:
            for limit in reversed(taken):
                limit.release()
            raise

    def release(self) -> None:
        for limit in reversed(self.limits):
            limit.release()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


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

    def __init__(
        self,
        tally: Tally,
        cursor: Cursor,
        partition: DatePartition,
        probe: Chunk,
        ceiling: datetime | None = None,
        stable: bool = False,
        slots: Slots | None = None,
    ) -> None:
        """``ceiling``: the dates counted end there (the ranges' top is bounded by it, not open);
        ``stable``: no item in them can have been met in a stage before (not looked up); ``slots``:
        what each page in flight holds (default: one of the count's)."""
        self.tally, self.cursor, self.partition = tally, cursor, partition
        self.ceiling, self.stable = ceiling, stable
        self.slots = slots or Slots(tally.limit)
        self.unit = unit_of(partition)
        since = parse_date(partition.since)
        assert since is not None
        self.counted = 0
        self.queue: list[Work] = []
        self.regions: list[Region] = []
        self.since = self.top = since
        dates = self._dates(probe.items)
        if not dates or max(dates) < since:
            self.queue = [(None, ceiling, None)]
            return
        self.top = floor(max(dates), self.unit) + self.unit
        if ceiling is not None:
            self.top = min(self.top, ceiling)
        density = self._density(len(probe.items), dates, self.top)
        self.regions.append(Region(since, self.top, density, open_above=True, open_below=True))

    async def count(self) -> int:
        limit = self.slots
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
        above = self.ceiling if region.open_above else region.hi
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
            self.slots.release()
        taken = self.tally.take(chunk.items, False, self.stable)
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
            async with self.slots:
                chunk = await self.tally.read_held(position)
            counted += self.tally.take(chunk.items, False, self.stable)
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
        return [found for item in sample if (found := date_in(item, self.partition.field)) is not None]

    def _bounded(self, lo: datetime | None, hi: datetime | None) -> Cursor:
        return between(self.cursor, self.partition, lo, hi)
