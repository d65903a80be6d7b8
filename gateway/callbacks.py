"""The service's seam for callbacks: app URLs in a write's parameters and in the upstream's items.

The service calls a :class:`Callbacks` on the way up (a write's legacy parameters, before they are
translated, and what the gateway adds upstream of its own) and on the way back (each upstream item,
before it is translated). :class:`Unchanged`, the default, leaves both alone;
:class:`gateway.hooks.wrap.Wrap` puts hook URLs in and takes them out again. The service knows nothing
else of hooks (an injected seam, like an HTTP client's transport).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from gateway.resources import Operation, Resource

Current = Callable[[], Awaitable[Any]]
"""The item a write changes, as the upstream shows it now (an update that sets only a method)."""
Outgoing = tuple[dict[str, str], dict[str, str]]
"""A write's legacy parameters as they go on to be translated, and the upstream parameters the gateway
adds of its own after the undeclared ones are dropped (a call's ``StatusCallback``)."""


class Callbacks(Protocol):
    async def outgoing(
        self,
        resource: Resource,
        operation: Operation,
        account: str,
        params: dict[str, str],
        current: Current | None,
    ) -> Outgoing:
        """The write's legacy parameters as they go upstream, and the gateway's additions."""

    def incoming(self, resource: Resource, item: Mapping[str, Any]) -> Mapping[str, Any]:
        """An upstream item as the legacy client sees it."""


class Unchanged:
    async def outgoing(
        self,
        resource: Resource,
        operation: Operation,
        account: str,
        params: dict[str, str],
        current: Current | None,
    ) -> Outgoing:
        return params, {}

    def incoming(self, resource: Resource, item: Mapping[str, Any]) -> Mapping[str, Any]:
        return item
