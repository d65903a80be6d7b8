"""The sandbox's notifications log — the account's whole log — and the webhooks that fill it.

A notification about a call is kept with the call (:meth:`Voice.log`, served per call by
:mod:`.call_logs`); one about no call (a message's failed status callback) is kept here. The account's
``/Notifications`` list is both, newest first, kept in step with the calls' logs before each request.

Every webhook the sandbox sends for messaging and recordings (a message's ``StatusCallback``, a
recording's ``RecordingStatusCallback``) goes through :class:`Webhooks`, signed (:mod:`.webhook`); one
that fails — no connection, a timeout, or an answer that is not 2xx — leaves an ERROR notification
(``log`` 0, error 11200, "HTTP retrieval failure") with the request and response, as the real API's
debugger does. The dialer's requests for calls leave theirs on the call (:mod:`.call_run`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .calls import Callbacks
from .store import Ordered, Store, new_sid, newest
from .values import dated, newest_first, rfc2822
from .voice import Entry, Voice
from .voice_api import API
from .webhook import Exchange, Requester

NOTIFICATIONS = API + "/Notifications.json"
NOTIFICATION = API + "/Notifications/{Sid}.json"
log = logging.getLogger("gateway.sandbox")


@dataclass
class Note:
    """A notification about no call."""

    seq: int
    sid: str
    account_sid: str
    created: float
    data: dict[str, Any]


Logged = Entry | Note


def fields(code: int, text: str, at: float, level: str = "0", **extra: str) -> dict[str, Any]:
    """A notification's 2010 fields beyond the common ones."""
    return {
        "error_code": str(code),
        "log": level,
        "message_date": rfc2822(at),
        "message_text": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "request_method": "POST",
        "request_url": "",
        "request_variables": "",
        "response_body": "",
        "response_headers": "",
        **extra,
    }


class Notifications:
    def __init__(self, store: Store, voice: Voice) -> None:
        self.store = store
        self.voice = voice
        self.clock = voice.clock
        self.notes: dict[str, list[Note]] = {}
        self.index: dict[str, Ordered] = {}
        self._synced: dict[str, tuple[int, int]] = {}

    def add(self, account: str, call_sid: str | None, code: int, text: str, **extra: Any) -> Logged:
        """On the call when there is one (of this account), else on the account."""
        at = extra.pop("at", None)
        at = self.clock() if at is None else at
        data = fields(code, text, at, **extra)
        call = self.voice.find_call(account, call_sid) if call_sid else None
        if call is not None:
            return self.voice.log(call, "notifications", at, **data)
        note = Note(self.store._next(), new_sid("NO"), account, at, data)
        self.notes.setdefault(account, []).append(note)
        return note

    def sync(self, account: str) -> Ordered:
        """The account's log, newest first: its own notes and every call's, as they are now."""
        marker = (Ordered.changes, len(self.notes.get(account, ())))
        if account in self.index and self._synced.get(account) == marker:
            return self.index[account]
        calls = self.voice.calls.get(account)
        current: dict[str, Logged] = {n.sid: n for n in self.notes.get(account, ())}
        for call in calls.values() if calls is not None else ():
            current.update((e.sid, e) for e in call.notifications.values())
        ordered = self.index.setdefault(account, Ordered())
        ordered.mirror(current, newest)
        self._synced[account] = (Ordered.changes, len(self.notes.get(account, ())))
        return ordered


def render(item: Logged) -> dict[str, Any]:
    """Every field; the engine keeps those the spec lists (the instance adds the request and response)."""
    account = item.call.account_sid if isinstance(item, Entry) else item.account_sid
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "call_sid": item.call.sid if isinstance(item, Entry) else None,
        "date_created": rfc2822(item.created),
        "date_updated": rfc2822(item.created),
        "sid": item.sid,
        "uri": f"/2010-04-01/Accounts/{account}/Notifications/{item.sid}.json",
        **item.data,
    }


class NotificationsBehaviour:
    """``/Notifications`` (``Log``, ``MessageDate`` filters): read-only, as in 2010."""

    def __init__(self, log: Notifications, refresh: Callable[[], None]) -> None:
        self.log = log
        self._refresh = refresh
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "Log": lambda n, v: n.data.get("log") == v,
            **dated("MessageDate", lambda n: n.created),
        }
        self.span = newest_first("MessageDate")

    def refresh(self) -> None:
        self._refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.log.sync(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> Logged | None:
        found: Logged | None = self.log.sync(path["AccountSid"]).get(path["Sid"])
        return found

    def render(self, item: Logged) -> dict[str, Any]:
        return render(item)


class Webhooks:
    """Sends webhooks (signed, :mod:`.webhook`) from background tasks; a failure is logged as a
    notification. ``repeats`` posts the same callback again (a retry, with the same
    ``I-Twilio-Idempotency-Token``); ``record`` keeps each exchange for a control endpoint's log."""

    def __init__(self, callbacks: Callbacks, log: Notifications, lock: Any, requester: Requester) -> None:
        self.callbacks = callbacks
        self.log = log
        self.lock = lock
        self.requester = requester

    def send(
        self,
        account: str,
        call_sid: str | None,
        url: str,
        method: str,
        params: dict[str, str],
        *,
        repeats: int = 1,
        record: list[dict[str, Any]] | None = None,
    ) -> None:
        self.callbacks.spawn(self._post(account, call_sid, url, method.upper(), params, repeats, record))

    async def _post(
        self,
        account: str,
        call_sid: str | None,
        url: str,
        method: str,
        params: dict[str, str],
        repeats: int,
        record: list[dict[str, Any]] | None,
    ) -> None:
        token = secrets.token_hex(16)
        for _ in range(max(1, repeats)):
            self.callbacks.sent.append((url, method, params))
            exchange = await self.requester.request(
                account, url, method, params, kind="status-callback", at=self.log.clock(), idempotency=token
            )
            if record is not None:
                record.append(exchange.record())
            self._failed(account, call_sid, exchange)

    def _failed(self, account: str, call_sid: str | None, exchange: Exchange) -> None:
        failure = exchange.failure()
        if failure is None:
            return
        log.warning("webhook failed: %s", failure[1])
        with self.lock:
            self.log.add(
                account,
                call_sid,
                failure[0],
                failure[1],
                request_url=exchange.url,
                request_method=exchange.method,
                request_variables=urlencode(exchange.params),
                response_headers="&".join(urlencode({k: v}) for k, v in exchange.headers),
                response_body=exchange.text[:4096],
            )
