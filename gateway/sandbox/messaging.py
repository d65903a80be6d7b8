"""The sandbox's messages and short codes: the 2010 ``Messages`` and ``SMS/ShortCodes`` behaviours.

A message sent through the API is a timeline, read at the current instant as calls are: ``queued``,
``sending`` one step later, ``sent`` one step after that — or ``failed`` (error 30003, unreachable
handset) when ``To`` is one of the configured unreachable numbers (with delivery receipts on, ``sent``
is followed by ``delivered``). Its ``StatusCallback`` is posted as it reaches each status of
``callback_statuses`` (2010: one callback, at the end) — from the request that finds it there, or a
timer — through the webhooks that sign them and log failures as notifications. Each account has short
codes (five digits from 67898 up); their list takes 2010's ``ShortCode`` pattern (part of the code,
``*`` any digit) and ``FriendlyName``.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .api import ApiError
from .notifications import Webhooks
from .store import Ordered, Store, new_sid, status_at
from .values import dated, e164, rfc2822

API = "/2010-04-01/Accounts/{AccountSid}"
MESSAGES = API + "/Messages.json"
MESSAGE = API + "/Messages/{Sid}.json"
SHORT_CODES = API + "/SMS/ShortCodes.json"
SHORT_CODE = API + "/SMS/ShortCodes/{Sid}.json"
FIRST_SHORT_CODE = 67898
PRICE = "-0.00750"
GSM = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 basic alphabet: a body outside it is sent as UCS-2 (70 characters a segment)."""
FINAL = ("sent", "failed", "delivered", "undelivered", "received")
UNREACHABLE_HANDSET = 30003


def segments(body: str) -> int:
    single, multi = (160, 153) if all(c in GSM for c in body) else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


@dataclass
class Message:
    seq: int
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str
    created: float
    timeline: list[tuple[float, str]]
    status_callback: str | None = None
    posted: int = 0
    """Statuses of its timeline already looked at for its status callback."""

    @property
    def key(self) -> tuple[float, int]:
        return (-self.created, -self.seq)

    def status(self, now: float) -> str:
        return status_at(self.timeline, now)

    def sent_at(self, now: float) -> float | None:
        return next((at for at, s in self.timeline if s in FINAL and at <= now), None)


@dataclass
class ShortCode:
    seq: int
    sid: str
    account_sid: str
    short_code: str
    friendly_name: str
    created: float
    updated: float
    api_version: str = "2010-04-01"
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"


@dataclass
class Messaging:
    """Every account's messages (newest first) and short codes (in creation order)."""

    store: Store
    clock: Callable[[], float]
    webhooks: Webhooks
    step: float = 1.0
    unreachable: frozenset[str] = frozenset()
    receipts: bool = False
    """A sent message goes on to ``delivered`` one step later."""
    callback_statuses: frozenset[str] = frozenset({"sent", "failed", "delivered", "undelivered"})
    """The statuses that post a message's ``StatusCallback`` (2010: sent or failed, at the end)."""
    repeats: int = 1
    """Times each status callback is posted (2: as a retry of one already delivered)."""
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Each message's requests to applications (:mod:`.control`)."""
    messages: dict[str, Ordered] = field(default_factory=dict)
    short_codes: dict[str, Ordered] = field(default_factory=dict)
    _pending: dict[str, Message] = field(default_factory=dict)

    def add_message(
        self,
        account: str,
        to: str,
        from_: str,
        body: str,
        direction: str,
        *,
        at: float | None = None,
        **extra: Any,
    ) -> Message:
        start = self.clock() if at is None else at
        end = "failed" if to in self.unreachable else ("received" if direction == "inbound" else "sent")
        steps: tuple[str, ...] = ("receiving", end) if direction == "inbound" else ("queued", "sending", end)
        if self.receipts and end == "sent":
            steps += ("delivered",)
        timeline = [(start + i * self.step, status) for i, status in enumerate(steps)]
        message = Message(
            self.store._next(), new_sid("SM"), account, to, from_, body, direction, start, timeline, **extra
        )
        self.messages.setdefault(account, Ordered()).add(message.key, message)
        if message.status_callback:
            self._pending[message.sid] = message
            for at, _ in timeline:
                self._later(at)
        return message

    def _later(self, at: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # seeding: no loop, and the next request's refresh sends it
        loop.call_later(max(0.0, at - self.clock()) + 0.01, self._tick)

    def _tick(self) -> None:
        with self.store.lock:
            self.refresh()

    def refresh(self) -> None:
        """Sends the status callbacks of the statuses messages reached by now."""
        now = self.clock()
        for message in list(self._pending.values()):
            reached = [status for at, status in message.timeline if at <= now]
            for status in reached[message.posted :]:
                if status in self.callback_statuses:
                    self._post(message, status)
            message.posted = len(reached)
            if message.posted == len(message.timeline):
                del self._pending[message.sid]

    def _post(self, message: Message, status: str) -> None:
        assert message.status_callback is not None
        params = {
            "AccountSid": message.account_sid,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "From": message.from_,
            "To": message.to,
            "ApiVersion": "2010-04-01",
        }
        if status == "failed":
            params["ErrorCode"] = str(UNREACHABLE_HANDSET)
        record = self.logs.setdefault(message.sid, [])
        self.webhooks.send(
            message.account_sid,
            None,
            message.status_callback,
            "POST",
            params,
            repeats=self.repeats,
            record=record,
        )

    def add_short_code(self, account: str, code: str) -> ShortCode:
        stamp = self.clock()
        item = ShortCode(self.store._next(), new_sid("SC"), account, code, code, stamp, stamp)
        self.short_codes.setdefault(account, Ordered()).add(item.seq, item)
        return item

    def provision(self, account: str, count: int) -> None:
        for offset in range(count):
            self.add_short_code(account, str(FIRST_SHORT_CODE + offset * 1111))

    def owns(self, account: str, sender: str) -> bool:
        if sender in self.store.numbers(account):
            return True
        codes = self.short_codes.get(account)
        return codes is not None and any(c.short_code == sender for c in codes.values())


def _address(raw: str, code: int, name: str) -> str:
    value = raw.strip()
    return value if re.fullmatch(r"\d{5,6}", value) else e164(value, code, name)


class MessagesBehaviour:
    def __init__(self, messaging: Messaging) -> None:
        self.messaging = messaging
        now = messaging.clock
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "To": lambda m, v: m.to == v,
            "From": lambda m, v: m.from_ == v,
            **dated("DateSent", lambda m: m.sent_at(now())),
        }

    def refresh(self) -> None:
        self.messaging.refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.messaging.messages.get(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> Message | None:
        ordered = self.scope(path)
        found: Message | None = ordered.get(path["Sid"]) if ordered is not None else None
        return found

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Message:
        account = path["AccountSid"]
        to = _address(form["To"], 21211, "To")
        if not form.get("From"):
            raise ApiError(400, 21603, "A 'From' phone number is required.")
        from_ = _address(form["From"], 21212, "From")
        if not self.messaging.owns(account, from_):
            raise ApiError(
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone number"
                " or short code for your account.",
            )
        body = form.get("Body", "")
        if not body:
            raise ApiError(400, 21602, "Message body is required.")
        if len(body) > 1600:
            raise ApiError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        callback = form.get("StatusCallback") or None
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            raise ApiError(400, 21609, f"Invalid StatusCallback: {callback}")
        return self.messaging.add_message(account, to, from_, body, "outbound-api", status_callback=callback)

    def delete(self, message: Message) -> None:
        self.messaging.messages[message.account_sid].remove(message.key)

    def render(self, message: Message) -> dict[str, Any]:
        now = self.messaging.clock()
        status = message.status(now)
        sent = message.sent_at(now)
        changed = (
            max(at for at, _ in message.timeline if at <= now)
            if message.timeline[0][0] <= now
            else message.created
        )
        base = f"/2010-04-01/Accounts/{message.account_sid}/Messages/{message.sid}"
        failed = status == "failed"
        return {
            "body": message.body,
            "num_segments": str(segments(message.body)),
            "direction": message.direction,
            "from": message.from_,
            "to": message.to,
            "date_updated": rfc2822(changed),
            "price": PRICE if sent is not None and not failed else None,
            "error_message": "Unreachable destination handset" if failed else None,
            "uri": base + ".json",
            "account_sid": message.account_sid,
            "num_media": "0",
            "status": status,
            "messaging_service_sid": None,
            "sid": message.sid,
            "date_sent": rfc2822(sent),
            "date_created": rfc2822(message.created),
            "error_code": UNREACHABLE_HANDSET if failed else None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "subresource_uris": {"media": base + "/Media.json", "feedback": base + "/Feedback.json"},
        }


def pattern(value: str) -> re.Pattern[str]:
    """2010's ShortCode filter: part of the code, ``*`` any digit."""
    return re.compile("".join(r"\d" if c == "*" else re.escape(c) for c in value))


class ShortCodesBehaviour:
    def __init__(self, messaging: Messaging) -> None:
        self.messaging = messaging
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "ShortCode": lambda c, v: pattern(v).search(c.short_code) is not None,
            "FriendlyName": lambda c, v: c.friendly_name == v,
        }

    def refresh(self) -> None:
        return None

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.messaging.short_codes.get(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> ShortCode | None:
        ordered = self.scope(path)
        found: ShortCode | None = ordered.get(path["Sid"]) if ordered is not None else None
        return found

    def update(self, item: ShortCode, form: dict[str, str]) -> ShortCode:
        name = form.get("FriendlyName")
        if name is not None and len(name) > 64:
            raise ApiError(400, 21409, "FriendlyName must be 64 characters or fewer")
        version = form.get("ApiVersion")
        if version is not None and version not in ("2008-08-01", "2010-04-01"):
            raise ApiError(400, 21613, "ApiVersion must be 2008-08-01 or 2010-04-01")
        for param, attr in (("SmsMethod", "sms_method"), ("SmsFallbackMethod", "sms_fallback_method")):
            if param in form and form[param].upper() not in ("GET", "POST"):
                raise ApiError(400, 21617, f"{param} must be GET or POST")
            if param in form:
                setattr(item, attr, form[param].upper())
        for param, attr in (("SmsUrl", "sms_url"), ("SmsFallbackUrl", "sms_fallback_url")):
            if param in form:
                setattr(item, attr, form[param] or None)
        item.friendly_name = name if name is not None else item.friendly_name
        item.api_version = version or item.api_version
        item.updated = self.messaging.clock()
        return item

    def render(self, item: ShortCode) -> dict[str, Any]:
        return {
            "account_sid": item.account_sid,
            "api_version": item.api_version,
            "date_created": rfc2822(item.created),
            "date_updated": rfc2822(item.updated),
            "friendly_name": item.friendly_name,
            "short_code": item.short_code,
            "sid": item.sid,
            "sms_fallback_method": item.sms_fallback_method,
            "sms_fallback_url": item.sms_fallback_url,
            "sms_method": item.sms_method,
            "sms_url": item.sms_url,
            "uri": f"/2010-04-01/Accounts/{item.account_sid}/SMS/ShortCodes/{item.sid}.json",
        }
