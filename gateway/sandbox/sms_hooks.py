"""Incoming messages, delivered to applications, and the replies they run.

An incoming SMS (:mod:`.control`) to one of the account's numbers or short codes is a message
(``inbound``, ``received``); its number's ``SmsUrl`` is requested (``SmsMethod``) with 2010's
parameters (:func:`.params.message_params`, ``SmsStatus`` ``received``), signed, with the cookies of the
conversation (one jar per sender and number). The answer is Messaging TwiML — ``<Message>`` (or 2010's
``<Sms>``) with ``to``, ``from``, ``action``, ``method``, ``statusCallback`` and the body as text or
``<Body>``, and ``<Redirect>`` — or plain text, sent back as it is; an empty answer sends nothing. A
``<Message>`` is sent through the sandbox's own messages (``outbound-reply``, to the sender and from
the number by default), whose status callbacks then follow; with an ``action`` that URL is requested
with the sent message's parameters and its answer runs instead of the rest of the document.

A failed request (not 2xx, no connection) or a document that is not Messaging TwiML leaves a
notification (11200, 12100, 12200, 12300; a bad ``<Message>``: 14101 ``to``, 14102 ``from``, 14103
body) and, once, the number's ``SmsFallbackUrl`` is requested with ``ErrorCode`` and ``ErrorUrl``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from .api import ApiError
from .call_run import Doc, resolve
from .calls import Callbacks
from .messaging import Message, Messaging
from .notifications import Notifications
from .params import message_params
from .store import Ordered
from .twiml import TwimlError, Verb, parse_messaging
from .values import e164
from .webhook import Exchange, Requester, redact

log = logging.getLogger("gateway.sandbox")
MAX_DOCUMENTS = 10
"""Documents one incoming message may run (its redirects and actions) before the sandbox stops."""
XML_TYPES = ("text/xml", "application/xml", "text/html")
TOO_MANY_DOCUMENTS, INVALID_TO, INVALID_FROM, INVALID_BODY = 11215, 14101, 14102, 14103


@dataclass(frozen=True)
class Target:
    url: str | None
    method: str
    fallback: tuple[str, str] | None


@dataclass
class Delivery:
    """One incoming message's run: its log and its conversation's cookies."""

    message: Message
    target: Target
    log: list[dict[str, Any]]
    cookies: httpx.Cookies
    fallen_back: bool = False


@dataclass
class SmsHooks:
    messaging: Messaging
    requester: Requester
    notifications: Notifications
    callbacks: Callbacks
    lock: Any
    cookies: dict[tuple[str, str, str], httpx.Cookies] = field(default_factory=dict)

    async def settle(self, timeout: float = 10.0) -> None:
        """Sends the status callbacks due by the clock, then waits (at most ``timeout`` seconds) until
        every delivery and callback under way is done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self.lock:
                self.messaging.refresh()
            pending = [t for t in self.callbacks.tasks if not t.done()]
            if not pending or loop.time() >= deadline:
                return
            await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))

    def target(self, account: str, number: str) -> Target | None:
        """Where messages to one of the account's numbers (or short codes) go; None if it is not one."""
        numbers = self.messaging.store.incoming.get(account) or Ordered()
        for item in numbers.values():
            if item.phone_number == number:
                settings = item.extra
                return _target(
                    settings.get("sms_url"),
                    settings.get("sms_method"),
                    settings.get("sms_fallback_url"),
                    settings.get("sms_fallback_method"),
                )
        for code in (self.messaging.short_codes.get(account) or Ordered()).values():
            if code.short_code == number:
                return _target(code.sms_url, code.sms_method, code.sms_fallback_url, code.sms_fallback_method)
        return None

    def receive(self, account: str, to: str, from_: str, body: str, target: Target) -> Message:
        message = self.messaging.add_message(account, to, from_, body, "inbound")
        if target.url:
            jar = self.cookies.setdefault((account, from_, to), httpx.Cookies())
            delivery = Delivery(message, target, self.messaging.logs.setdefault(message.sid, []), jar)
            self.callbacks.spawn(self._deliver(delivery))
        return message

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            target = delivery.target
            doc: Doc | None = Doc(target.url, target.method, {}, "sms")
            for _ in range(MAX_DOCUMENTS):
                if doc is None:
                    return
                verbs = await self._document(delivery, doc)
                doc = self._reply(delivery, verbs, doc.url)
            if doc is not None:
                self._notify(
                    delivery.message, TOO_MANY_DOCUMENTS, "Too many documents for one incoming message"
                )
        except Exception:
            log.exception("message %s: the sandbox's delivery failed", delivery.message.sid)

    async def _document(self, delivery: Delivery, doc: Doc) -> list[Verb]:
        message = delivery.message
        params = {**message_params(message, "received"), **doc.extra}
        exchange = await self._request(delivery, doc.url, doc.method, params, doc.kind)
        problem = exchange.failure()
        if exchange.skipped:
            problem = (0, "")
        elif problem is None:
            try:
                return messaging_document(exchange)
            except TwimlError as exc:
                problem = (exc.code, exc.text)
        if problem[0]:
            self._notify(message, *problem, exchange=exchange)
        target = delivery.target
        if target.fallback is None or delivery.fallen_back:
            return []
        delivery.fallen_back = True
        url, method = target.fallback
        extra = {"ErrorCode": str(problem[0] or 11200), "ErrorUrl": redact(doc.url or "")}
        return await self._document(delivery, Doc(url, method, extra, "fallback", fallback=True))

    async def _request(
        self, delivery: Delivery, url: str | None, method: str, params: dict[str, str], kind: str
    ) -> Exchange:
        message = delivery.message
        at = self.messaging.clock()
        if url is None:
            exchange = Exchange(kind, "", method, params, at, error="no absolute URL", code=11100)
        else:
            exchange = await self.requester.request(
                message.account_sid, url, method, params, kind=kind, at=at, cookies=delivery.cookies
            )
        delivery.log.append(exchange.record())
        return exchange

    def _reply(self, delivery: Delivery, verbs: list[Verb], url: str | None) -> Doc | None:
        """Sends the document's messages; the next document (an action or a redirect), if any."""
        for verb in verbs:
            if verb.name == "Redirect":
                return Doc(resolve(url, verb.text), verb["method"], {}, "redirect")
            sent = self._send(delivery.message, verb, url)
            if sent is not None and verb["action"]:
                params = message_params(sent, sent.status(self.messaging.clock()))
                return Doc(resolve(url, verb["action"]), verb["method"], params, "action")
        return None

    def _send(self, incoming: Message, verb: Verb, url: str | None) -> Message | None:
        body = next((c.text for c in verb.children if c.name == "Body"), verb.text)
        account = incoming.account_sid
        try:
            to = _address(verb["to"] or incoming.from_, INVALID_TO)
            from_ = _address(verb["from"] or incoming.to, INVALID_FROM)
        except ApiError as exc:
            self._notify(incoming, exc.code, exc.message)
            return None
        if not self.messaging.owns(account, from_):
            self._notify(incoming, INVALID_FROM, f"Message: 'from' {from_} is not a number of this account")
            return None
        if not body or len(body) > 1600:
            self._notify(incoming, INVALID_BODY, "Message: the body must be 1 to 1600 characters")
            return None
        callback = resolve(url, verb["statusCallback"]) if verb["statusCallback"] else None
        with self.lock:
            return self.messaging.add_message(
                account, to, from_, body, "outbound-reply", status_callback=callback
            )

    def _notify(self, message: Message, code: int, text: str, exchange: Exchange | None = None) -> None:
        extra: dict[str, Any] = {}
        if exchange is not None:
            extra.update(request_url=exchange.url, request_method=exchange.method)
        log.warning("message %s: error %s: %s", message.sid, code, text)
        with self.lock:
            self.notifications.add(message.account_sid, None, code, text, **extra)


def _target(url: Any, method: Any, fallback: Any, fallback_method: Any) -> Target:
    return Target(
        str(url) if url else None,
        str(method or "POST").upper(),
        (str(fallback), str(fallback_method or "POST").upper()) if fallback else None,
    )


def _address(raw: str, code: int) -> str:
    value = raw.strip()
    return value if re.fullmatch(r"\d{5,6}", value) else e164(value, code, "Message")


def messaging_document(exchange: Exchange) -> list[Verb]:
    """The verbs of an answer: Messaging TwiML, or plain text sent back as a message; empty: none."""
    kind = exchange.content_type.split(";", 1)[0].strip().lower()
    if not exchange.body.strip():
        return []
    if kind in XML_TYPES or (not kind and exchange.body.lstrip().startswith(b"<")):
        return parse_messaging(exchange.body)
    if kind == "text/plain":
        attrs = {"to": None, "from": None, "action": None, "method": "POST", "statusCallback": None}
        return [Verb("Message", attrs, exchange.text.strip())]
    raise TwimlError(12300, f"Invalid Content-Type: {kind or 'none'}")
