"""The service's seam for callbacks: app URLs in a write's parameters and in the upstream's items.

The service asks a :class:`Callbacks` for a write's legacy parameters before it translates them (and
for the upstream parameters the gateway adds of its own), and hands it each upstream item before it
translates that. :class:`Unchanged`, the default, leaves both alone; the edge sets
:class:`gateway.hooks.wrap.Wrap` instead, which puts hook URLs in and takes them out again. The service
knows nothing else of hooks (an injected seam, like an HTTP client's transport).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from gateway.call import Call
from gateway.resources import Resource

Read = Callable[[str], Awaitable[Any]]
"""A GET of an upstream path, decoded as the service decodes it (an update reads what it changes)."""
Outgoing = tuple[dict[str, str], dict[str, str]]
"""A write's legacy parameters as they go on to be translated, and the upstream parameters the gateway
adds of its own after the undeclared ones are dropped (a call's ``StatusCallback``)."""


class Callbacks(Protocol):
    async def outgoing(self, call: Call, read: Read) -> Outgoing:
        """The write's legacy parameters as they go upstream, and the gateway's additions."""

    def incoming(self, resource: Resource, items: list[Any]) -> list[Any]:
        """Upstream items as the legacy client sees them."""


class Unchanged:
    async def outgoing(self, call: Call, read: Read) -> Outgoing:
        return dict(call.request.params), {}

    def incoming(self, resource: Resource, items: list[Any]) -> list[Any]:
        return items
