"""Items a client deleted through the gateway that the upstream keeps: 2010's notification log is
read-only, where 2008 let an app delete an entry (a ``DELETE`` whose operation ``hides``).

The deletion is the gateway's: it is kept in the list store (:mod:`gateway.lists.cache`, so shared by
replicas through Redis) under the item's account, for ``ttl`` seconds — no shorter than the upstream
keeps such an item, after which there is nothing left to hide. A hidden item is 404 as an instance
and is taken out of every upstream page a list reads before anything counts it, so totals and page
counts are exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from gateway.lists.cache import Store


class Hidden:
    def __init__(self, store: Store, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock

    async def hide(self, account: str, sid: str) -> None:
        await self.store.mark(account, sid, self.clock() + self.ttl)

    async def hidden(self, account: str, sid: str) -> bool:
        return bool(await self.store.marked(account, [sid], self.clock()))

    async def visible(self, account: str, items: list[Any]) -> list[Any]:
        """A page's items without the hidden ones (one look-up for the page)."""
        sids = [
            sid for item in items if isinstance(item, Mapping) and isinstance(sid := item.get("sid"), str)
        ]
        gone = await self.store.marked(account, sids, self.clock()) if sids else set()
        if not gone:
            return items
        return [item for item in items if not (isinstance(item, Mapping) and item.get("sid") in gone)]
