"""Exactly once: a key is new the first time it is seen within ``ttl`` (an SMS status reported to the
app once per message and status, whatever Twilio retries or repeats).

Kept in the view cache's Store, so replicas sharing Redis share what they have seen; the Store's
``add`` is atomic (Redis ``SET NX``), so of two replicas handling the same retry at the same moment
only one sees it first.
"""

from __future__ import annotations

import hashlib

from gateway.lists.cache import Kind, Store


class Dedupe:
    def __init__(self, store: Store, *, kind: Kind = "block") -> None:
        self.store = store
        self.kind: Kind = kind

    async def first_time(self, key: str, ttl: float) -> bool:
        name = "hooks:seen:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return await self.store.add(self.kind, name, b"1", ttl)
