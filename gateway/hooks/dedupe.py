"""Exactly once: a key is new the first time it is seen within ``ttl`` (an SMS status reported to the
app once per message and status, whatever Twilio retries or repeats).

Kept in the view cache's Store, so replicas sharing Redis share what they have seen. The Store has no
atomic "set if absent": two replicas handling the same retry at the very same moment may both see it
first; one after the other, only the first does.
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
        if await self.store.get(self.kind, name, ttl) is not None:
            return False
        await self.store.put(self.kind, name, b"1", ttl)
        return True
