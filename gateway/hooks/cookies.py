"""Cookies between the gateway and the legacy app, as 2008 Twilio kept them (twiml-your-response.md,
twiml-sms-your-response.md): one jar per call, and one per pair of numbers for SMS, forgotten after
four hours without a message.

Jars live in the view cache's Store (memory, or Redis shared by every replica) under a digest of their
key, never the numbers themselves. ``Set-Cookie`` is parsed by ``http.cookies``; a cookie is kept per
host (the host that set it is the host it goes back to; Domain and Path narrow nothing further),
Max-Age and Expires are honoured, and a jar holds at most :data:`MAX_COOKIES` cookies of
:data:`MAX_JAR_BYTES` in all, the oldest dropped first.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, Morsel, SimpleCookie
from urllib.parse import urlsplit

import orjson

from gateway.lists.cache import Kind, Store

CONVERSATION_TTL = 4 * 3600.0
MAX_COOKIES = 50
MAX_JAR_BYTES = 8192

# One cookie: [host, name, coded value, expiry in epoch seconds or None].
Cookie = tuple[str, str, str, float | None]


def call_key(call_sid: str) -> str:
    return "call:" + call_sid


def conversation_key(account: str, one: str, other: str) -> str:
    """The same for both directions of one conversation."""
    first, second = sorted((one, other))
    return f"sms:{account}:{first}:{second}"


def _name(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        return ""


class CookieJar:
    def __init__(self, store: Store, *, kind: Kind = "block", clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.kind: Kind = kind
        self.clock = clock

    async def cookie_header(
        self, key: str, url: str | None = None, *, ttl: float = CONVERSATION_TTL
    ) -> str | None:
        """The ``Cookie`` header for a request to ``url`` (every host's cookies without one), or ``None``;
        reading keeps the jar another ``ttl`` seconds."""
        host = _host(url)
        now = self.clock()
        pairs = [
            f"{name}={value}"
            for owner, name, value, expires in await self._load(key, ttl)
            if (url is None or owner in ("", host)) and (expires is None or expires > now)
        ]
        return "; ".join(pairs) or None

    async def remember(
        self, key: str, set_cookie_headers: Iterable[str], ttl: float, url: str | None = None
    ) -> None:
        """Takes in the app's ``Set-Cookie`` headers (from ``url``'s host); keeps the jar ``ttl`` seconds."""
        headers = list(set_cookie_headers)
        if not headers:
            return
        host = _host(url)
        now = self.clock()
        jar = {(c[0], c[1]): c for c in await self._load(key, ttl) if c[3] is None or c[3] > now}
        for header in headers:
            for morsel in _morsels(header):
                expires = _expiry(morsel, now)
                jar.pop((host, morsel.key), None)
                if expires is None or expires > now:
                    jar[(host, morsel.key)] = (host, morsel.key, morsel.coded_value, expires)
        kept = _bounded(list(jar.values()))
        await self.store.put(self.kind, _name("hooks:cookies:", key), orjson.dumps(kept), ttl)

    async def _load(self, key: str, ttl: float) -> list[Cookie]:
        raw = await self.store.get(self.kind, _name("hooks:cookies:", key), ttl)
        if raw is None:
            return []
        try:
            return [
                (str(h), str(n), str(v), None if e is None else float(e)) for h, n, v, e in orjson.loads(raw)
            ]
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return []


def _morsels(header: str) -> list[Morsel[str]]:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header)
    except CookieError:
        return []
    return list(cookie.values())


def _expiry(morsel: Morsel[str], now: float) -> float | None:
    max_age = morsel["max-age"].strip()
    if max_age:
        try:
            return now + int(max_age)
        except ValueError:
            pass
    if morsel["expires"]:
        try:
            return parsedate_to_datetime(morsel["expires"]).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
    return None


def _bounded(cookies: list[Cookie]) -> list[Cookie]:
    """The newest cookies that fit (the jar keeps insertion order: newest last)."""
    kept: list[Cookie] = []
    size = 0
    for cookie in reversed(cookies):
        size += len(cookie[1]) + len(cookie[2])
        if len(kept) >= MAX_COOKIES or size > MAX_JAR_BYTES:
            break
        kept.append(cookie)
    return kept[::-1]
