"""The requests the hook endpoint makes: to the legacy app (2008-signed, with its cookies), and to the
upstream for the ``<Sms>`` of a voice document.

The app's request is signed the 2008 way (:mod:`gateway.hooks.signature`) over the URL the app sees
(no credentials; for a GET the parameters in its query), with the account's auth token, and carries
the cookies the app set before in the same call (or SMS conversation): :mod:`gateway.hooks.cookies`,
in the view cache's Store, so replicas sharing Redis share them.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gateway.errors import GatewayError
from gateway.upstream.client import Upstream, parse_json

from . import signature
from .cookies import CONVERSATION_TTL, CookieJar
from .fetch import AppAnswer, AppFailure, AppFetcher, Resolver, target
from .params import SMS_ACTION
from .twiml import MAX_BYTES, Message

log = logging.getLogger("gateway.hooks")
USER_AGENT = "TwilioProxy/0.7"
"""The User-Agent 2008 apps saw on Twilio's requests; some apps check for it."""
MESSAGES = "/2010-04-01/Accounts/{account}/Messages.json"


class CachedResolver:
    """Addresses of app hosts, remembered ``ttl`` seconds (a lookup goes through a thread); an IP
    address needs none. The fetch checks whatever this answers before it connects, so a remembered
    address is checked like a fresh one."""

    def __init__(
        self,
        resolve: Resolver,
        ttl: float = 30.0,
        size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolve = resolve
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._found: OrderedDict[tuple[str, int], tuple[float, Sequence[str]]] = OrderedDict()

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        key = (host.lower(), port)
        found = self._found.get(key)
        if found is not None and found[0] > self.clock():
            return found[1]
        addresses = await self.resolve(host, port)
        self._found[key] = (self.clock() + self.ttl, addresses)
        self._found.move_to_end(key)
        while len(self._found) > self.size:
            self._found.popitem(last=False)
        return addresses


class AppError(Exception):
    """The app's answer cannot be relayed: it failed, answered an error status, or not TwiML."""


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str
    """2008's word for the action: ``sending`` or ``invalid`` (twiml-sms.md)."""


class AppClient:
    def __init__(self, fetcher: AppFetcher, jar: CookieJar, timeout: float) -> None:
        self.fetcher = fetcher
        self.jar = jar
        self.timeout = timeout

    async def request(
        self, method: str, url: str, form: Mapping[str, str], token: str, jar_key: str | None
    ) -> AppAnswer:
        """The app's answer (any status); :class:`AppFailure` when there is none."""
        method = "GET" if method.upper() == "GET" else "POST"
        seen = target(method, url, form)
        headers = {
            signature.HEADER: signature.expected(seen, form if method == "POST" else None, token),
            "User-Agent": USER_AGENT,
            "Accept": "text/xml, application/xml, text/plain, */*",
        }
        if jar_key is not None:
            cookie = await self.jar.cookie_header(jar_key, url)
            if cookie:
                headers["Cookie"] = cookie
        answer = await self.fetcher.fetch(method, url, form, headers, self.timeout, MAX_BYTES)
        if jar_key is not None and answer.set_cookies:
            await self.jar.remember(jar_key, answer.set_cookies, CONVERSATION_TTL, answer.url or url)
        return answer

    async def document(
        self, method: str, url: str, form: Mapping[str, str], token: str, jar_key: str | None
    ) -> AppAnswer:
        """A successful answer, or :class:`AppError` saying why not."""
        try:
            answer = await self.request(method, url, form, token, jar_key)
        except AppFailure as exc:
            raise AppError(str(exc)) from None
        if not 200 <= answer.status < 300:
            raise AppError(f"the app answered status {answer.status}")
        return answer

    async def notify(
        self, method: str, url: str, form: Mapping[str, str], token: str, jar_key: str | None, why: str
    ) -> None:
        """A request whose answer does not matter; a failure is logged, never raised."""
        try:
            answer = await self.request(method, url, form, token, jar_key)
        except AppFailure as exc:
            log.warning("callbacks: %s: the app could not be reached (%s)", why, exc)
            return
        if not 200 <= answer.status < 300:
            log.warning("callbacks: %s: the app answered status %s", why, answer.status)


class Messenger:
    """Sends a voice document's ``<Sms>`` through the upstream's Messages.json, as the account."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def send(
        self, account: str, token: str, message: Message, to: str | None, from_: str | None
    ) -> Sent:
        form = {"To": message.to or to or "", "From": message.from_ or from_ or "", "Body": message.body}
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        credentials = base64.b64encode(f"{account}:{token}".encode()).decode()
        try:
            reply = await self.upstream.send(
                "api",
                "POST",
                MESSAGES.format(account=account),
                endpoint="hooks.sms",
                form=form,
                authorization="Basic " + credentials,
            )
            body = parse_json(reply.body) if 200 <= reply.status < 300 else None
        except (GatewayError, ValueError) as exc:
            log.warning("callbacks: an <Sms> of account %s was not sent (%s)", account, type(exc).__name__)
            return Sent("", "invalid")
        if not isinstance(body, Mapping) or not isinstance(body.get("sid"), str):
            log.warning("callbacks: an <Sms> of account %s was refused (status %s)", account, reply.status)
            return Sent("", "invalid")
        status = SMS_ACTION.get(str(body.get("status", "queued"))) or "sending"
        return Sent(body["sid"], status)
