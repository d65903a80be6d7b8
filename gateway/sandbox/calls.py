"""The simulated verification call of a validation request, and its status callback (signed, as every
webhook); the spawner of the sandbox's background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from .store import Store


class Callbacks:
    """Background tasks the request never waits for (webhooks, deliveries), and every webhook sent."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class Sender(Protocol):
    """What sends a webhook (:class:`.notifications.Webhooks`: signed, a failure noted)."""

    def send(
        self, account: str, call_sid: str | None, url: str, method: str, params: dict[str, str]
    ) -> None: ...


@dataclass
class Verification:
    store: Store
    webhooks: Sender
    succeeds: bool
    account: str
    phone_number: str
    friendly_name: str
    call_sid: str
    callback: str = ""
    method: str = "POST"
    created_sid: str | None = field(default=None, init=False)

    def complete(self) -> None:
        if self.succeeds and self.store.caller_id_by_number(self.account, self.phone_number) is None:
            self.created_sid = self.store.add_caller_id(
                self.account, self.phone_number, self.friendly_name
            ).sid
        if self.callback:
            params = {
                "AccountSid": self.account,
                "CallSid": self.call_sid,
                "To": self.phone_number,
                "Called": self.phone_number,
                "CallStatus": "completed",
                "ApiVersion": "2010-04-01",
                "VerificationStatus": "success" if self.succeeds else "failed",
            }
            if self.created_sid is not None:
                params["OutgoingCallerIdSid"] = self.created_sid
            self.webhooks.send(self.account, None, self.callback, self.method, params)
