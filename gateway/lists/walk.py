"""Reading token-paged upstream lists block by block, and counting them keeping only block cursors.

A *position* says where a block starts: for each upstream query being merged, the page to fetch
(a target with its query, or an upstream next-page link) and how many of its items the block before
already took. Reading a block from a position fetches one page per query, merges them (newest first
by the partition date, or one after the other when the resource declares none) until some query needs
its next page, and returns the items with the position of the following block. With one query, a
block is exactly one upstream page: one call.

Counting walks the list keeping only ``(position, count)`` per block. Where the upstream can filter
by date (``Paging.partition``), the count splits the date range and counts the parts concurrently
(at most ``concurrency`` pages at once), then splices their blocks in order (newest range first).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from gateway.errors import BadGateway, GatewayTimeout
from gateway.resources.listing import DatePartition, StatusPartition

Params = tuple[tuple[str, str], ...]
Fetch = Callable[[str, Params | None], Awaitable[tuple[list[Any], str | None]]]
"""One upstream page: (items, next-page link or None)."""

BLOCK_ITEMS = 1000
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
MAX_PARTS = 256


@dataclass(frozen=True, slots=True)
class Cursor:
    target: str
    params: Params | None
    """``None`` when ``target`` is an upstream link that carries its own query."""
    skip: int = 0


Position = tuple[Cursor | None, ...]
"""One cursor per merged query; ``None`` for a query that has no more pages."""


@dataclass(frozen=True, slots=True)
class Block:
    position: Position
    count: int


@dataclass(slots=True)
class Chunk:
    items: list[Any]
    """Every item of the block, in list order (before the ownership check)."""
    following: Position | None


class OutOfTime(Exception):
    """The counting budget ran out: the caller keeps what was counted and where to go on."""


@dataclass(slots=True)
class _Reader:
    cursor: Cursor
    items: list[Any]
    link: str | None
    index: int


@dataclass
class Walker:
    fetch: Fetch
    keep: Callable[[Any], bool]
    partition: DatePartition | None = None
    order: Callable[[Any], float] | None = None
    """Merge key of several queries' items, larger first (the upstream's order); default: the
    partition date; neither: one query after the other."""
    identity: Callable[[Any], Hashable] | None = None
    """What names one item, for merged queries: an item met in two of them within a block is kept
    once, at its first place (and, counting by statuses, an item met in two of them once)."""
    statuses: StatusPartition | None = None
    """Where the upstream filters the list by a status with a lifecycle: :mod:`gateway.lists.tally`."""
    skim: Fetch | None = None
    """The same page with each item's fields the walk reads alone (:mod:`gateway.lists.skim`), for
    pages that are only counted; ``None``: ``fetch``."""
    max_pages: int = 100_000
    concurrency: int = 8
    deadline: float = math.inf
    """Monotonic time after which no page is fetched (504)."""
    clock: Callable[[], float] = time.monotonic
    pages: int = 0

    # Reading ---------------------------------------------------------------------------------------
    async def _page(self, cursor: Cursor, fetch: Fetch) -> _Reader:
        if self.clock() >= self.deadline:
            raise GatewayTimeout()
        self.pages += 1
        if self.pages > self.max_pages:
            raise BadGateway("The upstream API's paging does not end")
        items, link = await fetch(cursor.target, cursor.params)
        return _Reader(cursor, items, link, min(cursor.skip, len(items)))

    async def scan(self, position: Position) -> Chunk:
        """A block read only to be counted: :meth:`read` with the ``skim`` fetch."""
        return await self.read(position, self.skim or self.fetch)

    async def read(self, position: Position, fetch: Fetch | None = None) -> Chunk:
        fetch = fetch or self.fetch
        live = [cursor for cursor in position if cursor is not None]
        if len(live) == 1:
            readers = [await self._page(live[0], fetch)]
        else:
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(self._page(cursor, fetch)) for cursor in live]
            except ExceptionGroup as failed:
                raise first_error(failed) from None
            readers = [task.result() for task in tasks]
        items = self._merge(readers)
        following: list[Cursor | None] = []
        for reader in readers:
            if reader.index < len(reader.items):
                following.append(Cursor(reader.cursor.target, reader.cursor.params, reader.index))
            elif reader.link:
                following.append(Cursor(reader.link, None))
            else:
                following.append(None)
        done = all(cursor is None for cursor in following)
        return Chunk(items, None if done else tuple(following))

    def _merge(self, readers: list[_Reader]) -> list[Any]:
        if len(readers) == 1:
            only = readers[0]
            taken, only.index = only.items[only.index :], len(only.items)
            return taken
        out: list[Any] = []
        seen: set[Hashable] = set()
        while True:
            heads = [r for r in readers if r.index < len(r.items)]
            if not heads or any(r.index >= len(r.items) and r.link for r in readers):
                return out
            chosen = max(heads, key=self._head_key) if self._ordered else heads[0]
            item = chosen.items[chosen.index]
            chosen.index += 1
            if self.identity is not None:
                name = self.identity(item)
                if name in seen:
                    continue
                seen.add(name)
            out.append(item)

    @property
    def _ordered(self) -> bool:
        return self.order is not None or self.partition is not None

    def _head_key(self, reader: _Reader) -> float:
        item = reader.items[reader.index]
        return self.order(item) if self.order is not None else self.date(item).timestamp()

    @property
    def unit(self) -> timedelta:
        """The partition filter's resolution: ranges are whole units."""
        return unit_of(self.partition) if self.partition is not None else SECOND

    def date(self, item: Any) -> datetime:
        assert self.partition is not None
        found = date_in(item, self.partition.field)
        if found is None:
            raise BadGateway("The upstream API answered an item without a readable date")
        return found

    def kept(self, items: Sequence[Any]) -> list[Any]:
        return [item for item in items if self.keep(item)]

    # Counting --------------------------------------------------------------------------------------
    async def count(self, start: Position, budget: float) -> tuple[list[Block], Position | None, Chunk]:
        """Blocks from ``start`` until the end or the budget (monotonic time): (blocks, where to go
        on or ``None`` when complete, the first block as read)."""
        first = await self.read(start)
        blocks = [Block(start, len(self.kept(first.items)))]
        if first.following is None:
            return blocks, None, first
        if self.partition is not None and not self._bounded(start):
            try:
                return await self._partitioned(start, first, budget), None, first
            except OutOfTime:
                pass
        more, pending = await self.extend(first.following, budget, math.inf)
        return blocks + more, pending, first

    def _bounded(self, start: Position) -> bool:
        """The client filters by the partition date itself: its bounds and ours would be two values
        of one upstream parameter, so such a list is counted sequentially."""
        assert self.partition is not None
        return any(cursor is not None and filters_by(cursor, self.partition) for cursor in start)

    async def extend(
        self, position: Position, budget: float, wanted: float
    ) -> tuple[list[Block], Position | None]:
        """Sequential blocks from ``position`` until ``wanted`` items, the end or the budget."""
        blocks: list[Block] = []
        counted = 0
        seen: set[str] = set()
        at: Position | None = position
        while at is not None and counted < wanted and self.clock() < budget:
            chunk = await self.scan(at)
            blocks.append(Block(at, len(self.kept(chunk.items))))
            counted += blocks[-1].count
            at = onward(chunk, seen)
        return blocks, at

    async def _partitioned(self, start: Position, first: Chunk, budget: float) -> list[Block]:
        assert self.partition is not None
        since = parse_date(self.partition.since)
        assert since is not None
        limit = asyncio.Semaphore(self.concurrency)
        head, ranges = self._after(start, first.items, since, None)
        floor = ranges[-1][0] if ranges else since
        ranges.append((None, min(since, floor or since)))
        return head + await self._ranges(start, ranges, limit, budget)

    def _after(
        self, start: Position, items: list[Any], lo: datetime, hi: datetime | None
    ) -> tuple[list[Block], list[tuple[datetime | None, datetime]]]:
        """After reading the newest page of ``[lo, hi)``: the block of its items dated after the
        second of its last item (all of them are on the page), then the ranges left, newest first:
        that one second (perhaps a crowd, read page by page) and the rest split by the density seen."""
        unit = self.unit
        last = floor(self.date(items[-1]), unit)
        cut = last + unit
        newer = items[: self._newer_than(items, cut)]
        head = [Block(self._ranged(start, cut, hi), n)] if (n := len(self.kept(newer))) else []
        ranges: list[tuple[datetime | None, datetime]] = [(max(last, lo), cut)] if cut > lo else []
        if last > lo:
            top = hi if hi is not None else self.date(items[0]) + unit
            density = len(newer) / max((top - cut) / unit, 1.0)
            ranges += self._split(lo, last, density * (last - lo) / unit)
        return head, ranges

    def _newer_than(self, items: list[Any], cut: datetime) -> int:
        """How many leading items (newest first) are dated ``cut`` or later: a binary search, so
        a page costs a few date parses, not a thousand."""
        low, high = 0, len(items)
        while low < high:
            middle = (low + high) // 2
            if self.date(items[middle]) >= cut:
                low = middle + 1
            else:
                high = middle
        return low

    def _split(self, lo: datetime, hi: datetime, estimate: float) -> list[tuple[datetime | None, datetime]]:
        """``[lo, hi)`` in whole-second parts sized for about a block each, newest first."""
        seconds = int((hi - lo) / self.unit)
        parts = max(1, min(MAX_PARTS, seconds, math.ceil(estimate * 1.25 / BLOCK_ITEMS)))
        edges = [lo + self.unit * (seconds * i // parts) for i in range(parts + 1)]
        edges[-1] = hi
        return [(edges[i], edges[i + 1]) for i in reversed(range(parts)) if edges[i] < edges[i + 1]]

    async def _ranges(
        self,
        start: Position,
        ranges: list[tuple[datetime | None, datetime]],
        limit: asyncio.Semaphore,
        budget: float,
    ) -> list[Block]:
        """Ranges (newest first) counted concurrently, each started when a slot is free. Once a
        range turns out empty, the older ranges not yet started are asked as one: accounts start
        somewhere, and the years before cost one call instead of one per part."""
        pending = list(ranges)
        empty = asyncio.Event()
        tasks: list[asyncio.Task[list[Block]]] = []
        try:
            async with asyncio.TaskGroup() as group:
                while pending:
                    await limit.acquire()
                    lo, hi = pending.pop(0)
                    bounded = [r for r in pending if r[0] is not None]
                    if empty.is_set() and bounded:
                        lo = bounded[-1][0]
                        pending = [r for r in pending if r[0] is None]
                    tasks.append(group.create_task(self._range(start, lo, hi, limit, budget, empty)))
        except ExceptionGroup as failed:
            raise first_error(failed) from None
        return [block for task in tasks for block in task.result()]

    async def _range(
        self,
        start: Position,
        lo: datetime | None,
        hi: datetime,
        limit: asyncio.Semaphore,
        budget: float,
        empty: asyncio.Event,
    ) -> list[Block]:
        """Holds one slot of ``limit`` (taken by the caller) for its first page."""
        try:
            if self.clock() >= budget:
                raise OutOfTime()
            position = self._ranged(start, lo, hi)
            chunk = await self.scan(position)
        finally:
            limit.release()
        if not chunk.items:
            empty.set()
        block = [Block(position, n)] if (n := len(self.kept(chunk.items))) else []
        if chunk.following is None:
            return block
        if lo is None or hi - lo < 2 * self.unit:
            return block + await self._sequential(chunk.following, limit, budget)
        head, ranges = self._after(start, chunk.items, lo, hi)
        return head + await self._ranges(start, ranges, limit, budget)

    async def _sequential(self, position: Position, limit: asyncio.Semaphore, budget: float) -> list[Block]:
        blocks: list[Block] = []
        seen: set[str] = set()
        at: Position | None = position
        while at is not None:
            if self.clock() >= budget:
                raise OutOfTime()
            async with limit:
                chunk = await self.scan(at)
            blocks.append(Block(at, len(self.kept(chunk.items))))
            at = onward(chunk, seen)
        return blocks

    def _ranged(self, start: Position, lo: datetime | None, hi: datetime | None) -> Position:
        assert self.partition is not None
        partition = self.partition
        return tuple(None if cursor is None else between(cursor, partition, lo, hi) for cursor in start)


def first_error(failed: ExceptionGroup[Exception]) -> Exception:
    """What a task group's failure means for the walk: its first error that is not the budget
    running out (a failure anywhere fails the request), else running out. Nested task groups unwrap
    their own, so the leaves are plain exceptions."""
    leaves = list(failed.exceptions)
    return next((e for e in leaves if not isinstance(e, OutOfTime)), leaves[0])


def onward(chunk: Chunk, seen: set[str]) -> Position | None:
    """The following position, refusing an upstream link already followed in this walk."""
    for cursor in chunk.following or ():
        if cursor is not None and cursor.params is None and not cursor.skip:
            if cursor.target in seen:
                raise BadGateway("The upstream API's paging does not end")
            seen.add(cursor.target)
    return chunk.following


def parse_date(raw: str) -> datetime | None:
    """RFC 2822 (the 2010 API's lists) or ISO 8601 (v1, filters), as an aware UTC datetime."""
    try:
        found = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        try:
            found = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def date_in(item: Any, name: str) -> datetime | None:
    """An item's date field, if it is one (:func:`parse_date`)."""
    value = item.get(name) if isinstance(item, Mapping) else None
    return parse_date(value) if isinstance(value, str) else None


def unit_of(partition: DatePartition) -> timedelta:
    """The filter's resolution: date ranges are whole units."""
    return DAY if partition.unit == "day" else SECOND


def filters_by(cursor: Cursor, partition: DatePartition) -> bool:
    """The query filters by the partition's date itself: its bound and a range's would be two values
    of one upstream parameter."""
    names = {partition.param + suffix for suffix in ("", ">", "<")}
    return any(name in names for name, _ in cursor.params or ())


def between(cursor: Cursor, partition: DatePartition, lo: datetime | None, hi: datetime | None) -> Cursor:
    """The query of ``cursor`` for dates ``[lo, hi)``, whole units (``None``: unbounded)."""
    unit = unit_of(partition)
    bounds: list[tuple[str, str]] = []
    if lo is not None:
        bounds.append((partition.param + ">", bound(lo, unit)))
    if hi is not None:  # ``<`` is on or before, in whole units (seconds or days)
        bounds.append((partition.param + "<", bound(hi - unit, unit)))
    return Cursor(cursor.target, (*(cursor.params or ()), *bounds))


def floor(stamp: datetime, unit: timedelta) -> datetime:
    if unit == DAY:
        return stamp.replace(hour=0, minute=0, second=0, microsecond=0)
    return stamp.replace(microsecond=0)


def bound(stamp: datetime, unit: timedelta) -> str:
    return stamp.strftime("%Y-%m-%d" if unit == DAY else "%Y-%m-%dT%H:%M:%SZ")
