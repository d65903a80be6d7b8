"""What the sandbox's endpoint lists and seeders need of the sandbox that holds them, as protocols:
they are given the :class:`gateway.sandbox.app.Sandbox` but never import it (the app imports them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse

from .accounts_api import AccountsBehaviour
from .dialer import Dialer
from .messaging import Messaging
from .notifications import Notifications
from .numbers_api import Inventory
from .recordings import Recordings
from .sms_hooks import SmsHooks
from .store import Among, Ordered, Span, Store
from .voice import Voice


class Accounts(Protocol):
    @property
    def accounts(self) -> Mapping[str, str]: ...


class Host(Protocol):
    """The sandbox's parts and its paging, as its endpoints and seeders use them."""

    @property
    def config(self) -> Accounts: ...

    store: Store
    voice: Voice
    accounts: AccountsBehaviour
    inventory: Inventory
    notifications: Notifications
    messaging: Messaging
    recordings: Recordings
    dialer: Dialer
    sms: SmsHooks

    def authenticate(self, request: Request, account: str | None) -> str: ...

    def _list(
        self,
        request: Request,
        ordered: Ordered | None,
        render: Callable[[Any], dict[str, Any]],
        keep: Callable[[Any], bool],
        filters: list[tuple[str, str]],
        span: Span | None = None,
        among: Among | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]: ...

    def _flat(self, key: str, items: list[dict[str, Any]], links: dict[str, Any]) -> JSONResponse: ...
