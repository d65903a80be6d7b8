"""``--latency-ms``: the sandbox answers like a distant API, every HTTP answer delayed by a fixed time.

A pure-ASGI wrapper around the sandbox app: the delay comes before the app runs, so a request costs
the latency plus the sandbox's own (small) work, as a request to the real API costs its round trip
plus the API's work. Lifespan and other scopes pass through undelayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Latency:
    def __init__(self, app: Any, milliseconds: float) -> None:
        if milliseconds < 0:
            raise ValueError("the latency must be at least 0 ms")
        self.app = app
        self.seconds = milliseconds / 1000
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.seconds:
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def with_latency(app: Any, milliseconds: float) -> Any:
    """``app`` itself when there is no latency to add."""
    return Latency(app, milliseconds) if milliseconds else app
