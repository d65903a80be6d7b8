"""The gateway's request to the legacy app: a URL the tenant chose, so fetched with care.

- The host name is resolved once; every address it has is checked (:mod:`gateway.hooks.addresses`);
  the connection goes to the first checked address, never through a second lookup: httpx is given the
  address in the URL, the name in ``Host`` and, for https, in the ``sni_hostname`` extension (which
  httpcore also verifies the certificate against). httpx because it takes the address per request;
  pyreqwest has no per-request resolution to hand it. https connections are not kept alive: a pool
  keyed by address could carry one host's request over a TLS session verified for another; plain
  http ones are, keyed by the checked address.
- ``user:pass@`` becomes Basic authentication (security.2010.md), sent only to that same origin, as
  is the caller's ``Cookie`` header;
  credentials never reach an error, a log line or ``repr``.
- Redirects are followed, as 2008 Twilio did (twiml-your-response.md), each hop resolved and checked
  like the first, at most :data:`MAX_REDIRECTS`; 301/302/303 turn a POST into a GET without
  parameters, 307/308 repeat it.
- The body is read while it streams and refused past ``cap`` bytes; ``timeout`` bounds the whole
  fetch, redirects included. No proxy from the environment is used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from .addresses import AllowList, IPAddress

MAX_REDIRECTS = 5
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``resolve(host, port)`` → the host's addresses, as text."""


class AppFailure(Exception):
    """The app could not be fetched. ``reason`` is one word; the text names no credentials."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class AppAnswer:
    status: int
    content_type: str
    body: bytes
    set_cookies: tuple[str, ...] = ()
    url: str = field(default="", repr=False)
    """The document's final URL after redirects (credentials kept for the same origin): what relative
    URLs in it resolve against."""


def target(method: str, url: str, params: Mapping[str, str] | None) -> str:
    """The URL the app sees (and the 2008 signature covers): no credentials, no fragment, and for a GET
    the parameters appended to the query."""
    parts = urlsplit(url)
    query = parts.query
    if method.upper() == "GET" and params:
        added = urlencode(list(params.items()))
        query = f"{query}&{added}" if query else added
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, ""))


def origin(url: str) -> str:
    """``scheme://host:port`` without credentials, for error texts."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or _default_port(parts.scheme)}"
    except ValueError:
        return "(malformed URL)"


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class _Hop:
    method: str
    url: str
    """With credentials, when they still apply."""
    form: Mapping[str, str] | None


class AppFetcher:
    def __init__(
        self,
        allow: Iterable[str] = (),
        *,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.allow = AllowList.parse(allow)
        self.resolver = resolver
        self.client = httpx.AsyncClient(
            verify=verify,
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        # Plain http has no TLS identity to mix up: its connections, keyed by the checked address
        # and port, are kept alive (a connection and its teardown cost more than the request).
        self.plain = httpx.AsyncClient(trust_env=False, follow_redirects=False)

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.plain.aclose()

    async def fetch(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        timeout: float,
        cap: int,
    ) -> AppAnswer:
        method = "GET" if method.upper() == "GET" else "POST"
        first = origin(url)
        hop = _Hop(method, url, params)
        cookies: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    answer, next_hop = await self._hop(hop, headers, timeout, cap, first)
                    cookies += answer.set_cookies
                    if next_hop is None:
                        return AppAnswer(
                            answer.status, answer.content_type, answer.body, tuple(cookies), hop.url
                        )
                    hop = next_hop
        except TimeoutError:
            raise AppFailure("timeout", f"{origin(hop.url)} took over {timeout:g} s") from None
        raise AppFailure("redirects", f"over {MAX_REDIRECTS} redirects from {first}")

    async def _hop(
        self, hop: _Hop, headers: Mapping[str, str], timeout: float, cap: int, first: str
    ) -> tuple[AppAnswer, _Hop | None]:
        parts = _checked_url(hop.url)
        host = parts.hostname or ""
        port = parts.port or _default_port(parts.scheme)
        address = await self._address(host, port, hop.url)
        request = self._request(hop, parts, address, port, headers, timeout, first)
        auth = None
        if parts.username is not None and origin(hop.url) == first:
            auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
        try:
            client = self.plain if parts.scheme == "http" else self.client
            response = await client.send(request, stream=True, auth=auth)
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            raise AppFailure("connect", f"{origin(hop.url)} ({type(exc).__name__})") from None
        try:
            cookies = tuple(response.headers.get_list("set-cookie"))
            location = response.headers.get("location")
            if response.status_code in (301, 302, 303, 307, 308) and location:
                return AppAnswer(response.status_code, "", b"", cookies), _redirected(hop, response, location)
            body = await _read(response, cap, hop.url)
            kind = response.headers.get("content-type", "")
            return AppAnswer(response.status_code, kind, body, cookies), None
        finally:
            await response.aclose()

    async def _address(self, host: str, port: int, url: str) -> IPAddress:
        try:
            found = [ipaddress.ip_address(a) for a in await self.resolver(host.strip("[]"), port)]
        except (OSError, UnicodeError, ValueError):
            raise AppFailure("dns", f"{origin(url)} does not resolve") from None
        if not found:
            raise AppFailure("dns", f"{origin(url)} does not resolve")
        if not all(self.allow.permits(host, ip) for ip in found):
            raise AppFailure("refused", f"{origin(url)} resolves to an address apps may not use")
        return found[0]

    def _request(
        self,
        hop: _Hop,
        parts: SplitResult,
        address: IPAddress,
        port: int,
        headers: Mapping[str, str],
        timeout: float,
        first: str,
    ) -> httpx.Request:
        """The cookies the caller gave (for the first URL's host) go to that origin only."""
        visible = urlsplit(target(hop.method, hop.url, hop.form))
        literal = f"[{address}]" if address.version == 6 else str(address)
        direct = urlunsplit((parts.scheme, f"{literal}:{port}", visible.path, visible.query, ""))
        dropped = (
            ("host", "authorization") if origin(hop.url) == first else ("host", "authorization", "cookie")
        )
        sent = {k: v for k, v in headers.items() if k.lower() not in dropped}
        sent["Host"] = visible.netloc
        content = None
        if hop.method == "POST":
            content = urlencode(list((hop.form or {}).items())).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        extensions: dict[str, object] = {"timeout": httpx.Timeout(timeout).as_dict()}
        if parts.scheme == "https" and not _is_address(parts.hostname or ""):
            extensions["sni_hostname"] = parts.hostname
        return self.client.build_request(
            hop.method, direct, headers=sent, content=content, extensions=extensions
        )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _checked_url(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        raise AppFailure("url", "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AppFailure("url", "only http and https URLs with a host are fetched")
    return parts


def _redirected(hop: _Hop, response: httpx.Response, location: str) -> _Hop:
    url = urljoin(hop.url, location.strip())
    if origin(url) != origin(hop.url):
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    if response.status_code in (307, 308):
        return _Hop(hop.method, url, hop.form if hop.method == "POST" else None)
    return _Hop("GET", url, None)


async def _read(response: httpx.Response, cap: int, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise AppFailure("too-large", f"{origin(url)} answered over {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > cap:
                raise AppFailure("too-large", f"{origin(url)} answered over {cap} bytes")
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise TimeoutError from None
    except httpx.HTTPError as exc:
        raise AppFailure("connect", f"{origin(url)} broke off ({type(exc).__name__})") from None
    return b"".join(chunks)
