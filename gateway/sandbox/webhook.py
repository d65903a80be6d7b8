"""Twilio's side of a webhook: the request the sandbox makes to an application's URL, signed as 2010 signs
it, and what came back.

Every request the sandbox makes to an application — a call's TwiML, a verb's action, a fallback, a status
callback, an incoming message — goes through :class:`Requester`. POST sends the parameters as a form; GET
appends them to the URL's query. ``X-Twilio-Signature`` is HMAC-SHA1, keyed with the account's auth
token, over the full URL (query included, credentials left out) followed, for a POST, by each parameter's
name and value, sorted by name, base64-encoded. Redirects are followed (up to ten, each hop signed
for its own URL; 303, and 301/302 after a POST, continue as GET), a body is read up to 64 KB, cookies
are kept in the jar the caller gives (one per call, one per SMS conversation).

A URL on a name reserved for examples (``*.example``, ``*.invalid``, ``example.com``/``.net``/``.org``)
is a placeholder: it is never requested, so tests and documentation can give calls a ``Url`` that stands
for no application. Nothing here raises: a failure is an :class:`Exchange` with an ``error``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

USER_AGENT = "TwilioProxy/1.1"
MAX_BODY = 64 * 1024
"""The largest response read (Twilio's TwiML limit; beyond it, error 11750)."""
MAX_REDIRECTS = 10
RESERVED = ("example", "invalid", "example.com", "example.net", "example.org")
HTTP_RETRIEVAL_FAILURE = 11200
TOO_MANY_REDIRECTS = 11215
BODY_TOO_LARGE = 11750


def signature(token: str, url: str, params: Mapping[str, str] | None) -> str:
    """2010's ``X-Twilio-Signature`` of a request to ``url`` with these POST parameters (None for GET)."""
    data = url + "".join(f"{name}{value}" for name, value in sorted((params or {}).items()))
    digest = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def placeholder(url: str) -> bool:
    """A URL on a name reserved for examples, which the sandbox does not request."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == name or host.endswith("." + name) for name in RESERVED)


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact(url: str) -> str:
    """The URL as logs and notifications show it: a password in it replaced by ``****``."""
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in user:
        return url
    return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}:****@{host}"))


def with_query(url: str, params: Mapping[str, str]) -> str:
    base = url.split("#", 1)[0]
    if not params:
        return base
    return base + ("&" if "?" in base else "?") + urlencode(params)


@dataclass
class Exchange:
    """One request the sandbox made (or would have made) and its answer."""

    kind: str
    url: str
    method: str
    params: dict[str, str]
    at: float
    status: int | None = None
    content_type: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None
    code: int | None = None
    """Twilio's error code for a failed retrieval (11200, 11215, 11750)."""
    skipped: bool = False
    """A placeholder URL: not requested, and not a failure to report."""

    @property
    def reached(self) -> bool:
        """An answer came (whatever its status)."""
        return self.status is not None and self.error is None

    @property
    def ok(self) -> bool:
        return self.reached and self.status is not None and 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def failure(self) -> tuple[int, str] | None:
        """(error code, message) when the request failed or was answered other than 2xx."""
        if self.ok or self.skipped:
            return None
        if self.error is not None:
            text = f"An attempt to retrieve content from {self.url} failed: {self.error}"
            return self.code or HTTP_RETRIEVAL_FAILURE, text
        return HTTP_RETRIEVAL_FAILURE, (
            f"An attempt to retrieve content from {self.url} returned the HTTP status code {self.status}"
        )

    def record(self) -> dict[str, Any]:
        """The exchange as a control endpoint's log shows it."""
        return {
            "kind": self.kind,
            "at": self.at,
            "method": self.method,
            "url": self.url,
            "params": self.params,
            "status_code": self.status,
            "twiml": self.text if self.reached else None,
            "error": self.error,
        }


class _Borrowed(httpx.AsyncBaseTransport):
    """An injected transport, lent to one client: closing the client leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)


class Requester:
    """Signed requests to applications, with the accounts' tokens (``tokens`` is read at each request)."""

    def __init__(
        self,
        tokens: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.tokens = tokens
        self.transport = transport
        self.timeout = timeout

    async def request(
        self,
        account: str,
        url: str,
        method: str,
        params: Mapping[str, str],
        *,
        kind: str,
        at: float,
        cookies: httpx.Cookies | None = None,
        idempotency: str | None = None,
    ) -> Exchange:
        exchange = Exchange(kind, redact(url), method, dict(params), at)
        if placeholder(url):
            exchange.error, exchange.skipped = "not requested: a reserved example host", True
            return exchange
        transport = _Borrowed(self.transport) if self.transport is not None else None
        try:
            async with httpx.AsyncClient(
                transport=transport, timeout=self.timeout, trust_env=False, cookies=cookies
            ) as client:
                await self._follow(client, account, url, method, dict(params), exchange, idempotency)
                if cookies is not None:
                    cookies.update(client.cookies)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            exchange.error, exchange.code = type(exc).__name__, HTTP_RETRIEVAL_FAILURE
        return exchange

    async def _follow(
        self,
        client: httpx.AsyncClient,
        account: str,
        url: str,
        method: str,
        params: dict[str, str],
        exchange: Exchange,
        idempotency: str | None,
    ) -> None:
        token = self.tokens.get(account, "")
        for _ in range(MAX_REDIRECTS + 1):
            target = with_query(url, params) if method == "GET" else url.split("#", 1)[0]
            form = None if method == "GET" else params
            headers = {
                "User-Agent": USER_AGENT,
                "X-Twilio-Signature": signature(token, without_credentials(str(httpx.URL(target))), form),
                "I-Twilio-Idempotency-Token": idempotency or secrets.token_hex(16),
            }
            async with client.stream(method, target, data=form, headers=headers) as response:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    url = urljoin(target, location)
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method = "GET"
                    continue
                await _read(response, exchange)
                return
        exchange.error, exchange.code = "too many redirects", TOO_MANY_REDIRECTS


async def _read(response: httpx.Response, exchange: Exchange) -> None:
    exchange.status = response.status_code
    exchange.content_type = response.headers.get("content-type", "")
    exchange.headers = list(response.headers.items())
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            exchange.error, exchange.code = "response body larger than 64 KB", BODY_TOO_LARGE
            return
        chunks.append(chunk)
    exchange.body = b"".join(chunks)
