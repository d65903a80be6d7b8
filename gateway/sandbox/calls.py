"""The simulated verification call of a validation request, and its status callback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from .store import Store

log = logging.getLogger("gateway.sandbox")
CALLBACK_TIMEOUT = 5.0


class Callbacks:
    """Status callbacks, sent from background tasks that the request never waits for."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def post(self, url: str, method: str, params: dict[str, str]) -> None:
        self.sent.append((url, method, params))
        try:
            async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT, trust_env=False) as client:
                if method == "GET":
                    await client.get(url, params=params)
                else:
                    await client.post(url, data=params)
        except httpx.HTTPError as exc:
            log.warning("status callback failed: %s", type(exc).__name__)


@dataclass
class Verification:
    store: Store
    callbacks: Callbacks
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
            self.callbacks.spawn(self.callbacks.post(self.callback, self.method, params))
