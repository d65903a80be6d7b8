"""Where list views, their block cursors and recently read blocks live.

In process by default (:class:`MemoryStore`: bounded LRUs with expiry), or in Redis when
``GATEWAY_CACHE_URL`` is set (:class:`RedisStore`), so that several replicas serve one walk from one
view. Values are opaque bytes under ``(kind, name)``; names are digests and random view ids, never
credentials. Besides them, *marks*: per name (an account), members (sids) each kept until an
instant of the wall clock — the items a client deleted through the gateway that the upstream keeps
(:mod:`gateway.lists.hidden`). A Redis that fails is left alone for a few seconds and the in-process
store answers meanwhile (one log line per outage, ``gateway_cache_fallback_total``): a legacy request
never fails because of the cache.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal, Protocol

from gateway import observability as obs

log = logging.getLogger("gateway.cache")

Kind = Literal["view", "newest", "block", "hook"]
"""``hook``: what callbacks keep (cookie jars, statuses already reported), apart from list data so
that a long list walk never pushes it out."""
MAX_BLOCK_BYTES = 64 * 1024 * 1024
"""In-process block bytes kept at most, whatever the item bound says."""
MAX_HOOK_ENTRIES = 100_000
MAX_HOOK_BYTES = 32 * 1024 * 1024
RETRY_AFTER = 5.0
"""Seconds a failed Redis is left alone before it is tried again."""
MAX_MARKS = 100_000
"""Marks kept at most in process (the oldest go first); in Redis, as many as are made."""


class Store(Protocol):
    async def get(self, kind: Kind, name: str, ttl: float) -> bytes | None:
        """The value, its expiry pushed back to ``ttl`` from now (a view in use stays alive)."""

    async def put(self, kind: Kind, name: str, value: bytes, ttl: float, weight: int = 1) -> None: ...

    async def add(self, kind: Kind, name: str, value: bytes, ttl: float) -> bool:
        """Stores ``value`` only if ``name`` holds nothing (atomically); whether it did."""

    async def generation(self, account: str) -> int: ...

    async def bump(self, account: str) -> None: ...

    async def mark(self, name: str, member: str, until: float) -> None:
        """Keeps ``member`` under ``name`` until ``until`` (epoch seconds)."""

    async def marked(self, name: str, members: list[str], now: float) -> set[str]:
        """Those of ``members`` kept under ``name`` past ``now``."""

    async def aclose(self) -> None: ...


class _Lru:
    def __init__(self, max_weight: int, max_bytes: int, clock: Callable[[], float]) -> None:
        self.max_weight = max_weight
        self.max_bytes = max_bytes
        self.clock = clock
        self.entries: OrderedDict[str, tuple[bytes, float, int]] = OrderedDict()
        self.weight = 0
        self.bytes = 0

    def get(self, name: str, ttl: float) -> bytes | None:
        entry = self.entries.get(name)
        if entry is None:
            return None
        value, expires, weight = entry
        if expires <= self.clock():
            self._drop(name)
            return None
        self.entries[name] = (value, self.clock() + ttl, weight)
        self.entries.move_to_end(name)
        return value

    def put(self, name: str, value: bytes, ttl: float, weight: int) -> None:
        self._drop(name)
        if ttl <= 0 or weight > self.max_weight or len(value) > self.max_bytes:
            return
        self.entries[name] = (value, self.clock() + ttl, weight)
        self.weight += weight
        self.bytes += len(value)
        while self.weight > self.max_weight or self.bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))

    def _drop(self, name: str) -> None:
        entry = self.entries.pop(name, None)
        if entry is not None:
            self.weight -= entry[2]
            self.bytes -= len(entry[0])


class MemoryStore:
    """Views and "newest view" pointers bounded in number, blocks in items and bytes; all expire."""

    def __init__(
        self,
        max_views: int,
        max_items: int,
        clock: Callable[[], float] = time.monotonic,
        max_view_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._kinds: dict[str, _Lru] = {
            "view": _Lru(max_views, max_view_bytes, clock),
            "newest": _Lru(max_views, max_view_bytes, clock),
            "block": _Lru(max_items, MAX_BLOCK_BYTES, clock),
            "hook": _Lru(MAX_HOOK_ENTRIES, MAX_HOOK_BYTES, clock),
        }
        self._generations: dict[str, int] = {}
        self._marks: OrderedDict[tuple[str, str], float] = OrderedDict()
        self.max_marks = MAX_MARKS

    def size(self, kind: Kind) -> tuple[int, int, int]:
        """Entries, weight and bytes held of one kind."""
        lru = self._kinds[kind]
        return len(lru.entries), lru.weight, lru.bytes

    async def get(self, kind: Kind, name: str, ttl: float) -> bytes | None:
        return self._kinds[kind].get(name, ttl)

    async def put(self, kind: Kind, name: str, value: bytes, ttl: float, weight: int = 1) -> None:
        self._kinds[kind].put(name, value, ttl, weight)

    async def add(self, kind: Kind, name: str, value: bytes, ttl: float) -> bool:
        # No await between the check and the put: atomic within the event loop.
        lru = self._kinds[kind]
        if lru.get(name, ttl) is not None:
            return False
        lru.put(name, value, ttl, 1)
        return True

    async def generation(self, account: str) -> int:
        return self._generations.get(account, 0)

    async def bump(self, account: str) -> None:
        self._generations[account] = self._generations.get(account, 0) + 1

    async def mark(self, name: str, member: str, until: float) -> None:
        self._marks.pop((name, member), None)
        self._marks[name, member] = until
        while len(self._marks) > self.max_marks:
            self._marks.popitem(last=False)

    async def marked(self, name: str, members: list[str], now: float) -> set[str]:
        found = set()
        for member in members:
            until = self._marks.get((name, member))
            if until is not None and until > now:
                found.add(member)
        return found

    async def aclose(self) -> None:
        return None


class RedisStore:
    """The same in Redis (redis-py, asyncio). Keys: ``gateway:list:{kind}:{name}``, each with a TTL;
    an account's generation lives a day past its last write."""

    PREFIX = "gateway:list:"

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        # Imported only when configured: redis-py imports OpenTelemetry whenever it is installed.
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        self.errors: tuple[type[Exception], ...] = (RedisError, OSError)
        self.redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )

    async def get(self, kind: Kind, name: str, ttl: float) -> bytes | None:
        key = self.PREFIX + kind + ":" + name
        value = await self.redis.getex(key, px=max(1, int(ttl * 1000))) if ttl > 0 else None
        return value if isinstance(value, bytes) else None

    async def put(self, kind: Kind, name: str, value: bytes, ttl: float, weight: int = 1) -> None:
        if ttl > 0:
            await self.redis.set(self.PREFIX + kind + ":" + name, value, px=max(1, int(ttl * 1000)))

    async def add(self, kind: Kind, name: str, value: bytes, ttl: float) -> bool:
        key = self.PREFIX + kind + ":" + name
        return bool(await self.redis.set(key, value, px=max(1, int(ttl * 1000)), nx=True))

    async def generation(self, account: str) -> int:
        value = await self.redis.get(self.PREFIX + "generation:" + account)
        return int(value) if value is not None else 0

    async def bump(self, account: str) -> None:
        key = self.PREFIX + "generation:" + account
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 86_400)
            await pipe.execute()

    async def mark(self, name: str, member: str, until: float) -> None:
        """A sorted set per name, scored by each member's end; the key lives as long as its last."""
        key = self.PREFIX + "marks:" + name
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: until})
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zrange(key, -1, -1, withscores=True)
            last = (await pipe.execute())[-1]
        await self.redis.pexpireat(key, int(max([until, *(score for _, score in last)]) * 1000) + 1)

    async def marked(self, name: str, members: list[str], now: float) -> set[str]:
        if not members:
            return set()
        scores = await self.redis.zmscore(self.PREFIX + "marks:" + name, members)
        return {
            member for member, score in zip(members, scores, strict=True) if score is not None and score > now
        }

    async def aclose(self) -> None:
        await self.redis.aclose()


class FallbackStore:
    """Redis first; the in-process store while Redis fails, and again after ``RETRY_AFTER``."""

    def __init__(
        self, primary: RedisStore, fallback: MemoryStore, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.primary = primary
        self.errors = primary.errors
        self.fallback = fallback
        self.clock = clock
        self.down_until = 0.0

    def _usable(self) -> bool:
        return self.clock() >= self.down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        if self.down_until == 0.0:
            log.warning(
                "list cache: Redis failed (%s during %s); using the in-process store",
                type(exc).__name__,
                operation,
            )
        self.down_until = self.clock() + RETRY_AFTER
        obs.CACHE_FALLBACK.labels(operation).inc()

    def _recovered(self) -> None:
        if self.down_until:
            log.warning("list cache: Redis answers again")
            self.down_until = 0.0

    async def get(self, kind: Kind, name: str, ttl: float) -> bytes | None:
        if self._usable():
            try:
                value = await self.primary.get(kind, name, ttl)
            except self.errors as exc:
                self._failed("get", exc)
            else:
                self._recovered()
                return value
        return await self.fallback.get(kind, name, ttl)

    async def put(self, kind: Kind, name: str, value: bytes, ttl: float, weight: int = 1) -> None:
        if self._usable():
            try:
                await self.primary.put(kind, name, value, ttl, weight)
            except self.errors as exc:
                self._failed("put", exc)
            else:
                self._recovered()
                return
        await self.fallback.put(kind, name, value, ttl, weight)

    async def add(self, kind: Kind, name: str, value: bytes, ttl: float) -> bool:
        if self._usable():
            try:
                added = await self.primary.add(kind, name, value, ttl)
            except self.errors as exc:
                self._failed("add", exc)
            else:
                self._recovered()
                return added
        return await self.fallback.add(kind, name, value, ttl)

    async def generation(self, account: str) -> int:
        if self._usable():
            try:
                return await self.primary.generation(account)
            except self.errors as exc:
                self._failed("generation", exc)
        return await self.fallback.generation(account)

    async def bump(self, account: str) -> None:
        await self.fallback.bump(account)
        if self._usable():
            try:
                await self.primary.bump(account)
            except self.errors as exc:
                self._failed("bump", exc)

    async def mark(self, name: str, member: str, until: float) -> None:
        await self.fallback.mark(name, member, until)
        if self._usable():
            try:
                await self.primary.mark(name, member, until)
            except self.errors as exc:
                self._failed("mark", exc)

    async def marked(self, name: str, members: list[str], now: float) -> set[str]:
        """Both stores' marks: one made while Redis failed is still kept here."""
        found = await self.fallback.marked(name, members, now)
        if self._usable():
            try:
                found |= await self.primary.marked(name, members, now)
            except self.errors as exc:
                self._failed("marked", exc)
        return found

    async def aclose(self) -> None:
        with contextlib.suppress(*self.errors):
            await self.primary.aclose()


def create_store(url: str | None, max_views: int, max_items: int) -> Store:
    memory = MemoryStore(max_views, max_items)
    if not url:
        return memory
    return FallbackStore(RedisStore(url), memory)
