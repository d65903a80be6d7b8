"""List views: what a legacy walk pages through, fresh on its first page and consistent after it.

A *view* is one counting walk of an upstream list: the cursor of every block (an upstream page, up
to 1000 items) and its count, never the items. A first-page request without a view id starts a new
view (the upstream as it is now); the page URIs the gateway emits carry the view's id (``view=``),
so later pages come from that walk; a later page without an id uses the newest view of the list.
Blocks are read again from their cursors when a page needs them and kept in a bounded cache
(:mod:`gateway.lists.cache`), so a walk by ``nextpageuri`` reads every upstream page about twice: once to
count, once to serve. Docs: docs/paging.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from gateway import observability as obs
from gateway.errors import GatewayTimeout
from gateway.lists import tally
from gateway.lists.cache import Store
from gateway.lists.paging import Window
from gateway.lists.walk import Block, Cursor, Position, Walker

T = TypeVar("T")
VIEW_ID = re.compile(r"[0-9a-f]{16}")
DECODED_BLOCKS = 2


@dataclass(slots=True)
class View:
    id: str
    key: str
    blocks: list[Block]
    pending: Position | None
    """Where the walk goes on; ``None`` once it reached the end of the list."""
    counted: int | None = None
    """The list's length counted by statuses (:mod:`gateway.lists.tally`): the blocks are then a prefix of
    the walk, extended as pages are asked for. ``None``: the blocks are the count."""

    @property
    def walked(self) -> int:
        return sum(block.count for block in self.blocks)

    @property
    def total(self) -> int:
        """The walk's length once it ended (exact for what it serves), else the count."""
        if self.counted is None or self.pending is None:
            return self.walked
        return max(self.counted, self.walked)

    @property
    def more(self) -> bool:
        """Still being counted: the list goes on past ``total``."""
        return self.pending is not None and self.counted is None

    def wanted(self, start: int, num: int) -> int:
        """Items the walk must have reached to answer the page at ``start`` (none past the end of a
        counted list)."""
        if self.counted is None:
            return start + num
        return min(start + num, self.total) if start < self.total else 0

    def dump(self) -> bytes:
        return orjson.dumps(
            {
                "key": self.key,
                "blocks": [[_dump_position(b.position), b.count] for b in self.blocks],
                "pending": None if self.pending is None else _dump_position(self.pending),
                "counted": self.counted,
            }
        )

    @classmethod
    def load(cls, view_id: str, data: bytes) -> View:
        raw = orjson.loads(data)
        blocks = [Block(_load_position(position), count) for position, count in raw["blocks"]]
        pending = None if raw["pending"] is None else _load_position(raw["pending"])
        return cls(view_id, raw["key"], blocks, pending, raw.get("counted"))


def _dump_position(position: Position) -> list[Any]:
    return [None if c is None else [c.target, c.params, c.skip] for c in position]


def _load_position(raw: list[Any]) -> Position:
    return tuple(
        None if c is None else Cursor(c[0], None if c[1] is None else tuple((k, v) for k, v in c[1]), c[2])
        for c in raw
    )


def list_key(*parts: object) -> str:
    """A digest naming one list (resource, path, credentials digest, upstream queries)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_NON_STR_KEYS)).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class ListSpec:
    key: str
    account: str
    start: Position


@dataclass(frozen=True, slots=True)
class Page:
    window: Window
    view: str | None
    """The view id for the page URIs; ``None`` when views are not kept (TTL 0)."""
    items: list[Any]


@dataclass
class _Flight:
    task: asyncio.Task[Any]
    waiters: int = 0


@dataclass
class Lists:
    store: Store
    ttl: float
    count_timeout: float
    total_timeout: float
    clock: Callable[[], float] = time.monotonic
    _flights: dict[Hashable, _Flight] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _decoded: OrderedDict[tuple[str, int], list[Any]] = field(default_factory=OrderedDict)

    async def page(self, spec: ListSpec, walker: Walker, view_id: str | None, page: int, num: int) -> Page:
        started = self.clock()
        walker.deadline = min(walker.deadline, started + self.total_timeout)
        budget = started + min(self.count_timeout, 0.8 * self.total_timeout)  # time left to answer
        local: dict[int, bytes] = {}
        found = await self._find(spec, view_id, page)
        if found is None:
            obs.LIST_CACHE.labels("miss").inc()
            view, local = await self._share(("open", spec.key), lambda: self._open(spec, walker, budget))
        else:
            obs.LIST_CACHE.labels("hit").inc()
            view = found
        start = page * num
        if view.pending is not None and view.walked < view.wanted(start, num):
            view = await self._extend(view, walker, view.wanted(start, num), budget)
            if view.pending is not None and view.walked < view.wanted(start, num):
                raise GatewayTimeout("The list is still being counted upstream; ask for this page again")
        window = Window(page, num, view.total, more=view.more)
        items = await self._items(view, walker, window.start, window.count, local)
        return Page(window, view.id if self.ttl > 0 else None, items)

    async def invalidate(self, account: str) -> None:
        """After a write through the gateway: later pages without a view id count afresh."""
        await self.store.bump(account)
        obs.LIST_CACHE.labels("invalidated").inc()

    # Views -----------------------------------------------------------------------------------------
    async def _find(self, spec: ListSpec, view_id: str | None, page: int) -> View | None:
        if view_id and VIEW_ID.fullmatch(view_id):
            view = await self._load(view_id, spec.key)
            if view is not None:
                return view
        if page == 0 or self.ttl <= 0:
            return None
        generation = await self.store.generation(spec.account)
        newest = await self.store.get("newest", f"{spec.key}:{generation}", self.ttl)
        return None if newest is None else await self._load(newest.decode(), spec.key)

    async def _load(self, view_id: str, key: str) -> View | None:
        data = await self.store.get("view", view_id, self.ttl)
        if data is None:
            return None
        view = View.load(view_id, data)
        return view if view.key == key else None  # another list's (or credential's) view: not ours

    async def _open(self, spec: ListSpec, walker: Walker, budget: float) -> tuple[View, dict[int, bytes]]:
        generation = await self.store.generation(spec.account)
        counted = await tally.count(walker, spec.start, budget)
        blocks, first = counted.blocks, counted.first
        view = View(
            secrets.token_hex(8), spec.key, [b for b in blocks if b.count], counted.pending, counted.total
        )
        local: dict[int, bytes] = {}
        kept = walker.kept(first.items)
        if view.blocks and view.blocks[0].count <= len(kept):  # the list's first items, whatever cut
            local[0] = orjson.dumps(kept[: view.blocks[0].count])
        if self.ttl > 0:
            await self.store.put("view", view.id, view.dump(), self.ttl)
            await self.store.put("newest", f"{spec.key}:{generation}", view.id.encode(), self.ttl)
            if 0 in local:
                await self._keep_block(view, 0, local[0])
        return view, local

    async def _extend(self, view: View, walker: Walker, wanted: int, budget: float) -> View:
        lock = self._locks.setdefault(view.id, asyncio.Lock())
        try:
            async with lock:
                view = await self._load(view.id, view.key) or view
                if view.pending is None or view.walked >= wanted:
                    return view
                more, pending = await walker.extend(view.pending, budget, wanted - view.walked)
                view.blocks.extend(b for b in more if b.count)
                view.pending = pending
                if self.ttl > 0:
                    await self.store.put("view", view.id, view.dump(), self.ttl)
                return view
        finally:
            if not lock.locked():
                self._locks.pop(view.id, None)

    # Blocks ----------------------------------------------------------------------------------------
    async def _items(
        self, view: View, walker: Walker, start: int, count: int, local: dict[int, bytes]
    ) -> list[Any]:
        items: list[Any] = []
        offset = 0
        for index, block in enumerate(view.blocks):
            if offset >= start + count:
                break
            if offset + block.count > start:
                chunk = await self._chunk(view, index, block, walker, local)
                items.extend(chunk[max(0, start - offset) : start + count - offset])
            offset += block.count
        return items

    async def _chunk(
        self, view: View, index: int, block: Block, walker: Walker, local: dict[int, bytes]
    ) -> list[Any]:
        """A block's items; the last few decoded are kept, as a walk reads one block many times."""
        name = (view.id, index)
        found = self._decoded.get(name)
        if found is not None:
            self._decoded.move_to_end(name)
            return found
        data = local.get(index)
        if data is None:
            data = await self._share(("block", *name), self._reader(view, index, block, walker))
        chunk: list[Any] = orjson.loads(data)
        if self.ttl > 0:
            self._decoded[name] = chunk
            while len(self._decoded) > DECODED_BLOCKS:
                self._decoded.popitem(last=False)
        return chunk

    def _reader(self, view: View, index: int, block: Block, walker: Walker) -> Callable[[], Awaitable[bytes]]:
        return lambda: self._block(view, index, block, walker)

    async def _block(self, view: View, index: int, block: Block, walker: Walker) -> bytes:
        kept = await self.store.get("block", f"{view.id}:{index}", self.ttl) if self.ttl > 0 else None
        if kept is not None:
            return kept
        chunk = await walker.read(block.position)
        data = orjson.dumps(walker.kept(chunk.items)[: block.count])
        await self._keep_block(view, index, data, block.count)
        return data

    async def _keep_block(self, view: View, index: int, data: bytes, weight: int | None = None) -> None:
        if self.ttl > 0:
            count = view.blocks[index].count if weight is None else weight
            await self.store.put("block", f"{view.id}:{index}", data, self.ttl, count)

    # Single flight, cancelled when its last waiter leaves --------------------------------------------
    async def _share(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            task: asyncio.Task[T] = asyncio.ensure_future(make())
            flight = _Flight(task)
            self._flights[key] = flight
            task.add_done_callback(lambda _: self._landed(key, flight))
        flight.waiters += 1
        try:
            result: T = await asyncio.shield(flight.task)
            return result
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                flight.task.cancel()

    def _landed(self, key: Hashable, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.task.cancelled():
            flight.task.exception()  # retrieved: the waiters re-raise it
