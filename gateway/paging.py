"""Legacy paging (``page``/``num`` windows with totals) over token-paged, total-less upstream lists.

The upstream is read at its largest page size, only by following its own next-page links, and the
whole filtered list is kept as a short-lived snapshot per (resource, path, credentials, filters). Every
legacy page of that list is then a slice of the snapshot: a client walking N items with any ``num``
costs ``ceil(N/1000)`` upstream calls (+1 when the last page is full), twice that at most if the
snapshot expires mid-walk. Concurrent requests for the same list share one walk. A write through the
gateway drops every snapshot of its account, so a client always sees its own writes; writes made
elsewhere show up after at most the TTL.

Window semantics (docs/paging.md): ``start = page × pagesize``, ``end = start + count − 1``,
``numpages = ceil(total / pagesize)``. An empty list, or a page past the end, is a 200 with no items,
the same formulas (so ``end = start − 1``), an empty ``nextpageuri`` and ``lastpageuri`` on page
``max(numpages − 1, 0)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from . import observability as obs
from .document import Record
from .errors import BadRequest

DEFAULT_NUM = 50
MAX_NUM = 1000
UPSTREAM_PAGE_SIZE = 1000
MAX_UPSTREAM_PAGES = 100_000


@dataclass(frozen=True, slots=True)
class Window:
    page: int
    pagesize: int
    total: int

    @property
    def numpages(self) -> int:
        return -(-self.total // self.pagesize)

    @property
    def start(self) -> int:
        return self.page * self.pagesize

    @property
    def count(self) -> int:
        return max(0, min(self.pagesize, self.total - self.start))

    @property
    def end(self) -> int:
        return self.start + self.count - 1

    @property
    def last_page(self) -> int:
        return max(self.numpages - 1, 0)

    def attrs(self) -> tuple[tuple[str, str], ...]:
        return (
            ("page", str(self.page)),
            ("numpages", str(self.numpages)),
            ("pagesize", str(self.pagesize)),
            ("total", str(self.total)),
            ("start", str(self.start)),
            ("end", str(self.end)),
        )


def _whole(name: str, raw: str) -> int:
    text = raw.strip()
    if not text.isdigit():
        raise BadRequest(f"{name} must be a whole number of at least {0 if name != 'num' else 1}")
    return int(text)


def requested(params: dict[str, str]) -> tuple[int, int]:
    """Pops ``page`` (or ``Page``) and ``num`` from the parameters: (page, num)."""
    raw_page = params.pop("page", None)
    alias = params.pop("Page", None)
    raw_page = raw_page if raw_page is not None else alias
    raw_num = params.pop("num", None)
    page = _whole("page", raw_page) if raw_page not in (None, "") else 0
    num = _whole("num", raw_num) if raw_num not in (None, "") else DEFAULT_NUM
    if num < 1:
        raise BadRequest("num must be a whole number of at least 1")
    return page, min(num, MAX_NUM)


def page_uris(
    window: Window, uri: Callable[[list[tuple[str, str]]], str], filters: list[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    def at(page: int) -> str:
        return uri([("num", str(window.pagesize)), ("page", str(page)), *filters])

    has_next = window.page < window.numpages - 1
    return (
        ("uri", at(window.page)),
        ("firstpageuri", at(0)),
        ("previouspageuri", at(min(window.page, window.last_page + 1) - 1) if window.page else ""),
        ("nextpageuri", at(window.page + 1) if has_next else ""),
        ("lastpageuri", at(window.last_page)),
    )


def credentials_digest(authorization: str | None) -> str:
    return hashlib.sha256((authorization or "").encode()).hexdigest()


@dataclass(slots=True)
class _Snapshot:
    records: list[Record]
    account: str
    expires: float


class ListCache:
    """Bounded in lists, items and time; single-flight per key; dropped per account on writes."""

    def __init__(
        self,
        ttl: float,
        max_lists: int,
        max_items: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_lists = max_lists
        self.max_items = max_items
        self.clock = clock
        self._entries: OrderedDict[Hashable, _Snapshot] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[list[Record]]] = {}
        self._generation: dict[str, int] = {}
        self.items = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self, key: Hashable, account: str, load: Callable[[], Awaitable[list[Record]]]
    ) -> list[Record]:
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > self.clock():
                self._entries.move_to_end(key)
                obs.LIST_CACHE.labels("hit").inc()
                return entry.records
            self._drop(key)
        pending = self._inflight.get(key)
        if pending is not None:
            obs.LIST_CACHE.labels("hit").inc()
            return await asyncio.shield(pending)
        obs.LIST_CACHE.labels("miss").inc()
        return await self._load(key, account, load)

    async def _load(
        self, key: Hashable, account: str, load: Callable[[], Awaitable[list[Record]]]
    ) -> list[Record]:
        generation = self._generation.get(account, 0)
        future: asyncio.Future[list[Record]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            records = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(records)
        if self._generation.get(account, 0) == generation:
            self._store(key, account, records)
        return records

    def _store(self, key: Hashable, account: str, records: list[Record]) -> None:
        if self.ttl <= 0 or len(records) > self.max_items:
            return
        self._entries[key] = _Snapshot(records, account, self.clock() + self.ttl)
        self.items += len(records)
        while len(self._entries) > self.max_lists or self.items > self.max_items:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.items -= len(entry.records)

    def invalidate(self, account: str) -> None:
        self._generation[account] = self._generation.get(account, 0) + 1
        stale = [key for key, entry in self._entries.items() if entry.account == account]
        for key in stale:
            self._drop(key)
        if stale:
            obs.LIST_CACHE.labels("invalidated").inc(len(stale))
