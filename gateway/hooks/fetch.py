"""The gateway's request to the legacy app: a URL the tenant chose, so fetched with care.

- The host name is resolved once; every address it has is checked (:mod:`gateway.hooks.addresses`);
  the connection goes to the first checked address, never through a second lookup: the request goes
  out through a pyreqwest client made for that name and address (``resolve``: reqwest connects to the
  address given for the name), so TLS is verified against the name, and keep-alive connections are
  only ever reused for the same name at the same checked address (clients are kept, a few dozen at
  most). pyreqwest (reqwest/hyper) because it is the upstream's client too and costs a fraction of the
  CPU of a pure-Python one (docs/performance.md#callbacks).
- ``user:pass@`` becomes Basic authentication (security.2010.md), sent only to that same origin;
  credentials never reach an error, a log line or ``repr``.
- Redirects are followed, as 2008 Twilio did (twiml-your-response.md), each hop resolved and checked
  like the first, at most :data:`MAX_REDIRECTS`; 301/302/303 turn a POST into a GET without
  parameters, 307/308 repeat it.
- The body is read while it streams and refused past ``cap`` bytes, never decompressed; ``timeout``
  bounds the whole fetch, redirects included. No proxy from the environment is used.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import SplitResult, unquote, urlencode, urljoin, urlsplit, urlunsplit

from pyreqwest import exceptions as reqwest_errors
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.response import Response

from .addresses import AllowList, IPAddress

MAX_REDIRECTS = 5
_TIMEOUTS = (
    reqwest_errors.ConnectTimeoutError,
    reqwest_errors.ReadTimeoutError,
    reqwest_errors.WriteTimeoutError,
    reqwest_errors.RequestTimeoutError,
    reqwest_errors.PoolTimeoutError,
)
MAX_CLIENTS = 64
"""Clients (each a name at a checked address, with its idle connections) kept at most."""
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


class _Clients:
    """One pyreqwest client per (scheme, name, checked address, port), least recently used dropped."""

    def __init__(self, verify: ssl.SSLContext | bool) -> None:
        self.verify = verify
        self._clients: OrderedDict[tuple[str, str, str, int], Client] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, scheme: str, host: str, address: IPAddress, port: int) -> Client:
        key = (scheme, host, str(address), port)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._build(host, address, port)
            while len(self._clients) > MAX_CLIENTS:
                self._close(self._clients.popitem(last=False)[1])
        self._clients.move_to_end(key)
        return client

    def _build(self, host: str, address: IPAddress, port: int) -> Client:
        builder = (
            ClientBuilder()
            .follow_redirects(False)
            .no_proxy()
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .referer(False)
            .http1_only()
            .pool_max_idle_per_host(16)
            .pool_idle_timeout(timedelta(seconds=4))  # below common servers' 5 s: a kept one is live
        )
        if not _is_address(host):
            builder = builder.resolve(host, str(address), port)
        if self.verify is False:
            builder = builder.danger_accept_invalid_certs(True)
        elif isinstance(self.verify, ssl.SSLContext):
            for der in self.verify.get_ca_certs(binary_form=True):
                builder = builder.add_root_certificate_der(der)
        return builder.build()

    def _close(self, client: Client) -> None:
        task = asyncio.get_running_loop().create_task(client.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            await client.close()
        if self._closing:
            await asyncio.wait(self._closing)
        # close() returns before reqwest's runtime thread has dropped the pools' connections.
        await asyncio.sleep(0.05)


class AppFetcher:
    def __init__(
        self,
        allow: Iterable[str] = (),
        *,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify``: True for the system's roots, an ``SSLContext`` for its CA certificates besides
        them, False for none (tests only)."""
        self.allow = AllowList.parse(allow)
        self.resolver = resolver
        self.clients = _Clients(verify)

    async def aclose(self) -> None:
        await self.clients.aclose()

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
        host = (parts.hostname or "").strip("[]")
        port = parts.port or _default_port(parts.scheme)
        address = await self._address(host, port, hop.url)
        client = self.clients.get(parts.scheme, host, address, port)
        request = client.request(hop.method, target(hop.method, hop.url, hop.form))
        request = request.headers(_headers(hop, parts, headers, first)).timeout(timedelta(seconds=timeout))
        if hop.method == "POST":
            request = request.body_bytes(urlencode(list((hop.form or {}).items())).encode())
        try:
            async with request.build_streamed() as response:
                cookies = tuple(response.get_header_all("set-cookie"))
                location = response.get_header("location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    redirect = _redirected(hop, response.status, location)
                    return AppAnswer(response.status, "", b"", cookies), redirect
                body = await _read(response, cap, hop.url)
                kind = response.get_header("content-type") or ""
                return AppAnswer(response.status, kind, body, cookies), None
        except (TimeoutError, *_TIMEOUTS):
            raise TimeoutError from None
        except reqwest_errors.PyreqwestError as exc:
            raise AppFailure("connect", f"{origin(hop.url)} ({type(exc).__name__})") from None

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


def _headers(hop: _Hop, parts: SplitResult, headers: Mapping[str, str], first: str) -> dict[str, str]:
    """The caller's headers; its cookies (for the first URL's host) and the URL's credentials go to
    that origin only."""
    same = origin(hop.url) == first
    dropped = ("host", "authorization") if same else ("host", "authorization", "cookie")
    sent = {k: v for k, v in headers.items() if k.lower() not in dropped}
    if parts.username is not None and same:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        sent["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    if hop.method == "POST":
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    return sent


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


def _redirected(hop: _Hop, status: int, location: str) -> _Hop:
    url = urljoin(hop.url, location.strip())
    if origin(url) != origin(hop.url):
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    if status in (307, 308):
        return _Hop(hop.method, url, hop.form if hop.method == "POST" else None)
    return _Hop("GET", url, None)


async def _read(response: Response, cap: int, url: str) -> bytes:
    declared = response.get_header("content-length") or ""
    if declared.isdigit() and int(declared) > cap:
        raise AppFailure("too-large", f"{origin(url)} answered over {cap} bytes")
    reader = response.body_reader
    chunks: list[bytes] = []
    size = 0
    while (chunk := await reader.read_chunk()) is not None:
        size += len(chunk)
        if size > cap:
            raise AppFailure("too-large", f"{origin(url)} answered over {cap} bytes")
        chunks.append(bytes(chunk))
    return b"".join(chunks)
