"""The hook endpoint, ``/hooks/{kind}/{token}``: Twilio's 2010 callbacks in, the legacy app's 2008
requests out, its 2008 TwiML back as today's.

Every request is checked before anything is done for it: a hook that does not open (forged, altered,
minted with a retired key) is 404, a missing or wrong ``X-Twilio-Signature`` 403; neither reaches the
app. Then, by kind:

- a voice request (the call's URL, a fallback, a verb's action, a redirect): the app is requested with
  2008 parameters and cookies; its answer, rewritten, is Twilio's. ``<Sms>`` in it is sent by the
  gateway; an ``<Sms action>`` continues the call there (with SmsSid and SmsStatus). IfMachine=Hangup
  and a machine: ``<Hangup/>`` at once, the app told ``DialStatus=hangup-machine`` meanwhile;
- the call's status callback: consumed (204); a call that ended gives the app 2008's last request
  (CallStatus=completed, or DialStatus busy / no-answer / fail on the call's URL), once per call;
- an incoming SMS (or its fallback, or a ``<Sms action>``): the app's answer as Messaging TwiML;
- an SMS status callback: the app gets SmsSid and SmsStatus (sent or failed) once per message,
  whatever Twilio repeats;
- a transcription callback: relayed, its answer ignored.

When the app fails (no answer in ``GATEWAY_CALLBACK_TIMEOUT``, an error status, not TwiML, over
64 KB), Twilio is answered 502, so it turns to the number's fallback URL, and one line is logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import defusedxml.ElementTree as SafeET

from gateway import observability as obs
from gateway.lists.cache import Store
from gateway.settings import Settings
from gateway.upstream.client import Upstream

from . import params as legacy
from . import signature
from .cookies import CookieJar, call_key, conversation_key
from .dedupe import Dedupe
from .fetch import AppAnswer, AppFetcher, Resolver, system_resolver
from .relay import AppClient, AppError, CachedResolver, Messenger
from .twiml import CONTENT_TYPE, HANGUP, Message, Rewritten, TwimlError, rewrite_sms, rewrite_voice
from .urls import KINDS, SEGMENT, Hook, HookKeys, Kind
from .verbs import Mint
from .wrap import Tokens, Wrap

log = logging.getLogger("gateway.hooks")
VOICE = frozenset({Kind.VOICE, Kind.VOICE_FALLBACK, Kind.REDIRECT, Kind.GATHER, Kind.RECORD, Kind.DIAL})
SMS = frozenset({Kind.SMS, Kind.SMS_FALLBACK, Kind.SMS_ACTION})
SEEN_TTL = 7 * 86_400.0
"""How long a call's end or a message's status is remembered as reported (Twilio retries for hours)."""
HOOKS_KEPT = 1024
"""Hooks opened, and hook URLs minted, remembered (each at most 4 KB)."""
NOTIFY_TASKS = 256
"""Background notifications (hangup-machine) at most in flight; past that they run inline."""


class Rewrite(Protocol):
    """:func:`~gateway.hooks.twiml.rewrite_voice` or :func:`~gateway.hooks.twiml.rewrite_sms`."""

    def __call__(
        self, body: bytes, content_type: str, doc_url: str, doc_method: str, mint: Mint, *, region: str = ...
    ) -> Rewritten: ...


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str | None = None


NOTHING = Answer(204)


@dataclass(frozen=True, slots=True)
class Request:
    hook: Hook
    params: dict[str, str]
    token: str


class HookEndpoint:
    def __init__(
        self,
        keys: HookKeys,
        base_url: str,
        tokens: Tokens,
        client: AppClient,
        messenger: Messenger,
        seen: Dedupe,
        *,
        extra_keep: bool = False,
        region: str = "US",
    ) -> None:
        self.keys = keys
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.client = client
        self.messenger = messenger
        self.seen = seen
        self.extra_keep = extra_keep
        self.region = region
        self._tasks: set[asyncio.Task[None]] = set()
        # The same hooks come again and again (a number's URL on every call, a document's actions
        # on every run of it): each is opened and minted once (Fernet costs tens of microseconds).
        self._opened: OrderedDict[str, Hook] = OrderedDict()
        self._mint = functools.lru_cache(maxsize=HOOKS_KEPT)(partial(keys.mint, self.base_url))

    def _open(self, path: str) -> Hook | None:
        hook = self._opened.get(path)
        if hook is None:
            hook = self.keys.open(path)
            if hook is None:
                return None
            self._opened[path] = hook
            if len(self._opened) > HOOKS_KEPT:
                self._opened.popitem(last=False)
        self._opened.move_to_end(path)
        return hook

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.client.timeout)

    # --- the door ------------------------------------------------------------------------------------

    async def answer(self, method: str, path: str, query: str, body: bytes, signed: str | None) -> Answer:
        """``path`` from ``/hooks/`` on (as the gateway received it), ``query`` without ``?``."""
        kind = path.split("/")[2] if path.count("/") >= 3 else ""
        obs.set_route(f"/{SEGMENT}/{kind}" if kind in KINDS else f"/{SEGMENT}")
        if method not in ("GET", "POST"):
            return Answer(405)
        hook = self._open(path)
        if hook is None:
            log.warning("callbacks: refused a request to a hook that does not open (forged or altered)")
            return Answer(404)
        token = self.tokens.get(hook.account)
        if token is None:
            log.warning("callbacks: refused a %s hook of account %s: no auth token held", kind, hook.account)
            return Answer(404)
        try:
            text = body.decode("utf-8") if method == "POST" else query
            params = dict(parse_qsl(text, keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return Answer(400)
        url = self.base_url + path + (f"?{query}" if query else "")
        if not signature.valid(url, params if method == "POST" else None, token, signed):
            log.warning(
                "callbacks: refused a %s hook of account %s: bad X-Twilio-Signature", kind, hook.account
            )
            return Answer(403)
        return await self.dispatch(Request(hook, params, token))

    async def dispatch(self, request: Request) -> Answer:
        kind = request.hook.kind
        if kind == Kind.STATUS:
            return await self.call_ended(request)
        if kind == Kind.SMS_STATUS:
            return await self.sms_status(request)
        if kind == Kind.TRANSCRIBE:
            return await self.transcribed(request)
        if kind in SMS:
            return await self.sms(request)
        return await self.voice(request)

    def _form(self, request: Request, kind: str | None = None) -> dict[str, str] | None:
        return legacy.translate(
            kind or request.hook.kind,
            request.params,
            extra_keep=self.extra_keep,
            legacy_base=self.base_url,
            hook=request.hook,
        )

    def mint_for(self, hook: Hook) -> Mint:
        def mint(kind: str, url: str, method: str, extra: tuple[tuple[str, str], ...]) -> str:
            return self._mint(Hook(kind, hook.account, url, method, extra))

        return mint

    def _failed(self, request: Request, reason: object) -> Answer:
        log.warning(
            "callbacks: the app failed a %s request of account %s (%s); Twilio is answered 502 and turns "
            "to the fallback URL",
            request.hook.kind,
            request.hook.account,
            reason,
        )
        return Answer(502)

    # --- voice ---------------------------------------------------------------------------------------

    async def voice(self, request: Request) -> Answer:
        hook = request.hook
        form = self._form(request)
        if form is None:
            return Answer(400)
        if hook.get("sms_sid") is not None:  # the action of an <Sms> in a voice document
            form["SmsSid"] = hook.get("sms_sid") or ""
            form["SmsStatus"] = hook.get("sms_status") or "invalid"
        jar = call_key(form["CallSid"])
        if legacy.hangs_up_on_machine(request.params, hook):
            notice = self.client.notify(hook.method, hook.url, form, request.token, jar, "hangup-machine")
            await self._background(notice)
            return Answer(200, HANGUP, CONTENT_TYPE)
        rewritten = await self._document(request, form, jar, rewrite_voice)
        if isinstance(rewritten, Answer):
            return rewritten
        body = rewritten.body
        if rewritten.messages:
            body = await self._send(request, rewritten.messages, body)
        return Answer(200, body, CONTENT_TYPE)

    async def _document(
        self, request: Request, form: dict[str, str], jar: str | None, rewrite: Rewrite
    ) -> Rewritten | Answer:
        """The app's document for a voice or SMS request, rewritten for today's Twilio; or, when the
        app fails or answers no TwiML, the error answer that sends Twilio to the fallback URL."""
        hook = request.hook
        try:
            answer = await self.client.document(hook.method, hook.url, form, request.token, jar)
            return rewrite(
                answer.body,
                answer.content_type,
                _doc_url(answer, hook),
                hook.method,
                self.mint_for(hook),
                region=self.region,
            )
        except (AppError, TwimlError) as exc:
            return self._failed(request, exc)

    async def _send(self, request: Request, messages: tuple[Message, ...], body: bytes) -> bytes:
        """Sends the document's ``<Sms>``; after one with an action the call continues there."""
        params, hook = request.params, request.hook
        inbound = params.get("Direction", "inbound") == "inbound"
        caller, called = params.get("From"), params.get("To")
        to, from_ = (caller, called) if inbound else (called, caller)  # twiml-sms.md's defaults
        for message in messages:
            sent = await self.messenger.send(hook.account, request.token, message, to, from_)
            if message.action is not None:
                extra = (("sms_sid", sent.sid), ("sms_status", sent.status))
                target = self.mint_for(hook)(Kind.REDIRECT, message.action, message.method, extra)
                return _append_redirect(body, target)
        return body

    async def call_ended(self, request: Request) -> Answer:
        followup = legacy.status_followup(
            request.params, request.hook, legacy_base=self.base_url, extra_keep=self.extra_keep
        )
        if followup is None:
            return NOTHING
        method, url, form = followup
        if await self.seen.first_time("call-ended:" + form["CallSid"], SEEN_TTL):
            why = f"the end of call {form['CallSid']}"
            await self.client.notify(method, url, form, request.token, call_key(form["CallSid"]), why)
        return NOTHING

    async def transcribed(self, request: Request) -> Answer:
        form = self._form(request)
        if form is not None:
            hook = request.hook
            await self.client.notify("POST", hook.url, form, request.token, None, "a transcription")
        return NOTHING

    # --- SMS -----------------------------------------------------------------------------------------

    async def sms(self, request: Request) -> Answer:
        hook = request.hook
        form = self._form(request)
        if form is None:
            return Answer(400)
        one, other = request.params.get("From", ""), request.params.get("To", "")
        jar = conversation_key(hook.account, one, other) if one and other else None
        rewritten = await self._document(request, form, jar, rewrite_sms)
        if isinstance(rewritten, Answer):
            return rewritten
        return Answer(200, rewritten.body, CONTENT_TYPE)

    async def sms_status(self, request: Request) -> Answer:
        form = self._form(request)
        if form is None:  # not final yet (queued, sending): 2008 reported sent or failed only
            return NOTHING
        if await self.seen.first_time("sms-status:" + form["SmsSid"], SEEN_TTL):
            why = f"the status of message {form['SmsSid']}"
            # twiml-sms.md, sending-sms.md: a status callback is always a POST.
            await self.client.notify("POST", request.hook.url, form, request.token, None, why)
        return NOTHING

    # --- helpers -------------------------------------------------------------------------------------

    async def _background(self, work: Coroutine[object, object, None]) -> None:
        """Runs ``work`` after the answer; inline when too many already wait."""
        if len(self._tasks) >= NOTIFY_TASKS:
            await work
            return
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _doc_url(answer: AppAnswer, hook: Hook) -> str:
    """What relative URLs in the answer resolve against: where it came from after redirects."""
    return answer.url or hook.url


def _append_redirect(body: bytes, url: str) -> bytes:
    root = SafeET.fromstring(body, forbid_dtd=True)  # the gateway's own serialisation of the answer
    redirect = ET.SubElement(root, "Redirect", {"method": "POST"})
    redirect.text = url
    return ('<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")).encode()


@dataclass(frozen=True, slots=True)
class Hooks:
    """Callbacks at work: the service's seam and the endpoint, for the edge to wire."""

    wrap: Wrap
    endpoint: HookEndpoint
    fetcher: AppFetcher
    prefix: str
    """The path hook URLs start with (``/hooks/``, after the public URL's own path if a proxy keeps it)."""

    def below(self, path: str) -> str | None:
        """``path`` from ``/hooks/`` on, when it is a hook's; else ``None``."""
        if path.startswith(f"/{SEGMENT}/"):
            return path
        if self.prefix != f"/{SEGMENT}/" and path.startswith(self.prefix):
            return path[len(self.prefix) - len(SEGMENT) - 2 :]
        return None

    async def aclose(self) -> None:
        await self.endpoint.aclose()
        await self.fetcher.aclose()


def start(
    settings: Settings, store: Store, upstream: Upstream, *, resolver: Resolver | None = None
) -> Hooks | None:
    """Callbacks as the settings ask; ``None`` (and one line saying so) without GATEWAY_PUBLIC_URL."""
    base = settings.public_url
    if not base:
        log.info("callbacks: off (GATEWAY_PUBLIC_URL is unset): app URLs go to Twilio unchanged")
        return None
    if settings.hook_keys:
        keys = HookKeys([key.get() for key in settings.hook_keys])
    else:
        keys = HookKeys.generate()
        log.warning("callbacks: a hook key was generated at start; hook URLs stop opening on restart")
    tokens = Tokens(settings)
    fetcher = AppFetcher(settings.callback_hosts, resolver=resolver or CachedResolver(system_resolver))
    client = AppClient(fetcher, CookieJar(store, kind="hook"), settings.callback_timeout)
    endpoint = HookEndpoint(
        keys,
        base,
        tokens,
        client,
        Messenger(upstream),
        Dedupe(store, kind="hook"),
        extra_keep=settings.callback_extra == "keep",
        region=settings.phone_region,
    )
    log.info("callbacks: on at %s/%s/ for %d account(s)", base, SEGMENT, len(tokens))
    prefix = urlsplit(base).path.rstrip("/") + f"/{SEGMENT}/"
    return Hooks(Wrap(keys, base, tokens), endpoint, fetcher, prefix)
